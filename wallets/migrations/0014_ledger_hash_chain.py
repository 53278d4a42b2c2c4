"""The per-wallet hash chain of ledger entries (docs/ledger-chain.md): the column, nullable until
the backfill (0015) has given every user-wallet entry its hash."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("wallets", "0013_entry_wallet_created_idx")]

    operations = [
        migrations.AddField(
            model_name="ledgerentry",
            name="chain_hash",
            field=models.BinaryField(blank=True, editable=False, null=True),
        ),
    ]
