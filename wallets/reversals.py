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
from django.db.models import F

from common.api import parse_uuid
from common.ids import new_id

from . import events
from .errors import AlreadyReversed, NotReversible, TransactionNotFound
from .ledger_writes import Entry, LegRow, Movement, balance_updates, write_many
from .locks import change_time, lock_user_wallets
from .models import LedgerEntry, LedgerTransaction, TransactionLeg, Wallet
from .services import MovementResult, credit, debit, user_entry, wallet_event

REVERSIBLE = (
    LedgerTransaction.Kind.FUND,
    LedgerTransaction.Kind.WITHDRAW,
    LedgerTransaction.Kind.TRANSFER,
    LedgerTransaction.Kind.CAPTURE,
    LedgerTransaction.Kind.MULTI_LEG,
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
    """Write the reversal of a completed transaction (staff only: the view checks).

    A MULTI_LEG transaction's legs are reversed last leg first, each once: the reversal has the
    same legs the other way round, and its entries and events carry their leg's index."""
    original = LedgerTransaction.objects.filter(id=transaction_id).first()
    if original is None:
        raise TransactionNotFound()
    if original.kind not in REVERSIBLE:
        raise NotReversible()
    legs = list(
        LedgerEntry.objects.filter(transaction=original)
        .select_related("wallet")
        .order_by(F("leg").desc(nulls_last=True), "amount", "id")
    )
    original_legs = list(TransactionLeg.objects.filter(transaction=original).order_by("-index"))
    txn_id = new_id()
    try:
        with transaction.atomic(savepoint=False):
            locked = lock_user_wallets(leg.wallet_id for leg in legs)
            now = change_time(locked.values())
            versions = {wallet_id: wallet.version for wallet_id, wallet in locked.items()}
            if LedgerTransaction.objects.filter(reverses=original).exists():
                raise AlreadyReversed()
            entries: list[Entry] = []
            wallet_events: list[events.WalletEvent] = []
            for leg in legs:
                amount = -leg.amount  # the opposite entry
                wallet = locked.get(leg.wallet_id)
                entry_type = LedgerEntry.Type.REVERSAL_IN if amount > 0 else LedgerEntry.Type.REVERSAL_OUT
                if wallet is None:  # the system account keeps no running balance
                    entries.append(
                        Entry(leg.wallet_id, leg.currency, amount, entry_type, None, None, new_id(), leg.leg)
                    )
                    continue
                if amount > 0:
                    credit(wallet, amount, now)
                else:
                    debit(wallet, -amount, now)
                entries.append(user_entry(wallet, amount, entry_type, leg=leg.leg))
                event_type = events.REVERSAL_IN if amount > 0 else events.REVERSAL_OUT
                counterparty = _counterparty(legs, leg, locked)
                wallet_events.append(  # the wallet as this entry left it
                    wallet_event(
                        wallet,
                        event_type,
                        abs(amount),
                        txn_id,
                        now,
                        counterparty,
                        reverses=original.id,
                        leg=leg.leg,
                    )
                )
            reversal = Movement(
                txn_id,
                LedgerTransaction.Kind.REVERSAL,
                initiated_by,
                entries,
                reverses_id=original.id,
                reason=reason,
                legs=[
                    LegRow(
                        leg.index,
                        leg.to_wallet_id,
                        leg.from_wallet_id,
                        leg.currency,
                        leg.amount,
                        leg.description,
                        leg.metadata,
                    )
                    for leg in original_legs
                ],
            )
            # write_many, as a multi-leg transaction's: a reversal has as many entries as its
            # original, up to 200, and the legs of a MULTI_LEG one.
            write_many(
                at=now,
                updates=balance_updates(locked.values(), versions),
                movements=[reversal],
                events=wallet_events,
            )
    except IntegrityError as exc:  # the unique link: a reversal committed between check and write
        if "reverses" in str(exc):
            raise AlreadyReversed() from exc
        raise
    user_entries = [entry for entry in entries if entry.wallet_version is not None]
    return MovementResult(txn_id, now, user_entries, locked)


def _counterparty(
    entries: list[LedgerEntry], entry: LedgerEntry, locked: dict[uuid.UUID, Wallet]
) -> Wallet | None:
    """The other user wallet of the entry's leg (of the transaction, if it has no legs)."""
    others = [
        locked[other.wallet_id]
        for other in entries
        if other.leg == entry.leg and other.wallet_id != entry.wallet_id and other.wallet_id in locked
    ]
    return others[0] if others else None
