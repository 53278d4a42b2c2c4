"""`manage.py kafka_setup`: create the event topic, its DLQ and the approvals' topic (idempotent)."""

from typing import Any

from confluent_kafka import KafkaException
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kafka_bridge.client import ensure_topics, wanted_topics


class Command(BaseCommand):
    help = "Create the wallet event topic, its dead-letter topic and the approvals' topic if missing."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for Kafka")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            created = ensure_topics(timeout=options["timeout"])
        except KafkaException as exc:
            raise CommandError(f"Kafka at {settings.KAFKA_BROKERS} did not answer: {exc}") from exc
        for name in wanted_topics():
            state = "created" if name in created else "exists"
            self.stdout.write(f"{name}: {state} ({settings.KAFKA_PARTITIONS} partitions wanted)")
