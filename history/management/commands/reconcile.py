"""`manage.py reconcile`: check that the books agree; a readable report, exit 1 on any breach."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from history.reconcile import reconcile, store


class Command(BaseCommand):
    help = (
        "Check wallet balances against the ledger, that every ledger transaction balances, that no user "
        "wallet is negative, that per currency the user balances equal what the system account paid out, "
        "that the outbox is draining, and that the history matches the ledger. Exits 1 on any breach."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--outbox-max-age",
            type=float,
            default=300.0,
            metavar="SECONDS",
            help="an outbox event pending longer than this is a breach (300)",
        )
        parser.add_argument(
            "--history-grace",
            type=float,
            default=60.0,
            metavar="SECONDS",
            help="ledger entries younger than this may still be missing from the history (60)",
        )
        parser.add_argument(
            "--skip-history", action="store_true", help="skip the history check (history not drained yet)"
        )
        parser.add_argument("--no-store", action="store_true", help="do not record this run")

    def handle(self, *args: Any, **options: Any) -> None:
        result = reconcile(
            outbox_max_age=options["outbox_max_age"],
            history_grace=options["history_grace"],
            skip_history=options["skip_history"],
        )
        if not options["no_store"]:
            store(result)
        self.stdout.write(result.report())
        if not result.ok:
            raise CommandError(f"reconcile: {result.breaches} check(s) in breach", returncode=1)
