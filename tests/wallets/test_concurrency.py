"""Concurrency and database integrity, against the real PostgreSQL with real threads.

Each thread drives the in-process HTTP stack with its own APIClient and its own database
connection (Django connections are per thread), so these tests need committed data:
`transactional_db`. Every thread closes its connection when it finishes.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.utils import timezone

from kafka_bridge.models import OutboxEvent
from tests.conftest import behind_the_ledgers_back, make_client
from tests.wallets.conftest import ledger_snapshot
from wallets import events, services
from wallets.ledger_writes import BalanceUpdate, Cte, VersionConflict, write_changes
from wallets.models import Hold, LedgerEntry, LedgerTransaction, Wallet

# Staff funds and transfers of any size, many on one wallet: the policy is the approvals' tests'.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("without_approvals")]

THREAD_TIMEOUT = 45.0


def run_in_threads(count: int, work: Callable[[int, threading.Barrier], None]) -> None:
    """Run `work(index, barrier)` in `count` threads (one DB connection each) and wait for all.

    A thread that raises aborts the barrier, so the others cannot hang on it; the first real
    error is re-raised here. A thread still alive after the timeout means a hang or deadlock.
    """
    barrier = threading.Barrier(count, timeout=THREAD_TIMEOUT)
    errors: list[BaseException] = []

    def target(index: int) -> None:
        try:
            work(index, barrier)
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(count)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + THREAD_TIMEOUT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    alive = [thread.name for thread in threads if thread.is_alive()]
    if alive:  # let the stragglers stop at their next barrier before the database is flushed
        barrier.abort()
        for thread in threads:
            thread.join(15)
    assert not alive, f"threads still running after {THREAD_TIMEOUT}s (hang or deadlock): {alive}"
    real = [e for e in errors if not isinstance(e, threading.BrokenBarrierError)]
    if real or errors:
        raise (real or errors)[0]


def money(units: int) -> Decimal:
    """An amount in 1/10000 units, exactly 4 places."""
    return Decimal(units).scaleb(-4)


def text(amount: Decimal) -> str:
    return format(amount, "f")


def new_wallet(user_id: str, balance: Decimal = Decimal(0)) -> Wallet:
    wallet = services.wallet_create(user_id=user_id)
    if balance > 0:
        services.wallet_fund(wallet_id=wallet.id, amount=balance, initiated_by="test")
    wallet.refresh_from_db()
    return wallet


def assert_running_balances(wallet: Wallet) -> None:
    """Entry versions are exactly 1..version and each balance_after is the running sum."""
    entries = list(LedgerEntry.objects.filter(wallet=wallet).order_by("wallet_version"))
    assert [e.wallet_version for e in entries] == list(range(1, wallet.version + 1)), wallet.user_id
    running = Decimal(0)
    for entry in entries:
        running += entry.amount
        assert entry.balance_after == running, (wallet.user_id, entry.wallet_version)
    assert running == wallet.balance, wallet.user_id


# --- a) many funds of one wallet ---------------------------------------------------------------


def test_concurrent_funds_of_one_wallet_all_succeed_in_order():
    threads, funds = 16, 50
    wallet = new_wallet("carol")
    rng = random.Random(1)
    amounts = [money(rng.randint(1, 10_000_000)) for _ in range(funds)]
    clients = [make_client("ops", staff=True) for _ in range(threads)]
    results: list[tuple[int, dict[str, Any]]] = []

    def work(index: int, barrier: threading.Barrier) -> None:
        client = clients[index]
        barrier.wait()
        for amount in amounts[index::threads]:
            response = client.post(f"/wallets/{wallet.id}/fund", {"amount": text(amount)}, format="json")
            results.append((response.status_code, response.json()))
            assert response.status_code == 200, response.json()  # fail fast: aborts the barrier

    run_in_threads(threads, work)

    assert len(results) == funds
    assert [status for status, _ in results] == [200] * funds, [
        body for status, body in results if status != 200
    ]
    # Each response shows the wallet right after its own fund: versions 1..50, each once.
    assert sorted(body["data"]["version"] for _, body in results) == list(range(1, funds + 1))
    wallet.refresh_from_db()
    assert wallet.balance == sum(amounts)
    assert wallet.version == funds
    assert_running_balances(wallet)
    assert LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.FUND).count() == funds
    assert OutboxEvent.objects.filter(type="WALLET_FUNDED", aggregateid=str(wallet.id)).count() == funds


# --- b) random transfers, opposite directions and overdrafts -----------------------------------


def test_concurrent_random_transfers_conserve_money():
    wallet_count, threads, rounds = 5, 8, 50  # 400 transfers
    rng = random.Random(20240607)
    funded = [money(rng.randint(2_000_000, 8_000_000)) for _ in range(wallet_count)]
    wallets = [new_wallet(f"user{i}", funded[i]) for i in range(wallet_count)]
    total = sum(funded)

    def normal_amount() -> Decimal:
        return money(rng.randint(1, 1_500_000))  # up to 150, a fraction of a balance

    # plan[round][thread] = (from index, to index, amount). In every round threads 0/1 and 2/3 move
    # money in opposite directions between the same two wallets; the others are random, and about
    # one in five of those asks for more than all the money there is (a certain overdraft).
    plan: list[list[tuple[int, int, Decimal]]] = []
    for _ in range(rounds):
        moves: list[tuple[int, int, Decimal]] = []
        for _ in range(2):
            a, b = rng.sample(range(wallet_count), 2)
            moves += [(a, b, normal_amount()), (b, a, normal_amount())]
        for _ in range(threads - 4):
            a, b = rng.sample(range(wallet_count), 2)
            overdraft = rng.random() < 0.2
            moves.append((a, b, total + money(rng.randint(1, 10**8)) if overdraft else normal_amount()))
        plan.append(moves)

    clients = [make_client("ops", staff=True) for _ in range(threads)]
    results: dict[tuple[int, int], tuple[int, dict[str, Any]]] = {}

    def work(index: int, barrier: threading.Barrier) -> None:
        client = clients[index]
        for round_no in range(rounds):
            src, dst, amount = plan[round_no][index]
            barrier.wait()  # every round starts all eight transfers together
            response = client.post(
                f"/wallets/{wallets[src].id}/transfer",
                {"to_wallet_id": str(wallets[dst].id), "amount": text(amount)},
                format="json",
            )
            results[round_no, index] = (response.status_code, response.json())
            # Fail fast (the barrier is aborted) on anything but success or insufficient funds.
            assert response.status_code in (200, 400), (
                round_no,
                index,
                response.status_code,
                response.json(),
            )

    run_in_threads(threads, work)

    # Every response: 200, or 400 insufficient_funds. Never 409 (conflict/deadlock) or 500.
    assert len(results) == rounds * threads
    outcomes = Counter(
        "ok" if status == 200 else f"{status} {body.get('code')}" for status, body in results.values()
    )
    assert set(outcomes) <= {"ok", "400 insufficient_funds"}, outcomes
    assert outcomes["ok"] > 0
    assert outcomes["400 insufficient_funds"] > 0
    for (round_no, index), (status, _) in results.items():
        if plan[round_no][index][2] > total:
            assert status == 400, (round_no, index)
    # Opposite-direction pairs really ran against each other, and both legs went through.
    both_ways = sum(
        1 for r in range(rounds) for t in (0, 2) if results[r, t][0] == 200 and results[r, t + 1][0] == 200
    )
    assert both_ways > 0

    # Money is conserved exactly; no user balance is negative.
    user_wallets = list(Wallet.objects.filter(kind=Wallet.Kind.USER))
    assert len(user_wallets) == wallet_count
    assert sum(w.balance for w in user_wallets) == total
    assert all(w.balance >= 0 for w in user_wallets)
    system_total = LedgerEntry.objects.filter(wallet__kind=Wallet.Kind.SYSTEM).aggregate(s=Sum("amount"))["s"]
    assert system_total == -total

    # Each wallet's balance is the sum of its entries; versions are gap-free running balances.
    for wallet in user_wallets:
        assert LedgerEntry.objects.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] == wallet.balance
        assert_running_balances(wallet)

    # Every ledger transaction balances; one TRANSFER transaction (two legs) per 200.
    unbalanced = LedgerEntry.objects.values("transaction_id").annotate(total=Sum("amount")).exclude(total=0)
    assert list(unbalanced) == []
    transfer_ids = set(
        LedgerTransaction.objects.filter(kind=LedgerTransaction.Kind.TRANSFER).values_list("id", flat=True)
    )
    assert len(transfer_ids) == outcomes["ok"]
    legs = Counter(
        LedgerEntry.objects.filter(transaction_id__in=transfer_ids).values_list("transaction_id", "type")
    )
    assert len(legs) == 2 * len(transfer_ids)
    assert set(legs.values()) == {1}
    answered = {
        uuid.UUID(body["data"][0]["reference_id"]) for status, body in results.values() if status == 200
    }
    assert answered == transfer_ids

    # The outbox holds one TRANSFER_OUT and one TRANSFER_IN event per transfer, matching the entries.
    entries = {
        (str(e.transaction_id), e.type): (str(e.wallet_id), e.wallet_version, text(e.balance_after))
        for e in LedgerEntry.objects.filter(transaction_id__in=transfer_ids)
    }
    events: dict[tuple[str, str], list[tuple[str, int, str]]] = defaultdict(list)
    for event in OutboxEvent.objects.filter(type__in=["TRANSFER_OUT", "TRANSFER_IN"]):
        payload = event.payload
        assert payload["wallet_id"] == event.aggregateid
        events[payload["transaction_id"], event.type].append(
            (payload["wallet_id"], payload["wallet_version"], payload["balance_after"])
        )
    assert OutboxEvent.objects.filter(type="TRANSFER_OUT").count() == outcomes["ok"]
    assert OutboxEvent.objects.filter(type="TRANSFER_IN").count() == outcomes["ok"]
    assert {key: rows[0] for key, rows in events.items()} == entries
    assert all(len(rows) == 1 for rows in events.values())


# --- c) integrity the database enforces ---------------------------------------------------------


def _transaction() -> LedgerTransaction:
    return LedgerTransaction.objects.create(kind=LedgerTransaction.Kind.TRANSFER, created_at=timezone.now())


def _entry(txn: LedgerTransaction, wallet: Wallet, amount: str, currency: str | None = None) -> LedgerEntry:
    return LedgerEntry.objects.create(
        transaction=txn,
        wallet=wallet,
        currency=currency or wallet.currency,
        amount=Decimal(amount),
        type=LedgerEntry.Type.TRANSFER_OUT if Decimal(amount) < 0 else LedgerEntry.Type.TRANSFER_IN,
        created_at=timezone.now(),
    )


def test_unbalanced_ledger_transaction_is_refused_at_commit():
    a, b = new_wallet("dave"), new_wallet("erin")

    # Deferred: legs written in separate statements that balance at commit are accepted.
    with transaction.atomic():
        balanced = _transaction()
        _entry(balanced, a, "10.0000")
        _entry(balanced, b, "-10.0000")
    assert LedgerEntry.objects.filter(transaction=balanced).count() == 2

    before = LedgerEntry.objects.count()
    with pytest.raises(IntegrityError, match="does not balance"), transaction.atomic():
        txn = _transaction()
        _entry(txn, a, "10.0000")
        _entry(txn, b, "-9.9999")  # no error yet: the check runs when the block commits
    assert LedgerEntry.objects.count() == before
    assert not LedgerTransaction.objects.filter(id=txn.id).exists()

    # In autocommit the statement is its own transaction: adding a leg to a committed one fails too.
    with pytest.raises(IntegrityError, match="does not balance"), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO wallets_ledgerentry (id, transaction_id, wallet_id, currency, amount, type,"
            " created_at) VALUES (%s, %s, %s, 'USD', 5, 'TRANSFER_IN', now())",
            [uuid.uuid4(), balanced.id, a.id],
        )
    assert LedgerEntry.objects.count() == before


def test_ledger_is_append_only():
    wallet = new_wallet("frank", Decimal("25.0000"))
    entry = LedgerEntry.objects.get(wallet=wallet)
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(id=entry.id).update(amount=Decimal("1000.0000"))
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.filter(transaction_id=entry.transaction_id).delete()
    with pytest.raises(IntegrityError, match="append-only"), connection.cursor() as cursor:
        cursor.execute("DELETE FROM wallets_ledgerentry")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LedgerTransaction.objects.filter(id=entry.transaction_id).update(kind="WITHDRAW")
    entry.refresh_from_db()
    assert entry.amount == Decimal("25.0000")
    assert LedgerEntry.objects.count() == 2
    assert LedgerTransaction.objects.get(id=entry.transaction_id).kind == "FUND"


def test_user_balance_cannot_go_negative():
    wallet = new_wallet("grace", Decimal("1.0000"))
    # Even with the ledger-only guards off (migration 0011), the check constraint holds.
    with pytest.raises(IntegrityError, match="wallet_user_balance_non_negative"), transaction.atomic():
        behind_the_ledgers_back("UPDATE wallets_wallet SET balance = -0.0001 WHERE id = %s", [wallet.id])
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1.0000")
    # The system account's balance is the sum of its entries: its (unused) column never changes.
    system = Wallet.objects.get(kind=Wallet.Kind.SYSTEM)
    with pytest.raises(IntegrityError, match="only through the ledger"), transaction.atomic():
        Wallet.objects.filter(id=system.id).update(balance=Decimal("-1.0000"), version=1)
    system.refresh_from_db()
    assert system.balance == Decimal("0.0000")


def test_entry_currency_must_be_its_wallets():
    usd, eur = new_wallet("heidi"), services.wallet_create(user_id="ivan", currency="EUR")
    before = LedgerEntry.objects.count()
    with pytest.raises(IntegrityError, match="entry_wallet_currency_fk"), transaction.atomic():
        txn = _transaction()
        _entry(txn, usd, "3.0000", currency="EUR")  # balances in EUR, but on a USD wallet
        _entry(txn, eur, "-3.0000")
    assert LedgerEntry.objects.count() == before


def test_entry_for_a_wallet_that_does_not_exist_is_refused():
    """The composite key to (wallet, currency) is the only key on the entry's wallet (0007)."""
    wallet = new_wallet("judy")
    ghost = Wallet(id=uuid.uuid4(), user_id="ghost", currency="USD")
    before = LedgerEntry.objects.count()
    with pytest.raises(IntegrityError, match="entry_wallet_currency_fk"), transaction.atomic():
        txn = _transaction()
        _entry(txn, ghost, "5.0000")
        _entry(txn, wallet, "-5.0000")
    assert LedgerEntry.objects.count() == before


def _raise_by_half(wallet: Wallet, extra: Sequence[Cte] = ()) -> None:
    """Write `wallet` (as read) plus 0.5 and one version on, with its event, as a service would."""
    now = timezone.now()
    wallet.balance += Decimal("0.5000")
    wallet.version += 1
    event = services.wallet_event(wallet, events.WALLET_FUNDED, Decimal("0.5000"), None, now)
    write_changes(at=now, updates=[BalanceUpdate.of(wallet)], events=[event], extra=extra)


def test_a_write_from_a_wallet_that_moved_since_it_was_read_is_refused_and_changes_nothing():
    """The version check behind the row locks: a write built from a wallet read before another
    write moved it (a broken lock discipline) raises and leaves the books as they were, and so does
    a write whose extra part misses its row; the same write from the wallet as it is passes the
    version check, and then PostgreSQL refuses it at commit: no ledger entry explains it."""
    wallet = new_wallet("kate", Decimal("10.0000"))
    stale = Wallet.objects.get(id=wallet.id)
    read_version = stale.version
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("1.0000"), initiated_by="test")
    before = ledger_snapshot()
    stale_write = pytest.raises(VersionConflict, match="expected 1 version-checked updates, applied 0")
    with stale_write, transaction.atomic():
        _raise_by_half(stale)
    assert ledger_snapshot() == before

    no_such_hold = Cte(
        f"UPDATE {Hold._meta.db_table} SET status = status WHERE id = %s RETURNING id",  # noqa: S608
        [uuid.uuid4()],
        expect_rows=1,
    )
    missed_row = pytest.raises(VersionConflict, match=r"expected rows \[1\], affected \[0\]")
    with missed_row, transaction.atomic():
        _raise_by_half(Wallet.objects.get(id=wallet.id), [no_such_hold])
    assert ledger_snapshot() == before

    with pytest.raises(IntegrityError, match="not what the ledger wrote"), transaction.atomic():
        _raise_by_half(Wallet.objects.get(id=wallet.id))  # applied: the commit's check refuses it
    assert ledger_snapshot() == before
    current = Wallet.objects.get(id=wallet.id)
    assert (current.balance, current.version) == (Decimal("11.0000"), read_version + 1)


OUR_TABLES = r"^(wallets|approvals|history|kafka_bridge)_"


def test_no_index_of_ours_repeats_or_leads_another():
    """Every insert maintains each index of its table (a ledger entry's while the wallets are
    locked): none may repeat another's columns, or be a leading part of a longer one that serves
    the same lookups (0007, 0008). Partial indexes and other operator classes are other indexes."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.relname, x.relname, i.indisunique,
                      array_agg(a.attname ORDER BY k.ord), array_agg(k.opclass::int ORDER BY k.ord)
                 FROM pg_index i
                 JOIN pg_class c ON c.oid = i.indrelid
                 JOIN pg_class x ON x.oid = i.indexrelid
                 CROSS JOIN LATERAL unnest(i.indkey, i.indclass) WITH ORDINALITY AS k(attnum, opclass, ord)
                 JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                WHERE c.relname ~ %s AND i.indpred IS NULL
                GROUP BY c.relname, x.relname, i.indisunique""",
            [OUR_TABLES],
        )
        indexes = [
            (table, name, unique, list(zip(cols, ops, strict=True)))
            for table, name, unique, cols, ops in cursor.fetchall()
        ]
    assert {table for table, *_ in indexes} >= {"wallets_ledgerentry", "wallets_hold", "history_historyevent"}
    redundant = [
        (name, other_name)
        for table, name, unique, columns in indexes
        for other_table, other_name, _, other in indexes
        if other_table == table
        and other_name != name
        and other[: len(columns)] == columns
        and (not unique or other == columns)
    ]
    assert redundant == [], redundant


def test_a_ledger_entry_has_one_key_to_its_wallet_and_one_to_its_transaction():
    """The entry's wallet is checked by the composite key to (wallet, currency) alone (0007); its
    leg, where it has one, by (transaction, leg) to the transaction's legs (0009: an entry without
    a leg, every transfer's, is not looked up: MATCH SIMPLE)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT array_agg(a.attname ORDER BY a.attname)
                 FROM pg_constraint c
                 JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
                WHERE c.conrelid = 'wallets_ledgerentry'::regclass AND c.contype = 'f'
                GROUP BY c.oid"""
        )
        keys = sorted(tuple(columns) for (columns,) in cursor.fetchall())
    assert keys == [("currency", "wallet_id"), ("leg", "transaction_id"), ("transaction_id",)]
