"""Only the ledger writes a balance: see wallets/sql/money_state_guard.sql. The hold keys and the
pending holds' index are what its commit check reads."""

from pathlib import Path

from django.db import migrations, models

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("wallets", "0010_new_balances_function")]

    operations = [
        migrations.AddIndex(
            model_name="hold",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["from_wallet"],
                include=("amount",),
                name="hold_pending_from_idx",
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.UniqueConstraint(
                fields=("from_wallet", "created_version"), name="hold_created_version_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="hold",
            constraint=models.UniqueConstraint(
                condition=models.Q(("released_version__isnull", False)),
                fields=("from_wallet", "released_version"),
                name="hold_released_version_unique",
            ),
        ),
        migrations.RunSQL(
            sql=(SQL / "money_state_guard.sql").read_text(),
            reverse_sql=(SQL / "money_state_guard_reverse.sql").read_text(),
        ),
    ]
