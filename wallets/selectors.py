"""Reads: wallets as a principal may see them, pages of wallets and ledger entries, row locks."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import QuerySet

from .errors import WalletNotFound
from .models import LedgerEntry, Wallet

Principal = AbstractBaseUser | AnonymousUser


def parse_wallet_id(raw: object) -> uuid.UUID | None:
    """A wallet id from a path or body; None when it is not a UUID (answered as not found)."""
    if isinstance(raw, uuid.UUID):
        return raw
    if not isinstance(raw, str):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


def may_act_for(principal: Principal, user_id: str) -> bool:
    """Staff act on any wallet; an end user only on wallets whose user_id is their username."""
    return bool(getattr(principal, "is_staff", False)) or principal.get_username() == user_id


def wallet_get_visible(*, principal: Principal, wallet_id: object) -> Wallet:
    """A user wallet the principal may see; WalletNotFound otherwise (existence is not revealed)."""
    parsed = parse_wallet_id(wallet_id)
    if parsed is None:
        raise WalletNotFound()
    wallet = Wallet.objects.filter(id=parsed, kind=Wallet.Kind.USER).first()
    if wallet is None or not may_act_for(principal, wallet.user_id):
        raise WalletNotFound()
    return wallet


def wallets_for_user(*, user_id: str) -> QuerySet[Wallet]:
    """A user's wallets, newest first (stable order: created_at, then id)."""
    return Wallet.objects.filter(user_id=user_id, kind=Wallet.Kind.USER).order_by("-created_at", "-id")


def entries_for_wallet(*, wallet: Wallet, before_version: int | None) -> QuerySet[LedgerEntry]:
    """A wallet's ledger entries, newest first; the wallet version is the cursor."""
    entries = LedgerEntry.objects.filter(wallet=wallet).order_by("-wallet_version")
    if before_version is not None:
        entries = entries.filter(wallet_version__lt=before_version)
    return entries


@dataclass
class LockedWallet:
    id: uuid.UUID
    user_id: str
    currency: str
    balance: Decimal
    version: int
    status: str
    created_at: datetime
    updated_at: datetime


_LOCK_SQL = f"""
    SELECT id, user_id, currency, balance, version, status, created_at, updated_at
      FROM {Wallet._meta.db_table}
     WHERE id = ANY(%s) AND kind = 'user'
     ORDER BY id
       FOR NO KEY UPDATE
"""  # noqa: S608 -- the table name comes from model metadata


def lock_wallets(wallet_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, LockedWallet]:
    """Lock user wallets in id order (so concurrent movements cannot deadlock) and read them.

    FOR NO KEY UPDATE, not FOR UPDATE: it still serializes writers of the wallet, but does not
    block the foreign-key checks of entries inserted elsewhere that reference it. The rows are
    locked as the sorted scan returns them, so every transaction takes its locks in id order.
    Raw SQL because this runs on every movement and the ORM's query compilation costs more
    Python time than PostgreSQL spends on the query. Missing or system wallets are absent.
    """
    with connection.cursor() as cursor:
        cursor.execute(_LOCK_SQL, [sorted(set(wallet_ids))])
        return {row[0]: LockedWallet(*row) for row in cursor.fetchall()}
