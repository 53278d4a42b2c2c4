"""Integrity the database enforces: see wallets/sql/ledger_integrity.sql."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("wallets", "0001_initial")]

    operations = [
        migrations.RunSQL(
            sql=(SQL / "ledger_integrity.sql").read_text(),
            reverse_sql=(SQL / "ledger_integrity_reverse.sql").read_text(),
        )
    ]
