"""Keyset pagination, the one way every listing pages: `?limit=` (default 50, max 500) and an
opaque `?cursor=`.

A cursor is the position of the previous page's last item, as base64 JSON (URL-safe alphabet, no
padding: `CURSOR_PATTERN`). Each listing says how to write a position and how to read one back
(`Keyset`); its selector returns the items after a position. A cursor that does not read back is 400
`validation_error`, like a bad limit. The limits and the pattern here are what the OpenAPI schema
publishes (`common.schema.PAGE_PARAMETERS`).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db.models import QuerySet
from rest_framework.request import Request

from .api import parse_uuid
from .errors import ValidationFailed
from .times import parse_rfc3339

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# What encode_cursor writes (a position is well under 200 characters); empty means the first page.
CURSOR_MAX_LENGTH = 256
CURSOR_PATTERN = rf"^[A-Za-z0-9_-]{{0,{CURSOR_MAX_LENGTH}}}$"
_CURSOR = re.compile(CURSOR_PATTERN)

P = TypeVar("P")  # a position: what a selector needs to continue after an item


@dataclass(frozen=True)
class Keyset(Generic[P]):
    position: Callable[[Any], Any]  # an item -> its position as a JSON value
    read: Callable[[Any], P | None]  # a decoded JSON value -> the position, None if it is not one


@dataclass(frozen=True)
class Page:
    items: list[Any]
    has_more: bool
    next_cursor: str | None

    def body(self, render: Callable[[Any], Any]) -> dict[str, Any]:
        return {
            "success": True,
            "data": [render(item) for item in self.items],
            "has_more": self.has_more,
            "next_cursor": self.next_cursor,
        }


def page_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be an integer from 1 to {MAX_LIMIT}.", details={"limit": raw})
    return int(raw)


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def cursor_position(request: Request, keyset: Keyset[P]) -> P | None:
    """The position the request's cursor names; None without a cursor."""
    raw = request.query_params.get("cursor")
    if not raw:
        return None
    decoded = None
    if _CURSOR.fullmatch(raw):
        with contextlib.suppress(ValueError, RecursionError):  # not base64, not JSON, absurdly deep
            decoded = json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    position = keyset.read(decoded) if decoded is not None else None
    if position is None:
        raise ValidationFailed("The cursor is not valid.", details={"cursor": raw})
    return position


def paginate(request: Request, keyset: Keyset[P], items_after: Callable[[P | None], QuerySet[Any]]) -> Page:
    """One page: `limit` items after the cursor's position, and the cursor of the next page."""
    limit = page_limit(request)
    after = cursor_position(request, keyset)
    items = list(items_after(after)[: limit + 1])
    has_more = len(items) > limit
    items = items[:limit]
    return Page(items, has_more, encode_cursor(keyset.position(items[-1])) if has_more else None)


# Readers of the positions the listings use.


def read_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def read_int_and_uuid(value: Any) -> tuple[int, uuid.UUID] | None:
    if isinstance(value, list) and len(value) == 2:
        number, identifier = read_int(value[0]), parse_uuid(value[1])
        if number is not None and identifier is not None:
            return number, identifier
    return None


def read_time_and_uuid(value: Any) -> tuple[datetime, uuid.UUID] | None:
    if isinstance(value, list) and len(value) == 2:
        moment, identifier = parse_rfc3339(value[0]), parse_uuid(value[1])
        if moment is not None and identifier is not None:
            return moment, identifier
    return None
