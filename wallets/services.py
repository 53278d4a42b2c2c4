"""Writes: every money movement, one atomic transaction each (HackSoft-style services).

Each service locks the user wallets it touches in id order (`locks.lock_user_wallets`), checks the
rules on the locked rows, then writes balances, ledger and outbox events in one statement
(`ledger_writes`). `transaction.atomic(savepoint=False)` makes a service its own transaction when
called alone, and part of the caller's (the idempotency record's) without a savepoint round trip.
`credit`, `debit`, `user_entry` and `wallet_event` are the steps every movement shares; the holds'
and reversals' services (`holds.py`, `reversals.py`) use them too.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from common import caches
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
from .ledger_writes import BalanceUpdate, Entry, insert_events, write_movement
from .locks import change_time, lock_for_sending, lock_user_wallets
from .models import LedgerEntry, LedgerTransaction, Wallet, WalletStatusChange
from .money import MAX_MONEY, format_money

_system_accounts: dict[str, uuid.UUID] = {}
caches.register(_system_accounts.clear)


def system_account_id(currency: str) -> uuid.UUID:
    """The currency's system account (created on first use); cached, since it never changes."""
    account_id = _system_accounts.get(currency)
    if account_id is None:
        try:
            with transaction.atomic():
                account, _ = Wallet.objects.get_or_create(
                    currency=currency, kind=Wallet.Kind.SYSTEM, defaults={"user_id": f"system:{currency}"}
                )
        except IntegrityError:  # created concurrently
            account = Wallet.objects.get(currency=currency, kind=Wallet.Kind.SYSTEM)
        account_id = _system_accounts[currency] = account.id
    return account_id


def wallet_create(*, user_id: str, currency: str | None = None) -> Wallet:
    now = timezone.now()
    wallet = Wallet(
        user_id=user_id,
        currency=currency or settings.WALLET_DEFAULT_CURRENCY,
        created_at=now,
        updated_at=now,
    )
    with transaction.atomic(savepoint=False):
        wallet.save(force_insert=True)
        insert_events(
            [
                events.WalletEvent(
                    event_type=events.WALLET_CREATED,
                    occurred_at=now,
                    wallet_id=wallet.id,
                    user_id=wallet.user_id,
                    currency=wallet.currency,
                    amount=Decimal(0),
                    balance_after=Decimal(0),
                    wallet_version=0,
                )
            ],
            now,
        )
    return wallet


@dataclass(frozen=True)
class Note:
    """A movement's or hold's `description` and `metadata` (validated by `wallets.metadata`)."""

    description: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, fields: Mapping[str, Any]) -> Note:
        """The note among a validated body's fields, or a staff movement's recorded request's."""
        return cls(fields.get("description"), fields.get("metadata") or {})

    def fields(self) -> dict[str, Any]:
        """The note as a body, or a recorded request, holds it: what `of` reads back."""
        return {"description": self.description, "metadata": self.metadata}


NO_NOTE = Note()


@dataclass(frozen=True)
class MovementResult:
    transaction_id: uuid.UUID
    created_at: datetime
    entries: list[Entry]
    wallets: dict[uuid.UUID, Wallet]  # the user wallets after the movement


def _lock_one(wallet_id: uuid.UUID) -> Wallet:
    wallet = lock_user_wallets([wallet_id]).get(wallet_id)
    if wallet is None:
        raise WalletNotFound()
    if wallet.status != Wallet.Status.ACTIVE:
        raise WalletFrozen()
    return wallet


def credit(wallet: Wallet, amount: Decimal, at: datetime) -> None:
    if wallet.balance + amount > MAX_MONEY:
        raise InvalidAmount(
            "The resulting balance would exceed the maximum a wallet can hold.",
            details={"maximum_balance": format_money(MAX_MONEY)},  # the wallet's state, not the amount
        )
    wallet.balance += amount
    wallet.version += 1
    wallet.updated_at = at


def debit(wallet: Wallet, amount: Decimal, at: datetime, *, from_held: Decimal = Decimal(0)) -> None:
    """Take `amount` from the wallet: from what is available, or (a capture) `from_held` of it
    from the wallet's pending holds."""
    if wallet.balance - wallet.held < amount - from_held:
        raise InsufficientFunds()
    wallet.held -= from_held
    wallet.balance -= amount
    wallet.version += 1
    wallet.updated_at = at


def user_entry(wallet: Wallet, signed: Decimal, entry_type: str, *, leg: int | None = None) -> Entry:
    """A user wallet's leg, recording the wallet as it is right after the movement."""
    return Entry(
        wallet_id=wallet.id,
        currency=wallet.currency,
        amount=signed,
        type=entry_type,
        balance_after=wallet.balance,
        wallet_version=wallet.version,
        id=new_id(),
        leg=leg,
    )


def wallet_event(
    wallet: Wallet,
    event_type: str,
    amount: Decimal,
    transaction_id: uuid.UUID | None,
    at: datetime,
    counterparty: Wallet | None = None,
    *,
    note: Note | None = None,
    hold_id: uuid.UUID | None = None,
    reverses: uuid.UUID | None = None,
    leg: int | None = None,
) -> events.WalletEvent:
    """The event of one wallet touched by a movement (events.md: one per wallet touched), as the
    wallet is now (its balance, held and version after the change)."""
    return events.WalletEvent(
        event_type=event_type,
        occurred_at=at,
        wallet_id=wallet.id,
        user_id=wallet.user_id,
        currency=wallet.currency,
        amount=amount,
        balance_after=wallet.balance,
        wallet_version=wallet.version,
        transaction_id=transaction_id,
        counterparty_wallet_id=counterparty.id if counterparty else None,
        counterparty_user_id=counterparty.user_id if counterparty else None,
        held_after=wallet.held,
        hold_id=hold_id,
        reverses_transaction_id=reverses,
        description=note.description if note else None,
        metadata=note.metadata if note else None,
        leg_index=leg,
    )


def system_movement(
    *, wallet_id: uuid.UUID, amount: Decimal, initiated_by: str, withdraw: bool, note: Note = NO_NOTE
) -> MovementResult:
    """Fund (money enters from outside) or withdraw (money leaves) against the system account; the
    result names the ledger transaction (an approval records which one it made)."""
    txn_id = new_id()
    with transaction.atomic(savepoint=False):
        wallet = _lock_one(wallet_id)
        now = change_time([wallet])
        if withdraw:
            debit(wallet, amount, now)
            kind, entry_type, event_type, signed = (
                LedgerTransaction.Kind.WITHDRAW,
                LedgerEntry.Type.WITHDRAW,
                events.WALLET_WITHDRAWN,
                -amount,
            )
        else:
            credit(wallet, amount, now)
            kind, entry_type, event_type, signed = (
                LedgerTransaction.Kind.FUND,
                LedgerEntry.Type.FUND,
                events.WALLET_FUNDED,
                amount,
            )
        entries = [
            user_entry(wallet, signed, entry_type),
            Entry(
                wallet_id=system_account_id(wallet.currency),
                currency=wallet.currency,
                amount=-signed,
                type=entry_type,
                balance_after=None,
                wallet_version=None,
                id=new_id(),
            ),
        ]
        write_movement(
            transaction_id=txn_id,
            kind=kind,
            initiated_by=initiated_by,
            at=now,
            updates=[BalanceUpdate.of(wallet)],
            entries=entries,
            events=[wallet_event(wallet, event_type, amount, txn_id, now, note=note)],
            description=note.description,
            metadata=note.metadata,
        )
    return MovementResult(txn_id, now, entries[:1], {wallet.id: wallet})


def wallet_fund(*, wallet_id: uuid.UUID, amount: Decimal, initiated_by: str, note: Note = NO_NOTE) -> Wallet:
    result = system_movement(
        wallet_id=wallet_id, amount=amount, initiated_by=initiated_by, withdraw=False, note=note
    )
    return result.wallets[wallet_id]


def wallet_withdraw(
    *, wallet_id: uuid.UUID, amount: Decimal, initiated_by: str, note: Note = NO_NOTE
) -> Wallet:
    result = system_movement(
        wallet_id=wallet_id, amount=amount, initiated_by=initiated_by, withdraw=True, note=note
    )
    return result.wallets[wallet_id]


def lock_sender_and_receiver(
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    owner_user_id: str | None,
    currency_mismatch: str | None = None,
) -> tuple[dict[uuid.UUID, Wallet], Wallet, Wallet]:
    """Lock both user wallets (in id order) for a movement or hold from one to the other: the sender
    must exist (and, with `owner_user_id`, be theirs: else not found, and never locked), the
    receiver too, both in one currency."""
    locked = lock_for_sending([from_wallet_id], [to_wallet_id], owner_user_id)
    sender, receiver = locked.get(from_wallet_id), locked.get(to_wallet_id)
    if sender is None or (owner_user_id is not None and sender.user_id != owner_user_id):
        raise WalletNotFound("Wallet not found.")
    if receiver is None:
        raise WalletNotFound("The destination wallet was not found.")
    if sender.currency != receiver.currency:
        raise CurrencyMismatch(*([currency_mismatch] if currency_mismatch else []))
    return locked, sender, receiver


def transfer_create(
    *,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: Decimal,
    initiated_by: str,
    owner_user_id: str | None = None,
    note: Note = NO_NOTE,
    transaction_id: uuid.UUID | None = None,
) -> MovementResult:
    """Move `amount` between two user wallets. With `owner_user_id`, the sender must be theirs
    (an end user's transfer); otherwise it is answered as not found. `transaction_id` is the id the
    ledger transaction gets (a new one by default): a second write of the same id is refused by its
    key, which `group_commit` relies on to never move a request's money twice."""
    if from_wallet_id == to_wallet_id:
        raise SameWallet()
    txn_id = transaction_id or new_id()
    with transaction.atomic(savepoint=False):
        locked, sender, receiver = lock_sender_and_receiver(from_wallet_id, to_wallet_id, owner_user_id)
        now = change_time(locked.values())
        if sender.status != Wallet.Status.ACTIVE:
            raise WalletFrozen("The sending wallet is frozen.")
        if receiver.status != Wallet.Status.ACTIVE:
            raise WalletFrozen("The receiving wallet is frozen.")
        debit(sender, amount, now)
        credit(receiver, amount, now)
        entries = [
            user_entry(sender, -amount, LedgerEntry.Type.TRANSFER_OUT),
            user_entry(receiver, amount, LedgerEntry.Type.TRANSFER_IN),
        ]
        write_movement(
            transaction_id=txn_id,
            kind=LedgerTransaction.Kind.TRANSFER,
            initiated_by=initiated_by,
            at=now,
            updates=[BalanceUpdate.of(sender), BalanceUpdate.of(receiver)],
            entries=entries,
            events=[
                wallet_event(
                    sender, events.TRANSFER_OUT, amount, txn_id, now, counterparty=receiver, note=note
                ),
                wallet_event(
                    receiver, events.TRANSFER_IN, amount, txn_id, now, counterparty=sender, note=note
                ),
            ],
            description=note.description,
            metadata=note.metadata,
        )
    return MovementResult(txn_id, now, entries, locked)


def _set_status(*, wallet_id: uuid.UUID, status: str, reason: str, actor: Any) -> bool:
    """Freeze or unfreeze under the wallet's lock, with an audit row. False if already so."""
    with transaction.atomic(savepoint=False):
        wallet = lock_user_wallets([wallet_id]).get(wallet_id)
        if wallet is None:
            raise WalletNotFound()
        if wallet.status == status:
            return False
        Wallet.objects.filter(id=wallet_id).update(status=status, updated_at=change_time([wallet]))
        WalletStatusChange.objects.create(
            wallet_id=wallet_id, from_status=wallet.status, to_status=status, reason=reason, changed_by=actor
        )
    return True


def wallet_freeze(*, wallet_id: uuid.UUID, reason: str, actor: Any) -> bool:
    return _set_status(wallet_id=wallet_id, status=Wallet.Status.FROZEN, reason=reason, actor=actor)


def wallet_unfreeze(*, wallet_id: uuid.UUID, reason: str, actor: Any) -> bool:
    return _set_status(wallet_id=wallet_id, status=Wallet.Status.ACTIVE, reason=reason, actor=actor)
