"""The URL of a database on the server Django's connection uses, for what runs outside this process
(a worker or consumer a test starts, `pg_dump`, a psycopg admin connection, the previous release in
`bench/before_after.py`): the test database under pytest, since it reads the live connection's
settings, or a sibling database on the same server by name."""

from __future__ import annotations

import urllib.parse

from django.db import DEFAULT_DB_ALIAS, connections


def database_url(name: str | None = None, alias: str = DEFAULT_DB_ALIAS) -> str:
    """`postgres://user:password@host:port/name`; `name` defaults to the connection's database."""
    db = connections[alias].settings_dict
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    return (
        f"postgres://{user}:{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name or db['NAME']}"
    )
