"""`common.times.format_timestamp` remembers the texts it wrote (a batch writes one time a
thousand times over); what it writes is still `strftime`'s text of the moment it is given."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from common.times import format_timestamp

PATTERN = "%Y-%m-%dT%H:%M:%S.%fZ"


def test_the_same_moment_gives_the_same_text_each_time():
    moment = datetime(2026, 12, 4, 21, 0, 0, 123456, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-12-04T21:00:00.123456Z"
    assert format_timestamp(moment) == "2026-12-04T21:00:00.123456Z"
    assert format_timestamp(moment + timedelta(microseconds=1)) == "2026-12-04T21:00:00.123457Z"


def test_equal_moments_in_other_zones_are_not_given_each_others_text():
    utc = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)
    same_instant_elsewhere = utc.astimezone(timezone(timedelta(hours=2)))
    assert utc == same_instant_elsewhere  # equal keys for a cache keyed by the moment alone
    assert format_timestamp(utc) == utc.strftime(PATTERN)
    assert format_timestamp(same_instant_elsewhere) == same_instant_elsewhere.strftime(PATTERN)
    assert format_timestamp(utc) != format_timestamp(same_instant_elsewhere)


def test_a_year_before_1000_is_written_with_four_digits():
    """RFC 3339 wants four: strftime's %Y alone writes year 124 as `124` (schemathesis found it in a
    statement's period, which may start that early)."""
    assert (
        format_timestamp(datetime(124, 1, 26, 22, 6, 10, 300000, tzinfo=UTC)) == "0124-01-26T22:06:10.300000Z"
    )
