"""`manage.py kafka_setup`: create the event topic, its DLQ and the approvals' topic, all kept forever
(`kafka_bridge.retention`), and mend the retention of those that exist (idempotent)."""

from typing import Any

from confluent_kafka import KafkaException
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kafka_bridge.retention import KEEP_FOREVER, ensure_topics_kept


class Command(BaseCommand):
    help = (
        "Create the wallet event topic, its dead-letter topic and the approvals' topic if missing, with "
        "infinite retention, and set infinite retention on existing ones that have another."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for Kafka")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            outcome = ensure_topics_kept(timeout=options["timeout"])
        except KafkaException as exc:
            raise CommandError(f"Kafka at {settings.KAFKA_BROKERS} did not answer: {exc}") from exc
        kept = ", ".join(f"{key}={value}" for key, value in KEEP_FOREVER.items())
        for name, state in outcome.items():
            note = {"fixed": f"retention set to {kept}", "created": kept, "exists": "kept forever"}[state]
            self.stdout.write(f"{name}: {state} ({settings.KAFKA_PARTITIONS} partitions wanted; {note})")
