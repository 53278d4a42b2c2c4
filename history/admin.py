"""Operators' view of the history service: events, version gaps, dead letters, reconcile results.

All read-only: the history is a projection of the event stream (fix it with `rebuild_history`, not
by editing rows), and the other tables are records of what the consumer and `reconcile` found.
Search takes exact ids (a UUID matches the wallet, transaction, hold or event, or the transaction a
reversal reverses; anything else a user id), so it uses the indexes instead of scanning the table.
Every list is newest first on an index (the primary key; the reconcile runs' finished_at), so no
page sorts its table, and the history's columns do not sort (none has an index of its own); the
schema versions offered by the filter are those the consumer accepts, not the table's distinct values.
`?wallet=<id>` lists one wallet's money history (linked from the wallet's admin page), newest version
first on `history_wallet_version_unique`. Ids show short (the full id in the link's title).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString

from common.admin import (
    IdFilter,
    ReadOnlyModelAdmin,
    ValuesListFilter,
    compact_time,
    search_by_uuid_or_text,
    short_id_link,
    short_id_text,
)

from .decoding import SCHEMA_VERSIONS
from .models import DeadLetter, HistoryEvent, ReconcileRun, VersionGap


def _pretty_json(value: Any) -> SafeString:
    return format_html("<pre>{}</pre>", json.dumps(value, indent=2, ensure_ascii=False))


class SchemaVersionFilter(ValuesListFilter):
    title = "schema version"
    parameter_name = "schema_version__exact"

    def values(self) -> tuple[int, ...]:
        return SCHEMA_VERSIONS


class WalletHistoryFilter(IdFilter):
    title = "wallet"
    parameter_name = "wallet"

    def condition(self, value: uuid.UUID) -> Q:
        return Q(wallet_id=value)  # history_wallet_version_unique


def _short(value: object) -> SafeString | str:
    return "—" if value is None else short_id_text(value)


@admin.register(HistoryEvent)
class HistoryEventAdmin(ReadOnlyModelAdmin):
    list_display = (
        "event",
        "occurred",
        "event_type",
        "wallet",
        "user_id",
        "money",
        "balance_after",
        "wallet_version",
        "transaction",
        "description",
    )
    list_display_links = None
    list_filter = ("event_type", SchemaVersionFilter, WalletHistoryFilter)
    search_fields = ("=user_id",)
    search_help_text = "A wallet, transaction, hold or event id (exact UUID), or a user id (exact)."
    ordering = ("-id",)  # newest stored first, on the primary key: no sort of the whole table
    sortable_by = ()
    fields = (
        "id",
        "event_id",
        "event_type",
        "wallet_id",
        "user_id",
        "currency",
        "amount",
        "balance_after",
        "wallet_version",
        "transaction_id",
        "counterparty_wallet_id",
        "counterparty_user_id",
        "held_after",
        "hold_id",
        "reverses_transaction_id",
        "description",
        "metadata_pretty",
        "schema_version",
        "occurred_at",
        "recorded_at",
        "topic",
        "partition",
        "offset",
        "payload_pretty",
    )

    def get_ordering(self, request: HttpRequest) -> Any:
        if request.GET.get(WalletHistoryFilter.parameter_name):
            return ("-wallet_version",)  # one wallet's: history_wallet_version_unique (one row a version)
        return super().get_ordering(request)

    @admin.display(description="event")
    def event(self, obj: HistoryEvent) -> SafeString:
        return short_id_link(reverse("admin:history_historyevent_change", args=[obj.pk]), obj.event_id)

    @admin.display(description="occurred (UTC)")
    def occurred(self, obj: HistoryEvent) -> str:
        return compact_time(obj.occurred_at)

    @admin.display(description="wallet")
    def wallet(self, obj: HistoryEvent) -> SafeString | str:
        return _short(obj.wallet_id)

    @admin.display(description="transaction")
    def transaction(self, obj: HistoryEvent) -> SafeString | str:
        return _short(obj.transaction_id)

    @admin.display(description="amount")
    def money(self, obj: HistoryEvent) -> str:
        return "—" if obj.amount is None else f"{obj.amount} {obj.currency}"

    @admin.display(description="metadata")
    def metadata_pretty(self, obj: HistoryEvent) -> SafeString | str:
        return "-" if obj.metadata is None else _pretty_json(obj.metadata)

    @admin.display(description="event as consumed")
    def payload_pretty(self, obj: HistoryEvent) -> SafeString:
        return _pretty_json(obj.payload)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[HistoryEvent], search_term: str
    ) -> tuple[QuerySet[HistoryEvent], bool]:
        return search_by_uuid_or_text(
            queryset,
            search_term,
            by_uuid=lambda v: (
                Q(wallet_id=v)
                | Q(transaction_id=v)
                | Q(event_id=v)
                | Q(hold_id=v)
                | Q(reverses_transaction_id=v)
            ),
            by_text=lambda text: Q(user_id=text),
        )


class GapStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "open"), ("resolved", "resolved")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(VersionGap)
class VersionGapAdmin(ReadOnlyModelAdmin):
    list_display = (
        "gap",
        "wallet",
        "first_missing",
        "last_missing",
        "detected_at",
        "resolved_at",
        "partition",
        "offset",
    )
    list_display_links = None
    list_filter = (GapStateFilter,)
    search_fields = ("=wallet_id",)
    search_help_text = "A wallet id (exact)."
    ordering = ("-id",)  # newest detected first

    @admin.display(description="gap")
    def gap(self, obj: VersionGap) -> SafeString:
        url = reverse("admin:history_versiongap_change", args=[obj.pk])
        return format_html('<a href="{}">#{}</a>', url, obj.pk)

    @admin.display(description="wallet")
    def wallet(self, obj: VersionGap) -> SafeString | str:
        return _short(obj.wallet_id)


@admin.register(DeadLetter)
class DeadLetterAdmin(ReadOnlyModelAdmin):
    list_display = ("dead_lettered_at", "topic", "partition", "offset", "key", "error")
    search_fields = ("=key",)
    search_help_text = "A message key (the wallet id), exact."
    ordering = ("-id",)  # newest first


@admin.register(ReconcileRun)
class ReconcileRunAdmin(ReadOnlyModelAdmin):
    list_display = ("finished_at", "ok", "breaches")
    list_filter = ("ok",)
    fields = ("started_at", "finished_at", "ok", "breaches", "report_text", "checks_pretty")

    @admin.display(description="report")
    def report_text(self, obj: ReconcileRun) -> SafeString:
        return format_html("<pre>{}</pre>", obj.report)

    @admin.display(description="checks")
    def checks_pretty(self, obj: ReconcileRun) -> SafeString:
        return _pretty_json(obj.checks)
