"""Every user-wallet entry written before the chain gets its hash, then the hash is required.

Safe on a live database: each call of `wallets_chain_backfill` (sql/ledger_chain.sql) is its own
short transaction over at most BATCH entries, holding the locks of those entries' wallets only
while it hashes them (1.6 s at most, 10,600 entries/s, on the shared server of a 200 k-entry
seeded database: docs/ledger-chain.md), so writers wait at most that long and the ledger is never
locked as a whole. Entries written meanwhile are hashed by the insert trigger of 0014. Then the check
`entry_chain_hash_present` is added NOT VALID (a moment's lock) and validated (a scan that lets
writes through). Speed: docs/ledger-chain.md."""

import time
import uuid

from django.db import migrations, models, transaction
from django.db.models import Q

BATCH = 10_000
START = uuid.UUID(int=0)


def backfill(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    position: tuple[uuid.UUID, int] = (START, 0)
    scanned = hashed = 0
    began = time.monotonic()
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute("SELECT * FROM wallets_chain_backfill(%s, %s, %s)", [*position, BATCH])
            row = cursor.fetchone()
        if row is None:
            break
        position = (row[0], row[1])
        scanned += row[2]
        hashed += row[3]
    if hashed:
        seconds = time.monotonic() - began
        print(f"\n  chain backfill: {hashed} entries hashed of {scanned} in {seconds:.1f} s")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("wallets", "0014_ledger_hash_chain")]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name="ledgerentry",
                    constraint=models.CheckConstraint(
                        condition=Q(wallet_version__isnull=True) | Q(chain_hash__isnull=False),
                        name="entry_chain_hash_present",
                    ),
                )
            ],
            database_operations=[
                migrations.RunSQL(
                    sql="""ALTER TABLE wallets_ledgerentry ADD CONSTRAINT entry_chain_hash_present
                           CHECK (wallet_version IS NULL OR chain_hash IS NOT NULL) NOT VALID""",
                    reverse_sql="ALTER TABLE wallets_ledgerentry DROP CONSTRAINT entry_chain_hash_present",
                ),
                migrations.RunSQL(
                    sql="ALTER TABLE wallets_ledgerentry VALIDATE CONSTRAINT entry_chain_hash_present",
                    reverse_sql=migrations.RunSQL.noop,
                ),
            ],
        ),
    ]
