"""The rolling limits' per-minute totals (approvals/policy.py, `StaffMovementMinute`): they add up
to the movements recorded, the window counts whole minutes (never less than the window), the
migration's backfill rebuilds them, and the sums taken after the locks see what committed while
the caller waited for them."""

from __future__ import annotations

import importlib
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections, transaction
from django.db.models import Sum

from approvals import policy
from approvals.models import StaffMovementMinute, UnapprovedStaffMovement
from tests.approvals.conftest import post
from wallets import staff_gate

pytestmark = pytest.mark.django_db

WINDOW = timedelta(hours=24)


def fund(wallet_id, amount: str) -> staff_gate.StaffMovement:
    return staff_gate.StaffMovement(
        kind=staff_gate.FUND, moves={wallet_id: Decimal(amount)}, request={}, wallet_id=wallet_id
    )


def record(operator, wallet, amount: str, at: datetime) -> None:
    movement = fund(wallet.id, amount)
    policy_wallet = policy.PolicyWallet(wallet.currency, customer=True)
    policy._record(operator, movement, {wallet.id: policy_wallet}, {wallet.currency: Decimal(amount)}, at)


def window_sums(operator, wallet, now: datetime):
    _, moved, received_or_sent = policy._read_lock_and_sum(operator, [wallet.id], policy._window_start(now))
    return moved, received_or_sent


def test_the_minutes_add_up_to_the_movements_recorded(maker, make_wallet):
    carol, dave = make_wallet("carol", "500"), make_wallet("dave", "500")
    for wallet, amount in [(carol, "10"), (dave, "20.5"), (carol, "0.0001")]:
        assert post(maker, f"/wallets/{wallet.id}/fund", {"amount": amount}).status_code == 200
    transfer = {"to_wallet_id": str(dave.id), "amount": "7"}
    assert post(maker, f"/wallets/{carol.id}/transfer", transfer).status_code == 200
    detail = UnapprovedStaffMovement.objects.order_by()
    minutes = StaffMovementMinute.objects.order_by()
    assert minutes.filter(wallet__isnull=True).aggregate(s=Sum("amount"))["s"] == Decimal("37.5001")
    assert detail.filter(wallet__isnull=True).aggregate(s=Sum("amount"))["s"] == Decimal("37.5001")
    for wallet, moved in [(carol, Decimal("17.0001")), (dave, Decimal("27.5"))]:
        assert detail.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] == moved
        assert minutes.filter(wallet=wallet).aggregate(s=Sum("amount"))["s"] == moved
        assert minutes.filter(wallet=wallet, operator__isnull=True).count() >= 1


def test_the_window_counts_whole_minutes_never_less_than_the_window(make_wallet):
    operator = get_user_model().objects.create_user("ops-window", is_staff=True)
    carol = make_wallet("carol")
    made = datetime(2026, 12, 7, 10, 15, 30, tzinfo=UTC)
    record(operator, carol, "40", made)
    with transaction.atomic():
        # A window's length after it, and 29 s more: still in the window's first minute.
        for later in (made + WINDOW, made + WINDOW + timedelta(seconds=29)):
            assert window_sums(operator, carol, later) == ({"USD": Decimal("40")}, {carol.id: Decimal("40")})
        # Once that minute has passed, it no longer counts.
        assert window_sums(operator, carol, made + WINDOW + timedelta(seconds=31)) == ({}, {})
        # Before the window's end it always counted, of course.
        assert window_sums(operator, carol, made + timedelta(hours=1))[0] == {"USD": Decimal("40")}


def minutes() -> list[tuple[object, ...]]:
    rows = StaffMovementMinute.objects.values_list("operator_id", "wallet_id", "currency", "minute", "amount")
    return sorted(rows, key=str)


def test_the_migrations_backfill_rebuilds_the_minutes(maker, make_wallet):
    carol = make_wallet("carol", "100")
    for amount in ("1", "2", "3.5"):
        assert post(maker, f"/wallets/{carol.id}/withdraw", {"amount": amount}).status_code == 200
    built = minutes()
    StaffMovementMinute.objects.all().delete()
    migration = importlib.import_module("approvals.migrations.0003_staff_movement_minutes")
    with connection.schema_editor() as editor:
        migration.backfill_window(None, editor)
    assert minutes() == built
    for scope in ("operator", "wallet"):
        totals = StaffMovementMinute.objects.filter(**{f"{scope}__isnull": False})
        assert totals.aggregate(s=Sum("amount"))["s"] == Decimal("6.5")


@pytest.mark.django_db(transaction=True)
def test_the_sums_after_the_locks_see_what_committed_while_waiting_for_them(make_wallet):
    """The locks and the sums are one statement: its sums must be read after the locks are granted
    (a fresh snapshot), or a movement committed meanwhile would be missed and both could pass."""
    operator = get_user_model().objects.create_user("ops-race", is_staff=True)
    carol = make_wallet("carol")
    now = datetime.now(UTC)
    first_holds_the_locks, seen = threading.Event(), []

    def second() -> None:
        try:
            first_holds_the_locks.wait(10)
            with transaction.atomic():
                seen.append(window_sums(operator, carol, now))
        finally:
            connections.close_all()

    waiter = threading.Thread(target=second)
    waiter.start()
    with transaction.atomic():
        assert window_sums(operator, carol, now) == ({}, {})
        first_holds_the_locks.set()
        # The second caller is now waiting for the operator's lock (its statement has begun).
        with connection.cursor() as cursor:
            for _ in range(100):
                cursor.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.05)
            else:
                pytest.fail("the second caller never waited for the lock")
        record(operator, carol, "25", now)
    waiter.join(15)
    assert seen == [({"USD": Decimal("25")}, {carol.id: Decimal("25")})]


def advisory_locks() -> set[tuple[int, int]]:
    """This session's advisory locks on two keys, as (namespace, key) unsigned (pg_locks' oids)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT classid::bigint, objid::bigint FROM pg_locks WHERE locktype = 'advisory'"
            " AND objsubid = 2 AND pid = pg_backend_pid()"
        )
        return set(cursor.fetchall())


def test_the_gate_locks_the_operator_and_each_customer_wallet_by_their_low_32_bits(make_wallet):
    """The keys the SQL function computes are the operator's pk and each customer wallet's UUID, their
    low 32 bits; the operator's own wallet is neither locked nor summed. (Transaction-scoped locks
    last to the test's end, so the case that takes none comes first.)"""
    operator = get_user_model().objects.create_user("ops-keys", is_staff=True)
    carol, dave, own = make_wallet("carol"), make_wallet("dave"), make_wallet("ops-keys")
    since = policy._window_start(datetime.now(UTC))
    own_wallet = policy.PolicyWallet(own.currency, customer=False)
    assert policy._read_lock_and_sum(operator, [own.id], since) == ({own.id: own_wallet}, {}, {})
    assert advisory_locks() == set()
    wallets, _, _ = policy._read_lock_and_sum(operator, [carol.id, own.id, dave.id], since)
    assert wallets == {
        carol.id: policy.PolicyWallet(carol.currency, customer=True),
        own.id: own_wallet,
        dave.id: policy.PolicyWallet(dave.currency, customer=True),
    }
    assert advisory_locks() == {
        (policy.OPERATOR_LOCKS, operator.pk & 0xFFFF_FFFF),
        (policy.WALLET_LOCKS, carol.id.int & 0xFFFF_FFFF),
        (policy.WALLET_LOCKS, dave.id.int & 0xFFFF_FFFF),
    }
