"""The batched paths of delivery: a Kafka batch's deliveries in one insert, many deliveries claimed
by one statement and many outcomes recorded by one, on the real PostgreSQL; the claim's plan; the
kept-alive HTTP connections. (The SIGKILL of a process with outcomes still to record:
test_retries.test_deliver_webhooks_sigkilled_mid_batch_loses_nothing.)"""

from __future__ import annotations

import json
import shutil
import ssl
import subprocess
import threading
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection

from tests.conftest import make_client
from walletproject.serve import free_port
from webhooks import clock, consumer, dispatch, http, safety
from webhooks.consumer import WebhookService
from webhooks.models import WAITING_BEHIND, Attempt, Delivery, Endpoint

from .conftest import Receiver, Topic, event

pytestmark = pytest.mark.django_db

OK = http.Outcome(200, "", 3, "ok")


def endpoint(username: str = "alice", url: str = "http://127.0.0.1:9/hook") -> Endpoint:
    answer = make_client(username).post("/webhooks/endpoints", {"url": url}, format="json")
    assert answer.status_code == 201, answer.json()
    return Endpoint.objects.get(id=answer.json()["data"]["endpoint_id"])


def queue(*versions_by_wallet: tuple[uuid.UUID, int]) -> int:
    events = [
        consumer.decode(json.dumps(event("alice", wallet, version)).encode())
        for wallet, version in versions_by_wallet
    ]
    assert all(events)
    return consumer.queue(events)


def versions(claimed: list[dispatch.Claimed]) -> list[tuple[str, int]]:
    return sorted(
        (json.loads(c.payload)["wallet_id"], json.loads(c.payload)["wallet_version"]) for c in claimed
    )


def test_one_insert_queues_a_batch_once() -> None:
    endpoint()
    wallet = uuid.uuid4()
    batch = [consumer.decode(json.dumps(event("alice", wallet, v)).encode()) for v in range(5)]
    assert consumer.queue(batch) == 5
    assert consumer.queue(batch) == 0, "a batch read again inserts nothing"
    rows = Delivery.objects.order_by("wallet_version")
    assert [r.wallet_version for r in rows] == [0, 1, 2, 3, 4]
    assert all(r.status == "pending" and r.attempts == 0 and r.last_error == "" for r in rows)
    assert rows[2].payload == batch[2].payload


def test_a_claim_takes_each_lanes_head_only_and_the_next_after_a_recorded_2xx() -> None:
    """Versions 0-2 of two wallets queued in one batch: one claim takes version 0 of each (never a
    later version while an earlier one is pending), a batch of two 2xx outcomes makes the
    versions 1 due, and so on."""
    endpoint()
    a, b = uuid.uuid4(), uuid.uuid4()
    assert queue(*[(w, v) for v in range(3) for w in (a, b)]) == 6
    for version in range(3):
        claimed = dispatch.claim(limit=10, busy={})
        assert versions(claimed) == sorted([(str(a), version), (str(b), version)])
        assert dispatch.claim(limit=10, busy={}) == [], "leased, and their successors wait"
        assert dispatch.record_many([(item, OK) for item in claimed]) == 2
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}
    assert Attempt.objects.count() == 6


def test_a_failure_in_the_middle_of_a_batch_holds_back_its_lane_only(settings: Any) -> None:
    settings.WEBHOOK_RETRY_SCHEDULE = [60]
    endpoint()
    wallets = [uuid.uuid4() for _ in range(3)]
    queue(*[(w, v) for v in range(2) for w in wallets])
    claimed = sorted(dispatch.claim(limit=10, busy={}), key=lambda c: str(json.loads(c.payload)["wallet_id"]))
    assert len(claimed) == 3
    failing = claimed[1]
    outcomes = [(claimed[0], OK), (failing, http.Outcome(500, "", 4, "no")), (claimed[2], OK)]
    dispatch.record_many(outcomes)
    failed = Delivery.objects.get(id=failing.delivery_id)
    assert (failed.status, failed.attempts, failed.last_error) == ("pending", 1, "HTTP 500")
    assert failed.leased_until is None and failed.first_attempt_at is not None
    assert failed.next_attempt_at > failed.first_attempt_at  # retried within the minute, not now
    assert Attempt.objects.get(delivery_id=failing.delivery_id).response_excerpt == "no"
    assert Delivery.objects.filter(status="delivered").count() == 2
    failing_wallet = json.loads(failing.payload)["wallet_id"]
    nexts = dispatch.claim(limit=10, busy={})
    assert versions(nexts) == sorted((str(w), 1) for w in wallets if str(w) != failing_wallet), (
        "the two other lanes go on; the failing one waits for its version 0"
    )


def test_per_endpoint_and_busy_limits() -> None:
    first, second = endpoint("alice"), endpoint("ops")
    Endpoint.objects.filter(id=second.id).update(owner=None)  # every user's events
    queue(*[(uuid.uuid4(), 0) for _ in range(6)])
    claimed = dispatch.claim(limit=100, busy={first.id: 1}, per_endpoint=3)
    per = {e: sum(1 for c in claimed if c.endpoint_id == e) for e in (first.id, second.id)}
    assert per == {first.id: 2, second.id: 3}
    assert len(dispatch.claim(limit=2, busy={})) == 2, "the limit holds across endpoints"


def test_a_lease_runs_out_and_a_release_frees_at_once(settings: Any) -> None:
    endpoint()
    queue((uuid.uuid4(), 0), (uuid.uuid4(), 0))
    claimed = dispatch.claim(limit=10, busy={}, lease=30)
    assert len(claimed) == 2 and dispatch.claim(limit=10, busy={}) == []
    dispatch.release([claimed[0].delivery_id])
    assert [c.delivery_id for c in dispatch.claim(limit=10, busy={}, lease=60)] == [claimed[0].delivery_id]
    settings.WEBHOOK_CLOCK_OFFSET_SECONDS = 31  # the other's lease ran out (a killed sender's)
    again = dispatch.claim(limit=10, busy={})
    assert [c.delivery_id for c in again] == [claimed[1].delivery_id]


def test_an_outcome_for_a_deleted_delivery_and_an_answer_with_a_nul_are_recorded_safely() -> None:
    hook = endpoint()
    queue((uuid.uuid4(), 0), (uuid.uuid4(), 0))
    first, second = dispatch.claim(limit=10, busy={})
    Attempt.objects.all().delete()
    Delivery.objects.filter(id=first.delivery_id).delete()
    dispatch.record_many([(first, OK), (second, http.Outcome(200, "", 1, "o\x00k"))])
    assert list(Attempt.objects.values_list("delivery_id", "response_excerpt")) == [
        (second.delivery_id, "o\ufffdk")
    ]
    assert Delivery.objects.get(endpoint=hook).status == "delivered"


def test_the_claim_plan_reads_indexes_whatever_the_statistics_say() -> None:
    """Statistics of a moment with nothing pending, then a backlog: the claim still reads each
    endpoint's due rows and each lane's head through their indexes (dispatch._SESSION)."""
    endpoint()
    queue(*[(uuid.uuid4(), 0) for _ in range(20)])
    Delivery.objects.update(status="delivered")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE webhooks_delivery")
    queue(*[(uuid.uuid4(), v) for v in range(3) for _ in range(200)])
    now = clock.now()
    params = {
        "busy_ids": [],
        "busy_counts": [],
        "now": now,
        "lease": now + timedelta(seconds=10),
        "per_endpoint": 4,
        "limit": 32,
    }
    with dispatch._cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + dispatch._CLAIM, params)
        plan = json.dumps(cursor.fetchone()[0])
    assert "webhook_delivery_lane_due_idx" in plan and "webhook_delivery_order_idx" in plan
    assert (
        '"Seq Scan", "Parallel Aware": false, "Async Capable": false, "Relation Name": "webhooks_delivery"'
        not in plan
    )


class _Counting(ThreadingHTTPServer):
    daemon_threads = True
    connections = 0

    def process_request(self, request: Any, client_address: Any) -> None:
        self.connections += 1
        super().process_request(request, client_address)


@pytest.fixture
def keepalive_server() -> Iterator[tuple[_Counting, str]]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            body = b"x" * 5000 if self.path == "/long" else b"ok"
            self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))

        def log_message(self, *args: Any) -> None:
            pass

    server = _Counting(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http.pool.close_all()
    yield server, f"http://127.0.0.1:{server.server_address[1]}"
    http.pool.close_all()
    server.shutdown()
    server.server_close()


def test_connections_are_kept_alive_and_one_with_an_unread_answer_is_not(
    keepalive_server: tuple[_Counting, str], settings: Any
) -> None:
    server, base = keepalive_server
    settings.WEBHOOK_RESPONSE_CAP_BYTES = 1024
    for _ in range(3):
        outcome = http.post(f"{base}/short", b"{}", {})
        assert (outcome.status_code, outcome.excerpt, outcome.error) == (200, "ok", "")
    assert server.connections == 1, "one connection for three requests"
    long = http.post(f"{base}/long", b"{}", {})
    assert long.status_code == 200 and long.excerpt == "x" * 1024, "at most the cap is read"
    assert http.post(f"{base}/short", b"{}", {}).ok
    assert server.connections == 2, "the answer read in part closed its connection"


def test_later_versions_wait_behind_a_retried_head_and_follow_it(settings: Any) -> None:
    """A claim never reads what waits behind a failing head (so a dead endpoint's backlog costs
    its claims nothing): a retry puts the lane's later versions behind it, a version queued
    meanwhile goes behind it too, and each 2xx makes the next version due."""
    settings.WEBHOOK_RETRY_SCHEDULE = [60]
    hook = endpoint()
    wallet = uuid.uuid4()
    queue(*[(wallet, v) for v in range(3)])
    (head,) = dispatch.claim(limit=10, busy={})
    dispatch.record_many([(head, http.Outcome(None, "ConnectionRefusedError", 1, ""))])
    queue((wallet, 3))
    rows = {r.wallet_version: r for r in Delivery.objects.filter(endpoint=hook)}
    assert not rows[0].waits_behind and rows[0].next_attempt_at < WAITING_BEHIND
    assert all(rows[v].waits_behind for v in (1, 2, 3))
    shown = make_client("alice").get(f"/webhooks/deliveries/{rows[2].id}").json()["data"]
    assert shown["status"] == "pending" and shown["next_attempt_at"] is None
    assert dispatch.claim(limit=10, busy={}) == [], "the head's retry is not due yet"
    settings.WEBHOOK_CLOCK_OFFSET_SECONDS = 61
    for version in range(4):
        (claimed,) = dispatch.claim(limit=10, busy={})
        assert json.loads(claimed.payload)["wallet_version"] == version
        dispatch.record_many([(claimed, OK)])
    assert set(Delivery.objects.values_list("status", flat=True)) == {"delivered"}


def test_repair_makes_a_head_left_waiting_due() -> None:
    endpoint()
    wallet = uuid.uuid4()
    queue((wallet, 0), (wallet, 1))
    Delivery.objects.filter(wallet_version=0).update(status="delivered")
    Delivery.objects.filter(wallet_version=1).update(next_attempt_at=WAITING_BEHIND)  # the race's result
    assert dispatch.claim(limit=10, busy={}) == []
    assert dispatch.repair() == 1
    assert [json.loads(c.payload)["wallet_version"] for c in dispatch.claim(limit=10, busy={})] == [1]
    assert dispatch.repair() == 0


@pytest.fixture
def tls_server(tmp_path: Any) -> Iterator[tuple[int, list[str], list[tuple[str, str]], str]]:
    """An HTTPS server on 127.0.0.1 with a certificate for hooks.example.com (self-signed, so the
    test's client trusts it alone); it records the TLS server names and the Host headers it got."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make the test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    request = "req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=hooks.example.com"
    names_in_cert = "subjectAltName=DNS:hooks.example.com"
    command = ["openssl", *request.split(), "-addext", names_in_cert, "-keyout", str(key), "-out", str(cert)]
    subprocess.run(command, check=True, capture_output=True)
    names: list[str] = []
    requests: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            requests.append((self.headers["host"], self.path))
            self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")

        def log_message(self, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda sock, name, ctx: names.append(name or "")
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    http.pool.close_all()
    yield server.server_address[1], names, requests, str(cert)
    http.pool.close_all()
    server.shutdown()
    server.server_close()


def test_https_goes_to_the_checked_address_with_the_host_as_server_name_and_certificate_name(
    tls_server: tuple[int, list[str], list[tuple[str, str]], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """As in production: the name was resolved once (to 127.0.0.1 here, a public address there),
    the connection goes to that address, and TLS verifies the certificate against the name."""
    port, names, requests, cert = tls_server
    monkeypatch.setattr(http, "tls_context", lambda: ssl.create_default_context(cafile=cert))

    def checked(url: str) -> safety.Target:
        target = safety.parse(url)
        return safety.Target(target.url, target.scheme, target.host, target.port, "127.0.0.1")

    monkeypatch.setattr(safety, "check", checked)
    outcome = http.post(f"https://hooks.example.com:{port}/in?x=1", b"{}", {})
    assert (outcome.status_code, outcome.error, outcome.excerpt) == (200, "", "ok")
    assert names == ["hooks.example.com"]
    assert requests == [(f"hooks.example.com:{port}", "/in?x=1")]
    other = http.post(f"https://other.example.com:{port}/in", b"{}", {})
    assert other.status_code is None and "certificate verify failed" in other.error, other.error
    assert len(requests) == 1, "nothing sent to a server whose certificate names another host"


@pytest.mark.django_db(transaction=True)
def test_a_stopped_service_records_what_it_sent_and_releases_what_it_claimed(
    receivers: Callable[..., Receiver], topic: Topic
) -> None:
    """SIGTERM's path: the requests in flight finish and are recorded; the deliveries claimed but
    not sent are not left leased (another process may send them at once)."""
    receiver = receivers(delay=0.3)
    hook = endpoint(url=receiver.url)
    receiver.secrets.append(hook.secret)
    running = WebhookService(topic.options())
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    topic.produce([event("alice", uuid.uuid4(), 0) for _ in range(40)])  # 40 lanes, 4 sent at once
    receiver.wait_for(4, timeout=30)
    running.stop()
    thread.join(30)
    assert not thread.is_alive()
    delivered = Delivery.objects.filter(endpoint=hook, status="delivered").count()
    assert delivered == len(receiver.event_ids()) >= 4, "every 2xx received is recorded"
    assert Attempt.objects.filter(delivery__endpoint=hook).count() == len(receiver.received)
    pending = Delivery.objects.filter(endpoint=hook, status="pending")
    assert pending.count() == 40 - delivered > 0
    assert not pending.filter(leased_until__isnull=False).exists(), "nothing left leased"
