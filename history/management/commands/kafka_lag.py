"""`manage.py kafka_lag`: the history consumer group's lag per partition, as a table."""

from __future__ import annotations

from typing import Any

from confluent_kafka import KafkaException
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from history.lag import consumer_lag


class Command(BaseCommand):
    help = (
        "Consumer lag per partition (committed vs end offset), as kafka-consumer-groups.sh --describe shows."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--group", help=f"consumer group (default KAFKA_GROUP_ID, {settings.KAFKA_GROUP_ID})"
        )
        parser.add_argument("--topic", help=f"topic (default KAFKA_TOPIC, {settings.KAFKA_TOPIC})")
        parser.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for Kafka (10)")

    def handle(self, *args: Any, **options: Any) -> None:
        group = options["group"] or settings.KAFKA_GROUP_ID
        topic = options["topic"] or settings.KAFKA_TOPIC
        try:
            lags = consumer_lag(group_id=group, topic=topic, timeout=options["timeout"])
        except KafkaException as exc:
            raise CommandError(f"Kafka at {settings.KAFKA_BROKERS} did not answer: {exc}") from exc
        self.stdout.write(f"group {group}, topic {topic}")
        rows = [("partition", "committed", "end", "lag")]
        rows += [
            (str(p.partition), "-" if p.committed is None else str(p.committed), str(p.end), str(p.lag))
            for p in lags
        ]
        rows.append(("total", "", "", str(sum(p.lag for p in lags))))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        for row in rows:
            self.stdout.write("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
