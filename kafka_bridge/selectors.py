"""Reads about the outbox for operators and `reconcile`: backlog size, oldest pending age, published
total, events overdue. Every outbox row is pending (the relay deletes a row once Kafka acknowledged
it), so the backlog is the table; the published total is `RelayStats`' counter.

One query, shared by `/metrics`, `/health/ready` and the admin, so they always agree. Ages use the
database's clock, the same one that stamped the rows. The stall rule lives here too, for the same
reason: all three say "stalled" at the same moment.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import DurationField, ExpressionWrapper, F
from django.db.models.functions import Now

from .models import OutboxEvent, RelayStats


@dataclass(frozen=True)
class Backlog:
    pending: int  # rows in the outbox: every one waits for Kafka
    failing: int  # pending rows with at least one failed attempt
    oldest_pending_age_seconds: float  # 0 when nothing is pending
    published_total: int  # ever published (RelayStats: survives the deleted rows and restarts)

    @property
    def stalled(self) -> bool:
        """A pending event older than OUTBOX_STALL_SECONDS: the relay is not publishing (worker down,
        Kafka refusing, a task lost). A large but moving backlog stays under the threshold."""
        stall_after: float = settings.OUTBOX_STALL_SECONDS
        return self.oldest_pending_age_seconds > stall_after

    @property
    def status(self) -> str:
        return "stalled" if self.stalled else "ok"

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def outbox_backlog() -> Backlog:
    outbox, stats = OutboxEvent._meta.db_table, RelayStats._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT count(*),
                   count(*) FILTER (WHERE attempts > 0),
                   COALESCE(EXTRACT(EPOCH FROM now() - (
                       SELECT created_at FROM {outbox} ORDER BY id LIMIT 1
                   )), 0),
                   COALESCE((SELECT published_total FROM {stats} WHERE id = 1), 0)
              FROM {outbox}
            """  # noqa: S608 -- table names come from model metadata
        )
        pending, failing, age, published = cursor.fetchone()
    return Backlog(
        pending=pending,
        failing=failing,
        oldest_pending_age_seconds=round(max(float(age), 0.0), 3),
        published_total=published,
    )


@dataclass(frozen=True)
class OverdueEvent:
    id: int
    type: str
    aggregatetype: str  # "wallet" or "approval"
    aggregateid: str
    age_seconds: float
    attempts: int
    last_error: str


def overdue_events(*, max_age_seconds: float, limit: int) -> tuple[int, list[OverdueEvent]]:
    """Pending events older than `max_age_seconds`: how many, and the oldest `limit` of them."""
    overdue = OutboxEvent.objects.filter(created_at__lt=Now() - timedelta(seconds=max_age_seconds))
    age = ExpressionWrapper(Now() - F("created_at"), output_field=DurationField())
    oldest = overdue.annotate(age=age).order_by("id")[:limit]
    examples = [
        OverdueEvent(
            row.id,
            row.type,
            row.aggregatetype,
            row.aggregateid,
            row.age.total_seconds(),
            row.attempts,
            row.last_error,
        )
        for row in oldest
    ]
    return overdue.count(), examples
