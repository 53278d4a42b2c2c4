"""`manage.py consume_events`: run the history consumer (the loop is `history.consumer.HistoryConsumer`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from history.consumer import ConsumerOptions, HistoryConsumer


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise ValueError(text)
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise ValueError(text)
    return value


class Command(BaseCommand):
    help = (
        "Consume wallet events from Kafka into the history table (consumer group, at-least-once, idempotent)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--batch-size", type=_positive_int, default=1000, help="messages per batch and transaction (1000)"
        )
        parser.add_argument("--max-messages", type=_positive_int, help="stop after this many messages")
        parser.add_argument(
            "--stop-when-idle",
            type=_positive_float,
            metavar="SECONDS",
            help="stop after SECONDS without a message",
        )
        parser.add_argument(
            "--from-beginning",
            action="store_true",
            help="read the assigned partitions from the earliest retained offset (re-reads are harmless)",
        )
        parser.add_argument(
            "--group", help=f"consumer group (default KAFKA_GROUP_ID, {settings.KAFKA_GROUP_ID})"
        )
        parser.add_argument("--topic", help=f"topic (default KAFKA_TOPIC, {settings.KAFKA_TOPIC})")
        parser.add_argument(
            "--session-timeout",
            type=_positive_float,
            default=10.0,
            metavar="SECONDS",
            help="seconds before the group hands a dead consumer's partitions to the others (10)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        consumer = HistoryConsumer(
            ConsumerOptions(
                topic=options["topic"] or settings.KAFKA_TOPIC,
                dlq_topic=settings.KAFKA_DLQ_TOPIC,
                group_id=options["group"] or settings.KAFKA_GROUP_ID,
                batch_size=options["batch_size"],
                max_messages=options["max_messages"],
                stop_when_idle=options["stop_when_idle"],
                from_beginning=options["from_beginning"],
                session_timeout=options["session_timeout"],
            )
        )
        stats = consumer.run()
        self.stdout.write(f"consume_events: {stats.summary()}")
