"""`manage.py rebuild_history`: rebuild the history table from the start of the topic (one transaction).

A progress bar on a terminal (events read of those retained, events/s); Ctrl-C rolls it all back.
"""

from __future__ import annotations

import sys
from typing import Any

from confluent_kafka import KafkaException
from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from history.ledger_rebuild import STEPS, rebuild_from_ledger
from history.rebuild import LogTruncated, RebuildStalled, rebuild_history


class Command(BaseCommand):
    help = (
        "Delete the history and rebuild it from every retained event of the topic, in one transaction "
        "(readers see the old rows until it commits); refused when the topic lost its first events. "
        "The live consumer group is not touched. --from-ledger: build it from the ledger instead."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--from-ledger",
            action="store_true",
            help="build the history from the ledger (whatever Kafka still holds) into a new table "
            "swapped in at the end; the consumer may keep running",
        )
        parser.add_argument("--topic", help="topic to read (default KAFKA_TOPIC)")
        parser.add_argument("--batch-size", type=int, default=2000, help="messages per insert (2000)")
        parser.add_argument(
            "--stall-timeout",
            type=float,
            default=30.0,
            metavar="SECONDS",
            help="give up (and roll back) when Kafka delivers nothing for this long (30)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["from_ledger"]:
            self._from_ledger()
            return
        with tqdm(
            desc="rebuild_history", unit=" events", unit_scale=True, file=sys.stderr, disable=None
        ) as bar:

            def on_progress(read: int, total: int) -> None:
                bar.total = total
                bar.update(read - bar.n)

            try:
                result = rebuild_history(
                    topic=options["topic"],
                    batch_size=options["batch_size"],
                    stall_timeout=options["stall_timeout"],
                    on_progress=on_progress,
                )
            except LogTruncated as exc:
                raise CommandError(f"rebuild_history refused: {exc}") from exc
            except (KafkaException, RebuildStalled) as exc:
                raise CommandError(f"rebuild_history failed and was rolled back: {exc}") from exc
            except KeyboardInterrupt as exc:
                raise CommandError(
                    "rebuild_history interrupted: rolled back, the history is as it was"
                ) from exc
        self.stdout.write(f"rebuild_history: {result.summary()}")

    def _from_ledger(self) -> None:
        with tqdm(
            desc="rebuild_history --from-ledger",
            total=len(STEPS),
            unit=" steps",
            file=sys.stderr,
            disable=None,
        ) as bar:

            def on_step(name: str, rows: int) -> None:
                bar.set_postfix_str(f"{name}: {rows} rows")
                bar.update(1)

            try:
                result = rebuild_from_ledger(on_step=on_step)
            except KeyboardInterrupt as exc:
                raise CommandError(
                    "rebuild_history --from-ledger interrupted: rolled back, the history is as it was"
                ) from exc
        self.stdout.write(f"rebuild_history --from-ledger: {result.summary()}")
