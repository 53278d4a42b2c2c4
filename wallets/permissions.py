"""Who may act on which wallet: staff on any, an end user on the wallets of their own user id."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser

Principal = AbstractBaseUser | AnonymousUser


def may_act_for(principal: Principal, user_id: str) -> bool:
    """Staff act on any wallet; an end user only on wallets whose user_id is their username."""
    return bool(getattr(principal, "is_staff", False)) or principal.get_username() == user_id
