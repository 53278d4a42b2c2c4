"""Appended rows get time-ordered ids (common/ids.py): version 7, later ids sort after earlier ones."""

from __future__ import annotations

import uuid

from common.ids import new_id


def test_new_ids_are_version_7_and_ordered_by_time():
    ids = [new_id() for _ in range(1000)]
    assert all(type(i) is uuid.UUID and i.version == 7 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
