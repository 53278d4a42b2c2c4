"""Django's PostgreSQL backend with a health check that costs no round trip.

Why: with `CONN_HEALTH_CHECKS`, Django checks a persistent connection before its first use in each
request or task by running `SELECT 1`: a round trip per request, about a tenth of a transfer's
time and more of a wallet read's (README, Performance). Without the check, a connection broken by a
database restart fails the next request with a 503. Here the check asks the operating system
instead: an idle connection's socket has nothing to read unless the server closed it (a restart or
a terminated backend sends its error and closes) — so a readable or hung-up socket means the
connection is gone, and Django opens a new one. A server that vanished without closing (a network
partition) still fails the first query, as it would with `SELECT 1` after its timeout.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base


class DatabaseWrapper(base.DatabaseWrapper):
    def is_usable(self) -> bool:
        connection = self.connection
        if connection is None or connection.closed or connection.broken:
            return False
        try:
            poller = select.poll()
            poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
            return not poller.poll(0)
        except (OSError, ValueError):
            return False
