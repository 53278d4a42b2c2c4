"""Ledger entries keep one index and one foreign key per column, not two.

Django's own index on `transaction_id` duplicated `entry_transaction_idx`; its index on `wallet_id`
is the leading column of `entry_wallet_version_unique`; its deferred foreign key on `wallet_id` is
implied by the composite `entry_wallet_currency_fk` (0002; both columns are NOT NULL, so it is
always checked). Each of them cost every entry insert an index insertion or a check at COMMIT,
while the wallets are locked. Only those three objects are dropped (the state change alone would
make Django drop and re-validate the transaction's foreign key too).
"""

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
DROP INDEX IF EXISTS wallets_ledgerentry_transaction_id_02ffb4c6;
DROP INDEX IF EXISTS wallets_ledgerentry_wallet_id_686913ed;
ALTER TABLE wallets_ledgerentry DROP CONSTRAINT IF EXISTS wallets_ledgerentry_wallet_id_686913ed_fk_wallets_wallet_id;
"""

BACKWARD = """
CREATE INDEX wallets_ledgerentry_transaction_id_02ffb4c6 ON wallets_ledgerentry (transaction_id);
CREATE INDEX wallets_ledgerentry_wallet_id_686913ed ON wallets_ledgerentry (wallet_id);
ALTER TABLE wallets_ledgerentry ADD CONSTRAINT wallets_ledgerentry_wallet_id_686913ed_fk_wallets_wallet_id
    FOREIGN KEY (wallet_id) REFERENCES wallets_wallet (id) DEFERRABLE INITIALLY DEFERRED;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("wallets", "0006_holds_reversals_metadata"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(FORWARD, BACKWARD)],
            state_operations=[
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="transaction",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="wallets.ledgertransaction",
                    ),
                ),
                migrations.AlterField(
                    model_name="ledgerentry",
                    name="wallet",
                    field=models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="entries",
                        to="wallets.wallet",
                    ),
                ),
            ],
        ),
    ]
