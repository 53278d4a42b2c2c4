"""Time-ordered ids (UUIDv7, RFC 9562) for the rows the ledger and the history append.

Why: random (version 4) keys land on random pages of their btree indexes. At 10 M ledger entries
those indexes (the entries' and transactions' keys, the history's event and transaction ids) no
longer fit PostgreSQL's buffers, so each insert touches a cold page and, after each checkpoint,
writes that page whole to the WAL. A version 7 id begins with the time: new keys go to the
right-hand edge of each index, as a sequence's would, and are still UUIDs to every client.
"""

from __future__ import annotations

import uuid

from uuid6 import uuid7


def new_id() -> uuid.UUID:
    """A new time-ordered UUID, as the standard library's type (what psycopg and Django expect)."""
    return uuid.UUID(int=uuid7().int)
