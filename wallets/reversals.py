"""Reversals (../shared/spec/holds.md): undo a completed fund, withdrawal, transfer or capture with a
new ledger transaction of kind REVERSAL holding the opposite entries, linked to the original.

Once only: `LedgerTransaction.reverses` is unique in PostgreSQL, and the service checks under the
locks of the wallets involved, so two reversals of one transaction serialize and the second is 409
`already_reversed`. A wallet the reversal debits must have the money *available* (its pending holds
stay covered): never a negative balance, never `held > balance`. Frozen wallets do not stop a
reversal: it is the operators' correction. Reversing a capture leaves its hold `captured`.
"""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.api import parse_uuid
from common.ids import new_id

from . import events
from .errors import AlreadyReversed, NotReversible, TransactionNotFound
from .ledger_writes import BalanceUpdate, Entry, write_movement
from .locks import lock_user_wallets
from .models import LedgerEntry, LedgerTransaction
from .services import MovementResult, credit, debit, user_entry, wallet_event

REVERSIBLE = (
    LedgerTransaction.Kind.FUND,
    LedgerTransaction.Kind.WITHDRAW,
    LedgerTransaction.Kind.TRANSFER,
    LedgerTransaction.Kind.CAPTURE,
)


def transaction_find(raw_id: object) -> LedgerTransaction | None:
    """A ledger transaction by its id, or by the id of one of its entries (the seed's
    `transaction_id` of a transaction object; its `reference_id` is the ledger transaction's)."""
    parsed = parse_uuid(raw_id)
    if parsed is None:
        return None
    found = LedgerTransaction.objects.filter(id=parsed).first()
    if found is None:
        entry = LedgerEntry.objects.filter(id=parsed).select_related("transaction").first()
        found = entry.transaction if entry is not None else None
    return found


def transaction_reverse(*, transaction_id: uuid.UUID, reason: str, initiated_by: str) -> MovementResult:
    """Write the reversal of a completed transaction (staff only: the view checks)."""
    original = LedgerTransaction.objects.filter(id=transaction_id).first()
    if original is None:
        raise TransactionNotFound()
    if original.kind not in REVERSIBLE:
        raise NotReversible()
    legs = list(
        LedgerEntry.objects.filter(transaction=original).select_related("wallet").order_by("amount", "id")
    )
    now = timezone.now()
    txn_id = new_id()
    try:
        with transaction.atomic(savepoint=False):
            locked = lock_user_wallets(leg.wallet_id for leg in legs)
            if LedgerTransaction.objects.filter(reverses=original).exists():
                raise AlreadyReversed()
            entries: list[Entry] = []
            touched = []
            for leg in legs:
                amount = -leg.amount  # the opposite entry
                wallet = locked.get(leg.wallet_id)
                entry_type = LedgerEntry.Type.REVERSAL_IN if amount > 0 else LedgerEntry.Type.REVERSAL_OUT
                if wallet is None:  # the system account keeps no running balance
                    entries.append(
                        Entry(leg.wallet_id, leg.currency, amount, entry_type, None, None, new_id())
                    )
                    continue
                if amount > 0:
                    credit(wallet, amount, now)
                else:
                    debit(wallet, -amount, now)
                entries.append(user_entry(wallet, amount, entry_type))
                touched.append((wallet, entry_type, abs(amount)))
            users = [wallet for wallet, _, _ in touched]
            wallet_events = []
            for wallet, entry_type, amount in touched:
                others = [other for other in users if other.id != wallet.id]
                event_type = (
                    events.REVERSAL_IN if entry_type == LedgerEntry.Type.REVERSAL_IN else events.REVERSAL_OUT
                )
                wallet_events.append(
                    wallet_event(
                        wallet,
                        event_type,
                        amount,
                        txn_id,
                        now,
                        others[0] if others else None,
                        reverses=original.id,
                    )
                )
            write_movement(
                transaction_id=txn_id,
                kind=LedgerTransaction.Kind.REVERSAL,
                initiated_by=initiated_by,
                at=now,
                updates=[BalanceUpdate.of(wallet) for wallet in users],
                entries=entries,
                events=wallet_events,
                reverses_id=original.id,
                reason=reason,
            )
    except IntegrityError as exc:  # the unique link: a reversal committed between check and write
        if "reverses" in str(exc):
            raise AlreadyReversed() from exc
        raise
    user_entries = [entry for entry in entries if entry.wallet_version is not None]
    return MovementResult(txn_id, now, user_entries, locked)
