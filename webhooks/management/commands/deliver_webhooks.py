"""`manage.py deliver_webhooks`: the webhooks' consumer and dispatcher (webhooks.consumer)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from webhooks.consumer import Options, WebhookService


class Command(BaseCommand):
    help = (
        "Queue a webhook delivery per wallet event and endpoint (Kafka group wallet-webhooks), and send them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--group", help=f"consumer group (default WEBHOOK_GROUP_ID, {settings.WEBHOOK_GROUP_ID})"
        )
        parser.add_argument("--topic", help=f"topic (default KAFKA_TOPIC, {settings.KAFKA_TOPIC})")
        parser.add_argument(
            "--concurrency", type=int, help="senders shared by every endpoint (WEBHOOK_CONCURRENCY)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not settings.WEBHOOKS_ENABLED:
            self.stdout.write("deliver_webhooks: WEBHOOKS_ENABLED is off; nothing to do")
            return
        service = WebhookService(
            Options(
                topic=options["topic"] or settings.KAFKA_TOPIC,
                group_id=options["group"] or settings.WEBHOOK_GROUP_ID,
                concurrency=options["concurrency"] or int(settings.WEBHOOK_CONCURRENCY),
            )
        )
        stats = service.run()
        self.stdout.write(f"deliver_webhooks: {stats.summary()}")
