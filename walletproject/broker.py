"""Celery's Redis transport, with one fix: a channel whose connection is gone says so.

Why (issue 9; kombu 5.7.0, Celery 5.7.0): when the broker connection drops, the worker's consumer
collects the old connection, which detaches its transport (`transport.client = None`), and
reconnects. Acks and restores that were scheduled for messages delivered on the old connection
still run afterwards, through the old channel: kombu's Redis channel then builds a client pool from
`self.connection.client`, which is None, and raises AttributeError. Callers only expect the
transport's connection errors (`Message.ack_log_error` logs those and carries on), so the
AttributeError escaped the worker's event loop and killed it ("Unrecoverable error"), every time a
task finished while Redis was restarting.

Here the stale channel raises redis's ConnectionError instead, which every caller already handles
as what it is: the ack is logged as not done, the message stays in Redis's unacked set and is
restored later (tasks here are idempotent; the outbox sweeper covers a lost publish).
"""

from __future__ import annotations

from typing import Any

from kombu.transport import redis as kombu_redis
from redis.exceptions import ConnectionError as RedisConnectionError


class Channel(kombu_redis.Channel):
    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise RedisConnectionError("the broker connection of this channel was closed")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)  # type: ignore[misc]
        return params


class Transport(kombu_redis.Transport):
    Channel = Channel
