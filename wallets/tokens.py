"""API tokens: issue and revoke, each recorded in the token audit (`TokenEvent`) in one transaction.

Tokens are django-rest-knox's: the key is returned once, at issue, and only its SHA-512 digest is
stored. A revoked token is deleted; web workers that cached it accept it for at most
`API_TOKEN_CACHE_SECONDS` more (common/auth.py). The one way tokens are made, by the management
commands, the tests and the benchmarks alike.
"""

from __future__ import annotations

import getpass
import os
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from knox.crypto import hash_token
from knox.models import AuthToken

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
