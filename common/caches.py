"""Process-wide caches of database rows, emptied all at once when the database changes under them.

A process keeps a few rows for its lifetime because reading them on every request costs a round
trip (a currency's system account id, a token's user). Each such cache registers how it is
emptied; `forget_all()` empties every one (the tests call it between databases). Caches of clients
(Kafka, Redis) hold no rows and are not here.
"""

from __future__ import annotations

from collections.abc import Callable

_forgetters: list[Callable[[], None]] = []


def register(forget: Callable[[], None]) -> None:
    _forgetters.append(forget)


def forget_all() -> None:
    for forget in _forgetters:
        forget()
