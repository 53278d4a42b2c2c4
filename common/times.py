"""Times as the API and the events write them: RFC 3339, UTC, microseconds."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta, tzinfo

# Longer than any time needs (35 characters with nanoseconds and an offset); the API's bound, so a
# request line with times in it stays within the web server's limit.
RFC3339_MAX_LENGTH = 64
_RFC3339 = re.compile(
    r"(?P<date>[0-9]{4}-[0-9]{2}-[0-9]{2})[Tt ](?P<time>[0-9]{2}:[0-9]{2}:[0-9]{2})"
    r"(?:\.(?P<fraction>[0-9]+))?(?P<offset>[Zz]|[+-][0-9]{2}:[0-9]{2})"
)


def format_timestamp(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds: 2026-01-01T12:00:00.000000Z."""
    return _formatted(moment, moment.tzinfo)


@functools.lru_cache(maxsize=1024)
def _formatted(moment: datetime, zone: tzinfo | None) -> str:
    """Remembered: a batch's events and answer write its one time a thousand times over. Keyed by
    the zone too, as two equal moments in different zones are equal keys but other texts."""
    # The year by hand: strftime's %Y writes year 124 as `124`, which is not RFC 3339.
    return f"{moment.year:04d}" + moment.strftime("-%m-%dT%H:%M:%S.%fZ")


def parse_rfc3339(text: object) -> datetime | None:
    """An RFC 3339 timestamp with an offset (`Z` or `+hh:mm`), in UTC, or None.

    What RFC 3339 (the OpenAPI schema's `format: date-time`) allows, up to RFC3339_MAX_LENGTH
    characters: any number of fraction digits (beyond microseconds truncated: PostgreSQL keeps
    microseconds), a leap second (`:60`, read as the start of the next second, as PostgreSQL does)
    and any offset up to 23:59 (PostgreSQL takes fewer, so the time is given to it in UTC). A time
    in range only with its offset, within a day of year 1 or 9999, is clamped to the first or last
    microsecond.
    """
    if not isinstance(text, str) or len(text) > RFC3339_MAX_LENGTH:
        return None
    match = _RFC3339.fullmatch(text)
    if match is None:
        return None
    fraction = (match.group("fraction") or "")[:6]
    offset = match.group("offset").upper().replace("Z", "+00:00")
    clock = match.group("time")
    leap_second = clock.endswith(":60")
    normalized = (
        f"{match.group('date')}T{clock[:-2] + '59' if leap_second else clock}"
        f"{'.' + fraction.ljust(6, '0') if fraction else ''}"
    )
    try:
        moment = datetime.fromisoformat(normalized + offset)
    except ValueError:  # well formed but impossible: month 13, hour 25, offset +99:00
        return None
    try:
        return moment.astimezone(UTC) + (timedelta(seconds=1) if leap_second else timedelta())
    except OverflowError:
        return datetime.min.replace(tzinfo=UTC) if moment.year == 1 else datetime.max.replace(tzinfo=UTC)
