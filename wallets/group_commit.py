"""Group commit for a hot wallet: end users' transfers that queue on one wallet's row are applied
together, one lock, one write statement and one commit for a batch, each still its own ledger
transaction, events and answer (`WALLET_HOT_PATH`; docs/performance.md, "The hot wallet").

Why this mechanism (measured first, docs/performance.md; `bench/hot_wallet_hold.py`): a hot
wallet's rate is one over the time its row stays locked. Four processes on one wallet held it
10.8 ms per transfer on average: the COMMIT (its WAL flush, which each hot transaction pays alone,
and the deferred checks) 59 %, the write 29 %, Python between them 11 %, every step also waiting
for a core on a busy machine.
Shrinking one request's hold (the lock and the writes in one statement) would leave the flush and
one trip per request, and would restate the rules and the events in SQL; a per-process queue cannot
see the other workers' requests. So requests meet in Redis, one of them combines:

- A request whose wallet is hot (below) pushes its intent (the transfer, and the id its ledger
  transaction will have) onto the wallet's list and tries to take the wallet's lease (`SET NX`
  with an expiry). The one that takes it is the combiner: it pops up to `MAX_BATCH` intents, runs
  them as `multi_leg.batch_transfer` runs a batch (the wallets locked once in id order, each
  transfer checked in order on the locked rows, a refused one answered alone and changing
  nothing, all written by one `write_many` statement), commits once, and pushes each intent's
  outcome to the list its request waits on (`BLPOP`); then the next batch, until the list is empty
  or it has combined for `COMBINE_SECONDS`. The others wait for their outcome, and take the lease
  when it is free.
- Nothing is done twice: an intent carries its ledger transaction's id, and the ledger refuses a
  second transaction with that id. A request that hears nothing within `WAIT_SECONDS` (its
  combiner died, or Redis failed) takes its intent back off the list if it is still there, else
  waits out the lease, and runs the transfer alone with that same id: if the combiner had
  committed it, the insert fails on the key and the answer is read from the ledger; if not (its
  transaction died with it), it runs now. A batch that fails as a whole (a bug, a lost
  connection) answers every intent "alone", which runs it the same way.
- Only the hot path changes: a wallet is hot in a web worker for `HOT_SECONDS` once two of its
  transfers there waited more than `WALLET_HOT_PATH_WAIT_MS` for the lock and their statements
  within that time, and stays hot while its batches hold more than one transfer; every other
  transfer takes `services.transfer_create` as before. Staff transfers (the approval policy's
  locks and records are their transaction's) and requests with an Idempotency-Key (the record is
  their transaction's) always do.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import orjson
import redis
from django.conf import settings
from django.db import IntegrityError, transaction

from common.errors import ApplicationError
from common.ids import new_id

from . import events, services
from .errors import (
    CurrencyMismatch,
    InsufficientFunds,
    InvalidAmount,
    SameWallet,
    WalletFrozen,
    WalletNotFound,
)
from .ledger_writes import Entry, Movement, balance_updates, write_many
from .locks import change_time, lock_user_wallets
from .models import LedgerEntry, LedgerTransaction, Wallet
from .multi_leg import Leg, _apply, _leg_writes, _LegRefused
from .services import MovementResult, Note

log = logging.getLogger(__name__)

MAX_BATCH = 64  # intents per batch (one statement, one commit)
HOT_SECONDS = 1.0  # how long a wallet stays hot after its last sign of contention
STRIKES = 2  # slow transfers of a wallet within HOT_SECONDS that make it hot
LEASE_MS = 2_000  # the combiner's lease; renewed per batch, so only a dead combiner's expires
COMBINE_SECONDS = 0.1  # a combiner hands over after this long (its own request waits meanwhile)
POLL_SECONDS = 0.01  # how often a waiter looks whether the lease is free
WAIT_SECONDS = 5.0  # a waiter that heard nothing for this long runs its transfer alone
RESULT_TTL_SECONDS = 60

_QUEUE, _LEASE, _OUTCOME = "wallet-hot:{}:queue", "wallet-hot:{}:lease", "wallet-hot:outcome:{}"
_RELEASE = """if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"""
# KEYS: queue, lease; ARGV: token, batch size, lease ms. The next batch, the lease renewed; or, the
# queue empty, the lease given up (in the same step, so no intent is left without a combiner).
_TAKE = """
if redis.call('get', KEYS[2]) ~= ARGV[1] then return {} end
local batch = redis.call('lpop', KEYS[1], ARGV[2])
if batch then
    redis.call('pexpire', KEYS[2], ARGV[3])
    return batch
end
redis.call('del', KEYS[2])
return {}
"""


@dataclass(frozen=True)
class Intent:
    """One end user's transfer as its request hands it to a combiner."""

    transaction_id: uuid.UUID
    from_wallet_id: uuid.UUID
    to_wallet_id: uuid.UUID
    amount: Decimal
    initiated_by: str
    owner_user_id: str
    note: Note

    def run_alone(self) -> MovementResult:
        """The transfer as `services.transfer_create` makes it, in its own transaction, with the
        intent's ledger transaction id: if a combiner already committed that id, its answer is
        read back from the ledger instead of moving the money again."""
        try:
            with transaction.atomic(durable=True):
                return services.transfer_create(
                    from_wallet_id=self.from_wallet_id,
                    to_wallet_id=self.to_wallet_id,
                    amount=self.amount,
                    initiated_by=self.initiated_by,
                    owner_user_id=self.owner_user_id,
                    note=self.note,
                    transaction_id=self.transaction_id,
                )
        except IntegrityError:
            made = made_by_ledger(self.transaction_id)
            if made is None:
                raise
            return made


@dataclass(frozen=True)
class Outcome:
    """What a combiner answers an intent: its movement, its refusal, or "run alone"."""

    result: MovementResult | None = None
    error: tuple[type[ApplicationError], str, dict[str, Any] | None] | None = None
    batch_size: int = 1

    def unwrap(self, intent: Intent) -> MovementResult:
        if self.result is not None:
            return self.result
        if self.error is not None:
            error_type, message, details = self.error
            raise error_type(message, details=details)
        return intent.run_alone()


# --- intents and outcomes as JSON in Redis (data, never code: no pickle) ---------------------------

_REFUSALS: dict[str, type[ApplicationError]] = {
    error.__name__: error
    for error in (
        CurrencyMismatch,
        InsufficientFunds,
        InvalidAmount,
        SameWallet,
        WalletFrozen,
        WalletNotFound,
    )
}


def pack_intent(intent: Intent) -> bytes:
    return orjson.dumps(
        [
            str(intent.transaction_id),
            str(intent.from_wallet_id),
            str(intent.to_wallet_id),
            str(intent.amount),
            intent.initiated_by,
            intent.owner_user_id,
            intent.note.description,
            intent.note.metadata,
        ]
    )


def unpack_intent(packed: bytes) -> Intent:
    txn, source, target, amount, initiated_by, owner, description, metadata = orjson.loads(packed)
    return Intent(
        uuid.UUID(txn),
        uuid.UUID(source),
        uuid.UUID(target),
        Decimal(amount),
        initiated_by,
        owner,
        Note(description, metadata or {}),
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def pack_outcome(outcome: Outcome) -> bytes:
    result = outcome.result
    made = None
    if result is not None:
        made = {
            "t": str(result.transaction_id),
            "at": result.created_at.isoformat(),
            "e": [
                [
                    str(e.wallet_id),
                    e.currency,
                    str(e.amount),
                    e.type,
                    _text(e.balance_after),
                    e.wallet_version,
                    str(e.id),
                ]
                for e in result.entries
            ],
            "w": [[str(w.id), w.user_id, w.currency] for w in result.wallets.values()],
        }
    error = None
    if outcome.error is not None:
        error_type, message, details = outcome.error
        error = [error_type.__name__, message, details]
    return orjson.dumps({"n": outcome.batch_size, "r": made, "x": error})


def unpack_outcome(packed: bytes) -> Outcome:
    data = orjson.loads(packed)
    result = None
    if data["r"] is not None:
        made = data["r"]
        entries = [
            Entry(
                wallet_id=uuid.UUID(wallet_id),
                currency=currency,
                amount=Decimal(amount),
                type=kind,
                balance_after=None if balance is None else Decimal(balance),
                wallet_version=version,
                id=uuid.UUID(entry_id),
            )
            for wallet_id, currency, amount, kind, balance, version, entry_id in made["e"]
        ]
        wallets = {
            uuid.UUID(wallet_id): Wallet(id=uuid.UUID(wallet_id), user_id=user_id, currency=currency)
            for wallet_id, user_id, currency in made["w"]
        }
        result = MovementResult(uuid.UUID(made["t"]), datetime.fromisoformat(made["at"]), entries, wallets)
    error = None
    if data["x"] is not None:
        name, message, details = data["x"]
        if name not in _REFUSALS:  # not a refusal this module makes: run it alone, to be sure
            return Outcome(batch_size=data["n"])
        error = (_REFUSALS[name], message, details)
    return Outcome(result=result, error=error, batch_size=data["n"])


def made_by_ledger(transaction_id: uuid.UUID) -> MovementResult | None:
    """A transfer's result as the ledger holds it (its user entries, out then in), or None."""
    made = LedgerTransaction.objects.filter(id=transaction_id).first()
    if made is None:
        return None
    rows = list(
        LedgerEntry.objects.filter(transaction_id=transaction_id, wallet_version__isnull=False).order_by(
            "amount"
        )
    )
    entries = [
        Entry(
            wallet_id=row.wallet_id,
            currency=row.currency,
            amount=row.amount,
            type=row.type,
            balance_after=row.balance_after,
            wallet_version=row.wallet_version,
            id=row.id,
        )
        for row in rows
    ]
    wallets = {wallet.id: wallet for wallet in Wallet.objects.filter(id__in=[row.wallet_id for row in rows])}
    return MovementResult(transaction_id, made.created_at, entries, wallets)


# --- which wallets are hot, in this process --------------------------------------------------------

_hot_until: dict[uuid.UUID, float] = {}
_strikes: dict[uuid.UUID, list[float]] = {}
_state_lock = threading.Lock()


def _strike(wallet_ids: tuple[uuid.UUID, ...], now: float) -> None:
    with _state_lock:
        for wallet_id in wallet_ids:
            recent = [t for t in _strikes.get(wallet_id, []) if now - t < HOT_SECONDS] + [now]
            _strikes[wallet_id] = recent
            if len(recent) >= STRIKES:
                _hot_until[wallet_id] = now + HOT_SECONDS
        if len(_strikes) > 10_000:  # forget old strikes (a long-running worker, many wallets)
            for wallet_id in [w for w, times in _strikes.items() if now - times[-1] >= HOT_SECONDS]:
                del _strikes[wallet_id]


def _keep_hot(wallet_id: uuid.UUID, now: float) -> None:
    with _state_lock:
        _hot_until[wallet_id] = now + HOT_SECONDS


def hot_wallet(from_wallet_id: uuid.UUID, to_wallet_id: uuid.UUID, now: float) -> uuid.UUID | None:
    """The wallet of the two that is hot in this process (the sender if both), or None."""
    for wallet_id in (from_wallet_id, to_wallet_id):
        until = _hot_until.get(wallet_id)
        if until is not None:
            if until > now:
                return wallet_id
            with _state_lock:
                _hot_until.pop(wallet_id, None)
    return None


def forget_hot_wallets() -> None:
    """Tests: start with every wallet cold."""
    with _state_lock:
        _hot_until.clear()
        _strikes.clear()


# --- Redis ------------------------------------------------------------------------------------------

_clients: dict[str, redis.Redis] = {}


def _redis() -> redis.Redis:
    client = _clients.get(settings.REDIS_URL)
    if client is None:
        client = _clients[settings.REDIS_URL] = redis.Redis.from_url(
            settings.REDIS_URL, socket_connect_timeout=0.25, socket_timeout=1.0
        )
    return client


# --- the entry point ----------------------------------------------------------------------------------


def applies(principal: Any, idempotency_key: str | None) -> bool:
    """Whether a transfer request may take the batching path: the setting on, an end user's, and
    no Idempotency-Key (its record belongs to the request's own transaction)."""
    return (
        bool(settings.WALLET_HOT_PATH)
        and idempotency_key is None
        and not getattr(principal, "is_staff", False)
    )


def transfer_create(
    *,
    from_wallet_id: uuid.UUID,
    to_wallet_id: uuid.UUID,
    amount: Decimal,
    initiated_by: str,
    owner_user_id: str,
    note: Note = services.NO_NOTE,
) -> MovementResult:
    """An end user's transfer, in a transaction of its own (call it outside one): through the hot
    wallet's combiner if one of its wallets is hot here, else as `services.transfer_create`."""
    if from_wallet_id == to_wallet_id:
        raise SameWallet()
    intent = Intent(new_id(), from_wallet_id, to_wallet_id, amount, initiated_by, owner_user_id, note)
    started = time.monotonic()
    hot = hot_wallet(from_wallet_id, to_wallet_id, started)
    if hot is not None:
        return _through_combiner(hot, intent)
    with transaction.atomic(durable=True):
        result = services.transfer_create(
            from_wallet_id=from_wallet_id,
            to_wallet_id=to_wallet_id,
            amount=amount,
            initiated_by=initiated_by,
            owner_user_id=owner_user_id,
            note=note,
            transaction_id=intent.transaction_id,
        )
        waited = time.monotonic() - started  # the lock's wait and the statements, not the commit
    if waited * 1000 > settings.WALLET_HOT_PATH_WAIT_MS:
        _strike((from_wallet_id, to_wallet_id), time.monotonic())
    return result


def _through_combiner(wallet_id: uuid.UUID, intent: Intent) -> MovementResult:
    queue, lease = _QUEUE.format(wallet_id), _LEASE.format(wallet_id)
    outcome_key = _OUTCOME.format(intent.transaction_id)
    packed = pack_intent(intent)
    client = _redis()
    token = uuid.uuid4().hex
    try:
        pipe = client.pipeline(transaction=False)
        pipe.rpush(queue, packed)
        pipe.set(lease, token, nx=True, px=LEASE_MS)
        _, leased = pipe.execute()
    except redis.RedisError:
        # Not known to be enqueued: the same steps as a waiter that heard nothing.
        return _take_back(client, queue, lease, packed, intent)
    deadline = time.monotonic() + WAIT_SECONDS
    try:
        while time.monotonic() < deadline:
            if leased:
                _combine(client, wallet_id, token)
            answered = client.blpop([outcome_key], timeout=POLL_SECONDS)
            if answered is not None:
                try:
                    outcome = unpack_outcome(answered[1])  # type: ignore[arg-type]
                except (ValueError, TypeError):  # another release's form: made or not, the ledger tells
                    return intent.run_alone()
                if outcome.batch_size > 1:
                    _keep_hot(wallet_id, time.monotonic())
                return outcome.unwrap(intent)
            leased = client.set(lease, token, nx=True, px=LEASE_MS)
    except redis.RedisError as exc:
        log.warning("group commit: Redis failed (%s); transfer %s runs alone", exc, intent.transaction_id)
        return intent.run_alone()
    return _take_back(client, queue, lease, packed, intent)


def _take_back(client: redis.Redis, queue: str, lease: str, packed: bytes, intent: Intent) -> MovementResult:
    """No answer in time: the intent off the list if it is still there, else the lease waited out
    (its combiner finished or died), then the transfer alone with the same ledger transaction id."""
    log.warning(
        "group commit: no answer for transfer %s in %ss; it runs alone", intent.transaction_id, WAIT_SECONDS
    )
    try:
        if not client.lrem(queue, 1, packed):  # type: ignore[arg-type]  # bytes are values too
            deadline = time.monotonic() + LEASE_MS / 1000 + 1
            while client.exists(lease) and time.monotonic() < deadline:
                time.sleep(POLL_SECONDS)
    except redis.RedisError:
        pass
    return intent.run_alone()


def _combine(client: redis.Redis, wallet_id: uuid.UUID, token: str) -> None:
    """Apply the wallet's queued intents in batches while holding its lease (`token`). Each batch
    is taken by one script (pop, renew the lease; with nothing to pop, give the lease up, so an
    intent pushed after it finds the lease free), and its outcomes go out in the same round trip as
    the next batch is taken."""
    queue, lease = _QUEUE.format(wallet_id), _LEASE.format(wallet_id)
    take, release = client.register_script(_TAKE), client.register_script(_RELEASE)
    stop_at = time.monotonic() + COMBINE_SECONDS
    packed = take(keys=[queue, lease], args=[token, MAX_BATCH, LEASE_MS])
    while packed:
        intents = []
        for item in packed:
            try:
                intents.append(unpack_intent(bytes(item)))
            except (ValueError, TypeError):  # another release's form: its waiter runs it alone
                log.warning("group commit: an unreadable intent was dropped; its request runs it alone")
        outcomes = apply_batch(intents) if intents else []
        pipe = client.pipeline(transaction=False)
        for intent, outcome in zip(intents, outcomes, strict=True):
            key = _OUTCOME.format(intent.transaction_id)
            pipe.rpush(key, pack_outcome(outcome))
            pipe.expire(key, RESULT_TTL_SECONDS)
        if time.monotonic() >= stop_at:  # hand over: a waiter takes the lease at its next look
            release(keys=[lease], args=[token], client=pipe)
            pipe.execute()
            return
        take(keys=[queue, lease], args=[token, MAX_BATCH, LEASE_MS], client=pipe)
        packed = pipe.execute()[-1]


def apply_batch(intents: list[Intent]) -> list[Outcome]:
    """The intents as one database transaction: each its own TRANSFER ledger transaction, checked
    in order on the wallets locked once (a refused one changes nothing and is answered alone), all
    written by one statement. If the batch fails as a whole, each intent is answered "alone"."""
    try:
        return _apply_batch(intents)
    except Exception:
        log.exception("group commit: a batch of %d failed; each transfer runs alone", len(intents))
        return [Outcome() for _ in intents]


_owners: dict[uuid.UUID, str] = {}  # a wallet's owner never changes (money_state_guard.sql)


def _owners_of(wallet_ids: set[uuid.UUID]) -> dict[uuid.UUID, str]:
    """Who owns each of the wallets (absent: no such user wallet), read once per process."""
    unknown = [wallet_id for wallet_id in wallet_ids if wallet_id not in _owners]
    if unknown:
        _owners.update(
            Wallet.objects.filter(id__in=unknown, kind=Wallet.Kind.USER).values_list("id", "user_id")
        )
    return {wallet_id: _owners[wallet_id] for wallet_id in wallet_ids if wallet_id in _owners}


def _apply_batch(intents: list[Intent]) -> list[Outcome]:
    # As `locks.lock_for_sending` does for one owner: a sending wallet not its intent's owner's is
    # never locked (the intent is answered not found, as the ordinary path answers it).
    owners = _owners_of({intent.from_wallet_id for intent in intents})
    allowed = [owners.get(intent.from_wallet_id) == intent.owner_user_id for intent in intents]
    size = len(intents)
    outcomes: list[Outcome] = []
    movements: list[Movement] = []
    batch_events: list[events.WalletEvent] = []
    with transaction.atomic(durable=True):
        locked = lock_user_wallets(
            wallet_id
            for intent, ok in zip(intents, allowed, strict=True)
            if ok
            for wallet_id in (intent.from_wallet_id, intent.to_wallet_id)
        )
        versions = {wallet_id: wallet.version for wallet_id, wallet in locked.items()}
        now = change_time(locked.values())
        for intent, ok in zip(intents, allowed, strict=True):
            if not ok:
                outcomes.append(Outcome(error=(WalletNotFound, "Wallet not found.", None), batch_size=size))
                continue
            leg = Leg(intent.from_wallet_id, intent.to_wallet_id, intent.amount, intent.note)
            try:
                sender, receiver = _apply(locked, leg, intent.owner_user_id, now)
            except _LegRefused as refused:
                error = refused.error
                outcomes.append(Outcome(error=(type(error), error.message, error.details), batch_size=size))
                continue
            entries, leg_events = _leg_writes(
                sender, receiver, leg, intent.transaction_id, now, intent.note, None
            )
            movements.append(
                Movement(
                    intent.transaction_id,
                    LedgerTransaction.Kind.TRANSFER,
                    intent.initiated_by,
                    entries,
                    intent.note.description,
                    intent.note.metadata,
                )
            )
            batch_events += leg_events
            shown = {sender.id: _owner_only(sender), receiver.id: _owner_only(receiver)}
            outcomes.append(
                Outcome(result=MovementResult(intent.transaction_id, now, entries, shown), batch_size=size)
            )
        if movements:
            write_many(
                at=now,
                updates=balance_updates(locked.values(), versions),
                movements=movements,
                events=batch_events,
            )
    return outcomes


def _owner_only(wallet: Wallet) -> Wallet:
    """The wallet as a movement's answer needs it (which wallet, whose): its state at the end of the
    batch is not this transfer's, so it is not sent."""
    return Wallet(id=wallet.id, user_id=wallet.user_id, currency=wallet.currency)
