"""Operators' view of the outbox: the pending backlog, read-only, and a "publish now" action.

The relay deletes a row once Kafka acknowledged it (issue #21), so the page lists what is still to
be published, each row pending or failing (a send failed: attempts, last error); what was published
is on Kafka and in the history, and the banner gives the relay's published total (`RelayStats`).
Read-only because a row is an event not yet delivered: editing or deleting one would change or lose
what consumers receive. "Publish now" queues the relay's Celery task, which publishes every pending row
oldest first (never only the selected ones: that could put a wallet's events out of order); it does
not run the relay in the web request, which would hold a web worker for as long as Kafka takes.
The banner says whether the relay is stalled (`Backlog.stalled`, the rule readiness uses too).
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString

from common.admin import ReadOnlyModelAdmin, compact_time, search_by_uuid_or_text, short_id_text

from . import debezium
from .models import OutboxEvent, RelayStats
from .selectors import outbox_backlog
from .tasks import publish_outbox


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("pending", "pending"), ("failing", "failing")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        value = self.value()
        if value == "pending":
            return queryset.filter(attempts=0)
        if value == "failing":
            return queryset.filter(attempts__gt=0)
        return queryset


_STATUS_COLOURS = {"pending": "#8a6d00", "failing": "#c62828"}


@admin.register(OutboxEvent)
class OutboxEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "id",
        "type",
        "key",
        "event",
        "created",
        "status_label",
        "attempts",
        "error",
    )
    # No filter by type (a SELECT DISTINCT over the table on each page load, which a long Kafka
    # outage makes large): search by type instead. Sorting by the indexed columns only.
    list_filter = (StatusFilter,)
    sortable_by = ("id", "key")
    search_fields = ("=aggregateid", "=type")
    search_help_text = "A wallet id or event id (exact), or an event type such as TRANSFER_OUT."
    ordering = ("-id",)
    actions = ["publish_now"]
    fields = (
        "id",
        "event_id",
        "aggregatetype",
        "aggregateid",
        "type",
        "status_label",
        "created_at",
        "attempts",
        "last_error",
        "payload_pretty",
    )
    readonly_fields = fields

    @admin.display(description="status")
    def status_label(self, obj: OutboxEvent) -> SafeString:
        return format_html(
            '<b style="color:{}">{}</b>', _STATUS_COLOURS.get(obj.status, "inherit"), obj.status
        )

    @admin.display(description="key", ordering="aggregateid")
    def key(self, obj: OutboxEvent) -> SafeString:
        return short_id_text(obj.aggregateid)

    @admin.display(description="event id")
    def event(self, obj: OutboxEvent) -> SafeString:
        return short_id_text(obj.event_id)

    @admin.display(description="created (UTC)")
    def created(self, obj: OutboxEvent) -> str:
        return compact_time(obj.created_at)

    @admin.display(description="last error")
    def error(self, obj: OutboxEvent) -> str:
        return obj.last_error[:120]

    @admin.display(description="payload")
    def payload_pretty(self, obj: OutboxEvent) -> SafeString:
        return format_html("<pre>{}</pre>", json.dumps(obj.payload, indent=2, ensure_ascii=False))

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[OutboxEvent], search_term: str
    ) -> tuple[QuerySet[OutboxEvent], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: Q(event_id=v) | Q(aggregateid=str(v)),
            by_text=lambda text: Q(aggregateid=text) | Q(type=text.upper()),
        )

    def has_publish_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        if request.method == "GET":
            backlog = outbox_backlog()
            text = (
                f"Backlog: {backlog.pending} pending ({backlog.failing} failing), oldest "
                f"{backlog.oldest_pending_age_seconds:.0f} s; {backlog.published_total} published in all."
            )
            if backlog.stalled:
                self.message_user(
                    request,
                    f"Relay stalled: events have waited over {settings.OUTBOX_STALL_SECONDS:.0f} s "
                    f"(is the Celery worker running? is Kafka up?). {text}",
                    messages.WARNING,
                )
            else:
                self.message_user(request, f"Relay ok. {text}", messages.INFO)
            if debezium.enabled():
                self._connector_banner(request)
        return super().changelist_view(request, extra_context)

    def _connector_banner(self, request: HttpRequest) -> None:
        """RELAY=debezium: the connector's state and the slot's lag (Kafka Connect's REST API)."""
        state = debezium.connector_state()
        lag = "unknown" if state.slot_lag_bytes is None else f"{state.slot_lag_bytes} bytes"
        text = (
            f"Debezium connector {settings.DEBEZIUM_CONNECTOR}: {state.connector}, tasks "
            f"{', '.join(state.tasks) or 'none'}; replication slot lag {lag}."
        )
        if state.status == "ok":
            self.message_user(request, text, messages.INFO)
        else:
            detail = f" {state.error}" if state.error else ""
            self.message_user(
                request,
                f"{text} Not running: beat's sweeper restarts failed tasks.{detail}",
                messages.WARNING,
            )

    @admin.action(description="Publish now (every pending row, oldest first)", permissions=["publish"])
    def publish_now(self, request: HttpRequest, queryset: QuerySet[OutboxEvent]) -> None:
        try:
            publish_outbox.apply_async(queue=settings.OUTBOX_TASK_QUEUE)
        except Exception as exc:  # the broker refused: say so, the sweeper still publishes later
            self.message_user(request, f"Could not queue the relay task ({exc}).", messages.ERROR)
            return
        self.message_user(
            request,
            "Relay task queued: a worker publishes every pending row, oldest first; "
            "reload this page to watch the backlog drain.",
            messages.SUCCESS,
        )


@admin.register(RelayStats)
class RelayStatsAdmin(ReadOnlyModelAdmin):
    list_display = ("published_total", "last_published_at")
