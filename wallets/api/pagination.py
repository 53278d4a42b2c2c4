"""Cursor pagination: `?limit=` (default 50, max 500) and an opaque `?cursor=`."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from rest_framework.request import Request

from walletproject.errors import ValidationFailed

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def page_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,4}", raw) or not 1 <= int(raw) <= MAX_LIMIT:
        raise ValidationFailed(f"limit must be an integer from 1 to {MAX_LIMIT}.", details={"limit": raw})
    return int(raw)


def encode_cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


def decode_cursor(request: Request) -> Any:
    raw = request.query_params.get("cursor")
    if not raw:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    except ValueError as exc:
        raise ValidationFailed("The cursor is not valid.", details={"cursor": raw}) from exc


def page_body(items: list[Any], has_more: bool, next_position: Any) -> dict[str, Any]:
    return {
        "success": True,
        "data": items,
        "has_more": has_more,
        "next_cursor": encode_cursor(next_position) if has_more else None,
    }
