"""`manage.py reconcile`: check that the books agree; a readable report, exit 1 on any breach.

By default the periodic run (what is new since the checkpoint, which it then moves on); `--full`
checks everything ever written, with a progress bar on a terminal. Either is one database
transaction: interrupted (Ctrl-C), it rolls back and leaves the checkpoints as they were, so it is
simply run again.
"""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from tqdm import tqdm

from history.reconcile import ReconcileBusy, reconcile, store

# The checks in their order, and the checkpoint update that closes a run (for the progress bar).
_STEPS = 10


class Command(BaseCommand):
    help = (
        "Check wallet balances against the ledger, that every wallet's ledger hash chain recomputes, "
        "that every ledger transaction balances, that no user "
        "wallet is negative, that per currency the user balances equal what the system account paid out, "
        "that the outbox is draining, and that the history matches the ledger. By default only what is "
        "new since the last checkpoint; --full checks everything. Exits 1 on any breach."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--full", action="store_true", help="check everything ever written, not only what is new"
        )
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
        parser.add_argument(
            "--no-store", action="store_true", help="do not record this run nor move the checkpoints"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        with tqdm(total=_STEPS, desc="reconcile", unit="check", file=sys.stderr, disable=None) as bar:
            started: list[str] = []

            def on_check(title: str) -> None:
                if started:
                    bar.update(1)  # the previous step is done
                started.append(title)
                bar.set_postfix_str(title)

            try:
                result = reconcile(
                    full=options["full"],
                    outbox_max_age=options["outbox_max_age"],
                    history_grace=options["history_grace"],
                    skip_history=options["skip_history"],
                    advance=not options["no_store"],
                    on_check=on_check,
                )
            except ReconcileBusy as exc:
                raise CommandError(f"reconcile: {exc}", returncode=2) from exc
            bar.update(_STEPS - bar.n)
        if not options["no_store"]:
            store(result)
        self.stdout.write(result.report())
        if not result.ok:
            raise CommandError(f"reconcile: {result.breaches} check(s) in breach", returncode=1)
