"""Celery wiring of the relay: a coalesced publish after each commit, and a sweeper.

No pruner: the relay deletes each row once Kafka acknowledged it (issue #21, kafka_bridge/publisher.py),
so the outbox holds only the backlog.

Why coalesced: a `delay()` per commit costs ~0.5 ms of request CPU and, under load, queues
hundreds of tasks that would each find nothing left to do. `schedule_publish` (run from
`transaction.on_commit`) sets a Redis flag with `SET NX EX` and enqueues only if it was not set, so
at most one publish task is pending or running; the task clears the flag when it is done (see
`publish_outbox`), so a commit landing after that schedules the next one. A Redis outage at commit
time costs the request one failed round trip and a log line, never an error: the beat sweeper
publishes those rows later.

Why a promise: that one Redis round trip per commit was the largest item left in a transfer's
request after its SQL. A running task writes into its flag a time until which it promises to keep
draining (`OUTBOX_RELAY_PROMISE_SECONDS` ahead, renewed after each batch while rows keep coming);
it never ends before that time, and its last drain starts after it. The commit's `SET NX` also
returns the flag's value (`GET`), so a process that finds a promise knows that every commit it
completes before then will be seen, and skips Redis until then (less `OUTBOX_CLOCK_SKEW_SECONDS`
for other hosts' clocks). Under load a web process asks Redis a few times a second instead of once
per commit. The fallbacks are unchanged: a task killed mid-promise leaves its rows to the sweeper,
as a killed task always did, and no row is ever lost (it stays in the outbox until Kafka
acknowledged it).
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import Any

import redis
from celery import Task, shared_task
from celery.signals import worker_process_init
from confluent_kafka import KafkaException
from django.conf import settings
from django.db import InterfaceError, OperationalError
from redis.backoff import NoBackoff
from redis.retry import Retry

from . import debezium, wake
from .publisher import PublishResult, get_producer, publish_pending

logger = logging.getLogger(__name__)

FLAG_PREFIX = "kafka_bridge:publish-pending:"

_flag_clients: dict[str, redis.Redis] = {}


def flag_key() -> str:
    """One flag per queue, so a worker on another queue (tests, a second site) has its own."""
    return f"{FLAG_PREFIX}{settings.OUTBOX_TASK_QUEUE}"


def _flag_client() -> redis.Redis:
    client = _flag_clients.get(settings.REDIS_URL)
    if client is None:
        timeout = settings.OUTBOX_REDIS_TIMEOUT_SECONDS
        client = _flag_clients[settings.REDIS_URL] = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),  # fail at once: the sweeper is the fallback, not a retry here
        )
    return client


# Per flag: the latest promise this process read from it (epoch seconds, clock skew deducted).
_promised_until: dict[str, float] = {}


def schedule_publish() -> None:
    """After a commit: make sure a publish task will see it. Never raises (it runs in the request)."""
    if time.time() < _promised_until.get(flag_key(), 0.0):
        return  # a running task promised to drain after this commit
    request_publish()


def request_publish(countdown: float | None = None) -> None:
    """Make sure a publish task is pending or running, asking Redis (never the promise)."""
    key = flag_key()
    try:
        previous = _flag_client().set(key, b"0", nx=True, get=True, ex=settings.OUTBOX_COALESCE_SECONDS)
    except redis.RedisError as exc:
        logger.warning("outbox: publish not scheduled, Redis unreachable (%s); the sweeper will publish", exc)
        return
    if previous is not None:  # a publish task is already pending or running; it will see this commit
        _promised_until[key] = _promise_in(previous) - settings.OUTBOX_CLOCK_SKEW_SECONDS
        return
    try:
        options: dict[str, Any] = {"queue": settings.OUTBOX_TASK_QUEUE}
        if countdown is not None:
            options["countdown"] = countdown
        publish_outbox.apply_async(**options)
    except Exception as exc:  # the broker refused; whatever the cause the request must succeed
        logger.warning("outbox: publish not scheduled (%s); the sweeper will publish", exc)
        with contextlib.suppress(redis.RedisError):  # else the flag expires by itself
            _flag_client().delete(key)


def _promise_in(flag: object) -> float:
    """The time a flag's task promised to drain until; 0 for a pending task's flag (no promise)."""
    try:
        return float(flag) if isinstance(flag, bytes | str) else 0.0
    except ValueError:
        return 0.0


class _Promise:
    """A running task's promise: the time until which it keeps draining, written into its flag."""

    def __init__(self, limit: float) -> None:
        self.until = 0.0
        self.limit = limit  # never past the task's time budget

    def renew(self) -> None:
        """After each batch that found rows, once less than half of the promise is left (one Redis
        write): woken by each commit the relay drains many small batches a second, and a web
        process that reads the promise still gets at least half of OUTBOX_RELAY_PROMISE_SECONDS."""
        now = time.time()
        if self.until - now > settings.OUTBOX_RELAY_PROMISE_SECONDS / 2:
            return
        until = min(now + settings.OUTBOX_RELAY_PROMISE_SECONDS, self.limit)
        try:
            if _flag_client().set(flag_key(), repr(until).encode(), xx=True, keepttl=True):
                self.until = max(self.until, until)
        except redis.RedisError as exc:
            logger.warning("outbox: could not renew the relay's promise (%s)", exc)

    def kept(self) -> bool:
        return time.time() >= self.until


def _clear_flag() -> None:
    try:
        _flag_client().delete(flag_key())
    except redis.RedisError as exc:
        logger.warning("outbox: could not clear the publish flag (%s); it expires by itself", exc)


class PublishFailed(Exception):
    """Kafka did not take every row; raised so that Celery retries the task with backoff."""


class _Pace:
    """The rows a second the relay drained over its last whole second (0 in its first)."""

    def __init__(self) -> None:
        self.rows_per_second = 0.0
        self.since = time.monotonic()
        self.rows = 0

    def add(self, rows: int) -> None:
        now = time.monotonic()
        if now - self.since >= 1.0:
            self.rows_per_second = self.rows / (now - self.since)
            self.since, self.rows = now, 0
        self.rows += rows


def _wait_for_rows(
    result: PublishResult, drain_started: float, idle_since: float | None, promise: _Promise, pace: _Pace
) -> None:
    """Between two drains of a lingering task. While rows came within OUTBOX_WAKE_SLEEP_AFTER_SECONDS
    the relay stays awake: it looks again OUTBOX_WAKE_MIN_INTERVAL_SECONDS after the last drain
    began, or OUTBOX_WAKE_BUSY_INTERVAL_SECONDS while it drained OUTBOX_WAKE_BUSY_ROWS_PER_SECOND
    or more over its last second (under load a drain then takes a few milliseconds of commits,
    and no write NOTIFYs: PostgreSQL serializes the commits of transactions that do). Once it has
    found nothing for that long it sleeps until a commit wakes it (kafka_bridge/wake.py), at most
    until the linger could end or OUTBOX_LINGER_POLL_SECONDS (a lost wake-up costs no more)."""
    if result.failed and not result.published:
        # Only rows Kafka refuses are left (they stay, marked failing): retrying them at once on
        # every wake-up would spin; the old poll's pace is enough.
        time.sleep(settings.OUTBOX_LINGER_POLL_SECONDS)
        return
    now = time.monotonic()
    quiet_for = now - idle_since if idle_since is not None else 0.0
    if quiet_for >= settings.OUTBOX_WAKE_SLEEP_AFTER_SECONDS or not settings.OUTBOX_WAKE_ON_COMMIT:
        linger_ends = max(
            (idle_since if idle_since is not None else now) + settings.OUTBOX_LINGER_SECONDS,
            now + (promise.until - time.time()),
        )
        timeout = min(settings.OUTBOX_LINGER_POLL_SECONDS, max(0.0, linger_ends - now))
        if wake.wait_for_commit(timeout) is wake.Woken.TIMEOUT:
            return
    interval = settings.OUTBOX_WAKE_MIN_INTERVAL_SECONDS
    if pace.rows_per_second >= settings.OUTBOX_WAKE_BUSY_ROWS_PER_SECOND:  # fewer, fuller drains
        interval = settings.OUTBOX_WAKE_BUSY_INTERVAL_SECONDS
    time.sleep(max(0.0, drain_started + interval - time.monotonic()))


@shared_task(
    name="kafka_bridge.publish_outbox",
    bind=True,
    autoretry_for=(PublishFailed, KafkaException, OperationalError, InterfaceError),
    retry_backoff=1,
    retry_backoff_max=settings.OUTBOX_RETRY_BACKOFF_MAX_SECONDS,
    retry_jitter=True,
    max_retries=settings.OUTBOX_TASK_MAX_RETRIES,
)
def publish_outbox(self: Task[Any, Any]) -> dict[str, Any]:
    """Drain the outbox (the coalesced after-commit task). Idempotent: safe to run twice.

    It lingers: after the outbox is empty it waits for the next commit (woken by it, see
    kafka_bridge/wake.py; at most OUTBOX_LINGER_POLL_SECONDS between looks) for
    OUTBOX_LINGER_SECONDS, with the flag still set, so a steady stream of commits is published
    by one running task within milliseconds instead of by a new task per commit (a Celery task
    costs far more CPU than a wake-up). Then it clears the flag and drains once more: a commit that
    found the flag set had committed before the clear, so that last drain sees its rows; a commit
    after the clear sets the flag and enqueues the next task. No wake-up is lost. A commit that
    skipped Redis on this task's promise committed before the promised time, which has passed
    before the clear, so the last drain sees it too. (When Kafka fails, the retry drains instead;
    it lingers at least OUTBOX_LINGER_SECONDS, never less than a promise, before it ends.)
    """
    if settings.RELAY == "debezium":  # the connector publishes; "publish now" cleans and restarts
        _clear_flag()
        return debezium.sweep()
    started = time.monotonic()
    deadline = started + settings.OUTBOX_PUBLISH_TIME_BUDGET_SECONDS
    promise = _Promise(limit=time.time() + settings.OUTBOX_PUBLISH_TIME_BUDGET_SECONDS)
    idle_since: float | None = None
    pace = _Pace()
    published = 0
    try:
        while True:
            drain_started = time.monotonic()
            result = publish_pending(
                time_budget=max(0.1, deadline - drain_started), after_batch=promise.renew
            )
            published += result.published
            pace.add(result.claimed)
            if result.delivery_failed:
                _clear_flag()
                raise PublishFailed("; ".join(result.errors) or "Kafka did not acknowledge every row")
            now = time.monotonic()
            if result.claimed:
                idle_since = None
            elif idle_since is None:
                idle_since = now
            lingered = idle_since is not None and now - idle_since >= settings.OUTBOX_LINGER_SECONDS
            if now >= deadline or (lingered and promise.kept()):
                break
            _wait_for_rows(result, drain_started, idle_since, promise, pace)
    finally:
        wake.stop_listening()
    time.sleep(max(0.0, promise.until - time.time()))  # the last drain starts after the promise
    _clear_flag()
    result = publish_pending()
    result.published += published
    if result.delivery_failed:
        raise PublishFailed("; ".join(result.errors) or "Kafka did not acknowledge every row")
    if result.locked_out:
        # Another relay is draining and may have looked before the last commits landed: look
        # again soon (tens of milliseconds: until then the flag holds back other enqueues).
        request_publish(countdown=settings.OUTBOX_LOCKED_OUT_RETRY_SECONDS)
    elif result.budget_exhausted or time.monotonic() >= deadline:
        request_publish()
    return result.as_dict()


@shared_task(name="kafka_bridge.sweep_outbox")
def sweep_outbox() -> dict[str, Any]:
    """Beat's sweeper: the same relay every few seconds, for rows no publish task picked up. With
    RELAY=debezium: the outbox rows the connector captured are deleted, a failed task restarted."""
    if settings.RELAY == "debezium":
        return debezium.sweep()
    result = publish_pending()
    if result.budget_exhausted:
        request_publish()
    if result.delivery_failed:
        logger.warning("outbox sweep: Kafka failed (%s); next sweep retries", "; ".join(result.errors))
    return result.as_dict()


# A pool process's producer, connected before its first task: the worker's pool processes take
# turns running the publish task (each runs it for OUTBOX_PUBLISH_TIME_BUDGET_SECONDS), and a
# process whose producer was created by its first task made that task's first batch wait for a
# broker connection, the topic's metadata and an idempotent producer id: 0.5-1.1 s during which
# every event waited (issue #37, the stalls in bench/e2e_lag.py's tail).
WARM_TIMEOUT_SECONDS = 2.0  # within Celery's 4 s for a new pool process to report ready


@worker_process_init.connect
def warm_relay_producer(**_: Any) -> None:
    """Create this process's relay producer and wait (briefly) for its broker connection and the
    topic's metadata; a Kafka that is down costs only the wait: the first batch connects as before."""
    if settings.RELAY != "celery":
        return
    try:
        get_producer().producer.list_topics(settings.KAFKA_TOPIC, timeout=WARM_TIMEOUT_SECONDS)
    except KafkaException as exc:
        logger.info("outbox relay: producer not connected yet (%s); its first batch will connect", exc)
