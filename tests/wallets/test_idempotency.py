"""`Idempotency-Key` through the API: execute once, replay byte for byte, scoped per principal."""

from __future__ import annotations

import threading
import time
from collections import Counter
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from tests.conftest import make_client
from wallets import services
from wallets.models import IdempotencyRecord, LedgerTransaction, Wallet

REPLAYED = "Idempotent-Replayed"


def post(client: Any, path: str, body: dict[str, Any], key: str | None = None) -> Any:
    extra = {} if key is None else {"HTTP_IDEMPOTENCY_KEY": key}
    return client.post(path, body, format="json", **extra)


def new_wallet(user_id: str, balance: str = "0", currency: str | None = None) -> Wallet:
    wallet = services.wallet_create(user_id=user_id, currency=currency)
    if Decimal(balance) > 0:
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal(balance), initiated_by="test")
    wallet.refresh_from_db()
    return wallet


def balance(wallet: Wallet) -> Decimal:
    wallet.refresh_from_db()
    return Decimal(wallet.balance)


# --- replays -----------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("operation", "status", "changes"),
    [
        ("create", 201, {"wallets": 1, "outbox": 1, "idempotency": 1}),
        ("fund", 200, {"transactions": 1, "entries": 2, "outbox": 1, "idempotency": 1}),
        ("withdraw", 200, {"transactions": 1, "entries": 2, "outbox": 1, "idempotency": 1}),
        ("transfer", 200, {"transactions": 1, "entries": 2, "outbox": 2, "idempotency": 1}),
    ],
)
def test_replay_returns_the_stored_response_and_executes_once(operation, status, changes, snapshot):
    operator, alice = make_client("ops", staff=True), make_client("alice")
    source, target = new_wallet("alice", "100.00"), new_wallet("bob")
    client, path, body = {
        "create": (alice, "/wallets", {"user_id": "alice"}),
        "fund": (operator, f"/wallets/{source.id}/fund", {"amount": "10.00"}),
        "withdraw": (operator, f"/wallets/{source.id}/withdraw", {"amount": "10.00"}),
        "transfer": (
            alice,
            f"/wallets/{source.id}/transfer",
            {"to_wallet_id": str(target.id), "amount": "10"},
        ),
    }[operation]

    before = snapshot()
    first = post(client, path, body, key="key-1")
    assert first.status_code == status, first.content
    assert REPLAYED not in first
    after = snapshot()
    counts = ("wallets", "transactions", "entries", "outbox", "idempotency")
    moved = {name: after[name] - before[name] for name in counts if after[name] != before[name]}
    assert moved == changes

    for attempt in range(2):
        replay = post(client, path, body, key="key-1")
        assert replay.status_code == status, attempt
        assert replay.content == first.content, attempt
        assert replay[REPLAYED] == "true"
        assert replay["Content-Type"] == "application/json"
        assert snapshot() == after, attempt

    expected_source = {"fund": "110.0000", "withdraw": "90.0000", "transfer": "90.0000"}.get(
        operation, "100.0000"
    )
    assert balance(source) == Decimal(expected_source)
    assert balance(target) == Decimal("10.0000" if operation == "transfer" else "0")


@pytest.mark.django_db
def test_without_a_key_every_request_executes(snapshot):
    operator = make_client("ops", staff=True)
    wallet = new_wallet("alice")
    for _ in range(2):
        response = post(operator, f"/wallets/{wallet.id}/fund", {"amount": "5"})
        assert response.status_code == 200
        assert REPLAYED not in response
    assert balance(wallet) == Decimal("10.0000")
    assert snapshot()["idempotency"] == 0


# --- reuse with another request ----------------------------------------------------------------


@pytest.mark.django_db
def test_same_key_with_another_body_or_path_is_refused(snapshot):
    operator = make_client("ops", staff=True)
    wallet, other = new_wallet("alice", "100.00"), new_wallet("bob", "100.00")
    first = post(operator, f"/wallets/{wallet.id}/fund", {"amount": "10.00"}, key="K")
    assert first.status_code == 200
    after = snapshot()

    reuses = [
        (f"/wallets/{wallet.id}/fund", {"amount": "11.00"}),  # another body
        (f"/wallets/{wallet.id}/withdraw", {"amount": "10.00"}),  # another path, same body
        (f"/wallets/{other.id}/fund", {"amount": "10.00"}),  # another wallet
        (f"/wallets/{wallet.id}/transfer", {"to_wallet_id": str(other.id), "amount": "10.00"}),
        ("/wallets", {"user_id": "carol"}),
    ]
    for path, body in reuses:
        response = post(operator, path, body, key="K")
        assert response.status_code == 422, (path, body, response.content)
        assert response.json()["code"] == "idempotency_key_reused"
        assert REPLAYED not in response
        assert snapshot() == after, (path, body)

    replay = post(operator, f"/wallets/{wallet.id}/fund", {"amount": "10.00"}, key="K")
    assert (replay.status_code, replay.content, replay[REPLAYED]) == (200, first.content, "true")
    assert balance(wallet) == Decimal("110.0000")
    assert balance(other) == Decimal("100.0000")


# --- scope -------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_keys_are_scoped_per_principal(snapshot):
    ops, ops2 = make_client("ops", staff=True), make_client("ops2", staff=True)
    wallet = new_wallet("alice")
    first = post(ops, f"/wallets/{wallet.id}/fund", {"amount": "10.00"}, key="shared")
    second = post(ops2, f"/wallets/{wallet.id}/fund", {"amount": "10.00"}, key="shared")
    assert first.status_code == second.status_code == 200
    assert REPLAYED not in second
    assert second.json()["data"]["version"] == 2
    assert balance(wallet) == Decimal("20.0000")
    assert LedgerTransaction.objects.filter(kind="FUND").count() == 2

    alice, bob = make_client("alice"), make_client("bob")
    mine = post(alice, "/wallets", {"user_id": "alice"}, key="new-wallet")
    theirs = post(bob, "/wallets", {"user_id": "bob"}, key="new-wallet")
    assert mine.status_code == theirs.status_code == 201
    assert REPLAYED not in theirs
    assert theirs.json()["data"]["user_id"] == "bob"
    assert Wallet.objects.filter(user_id__in=["alice", "bob"], kind="user").count() == 3
    assert snapshot()["idempotency"] == 4


# --- failures are not stored -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_failed_request_stores_nothing_so_a_retry_executes(snapshot):
    operator = make_client("ops", staff=True)
    wallet = new_wallet("alice", "20.00")
    before = snapshot()

    refused = post(operator, f"/wallets/{wallet.id}/withdraw", {"amount": "50.00"}, key="retry-me")
    assert (refused.status_code, refused.json()["code"]) == (400, "insufficient_funds")
    invalid = post(operator, f"/wallets/{wallet.id}/withdraw", {"amount": "-1"}, key="retry-me")
    assert (invalid.status_code, invalid.json()["code"]) == (400, "invalid_amount")
    assert snapshot() == before

    assert post(operator, f"/wallets/{wallet.id}/fund", {"amount": "40.00"}).status_code == 200
    retried = post(operator, f"/wallets/{wallet.id}/withdraw", {"amount": "50.00"}, key="retry-me")
    assert retried.status_code == 200, retried.content
    assert REPLAYED not in retried
    assert retried.json()["data"]["balance"] == "10.0000"

    replay = post(operator, f"/wallets/{wallet.id}/withdraw", {"amount": "50.00"}, key="retry-me")
    assert (replay.status_code, replay.content, replay[REPLAYED]) == (200, retried.content, "true")
    assert balance(wallet) == Decimal("10.0000")


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["", "k" * 256, "clé", "tab\there"])
def test_a_malformed_key_is_refused_before_anything_runs(key, snapshot):
    operator = make_client("ops", staff=True)
    wallet = new_wallet("alice")
    before = snapshot()
    response = post(operator, f"/wallets/{wallet.id}/fund", {"amount": "1"}, key=key)
    assert (response.status_code, response.json()["code"]) == (400, "validation_error")
    assert snapshot() == before
    longest = post(operator, f"/wallets/{wallet.id}/fund", {"amount": "1"}, key="k" * 255)
    assert longest.status_code == 200


# --- one key, many concurrent requests ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_concurrent_requests_with_one_key_execute_once():
    threads = 20
    source, target = new_wallet("alice", "100.00"), new_wallet("bob")
    clients = [make_client("ops", staff=True) for _ in range(threads)]
    path, body = f"/wallets/{source.id}/transfer", {"to_wallet_id": str(target.id), "amount": "10.00"}
    results: list[tuple[int, bytes, str | None]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(threads, timeout=30)

    def work(index: int) -> None:
        try:
            barrier.wait()
            response = post(clients[index], path, body, key="one-key")
            results.append((response.status_code, response.content, response.get(REPLAYED)))
        except BaseException as exc:
            errors.append(exc)
            barrier.abort()
        finally:
            connection.close()

    workers = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 30
    for worker in workers:
        worker.join(max(0.0, deadline - time.monotonic()))
    assert not any(worker.is_alive() for worker in workers), "requests still running after 30 s"
    assert not errors, errors

    assert len(results) == threads
    outcomes = Counter(
        (status, replayed) if status == 200 else (status, content) for status, content, replayed in results
    )
    ok = [content for status, content, _ in results if status == 200]
    assert ok, outcomes
    assert len(set(ok)) == 1, "replays differ from the original"
    assert outcomes[200, None] == 1, outcomes  # exactly one original, the other 200s are replays
    in_use = b'"code":"idempotency_key_in_use"'
    assert all(status == 200 or (status == 409 and in_use in content) for status, content, _ in results)

    assert balance(source) == Decimal("90.0000")
    assert balance(target) == Decimal("10.0000")
    assert LedgerTransaction.objects.filter(kind="TRANSFER").count() == 1
    assert IdempotencyRecord.objects.count() == 1


# --- the transfer path's SQL -------------------------------------------------------------------

# Measured (Django logs BEGIN and COMMIT too): BEGIN, lock both wallets (one SELECT ... FOR NO KEY
# UPDATE), one statement that updates the balances and inserts transaction, entries and outbox rows,
# COMMIT; with a key add the advisory try-lock, the record lookup and the record insert.
# Authentication is cached after the first request.
TRANSFER_QUERIES = 4
TRANSFER_WITH_KEY_QUERIES = 7


@pytest.mark.django_db(transaction=True)  # no test-case savepoints: count what production runs
@pytest.mark.parametrize(("key", "limit"), [(None, TRANSFER_QUERIES), ("q-key", TRANSFER_WITH_KEY_QUERIES)])
def test_transfer_runs_a_bounded_number_of_queries(key, limit, django_assert_max_num_queries):
    alice = make_client("alice")
    source, target = new_wallet("alice", "100.00"), new_wallet("bob")
    assert alice.get(f"/wallets/{source.id}").status_code == 200  # caches the token

    path, body = f"/wallets/{source.id}/transfer", {"to_wallet_id": str(target.id), "amount": "1.00"}
    try:
        with django_assert_max_num_queries(limit) as captured:
            response = post(alice, path, body, key=key)
    except pytest.fail.Exception:
        print("\n".join(query["sql"] for query in captured.captured_queries))
        raise
    assert response.status_code == 200, response.content
    assert balance(target) == Decimal("1.0000")
