"""Who may act on which wallet: staff on any, an end user on the wallets of their own user id.

A refusal is a `Refused` (common.errors: 403 `permission_denied`) whose message names the rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Protocol

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from common.errors import Refused, StaffOnly

Principal = AbstractBaseUser | AnonymousUser

# A user id (a wallet's owner; an end user's username): the one rule, for request bodies, the URL
# routes, the OpenAPI schema and `issue_token`.
USER_ID_MAX_LENGTH = 100
USER_ID = rf"[A-Za-z0-9_.@+-]{{1,{USER_ID_MAX_LENGTH}}}"  # unanchored, for URL routes
USER_ID_PATTERN = rf"^{USER_ID}$"


def may_act_for(principal: Principal, user_id: str) -> bool:
    """Staff act on any wallet; an end user only on wallets whose user_id is their username."""
    return bool(getattr(principal, "is_staff", False)) or principal.get_username() == user_id


def sending_owner(principal: Principal) -> str | None:
    """Whose wallet a principal may send from: None for staff (any), else their own user id."""
    return None if getattr(principal, "is_staff", False) else principal.get_username()


class Owned(Protocol):
    """A wallet, as far as disclosure asks: its id and its owner."""

    @property
    def id(self) -> uuid.UUID: ...

    @property
    def user_id(self) -> str: ...


def balances_hidden_from(principal: Principal, wallets: Iterable[Owned]) -> frozenset[uuid.UUID]:
    """The wallets among `wallets` whose balance the principal may not see: none for staff, every
    other user's for an end user. A response that shows such a wallet's ledger entry (a
    counterparty's: who paid or was paid, and how much) shows it with `balance_after` null."""
    if getattr(principal, "is_staff", False):
        return frozenset()
    username = principal.get_username()
    return frozenset(wallet.id for wallet in wallets if wallet.user_id != username)


# --- refusals: each 403 says which rule refused it ----------------------------------------------


class NotYourUserId(Refused):
    """An end user named a user id other than their own (staff act for any)."""

    def __init__(self, principal: Principal, user_id: str) -> None:
        super().__init__(
            f"An end user acts only for their own user id: you are {principal.get_username()!r}, "
            f"the request names {user_id!r}. Only an operator (staff) may act for another user."
        )


class PayerMayNotSettle(Refused):
    default_message = (
        "Only the receiving wallet's owner or an operator may capture or void a hold; "
        "you are its payer (you may see it, not settle it)."
    )


def require_may_act_for(principal: Principal, user_id: str) -> None:
    """`may_act_for`, or the refusal that names the rule."""
    if not may_act_for(principal, user_id):
        raise NotYourUserId(principal, user_id)


def require_staff(principal: Principal) -> None:
    if not getattr(principal, "is_staff", False):
        raise StaffOnly()


class IsStaff(BasePermission):
    """DRF's IsAdminUser, refusing with the rule's words."""

    message = StaffOnly.default_message

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.is_staff)
