"""Reads that may lag, served by the standby (DB_READ_REPLICA=true, with DB_HA=patroni).

Why only some reads, chosen by request: a wallet's history, a user's activity, a statement and a
balance at a moment answer from data that is already behind the ledger (the history comes through
Kafka) or about a past moment, so a standby a few milliseconds behind gives the same answer and
takes their load off the primary. Everything else — the money path, its locks, idempotency, the
consumer, reconcile, the admin — reads the primary: a read-your-own-write there must not see the
past. The choice is made per request (a GET of one of those routes), not per model: the same
tables are read on the money path too.

The `replica` connection prefers a standby (`target_session_attrs=prefer-standby`) and falls back
to the primary when no standby answers. docs/high-availability.md states the lag.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.http import HttpRequest, HttpResponse

REPLICA = "replica"
# GET and HEAD of these paths read the standby: a wallet's history, a user's activity, a statement
# and a balance at a moment (their routes in history/api/urls.py and wallets/api/urls.py).
LAG_TOLERANT_PATHS = re.compile(r"^/(wallets/[^/]+/(history|statement|balance)|users/[^/]+/activity)/?$")

_on_replica: ContextVar[bool] = ContextVar("lag_tolerant_reads", default=False)


@contextmanager
def lag_tolerant_reads() -> Iterator[None]:
    """Within this block the ORM's reads go to the standby; writes still go to the primary."""
    token = _on_replica.set(True)
    try:
        yield
    finally:
        _on_replica.reset(token)


class ReadReplicaRouter:
    """Django's database router: the standby for reads inside `lag_tolerant_reads`, else the default."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        return REPLICA if _on_replica.get() else None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool:
        return True  # the same database, replicated

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db != REPLICA


class LagTolerantReadsMiddleware:
    """Serves the GET and HEAD requests of LAG_TOLERANT_PATHS inside `lag_tolerant_reads`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in ("GET", "HEAD") and LAG_TOLERANT_PATHS.match(request.path_info):
            with lag_tolerant_reads():
                return self.get_response(request)
        return self.get_response(request)
