"""The per-wallet hash chain of ledger entries (docs/ledger-chain.md, sql/ledger_chain.sql): the
column, nullable until the backfill (0015) has given every user-wallet entry its hash; the insert
trigger that computes each new entry's hash; the append-only guard that lets the backfill set a
missing hash and nothing else; and the backfill's function.

From this migration on, every process (old code or new) writes hashed entries: PostgreSQL computes
them, so the order of deploy does not matter for the chain."""

from pathlib import Path

from django.db import migrations, models

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("wallets", "0013_entry_wallet_created_idx")]

    operations = [
        migrations.AddField(
            model_name="ledgerentry",
            name="chain_hash",
            field=models.BinaryField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(
            sql=(SQL / "ledger_chain.sql").read_text(),
            reverse_sql=(SQL / "ledger_chain_reverse.sql").read_text(),
        ),
    ]
