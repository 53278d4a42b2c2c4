"""The URL of a database on the server Django's connection uses, for what runs outside this process
(a worker or consumer a test starts, `pg_dump`, a psycopg admin connection, the previous release in
`bench/before_after.py`): the test database under pytest, since it reads the live connection's
settings, or a sibling database on the same server by name."""

from __future__ import annotations

import urllib.parse

from django.db import DEFAULT_DB_ALIAS, connections


def database_url(name: str | None = None, alias: str = DEFAULT_DB_ALIAS) -> str:
    """`postgres://user:password@host:port/name`; `name` defaults to the connection's database.
    Several hosts (DB_HA=patroni: `HOST` "h1,h2", `PORT` "p1,p2") stay several, with the
    connection's `target_session_attrs`, so the URL finds the primary as the connection does."""
    db = connections[alias].settings_dict
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    hosts = str(db["HOST"] or "127.0.0.1").split(",")
    ports = str(db["PORT"] or 5432).split(",")
    if len(ports) < len(hosts):
        ports += ports[-1:] * (len(hosts) - len(ports))
    netloc = ",".join(f"{host}:{port}" for host, port in zip(hosts, ports, strict=False))
    attrs = db.get("OPTIONS", {}).get("target_session_attrs")
    query = f"?target_session_attrs={attrs}" if attrs else ""
    return f"postgres://{user}:{password}@{netloc}/{name or db['NAME']}{query}"
