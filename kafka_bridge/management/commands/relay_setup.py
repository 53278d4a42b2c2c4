"""`manage.py relay_setup`: make the database and Kafka Connect match RELAY (idempotent).

RELAY=debezium: the outbox's publication, the replication slot, the Celery relay's last rows, the
connector (kafka_bridge/debezium.py says why in that order); `scripts/stack up` runs it. RELAY=celery:
the connector deleted and the slot dropped, if they exist (a slot nobody reads keeps the WAL)."""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kafka_bridge import debezium


class Command(BaseCommand):
    help = "Set up (RELAY=debezium) or remove (RELAY=celery) the Debezium relay's slot and connector."

    def handle(self, *args: Any, **options: Any) -> None:
        def log(line: str) -> None:
            self.stdout.write(f"relay_setup: {line}")

        try:
            if settings.RELAY == "debezium":
                debezium.setup(log=log)
            else:
                debezium.teardown(log=log)
        except (debezium.ConnectError, RuntimeError) as exc:
            raise CommandError(str(exc)) from exc
        log(f"relay is {settings.RELAY}")
