"""Reads: a wallet as a principal may see it, a user's wallets, a wallet's ledger entries, the
books' totals per currency, holds and ledger transactions as a principal may see them.

Listings take the position of the previous page's last item (keyset pagination, `common.pagination`).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TypeVar

from django.db.models import Count, F, Model, Q, QuerySet, Sum

from common.api import parse_uuid
from common.compiled import CompiledQuery

from .errors import HoldNotFound, TransactionNotFound, WalletNotFound
from .models import Hold, LedgerEntry, LedgerTransaction, TransactionLeg, Wallet
from .permissions import Principal, balances_hidden_from, may_act_for


def user_wallet(wallet_id: uuid.UUID) -> QuerySet[Wallet]:
    return Wallet.objects.filter(id=wallet_id, kind=Wallet.Kind.USER)


# The read of every `GET /wallets/{id}`, compiled once (`common.compiled`).
_USER_WALLET = CompiledQuery(Wallet, user_wallet)


def wallet_get_visible(*, principal: Principal, wallet_id: object) -> Wallet:
    """A user wallet the principal may see; WalletNotFound otherwise (existence is not revealed)."""
    parsed = parse_uuid(wallet_id)
    if parsed is None:
        raise WalletNotFound()
    found = _USER_WALLET.run(parsed)
    wallet = found[0] if found else None
    if wallet is None or not may_act_for(principal, wallet.user_id):
        raise WalletNotFound()
    return wallet


M = TypeVar("M", bound=Model)


def _newest_first_after(rows: QuerySet[M], after: tuple[datetime, uuid.UUID] | None) -> QuerySet[M]:
    """Newest first (created_at, then id: a stable order), after a page's last position."""
    rows = rows.order_by("-created_at", "-id")
    if after is not None:
        created_at, last_id = after
        rows = rows.filter(Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=last_id))
    return rows


def wallets_for_user(*, user_id: str, after: tuple[datetime, uuid.UUID] | None = None) -> QuerySet[Wallet]:
    """A user's wallets, newest first (stable order: created_at, then id), after a position."""
    wallets = Wallet.objects.filter(user_id=user_id, kind=Wallet.Kind.USER)
    return _newest_first_after(wallets, after)


def entries_for_wallet(*, wallet: Wallet, before_version: int | None = None) -> QuerySet[LedgerEntry]:
    """A wallet's ledger entries, newest first; the wallet version is the position."""
    entries = LedgerEntry.objects.filter(wallet=wallet).order_by("-wallet_version")
    if before_version is not None:
        entries = entries.filter(wallet_version__lt=before_version)
    return entries


@dataclass(frozen=True)
class CurrencyTotals:
    """One currency's user wallets: how many, and the money they hold."""

    currency: str
    user_wallets: int
    user_balance: Decimal  # the sum of the user wallets' balances
    system_account_id: uuid.UUID | None  # None until the first fund or withdraw in the currency


def currency_totals() -> list[CurrencyTotals]:
    """Every currency that has a wallet, from one pass over the wallets: it grows with the wallets,
    never with the ledger. The system account's balance is not here: it is the sum of its entries, a
    read of the whole ledger, which `reconcile` makes (check `currency_totals`) and a page must not."""
    user = Q(kind=Wallet.Kind.USER)
    per_currency = (
        Wallet.objects.values("currency")
        .annotate(
            user_wallets=Count("id", filter=user),
            user_balance=Sum("balance", filter=user, default=Decimal(0)),
        )
        .order_by("currency")
    )
    system_accounts = dict(Wallet.objects.filter(kind=Wallet.Kind.SYSTEM).values_list("currency", "id"))
    return [
        CurrencyTotals(
            row["currency"], row["user_wallets"], row["user_balance"], system_accounts.get(row["currency"])
        )
        for row in per_currency
    ]


def hold_get_visible(*, principal: Principal, hold_id: object) -> Hold:
    """A hold whose sending or receiving wallet the principal may see; HoldNotFound otherwise."""
    parsed = parse_uuid(hold_id)
    hold = (
        Hold.objects.filter(id=parsed).select_related("from_wallet", "to_wallet").first()
        if parsed is not None
        else None
    )
    if hold is None or not (
        may_act_for(principal, hold.from_wallet.user_id) or may_act_for(principal, hold.to_wallet.user_id)
    ):
        raise HoldNotFound()
    return hold


def may_settle(principal: Principal, hold: Hold) -> bool:
    """Capture and void: the receiving wallet's owner, or staff (never the payer alone)."""
    return may_act_for(principal, hold.to_wallet.user_id)


def holds_for_wallet(
    *, wallet: Wallet, status: str | None = None, after: tuple[datetime, uuid.UUID] | None = None
) -> QuerySet[Hold]:
    """The holds a wallet sends or receives, newest first (created_at, then id), after a position."""
    holds = Hold.objects.filter(Q(from_wallet=wallet) | Q(to_wallet=wallet))
    if status is not None:
        holds = holds.filter(status=status)
    return _newest_first_after(holds, after)


@dataclass(frozen=True)
class VisibleTransaction:
    """A ledger transaction's entries and legs as a principal may see them, and the wallets among
    them shown without balance (`hidden`)."""

    entries: list[LedgerEntry]
    legs: list[TransactionLeg]
    hidden: frozenset[uuid.UUID]


def transaction_get_visible(
    *, principal: Principal, transaction: LedgerTransaction | None
) -> VisibleTransaction:
    """A ledger transaction one of whose user wallets the principal may see (TransactionNotFound
    otherwise, its existence not revealed), as they may see it. Staff see every user wallet's entry
    (debits first) and every leg. An end user sees their own wallets' entries in full and a
    counterparty's entry without its balance (`permissions.balances_hidden_from`: a payee learns
    who paid and how much, never the payer's balance); of a transaction with legs (a split, or its
    reversal) only the legs that touch one of their wallets, and those legs' entries."""
    if transaction is None:
        raise TransactionNotFound()
    entries = list(
        LedgerEntry.objects.filter(transaction=transaction, wallet__kind=Wallet.Kind.USER)
        .select_related("wallet")
        .order_by(F("leg").asc(nulls_first=True), "amount", "id")
    )
    hidden = balances_hidden_from(principal, (entry.wallet for entry in entries))
    own = [entry for entry in entries if entry.wallet_id not in hidden]
    if not own:
        raise TransactionNotFound()
    legs = legs_of(transaction)
    if hidden:
        seen = {entry.leg for entry in own}
        entries = [entry for entry in entries if entry.leg is None or entry.leg in seen]
        legs = [leg for leg in legs if leg.index in seen]
    return VisibleTransaction(entries, legs, hidden)


def pending_holds_by_currency() -> list[tuple[str, int, Decimal]]:
    """(currency, count, amount) of the pending holds, per currency (the metrics' figures)."""
    rows = (
        Hold.objects.filter(status=Hold.Status.PENDING)
        .values("currency")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("currency")
    )
    return [(row["currency"], row["count"], row["amount"]) for row in rows]


def legs_of(transaction: LedgerTransaction) -> list[TransactionLeg]:
    """A MULTI_LEG transaction's legs (or its reversal's), in order; none for other kinds."""
    if transaction.kind not in (LedgerTransaction.Kind.MULTI_LEG, LedgerTransaction.Kind.REVERSAL):
        return []
    return list(TransactionLeg.objects.filter(transaction=transaction).order_by("index"))


def legs_for_entries(entries: list[LedgerEntry]) -> dict[uuid.UUID, list[TransactionLeg]]:
    """The legs of the entries' transactions that have legs, by transaction: one query, only if
    a page has such an entry."""
    with_legs = {entry.transaction_id for entry in entries if entry.leg is not None}
    found: dict[uuid.UUID, list[TransactionLeg]] = {}
    if with_legs:
        for leg in TransactionLeg.objects.filter(transaction_id__in=with_legs):
            found.setdefault(leg.transaction_id, []).append(leg)
    return found
