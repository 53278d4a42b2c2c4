"""No index on a column that a composite index already leads with (as 0007 did for ledger entries).

Django indexes every foreign key and `db_index` column by itself; here each is the first column of
an index the queries use (`hold_from_created_idx`, `hold_to_created_idx`, `idempotency_principal_key`,
`wallet_user_created_idx`), so the single-column ones only cost inserts: every hold, every keyed
POST, every new wallet. The admin's wallet search is `icontains`, which no btree serves. Only the
indexes are dropped (the state change alone would also drop and re-add the foreign keys).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

FORWARD = """
DROP INDEX IF EXISTS wallets_hold_from_wallet_id_209e6e58;
DROP INDEX IF EXISTS wallets_hold_to_wallet_id_f44868df;
DROP INDEX IF EXISTS wallets_idempotencyrecord_principal_id_57d0da98;
DROP INDEX IF EXISTS wallets_wallet_user_id_6cb307a0;
DROP INDEX IF EXISTS wallets_wallet_user_id_6cb307a0_like;
"""

BACKWARD = """
CREATE INDEX wallets_hold_from_wallet_id_209e6e58 ON wallets_hold (from_wallet_id);
CREATE INDEX wallets_hold_to_wallet_id_f44868df ON wallets_hold (to_wallet_id);
CREATE INDEX wallets_idempotencyrecord_principal_id_57d0da98 ON wallets_idempotencyrecord (principal_id);
CREATE INDEX wallets_wallet_user_id_6cb307a0 ON wallets_wallet (user_id);
CREATE INDEX wallets_wallet_user_id_6cb307a0_like ON wallets_wallet (user_id varchar_pattern_ops);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0007_ledger_entry_one_index_one_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="hold",
                    name="from_wallet",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="holds_out",
                        to="wallets.wallet",
                    ),
                ),
                migrations.AlterField(
                    model_name="hold",
                    name="to_wallet",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="holds_in",
                        to="wallets.wallet",
                    ),
                ),
                migrations.AlterField(
                    model_name="idempotencyrecord",
                    name="principal",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="wallet",
                    name="user_id",
                    field=models.CharField(max_length=100),
                ),
            ],
        ),
    ]
