"""Admin search by id or by text, for every app's admin.

A search term that is a UUID is matched exactly against the id columns (indexed, instant); any
other term against the text columns. Django's default search runs `icontains` on every listed
field, and that over a UUID column is a sequential scan of tables that only grow.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TypeVar

from django.db.models import Model, Q, QuerySet

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
