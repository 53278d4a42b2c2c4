"""Multi-leg transactions (issue #22): the MULTI_LEG kind, legs, and each entry's leg.

Checked by PostgreSQL, as the rest of the ledger (0002): an entry's (transaction, leg) is a leg of
its own transaction; a leg's currency is both of its wallets'; legs are append-only.

The ledger may hold tens of millions of rows, so nothing here scans it under an exclusive lock:
the entry's new column is nullable, with no default and no inline check (adding it changes only
the catalog); each constraint on an existing table is added NOT VALID and validated by a statement
of its own (a scan under a lock that lets writes go on). The widened kind check takes the old one's
name once it is valid.
"""

import django.db.models.deletion
from django.db import migrations, models

import wallets.models

KIND_FORWARD = """
ALTER TABLE wallets_ledgertransaction ADD CONSTRAINT ledger_txn_kind_valid_v2
    CHECK (kind IN ('FUND', 'WITHDRAW', 'TRANSFER', 'CAPTURE', 'REVERSAL', 'MULTI_LEG')) NOT VALID;
ALTER TABLE wallets_ledgertransaction VALIDATE CONSTRAINT ledger_txn_kind_valid_v2;
ALTER TABLE wallets_ledgertransaction DROP CONSTRAINT ledger_txn_kind_valid;
ALTER TABLE wallets_ledgertransaction RENAME CONSTRAINT ledger_txn_kind_valid_v2 TO ledger_txn_kind_valid;
"""

KIND_BACKWARD = """
ALTER TABLE wallets_ledgertransaction DROP CONSTRAINT ledger_txn_kind_valid;
ALTER TABLE wallets_ledgertransaction ADD CONSTRAINT ledger_txn_kind_valid
    CHECK (kind IN ('FUND', 'WITHDRAW', 'TRANSFER', 'CAPTURE', 'REVERSAL'));
"""

LEG_CHECK_FORWARD = """
ALTER TABLE wallets_ledgerentry ADD CONSTRAINT entry_leg_non_negative CHECK (leg >= 0) NOT VALID;
ALTER TABLE wallets_ledgerentry VALIDATE CONSTRAINT entry_leg_non_negative;
"""

LEG_CHECK_BACKWARD = "ALTER TABLE wallets_ledgerentry DROP CONSTRAINT entry_leg_non_negative;"

INTEGRITY_FORWARD = """
ALTER TABLE wallets_ledgerentry
    ADD CONSTRAINT entry_leg_fk FOREIGN KEY (transaction_id, leg)
    REFERENCES wallets_transactionleg (transaction_id, index) NOT VALID;
ALTER TABLE wallets_ledgerentry VALIDATE CONSTRAINT entry_leg_fk;
ALTER TABLE wallets_transactionleg
    ADD CONSTRAINT leg_from_wallet_currency_fk FOREIGN KEY (from_wallet_id, currency)
    REFERENCES wallets_wallet (id, currency);
ALTER TABLE wallets_transactionleg
    ADD CONSTRAINT leg_to_wallet_currency_fk FOREIGN KEY (to_wallet_id, currency)
    REFERENCES wallets_wallet (id, currency);
CREATE TRIGGER transactionleg_append_only
    BEFORE UPDATE OR DELETE ON wallets_transactionleg
    FOR EACH ROW EXECUTE FUNCTION wallets_forbid_ledger_change();
"""

INTEGRITY_BACKWARD = """
DROP TRIGGER transactionleg_append_only ON wallets_transactionleg;
ALTER TABLE wallets_transactionleg DROP CONSTRAINT leg_to_wallet_currency_fk;
ALTER TABLE wallets_transactionleg DROP CONSTRAINT leg_from_wallet_currency_fk;
ALTER TABLE wallets_ledgerentry DROP CONSTRAINT entry_leg_fk;
"""


def _statements(sql: str) -> list[str]:
    """One statement per item: run apart (autocommit), the VALIDATE holds no lock the ADD took."""
    return [statement.strip() for statement in sql.split(";") if statement.strip()]


class Migration(migrations.Migration):
    atomic = False  # the kind check's VALIDATE runs apart from its ADD (see above)

    dependencies = [
        ("wallets", "0008_no_index_a_composite_one_leads"),
    ]

    operations = [
        migrations.CreateModel(
            name="TransactionLeg",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "index",
                    models.PositiveSmallIntegerField(help_text="the leg's position in the request, from 0"),
                ),
                ("currency", models.CharField(max_length=3)),
                ("amount", wallets.models.MoneyField(decimal_places=4, max_digits=19)),
                ("description", models.CharField(blank=True, max_length=255, null=True)),
                ("metadata", models.JSONField(blank=True, db_default={}, default=dict)),
            ],
        ),
        migrations.AddField(
            model_name="ledgerentry",
            name="leg",
            field=models.SmallIntegerField(blank=True, null=True),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(_statements(LEG_CHECK_FORWARD), _statements(LEG_CHECK_BACKWARD))
            ],
            state_operations=[
                migrations.AddConstraint(
                    model_name="ledgerentry",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("leg__gte", 0)), name="entry_leg_non_negative"
                    ),
                ),
            ],
        ),
        migrations.AlterField(
            model_name="ledgertransaction",
            name="kind",
            field=models.CharField(
                choices=[
                    ("FUND", "Fund"),
                    ("WITHDRAW", "Withdraw"),
                    ("TRANSFER", "Transfer"),
                    ("CAPTURE", "Capture"),
                    ("REVERSAL", "Reversal"),
                    ("MULTI_LEG", "Multi Leg"),
                ],
                max_length=10,
            ),
        ),
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunSQL(_statements(KIND_FORWARD), _statements(KIND_BACKWARD))],
            state_operations=[
                migrations.RemoveConstraint(model_name="ledgertransaction", name="ledger_txn_kind_valid"),
                migrations.AddConstraint(
                    model_name="ledgertransaction",
                    constraint=models.CheckConstraint(
                        condition=models.Q(
                            ("kind__in", ["FUND", "WITHDRAW", "TRANSFER", "CAPTURE", "REVERSAL", "MULTI_LEG"])
                        ),
                        name="ledger_txn_kind_valid",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="transactionleg",
            name="from_wallet",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="wallets.wallet",
            ),
        ),
        migrations.AddField(
            model_name="transactionleg",
            name="to_wallet",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="wallets.wallet",
            ),
        ),
        migrations.AddField(
            model_name="transactionleg",
            name="transaction",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="legs",
                to="wallets.ledgertransaction",
            ),
        ),
        migrations.AddConstraint(
            model_name="transactionleg",
            constraint=models.UniqueConstraint(
                fields=("transaction", "index"), name="leg_transaction_index_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="transactionleg",
            constraint=models.CheckConstraint(
                condition=models.Q(("amount__gt", 0)), name="leg_amount_positive"
            ),
        ),
        migrations.AddConstraint(
            model_name="transactionleg",
            constraint=models.CheckConstraint(
                condition=models.Q(("from_wallet", models.F("to_wallet")), _negated=True),
                name="leg_two_wallets",
            ),
        ),
        migrations.RunSQL(_statements(INTEGRITY_FORWARD), _statements(INTEGRITY_BACKWARD)),
    ]
