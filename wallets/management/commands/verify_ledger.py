"""`manage.py verify_ledger [--wallet ID]`: recompute every user wallet's hash chain in Python
(wallets/chain.py, independently of the SQL that wrote the hashes) and name the first broken entry
of each broken wallet; exit 1 if any, else exit 0 with the count.

Constant memory: the entries stream through a server-side cursor in (wallet, version) order, the
index `entry_wallet_version_unique`; one REPEATABLE READ transaction, so entries written while it
runs cannot make a chain look broken. docs/ledger-chain.md."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection, transaction
from tqdm import tqdm

from wallets import chain
from wallets.models import LedgerEntry, Wallet

CHUNK = 5_000


def _wallet(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError as exc:
        raise CommandError(f"verify_ledger: --wallet {raw!r} is not a wallet id") from exc


class Command(BaseCommand):
    help = (
        "Recompute the hash chain of every user wallet's ledger entries (or of one wallet) and name "
        "the first broken entry of each broken wallet. Exits 1 if any chain is broken."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--wallet", type=_wallet, help="verify this wallet only (its id)")

    def handle(self, *args: Any, **options: Any) -> None:
        wallet_id: uuid.UUID | None = options["wallet"]
        breaks: list[chain.Break] = []
        outermost = not connection.in_atomic_block
        with transaction.atomic():
            if outermost:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            entries = LedgerEntry.objects.filter(wallet_version__isnull=False)
            wallets = Wallet.objects.filter(kind=Wallet.Kind.USER)
            if wallet_id is not None:
                if not wallets.filter(id=wallet_id).exists():
                    raise CommandError(f"verify_ledger: no user wallet {wallet_id}")
                entries, wallets = entries.filter(wallet_id=wallet_id), wallets.filter(id=wallet_id)
            total = entries.count()
            with tqdm(total=total, desc="verify_ledger", unit="entry", file=sys.stderr, disable=None) as bar:
                rows = self._rows(entries.order_by("wallet_id", "wallet_version"), bar)
                for found in chain.first_breaks(rows):
                    breaks.append(found)
                    self.stderr.write(found.describe())
            checked = wallets.count()
        if breaks:
            raise CommandError(
                f"verify_ledger: {len(breaks)} of {checked} wallet chain(s) broken", returncode=1
            )
        self.stdout.write(f"OK: {total} entries of {checked} wallet(s), every chain recomputes")

    @staticmethod
    def _rows(entries: Any, bar: Any) -> Iterator[chain.ChainRow]:
        for count, values in enumerate(entries.values_list(*chain.ROW_FIELDS).iterator(CHUNK), 1):
            yield chain.ChainRow(*values)
            if count % CHUNK == 0:
                bar.update(CHUNK)
        bar.update(max(bar.total - bar.n, 0))
