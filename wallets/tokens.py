"""API tokens: issue and revoke, each recorded in the token audit (`TokenEvent`) in one transaction.

Tokens are django-rest-knox's: the key is returned once, at issue, and only its SHA-512 digest is
stored. A revoked token is deleted. The one way tokens are made, by the management commands, the
tests and the benchmarks alike.

Web workers cache tokens (common/auth.py); `connect_revocations` makes every change that can take
access away (a token deleted, however; a user saved or deleted; user or group permissions and
memberships changed; a group or permission deleted) bump the auth generation once it commits, so
every worker reloads on its next request.
"""

from __future__ import annotations

import getpass
import os
from datetime import timedelta
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.signals import m2m_changed, post_delete, post_save
from knox.crypto import hash_token
from knox.models import AuthToken

from common import auth_generation

from .models import TokenEvent


def token_issue(*, user: Any, ttl: timedelta | None, actor: str, via: str) -> str:
    """A new token for `user`, expiring after `ttl` (None: never); returns its key, shown nowhere else."""
    with transaction.atomic():
        token, key = AuthToken.objects.create(user=user, expiry=ttl)
        TokenEvent.objects.create(
            action=TokenEvent.Action.ISSUED,
            username=user.get_username(),
            owner_is_staff=user.is_staff,
            token_prefix=token.token_key,
            expires_at=token.expiry,
            actor=actor,
            via=via,
        )
    return str(key)


def tokens_revoke(*, tokens: QuerySet[AuthToken], actor: str, via: str) -> list[TokenEvent]:
    """Delete these tokens, one audit record each; returns the records (empty: nothing to revoke)."""
    with transaction.atomic():
        doomed = list(tokens.select_related("user").select_for_update(of=("self",)))
        events = TokenEvent.objects.bulk_create(
            TokenEvent(
                action=TokenEvent.Action.REVOKED,
                username=token.user.get_username(),
                owner_is_staff=token.user.is_staff,
                token_prefix=token.token_key,
                expires_at=token.expiry,
                actor=actor,
                via=via,
            )
            for token in doomed
        )
        AuthToken.objects.filter(digest__in=[token.digest for token in doomed]).delete()
    return events


def tokens_of_key(key: str) -> QuerySet[AuthToken]:
    tokens: QuerySet[AuthToken] = AuthToken.objects.filter(digest=hash_token(key))
    return tokens


def tokens_of_user(user: Any) -> QuerySet[AuthToken]:
    tokens: QuerySet[AuthToken] = AuthToken.objects.filter(user=user)
    return tokens


def command_actor(by: str | None) -> str:
    """Who runs a management command: `--by`, else the operating-system user."""
    if by:
        return by
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a uid without a passwd entry (containers)
        return f"uid {os.getuid()}"


def _bump_after_commit(*, using: str, **_: Any) -> None:
    transaction.on_commit(auth_generation.bump, using=using)


def _user_saved(*, created: bool, update_fields: frozenset[str] | None, using: str, **_: Any) -> None:
    # A new user has no token yet; a login's `last_login` write changes no right.
    if not created and update_fields != frozenset({"last_login"}):
        _bump_after_commit(using=using)


def _membership_changed(*, action: str, using: str, **_: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        _bump_after_commit(using=using)


def connect_revocations() -> None:
    """Called once, from WalletsConfig.ready(). Every sender, also the admin's and the ORM's."""
    user_model = get_user_model()
    post_delete.connect(_bump_after_commit, sender=AuthToken, dispatch_uid="revoke-token")
    post_save.connect(_user_saved, sender=user_model, dispatch_uid="revoke-user-saved")
    for model in (user_model, Group, Permission):
        post_delete.connect(_bump_after_commit, sender=model, dispatch_uid=f"revoke-{model.__name__}")
    for through in (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    ):
        m2m_changed.connect(_membership_changed, sender=through, dispatch_uid=f"revoke-{through.__name__}")
