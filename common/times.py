"""Times as the API and the events write them: RFC 3339, UTC, microseconds."""

from __future__ import annotations

import re
from datetime import datetime

_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]{1,9}))?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: 2026-01-01T12:00:00.000000Z."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: object) -> datetime | None:
    """An RFC 3339 timestamp with an offset (`Z` or `+hh:mm`), or None. Fractions beyond
    microseconds are truncated (PostgreSQL keeps microseconds)."""
    if not isinstance(text, str):
        return None
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    fraction = (match.group("fraction") or "")[:6]
    offset = match.group("offset").upper().replace("Z", "+00:00")
    normalized = (
        f"{match.group('date')}T{match.group('time')}{'.' + fraction.ljust(6, '0') if fraction else ''}"
    )
    try:
        return datetime.fromisoformat(normalized + offset)
    except ValueError:  # well formed but impossible: month 13, hour 25, offset +99:00
        return None
