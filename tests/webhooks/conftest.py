"""Fixtures of the webhooks' tests: a real HTTP receiver on a free loopback port that verifies every
request's signature with the standardwebhooks library, a Kafka topic and consumer group of the
test's own, events shaped as events.md says, and the delivery service run in a thread."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from common.times import format_timestamp
from tests.conftest import brokers
from walletproject.serve import free_port
from webhooks.consumer import Options, WebhookService


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    at: float  # time.monotonic() when it arrived
    verified_with: list[int]  # indexes of the receiver's secrets that verified it


@dataclass
class Receiver:
    """An HTTP server that answers `status` (after `delay` seconds) and records what it accepted.
    Every request must verify with one of `secrets`; one that does not is counted in `forged`."""

    port: int = field(default_factory=free_port)
    secrets: list[str] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0
    received: list[Received] = field(default_factory=list)  # answered 2xx
    refused: int = 0  # requests answered non-2xx
    forged: list[str] = field(default_factory=list)
    incomplete: int = 0  # requests cut short by a killed sender
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # As a real server answers: at once (a second small write would wait for the
            # sender's delayed ACK under Nagle's algorithm, 40 ms per request).
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                body = self.rfile.read(length)
                if len(body) < length:  # the sender died mid-request (SIGKILL): not a forgery
                    with receiver._lock:
                        receiver.incomplete += 1
                    return
                headers = {k: v for k, v in self.headers.items()}
                verified = []
                for index, secret in enumerate(receiver.secrets):
                    try:
                        Webhook(secret).verify(body, headers)
                        verified.append(index)
                    except WebhookVerificationError:
                        pass
                if not verified:
                    with receiver._lock:
                        receiver.forged.append(headers.get("webhook-id", "?"))
                if receiver.delay:
                    time.sleep(receiver.delay)
                status = receiver.status if verified else 401
                with receiver._lock:
                    if 200 <= status < 300:
                        receiver.received.append(
                            Received(headers["webhook-id"], json.loads(body), time.monotonic(), verified)
                        )
                    else:
                        receiver.refused += 1
                self.send_response(status)
                self.send_header("content-length", "2")
                self.end_headers()
                self.wfile.write(b"ok" if status < 300 else b"no")

            def log_message(self, *args: Any) -> None:
                pass

        ThreadingHTTPServer.allow_reuse_address = True
        ThreadingHTTPServer.daemon_threads = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def event_ids(self) -> set[str]:
        with self._lock:
            return {r.body["event_id"] for r in self.received}

    def wait_for(self, count: int, timeout: float = 30.0) -> None:
        """Until `count` distinct events were accepted; fails the test otherwise."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.event_ids()) >= count:
                return
            time.sleep(0.05)
        pytest.fail(f"the receiver got {len(self.event_ids())} of {count} events in {timeout} s")


@pytest.fixture
def receivers() -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(**options: Any) -> Receiver:
        receiver = Receiver(**options).start()
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.stop()


def event(
    user_id: str, wallet_id: uuid.UUID, version: int, event_type: str = "WALLET_FUNDED"
) -> dict[str, Any]:
    """A schema_version 1 event as events.md shapes it."""
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": "WALLET_CREATED" if version == 0 else event_type,
        "schema_version": 1,
        "occurred_at": format_timestamp(datetime.now(UTC)),
        "wallet_id": str(wallet_id),
        "user_id": user_id,
        "currency": "USD",
        "amount": "0.0000" if version == 0 else "1.0000",
        "balance_after": f"{version}.0000",
        "wallet_version": version,
        "transaction_id": None if version == 0 else str(uuid.uuid4()),
        "counterparty_wallet_id": None,
        "counterparty_user_id": None,
    }


@dataclass
class Topic:
    name: str
    group: str

    def produce(self, payloads: list[dict[str, Any]]) -> None:
        producer = Producer({"bootstrap.servers": brokers(), "enable.idempotence": True, "linger.ms": 5})
        for payload in payloads:
            producer.produce(
                self.name,
                key=payload["wallet_id"].encode(),
                value=json.dumps(payload, separators=(",", ":")).encode(),
            )
        assert producer.flush(30) == 0

    def options(self, **changes: Any) -> Options:
        return Options(**{"topic": self.name, "group_id": self.group, "session_timeout": 6.0, **changes})


@pytest.fixture
def topic() -> Iterator[Topic]:
    name = f"test-webhooks-{uuid.uuid4().hex[:10]}"
    admin = AdminClient({"bootstrap.servers": brokers()})
    for future in admin.create_topics([NewTopic(name, num_partitions=3, replication_factor=1)]).values():
        future.result(30)
    yield Topic(name, f"{name}-group")
    for future in admin.delete_topics([name]).values():
        future.result(30)


@pytest.fixture
def service(topic: Topic) -> Iterator[Callable[..., WebhookService]]:
    """Start the delivery service (consumer and dispatcher) in a thread; stopped at the end."""
    running: list[tuple[WebhookService, threading.Thread]] = []

    def start(**changes: Any) -> WebhookService:
        instance = WebhookService(topic.options(**changes))
        thread = threading.Thread(target=instance.run, daemon=True)
        thread.start()
        running.append((instance, thread))
        return instance

    yield start
    for instance, thread in running:
        instance.stop()
        thread.join(30)
        assert not thread.is_alive(), "the webhook service did not stop"
