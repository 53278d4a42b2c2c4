"""Reads: a wallet as a principal may see it, a user's wallets, a wallet's ledger entries.

Listings take the position of the previous page's last item (keyset pagination, `common.pagination`).
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db.models import Q, QuerySet

from common.api import parse_uuid

from .errors import WalletNotFound
from .models import LedgerEntry, Wallet
from .permissions import Principal, may_act_for


def wallet_get_visible(*, principal: Principal, wallet_id: object) -> Wallet:
    """A user wallet the principal may see; WalletNotFound otherwise (existence is not revealed)."""
    parsed = parse_uuid(wallet_id)
    if parsed is None:
        raise WalletNotFound()
    wallet = Wallet.objects.filter(id=parsed, kind=Wallet.Kind.USER).first()
    if wallet is None or not may_act_for(principal, wallet.user_id):
        raise WalletNotFound()
    return wallet


def wallets_for_user(*, user_id: str, after: tuple[datetime, uuid.UUID] | None = None) -> QuerySet[Wallet]:
    """A user's wallets, newest first (stable order: created_at, then id), after a position."""
    wallets = Wallet.objects.filter(user_id=user_id, kind=Wallet.Kind.USER).order_by("-created_at", "-id")
    if after is not None:
        created_at, last_id = after
        wallets = wallets.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=last_id))
    return wallets


def entries_for_wallet(*, wallet: Wallet, before_version: int | None = None) -> QuerySet[LedgerEntry]:
    """A wallet's ledger entries, newest first; the wallet version is the position."""
    entries = LedgerEntry.objects.filter(wallet=wallet).order_by("-wallet_version")
    if before_version is not None:
        entries = entries.filter(wallet_version__lt=before_version)
    return entries
