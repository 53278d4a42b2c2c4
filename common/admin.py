"""What every app's admin shares: read-only pages, and search by id or by text.

Read-only: money, ledger, history and outbox rows change only through services and the relay, so
their admin pages show everything and let nobody add, edit or delete (actions that call a service,
such as freezing a wallet, are the way to act).

Search: a term that is a UUID is matched exactly against the id columns (indexed, instant); any
other term against the text columns. Django's default search runs `icontains` on every listed
field, and that over a UUID column is a sequential scan of tables that only grow.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import admin
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

M = TypeVar("M", bound=Model)


def search_by_uuid_or_text(
    queryset: QuerySet[M],
    term: str,
    *,
    by_uuid: Callable[[uuid.UUID], Q],
    by_text: Callable[[str], Q],
) -> tuple[QuerySet[M], bool]:
    """The `get_search_results` answer: the matching rows, and False (no duplicates to remove)."""
    term = term.strip()
    if not term:
        return queryset, False
    try:
        value = uuid.UUID(term)
    except ValueError:
        return queryset.filter(by_text(term)), False
    return queryset.filter(by_uuid(value)), False


class ReadOnlyAdminMixin:
    """Every field visible and read-only; nothing added, changed or deleted. For model admins and
    inlines alike. Large tables: no full count on the change list."""

    show_full_result_count = False
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        declared = list(getattr(self, "fields", None) or ())
        if declared:  # the page shows exactly these
            return declared
        model = self.model  # type: ignore[attr-defined]
        return [field.name for field in model._meta.fields] + list(getattr(self, "readonly_fields", ()))

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyModelAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):  # type: ignore[type-arg]
    pass
