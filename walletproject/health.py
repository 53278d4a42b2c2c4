"""Liveness and readiness endpoints.

`/health` is the seed's liveness probe: the process answers, nothing else is checked.
`/health/ready` asks PostgreSQL, Redis and Kafka, each with a short timeout, and answers 200 or 503.
It is public, like `/health`, because a load balancer probes it without credentials, and it has to
answer while the database (where API tokens live) is down. The public answer is only
`{"status": "ready"|"unavailable"}`: what is down, the backlog and the lag are the operators'
business. A staff token (`Authorization: Token <key>`, the API's authentication, `/metrics`'
too) gets the details below, with the same status code; any other header, a bad or unknown
token included, is answered as anonymous (a probe never fails on its credentials). The details
say up/down per component, never hosts or error text.

The details say whether the event log is whole (`event_log`: the topic's retention, partitions
whose first events are gone, a consumer away longer than the retention; docs/history.md). They
also report, as information, the outbox backlog with a `status` of "ok" or "stalled" (the rule
is `Backlog.stalled`) and the consumer lag (this process's last read and its age, so a probe never
waits on Kafka's admin requests). Neither makes the service unready. A stalled relay in particular
does not: the web process still takes money correctly and the outbox keeps every event durably, so
failing readiness would take the API down and stop money moving without restarting the relay. A
stall is reported here, as the `wallet_outbox_stalled` gauge, by an alert rule and in the admin.

A probe's cost does not grow with the ledger or the history (issue #21): `SELECT 1`, the outbox
(the backlog only: published rows are deleted) and the lag this process already read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from common.auth import CachedTokenAuthentication
from common.errors import compact_json
from history.lag import recent_consumer_lag
from kafka_bridge import debezium
from kafka_bridge.client import cluster_topics
from kafka_bridge.selectors import outbox_backlog

logger = logging.getLogger(__name__)


def check_database() -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:
        # A broken persistent connection must not poison the next probe: drop it.
        connection.close()
        raise


_redis_client: redis.Redis | None = None


def check_redis() -> None:
    global _redis_client
    if _redis_client is None:
        timeout = settings.HEALTH_CHECK_TIMEOUT_SECONDS
        _redis_client = redis.Redis.from_url(
            settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout
        )
    _redis_client.ping()


def check_kafka() -> None:
    topics = cluster_topics(timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS)
    if settings.KAFKA_TOPIC not in topics:
        raise LookupError(f"topic {settings.KAFKA_TOPIC} missing")


CHECKS: dict[str, Callable[[], None]] = {
    "database": check_database,
    "redis": check_redis,
    "kafka": check_kafka,
}


def run_checks() -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    for name, check in CHECKS.items():
        started = time.perf_counter()
        try:
            check()
            status = "up"
        except Exception as exc:  # any failure of a dependency means "down", whatever its type
            logger.warning("readiness: %s is down: %s", name, exc)
            status = "down"
        results[name] = {
            "status": status,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
        }
    return results


@require_GET
def health(request: HttpRequest) -> HttpResponse:
    return HttpResponse("OK", content_type="text/plain")


def outbox_info(database_up: bool) -> dict[str, object] | None:
    """The relay's status, pending rows and the oldest one's age; None when the database cannot say."""
    if not database_up:
        return None
    try:
        backlog = outbox_backlog()
    except Exception as exc:  # information only: never turns a probe into an error
        logger.warning("readiness: outbox backlog unknown: %s", exc)
        connection.close()
        return None
    return {
        "status": backlog.status,
        "pending": backlog.pending,
        "failing": backlog.failing,
        "oldest_pending_age_seconds": backlog.oldest_pending_age_seconds,
    }


def event_log_info(lag: dict[str, object] | None) -> dict[str, object] | None:
    """Whether the event log is whole (from the lag read: no request of its own), information only.

    `status`: "ok"; "finite_retention" (Kafka will drop events: run `manage.py kafka_setup`);
    "truncated" (some partition's first events are gone: `rebuild_history` would refuse, use
    `--from-ledger`); "events_lost" (the consumer was away longer than the retention: the history
    misses events until `rebuild_history --from-ledger`). None when the lag could not be read."""
    if lag is None or "error" in lag:
        return None
    retention = lag.get("retention")
    truncated = lag.get("truncated_partitions") or {}
    behind = lag.get("behind_retention") or {}
    if behind:
        status = "events_lost"
    elif truncated:
        status = "truncated"
    elif not isinstance(retention, dict) or not retention.get("forever"):
        status = "finite_retention"
    else:
        status = "ok"
    return {
        "status": status,
        "retention": retention,
        "truncated_partitions": truncated,
        "behind_retention": behind,
    }


def staff_token(request: HttpRequest) -> bool:
    """Whether the request carries a staff user's valid API token; anything else (no header, a bad
    or revoked token, a database that cannot say) is False, never an error."""
    if "HTTP_AUTHORIZATION" not in request.META:
        return False  # the load balancer's probe: no lookup at all
    try:
        found = CachedTokenAuthentication().authenticate(request)
    except Exception:  # AuthenticationFailed, or the database down: anonymous
        return False
    return found is not None and bool(found[0].is_active and found[0].is_staff)


@require_GET
def ready(request: HttpRequest) -> JsonResponse:
    checks = run_checks()
    down = [name for name, result in checks.items() if result["status"] != "up"]
    status = 503 if down else 200
    if not staff_token(request):
        return compact_json({"status": "ready" if not down else "unavailable"}, status=status)
    lag = recent_consumer_lag() if checks["kafka"]["status"] == "up" else None
    body = {
        "status": "ready" if not down else "unavailable",
        "down": down,
        "checks": checks,
        "outbox": outbox_info(checks["database"]["status"] == "up"),
        # Information, like the backlog: a consumer behind is not a reason to stop serving.
        "consumer_lag": lag,
        "event_log": event_log_info(lag),
    }
    if debezium.enabled():
        # RELAY=debezium (issue #24): the connector's state and the slot's lag, information only
        # like the backlog (a failed task is restarted by beat's sweeper and shown here meanwhile).
        body["relay"] = debezium.connector_state(timeout=settings.HEALTH_CHECK_TIMEOUT_SECONDS).as_dict()
    return compact_json(body, status=status)
