"""Writes of holds (../shared/spec/holds.md): create, capture, void, expire.

A hold reserves money of its sending wallet (`Wallet.held`), so every change of a hold is a change
of that wallet: it runs under the wallet's row lock (`locks.lock_user_wallets`, id order), raises
its version by one per change, and writes its event to the outbox in the same statement as the
wallet and hold rows (`ledger_writes`). A hold's status only changes under its sender's lock, so
re-reading the hold after taking the lock sees the last word on it: capture and void racing on one
hold serialize, and exactly one of them finds it pending.

Versions: create is one version of the sender (HOLD_CREATED). Void and expiry are one
(HOLD_RELEASED). A capture is the TRANSFER_OUT of its ledger transaction (version n+1) and, when
it captures less than the hold, a HOLD_RELEASED of the rest (n+2, with the capture's transaction
id); the receiver gets TRANSFER_IN. `Hold.created_version` and `released_version` record them.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from common.ids import new_id

from . import events
from .errors import (
    HoldExpired,
    HoldNotFound,
    HoldNotPending,
    InsufficientFunds,
    InvalidAmount,
    SameWallet,
    WalletFrozen,
)
from .ledger_writes import BalanceUpdate, Cte, Entry, write_changes, write_movement
from .locks import change_time, lock_user_wallets
from .models import Hold, LedgerEntry, LedgerTransaction, Wallet
from .money import format_money
from .services import NO_NOTE, Note, credit, debit, lock_sender_and_receiver, user_entry, wallet_event

HOLDS = Hold._meta.db_table

EXPIRES_IN_MIN = 60
EXPIRES_IN_MAX = 30 * 24 * 3600
EXPIRES_IN_DEFAULT = 7 * 24 * 3600
EXPIRY_BATCH = 500  # holds released per run of the expiry task; the next run takes the rest


@dataclass(frozen=True)
class CaptureResult:
    hold: Hold
    transaction_id: uuid.UUID
    created_at: datetime
    entries: list[Entry]  # the two user legs, out then in
    note: Note  # the capture's description and metadata (the hold's when none was given)


def _check_active(*wallets: Wallet) -> None:
    for wallet, role in zip(wallets, ("sending", "receiving"), strict=False):
        if wallet.status != Wallet.Status.ACTIVE:
            raise WalletFrozen(f"The {role} wallet is frozen.")


def _hold_update(hold: Hold, **fields: object) -> Cte:
    """Set `fields` on the hold, which must still be pending (checked: exactly one row)."""
    assignments = ", ".join(f"{name} = %s" for name in fields)
    return Cte(
        f"UPDATE {HOLDS} SET {assignments} WHERE id = %s AND status = %s RETURNING id",  # noqa: S608
        [*fields.values(), hold.id, Hold.Status.PENDING],
        expect_rows=1,
    )


def hold_create(
    *,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: Decimal,
    initiated_by: str,
    expires_in: int = EXPIRES_IN_DEFAULT,
    owner_user_id: str | None = None,
    note: Note = NO_NOTE,
) -> Hold:
    """Reserve `amount` of the sender's available money for the receiver. With `owner_user_id`, the
    sender must be theirs (an end user's hold); otherwise it is answered as not found."""
    if from_wallet_id == to_wallet_id:
        raise SameWallet("A hold needs two different wallets.")
    with transaction.atomic(savepoint=False):
        locked, sender, receiver = lock_sender_and_receiver(
            from_wallet_id, to_wallet_id, owner_user_id, "Both wallets of a hold must hold the same currency."
        )
        now = change_time(locked.values())
        _check_active(sender, receiver)
        if sender.available < amount:
            raise InsufficientFunds()
        sender.held += amount
        sender.version += 1
        sender.updated_at = now
        hold = Hold(
            id=new_id(),
            from_wallet=sender,
            to_wallet=receiver,
            currency=sender.currency,
            amount=amount,
            captured_amount=Decimal(0),
            status=Hold.Status.PENDING,
            expires_at=now + timedelta(seconds=expires_in),
            description=note.description,
            metadata=note.metadata,
            created_by=initiated_by,
            closed_by="",
            created_version=sender.version,
            created_at=now,
            updated_at=now,
        )
        insert = Cte(
            f"""INSERT INTO {HOLDS} (id, from_wallet_id, to_wallet_id, currency, amount, captured_amount,
                                     status, expires_at, description, metadata, created_by, closed_by,
                                     created_version, created_at, updated_at)
                VALUES (%s, %s, %s, %s, %s, 0, %s, %s, %s, %s::jsonb, %s, '', %s, %s, %s)""",  # noqa: S608
            [
                hold.id,
                sender.id,
                receiver.id,
                hold.currency,
                amount,
                hold.status,
                hold.expires_at,
                hold.description,
                json.dumps(hold.metadata),
                initiated_by,
                hold.created_version,
                now,
                now,
            ],
        )
        write_changes(
            at=now,
            updates=[BalanceUpdate.of(sender)],
            events=[
                wallet_event(
                    sender,
                    events.HOLD_CREATED,
                    amount,
                    None,
                    now,
                    counterparty=receiver,
                    note=note,
                    hold_id=hold.id,
                )
            ],
            extra=[insert],
        )
    return hold


def _pending(hold_id: uuid.UUID) -> Hold:
    """The hold as it is now (read after its sender's lock is held)."""
    hold = Hold.objects.filter(id=hold_id).first()
    if hold is None:
        raise HoldNotFound()
    if hold.status != Hold.Status.PENDING:
        raise HoldNotPending()
    return hold


def hold_capture(
    *, hold: Hold, amount: Decimal | None, initiated_by: str, note: Note | None = None
) -> CaptureResult:
    """Move `amount` (default: all of the hold) from sender to receiver as one ledger transaction
    linked to the hold, and release the rest. `note` defaults to the hold's own."""
    txn_id = new_id()
    with transaction.atomic(savepoint=False):
        locked = lock_user_wallets([hold.from_wallet_id, hold.to_wallet_id])
        now = change_time(locked.values())
        hold = _pending(hold.id)
        sender, receiver = locked[hold.from_wallet_id], locked[hold.to_wallet_id]
        if now >= hold.expires_at:
            raise HoldExpired()
        _check_active(sender, receiver)
        captured = hold.amount if amount is None else amount
        if captured > hold.amount:
            raise InvalidAmount(
                "The amount to capture is more than the hold.", details={"held": format_money(hold.amount)}
            )
        if note is None:
            note = Note(hold.description, hold.metadata)
        rest = hold.amount - captured
        debit(sender, captured, now, from_held=captured)
        credit(receiver, captured, now)
        entries = [
            user_entry(sender, -captured, LedgerEntry.Type.TRANSFER_OUT),
            user_entry(receiver, captured, LedgerEntry.Type.TRANSFER_IN),
        ]
        wallet_events = [
            wallet_event(
                sender, events.TRANSFER_OUT, captured, txn_id, now, receiver, note=note, hold_id=hold.id
            ),
            wallet_event(
                receiver, events.TRANSFER_IN, captured, txn_id, now, sender, note=note, hold_id=hold.id
            ),
        ]
        released_version = None
        if rest > 0:
            sender.held -= rest
            sender.version += 1
            released_version = sender.version
            wallet_events.append(
                wallet_event(
                    sender, events.HOLD_RELEASED, rest, txn_id, now, receiver, note=note, hold_id=hold.id
                )
            )
        write_movement(
            transaction_id=txn_id,
            kind=LedgerTransaction.Kind.CAPTURE,
            initiated_by=initiated_by,
            at=now,
            updates=[BalanceUpdate.of(sender, steps=2 if rest > 0 else 1), BalanceUpdate.of(receiver)],
            entries=entries,
            events=wallet_events,
            description=note.description,
            metadata=note.metadata,
            extra=[
                _hold_update(
                    hold,
                    status=Hold.Status.CAPTURED,
                    captured_amount=captured,
                    transaction_id=txn_id,
                    released_version=released_version,
                    closed_by=initiated_by,
                    updated_at=now,
                )
            ],
        )
        hold.status, hold.captured_amount, hold.transaction_id = Hold.Status.CAPTURED, captured, txn_id
        hold.released_version, hold.closed_by, hold.updated_at = released_version, initiated_by, now
    return CaptureResult(hold, txn_id, now, entries, note)


def _release(hold: Hold, sender: Wallet, *, status: str, closed_by: str, now: datetime) -> Hold:
    """Give a pending hold's money back to its `sender` (locked by the caller) (void or expiry)."""
    receiver = Wallet.objects.only("id", "user_id").get(id=hold.to_wallet_id)  # the event's counterparty
    sender.held -= hold.amount
    sender.version += 1
    sender.updated_at = now
    note = Note(hold.description, hold.metadata)
    write_changes(
        at=now,
        updates=[BalanceUpdate.of(sender)],
        events=[
            wallet_event(
                sender, events.HOLD_RELEASED, hold.amount, None, now, receiver, note=note, hold_id=hold.id
            )
        ],
        extra=[
            _hold_update(
                hold, status=status, released_version=sender.version, closed_by=closed_by, updated_at=now
            )
        ],
    )
    hold.status, hold.released_version, hold.closed_by, hold.updated_at = (
        status,
        sender.version,
        closed_by,
        now,
    )
    return hold


def hold_void(*, hold: Hold, initiated_by: str) -> Hold:
    """Release the whole hold (the receiver's or staff's decision; allowed on frozen wallets)."""
    with transaction.atomic(savepoint=False):
        sender = lock_user_wallets([hold.from_wallet_id])[hold.from_wallet_id]
        current = _pending(hold.id)
        return _release(
            current, sender, status=Hold.Status.VOIDED, closed_by=initiated_by, now=change_time([sender])
        )


def hold_expire(*, hold_id: uuid.UUID) -> bool:
    """Release the hold as `expired` if it is still pending past its expiry; False otherwise."""
    hold = Hold.objects.filter(id=hold_id).only("id", "from_wallet_id").first()
    if hold is None:
        return False
    with transaction.atomic(savepoint=False):
        sender = lock_user_wallets([hold.from_wallet_id])[hold.from_wallet_id]
        now = change_time([sender])
        current = Hold.objects.filter(id=hold_id, status=Hold.Status.PENDING, expires_at__lte=now).first()
        if current is None:
            return False
        _release(current, sender, status=Hold.Status.EXPIRED, closed_by="", now=now)
    return True


def holds_expire_due(*, limit: int = EXPIRY_BATCH) -> int:
    """Release every pending hold past its expiry (oldest first, up to `limit`), one transaction
    each so a wallet's lock is held briefly. Returns how many were released."""
    due = list(
        Hold.objects.filter(status=Hold.Status.PENDING, expires_at__lte=timezone.now())
        .order_by("expires_at")
        .values_list("id", flat=True)[:limit]
    )
    return sum(hold_expire(hold_id=hold_id) for hold_id in due)
