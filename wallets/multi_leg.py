"""Multi-leg transactions and batches of transfers (issue #22).

A multi-leg transaction (`transaction_create`) moves money along up to 100 legs, each from one user
wallet to another, as ONE ledger transaction of kind MULTI_LEG: every leg or none. A batch
(`batch_transfer`) is up to 1,000 independent transfers, each its own TRANSFER transaction that
succeeds or fails alone.

Both lock every user wallet they touch once, in id order (`locks.lock_for_sending`, the lock every
movement takes, so no two writers can deadlock; an end user's never locks a sender not theirs),
then check each leg on the locked rows in the order given: a leg sees the balances the legs before
it left (funds are counted across legs, as TigerBeetle's linked transfers do), and a wallet may
appear in several legs. Each leg is one version of each of its two wallets: its two entries and
its two events carry the versions, and the leg's index. Then one statement writes balances (one
version-checked update per wallet), entries, legs and outbox rows (`ledger_writes.write_many`: each
table's rows as one JSON document, so the statement's text, converted by psycopg and planned by
PostgreSQL once, is the same for 1 leg or 1,000 transfers).

A refused leg names itself: `legs[3].amount` (or `transfers[3]...`) in the error's details, and in
a multi-leg transaction nothing is written. A leg's description and metadata, when it has either,
are that leg's in its events and entries; otherwise the transaction's.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction

from common.errors import ApplicationError, ValidationFailed
from common.ids import new_id

from . import events
from .errors import (
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    SameWallet,
    WalletFrozen,
    WalletNotFound,
)
from .ledger_writes import Entry, LegRow, Movement, balance_updates, write_many
from .locks import change_time, lock_for_sending
from .models import LedgerEntry, LedgerTransaction, Wallet
from .services import NO_NOTE, MovementResult, Note, credit, debit, user_entry, wallet_event

MAX_LEGS = 100
MAX_BATCH_ITEMS = 1000


@dataclass(frozen=True)
class Leg:
    from_wallet_id: uuid.UUID
    to_wallet_id: uuid.UUID
    amount: Decimal
    note: Note = NO_NOTE


class _LegRefused(Exception):
    """A leg's refusal and the field it concerns, before the caller names the leg."""

    def __init__(self, error: ApplicationError, field: str) -> None:
        super().__init__(error.message)
        self.error, self.field = error, field

    def at(self, items: str, index: int, *, prefixed: bool = True) -> ApplicationError:
        """The refusal as the API answers it: `<items>[index].<field>` in its details."""
        message = f"{items}[{index}]: {self.error.message}" if prefixed else self.error.message
        details = {**(self.error.details or {}), "leg": index, "field": f"{items}[{index}].{self.field}"}
        return type(self.error)(message, details=details)


def _apply(
    locked: dict[uuid.UUID, Wallet], leg: Leg, owner_user_id: str | None, at: datetime
) -> tuple[Wallet, Wallet]:
    """Move one leg on the locked wallets (in memory), or refuse it and change nothing."""
    if leg.from_wallet_id == leg.to_wallet_id:
        raise _LegRefused(SameWallet(), "to_wallet_id")
    sender, receiver = locked.get(leg.from_wallet_id), locked.get(leg.to_wallet_id)
    if sender is None or (owner_user_id is not None and sender.user_id != owner_user_id):
        raise _LegRefused(WalletNotFound("Wallet not found."), "from_wallet_id")
    if receiver is None:
        raise _LegRefused(WalletNotFound("The destination wallet was not found."), "to_wallet_id")
    if sender.currency != receiver.currency:
        raise _LegRefused(CurrencyMismatch(), "to_wallet_id")
    if sender.status != Wallet.Status.ACTIVE:
        raise _LegRefused(WalletFrozen("The sending wallet is frozen."), "from_wallet_id")
    if receiver.status != Wallet.Status.ACTIVE:
        raise _LegRefused(WalletFrozen("The receiving wallet is frozen."), "to_wallet_id")
    before = (sender.balance, sender.held, sender.version, sender.updated_at)
    try:
        debit(sender, leg.amount, at)
        credit(receiver, leg.amount, at)
    except (InsufficientFunds, InvalidAmount) as exc:
        sender.balance, sender.held, sender.version, sender.updated_at = before  # credit refused
        raise _LegRefused(exc, "amount") from None
    return sender, receiver


def _leg_writes(
    sender: Wallet, receiver: Wallet, leg: Leg, txn_id: uuid.UUID, at: datetime, note: Note, index: int | None
) -> tuple[list[Entry], list[events.WalletEvent]]:
    """A moved leg's two entries and two events (the wallets as the leg left them)."""
    amount = leg.amount
    entries = [
        user_entry(sender, -amount, LedgerEntry.Type.TRANSFER_OUT, leg=index),
        user_entry(receiver, amount, LedgerEntry.Type.TRANSFER_IN, leg=index),
    ]
    wallet_events = [
        wallet_event(sender, events.TRANSFER_OUT, amount, txn_id, at, receiver, note=note, leg=index),
        wallet_event(receiver, events.TRANSFER_IN, amount, txn_id, at, sender, note=note, leg=index),
    ]
    return entries, wallet_events


def _lock(
    legs: Sequence[Leg], owner_user_id: str | None
) -> tuple[dict[uuid.UUID, Wallet], dict[uuid.UUID, int]]:
    """Every user wallet the legs name, locked once in id order, and their versions before. With
    `owner_user_id`, a sending wallet not theirs is not locked (`locks.lock_for_sending`): its
    legs find no sender and are refused as not found."""
    locked = lock_for_sending(
        (leg.from_wallet_id for leg in legs), (leg.to_wallet_id for leg in legs), owner_user_id
    )
    return locked, {wallet_id: wallet.version for wallet_id, wallet in locked.items()}


def leg_note(leg: Leg, note: Note) -> Note:
    """What a leg's events and entries say: its own note if it has one, else the transaction's."""
    return leg.note if leg.note.description is not None or leg.note.metadata else note


def transaction_create(
    *,
    legs: Sequence[Leg],
    initiated_by: str,
    owner_user_id: str | None = None,
    note: Note = NO_NOTE,
    items: str = "legs",
) -> MovementResult:
    """Every leg as one MULTI_LEG ledger transaction, or none (the first refused leg's error,
    naming it as `<items>[i]`). With `owner_user_id`, every sending wallet must be theirs."""
    if not 1 <= len(legs) <= MAX_LEGS:
        raise ValidationFailed(
            f"A transaction has 1 to {MAX_LEGS} legs.", details={items: [f"{len(legs)} given"]}
        )
    txn_id = new_id()
    with transaction.atomic(savepoint=False):
        locked, versions = _lock(legs, owner_user_id)
        now = change_time(locked.values())
        entries: list[Entry] = []
        wallet_events: list[events.WalletEvent] = []
        leg_rows = []
        for index, leg in enumerate(legs):
            try:
                sender, receiver = _apply(locked, leg, owner_user_id, now)
            except _LegRefused as refused:
                raise refused.at(items, index) from None
            leg_entries, leg_events = _leg_writes(
                sender, receiver, leg, txn_id, now, leg_note(leg, note), index
            )
            entries += leg_entries
            wallet_events += leg_events
            leg_rows.append(
                LegRow(
                    index,
                    sender.id,
                    receiver.id,
                    sender.currency,
                    leg.amount,
                    leg.note.description,
                    leg.note.metadata,
                )
            )
        movement = Movement(
            txn_id,
            LedgerTransaction.Kind.MULTI_LEG,
            initiated_by,
            entries,
            note.description,
            note.metadata,
            legs=leg_rows,
        )
        write_many(
            at=now,
            updates=balance_updates(locked.values(), versions),
            movements=[movement],
            events=wallet_events,
        )
    return MovementResult(txn_id, now, entries, locked)


@dataclass(frozen=True)
class BatchItem:
    """One transfer of a batch: made (`result`) or refused (`error`, nothing changed for it)."""

    result: MovementResult | None = None
    error: ApplicationError | None = None


def batch_transfer(
    *, transfers: Sequence[Leg], initiated_by: str, owner_user_id: str | None = None
) -> list[BatchItem]:
    """Each transfer its own TRANSFER transaction, checked in order on the locked wallets (a
    refused one leaves the others), all written in one database transaction."""
    if not 1 <= len(transfers) <= MAX_BATCH_ITEMS:
        raise ValidationFailed(
            f"A batch has 1 to {MAX_BATCH_ITEMS} transfers.",
            details={"transfers": [f"{len(transfers)} given"]},
        )
    results: list[BatchItem] = []
    with transaction.atomic(savepoint=False):
        locked, versions = _lock(transfers, owner_user_id)
        now = change_time(locked.values())
        movements: list[tuple[Movement, list[events.WalletEvent]]] = []
        for index, item in enumerate(transfers):
            try:
                sender, receiver = _apply(locked, item, owner_user_id, now)
            except _LegRefused as refused:
                results.append(BatchItem(error=refused.at("transfers", index, prefixed=False)))
                continue
            txn_id = new_id()
            entries, item_events = _leg_writes(sender, receiver, item, txn_id, now, item.note, None)
            movements.append(
                (
                    Movement(
                        txn_id,
                        LedgerTransaction.Kind.TRANSFER,
                        initiated_by,
                        entries,
                        item.note.description,
                        item.note.metadata,
                    ),
                    item_events,
                )
            )
            wallets = {sender.id: sender, receiver.id: receiver}  # whose entries these are
            results.append(BatchItem(result=MovementResult(txn_id, now, entries, wallets)))
        if movements:
            write_many(
                at=now,
                updates=balance_updates(locked.values(), versions),
                movements=[movement for movement, _ in movements],
                events=[event for _, item_events in movements for event in item_events],
            )
    return results
