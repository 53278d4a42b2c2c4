"""A user wallet's ledger entries by time, for the balance at a moment and statements (issue #33).

Built concurrently, so a ledger of millions of entries keeps taking writes while it builds.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("wallets", "0012_token_use"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="ledgerentry",
            index=models.Index(
                condition=models.Q(("wallet_version__isnull", False)),
                fields=["wallet", "created_at", "wallet_version"],
                name="entry_wallet_created_idx",
            ),
        ),
    ]
