"""The approval policy's rolling limits read per-minute totals instead of every movement in the
window (issue #37: an operator's funds into one wallet queued on the policy's lock while it summed
the whole window, a day of movements, under it). The totals of the movements still in the window
are built from `UnapprovedStaffMovement`; the function that locks and sums in one round trip is
approvals/sql/staff_window.sql."""

from pathlib import Path

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import wallets.models

SQL = Path(__file__).resolve().parent.parent / "sql"


BACKFILL = """
INSERT INTO approvals_staffmovementminute (operator_id, wallet_id, currency, minute, amount)
SELECT CASE WHEN wallet_id IS NULL THEN operator_id END, wallet_id, currency,
       date_trunc('minute', at), sum(amount)
  FROM approvals_unapprovedstaffmovement
 WHERE at >= date_trunc('minute', now() - make_interval(secs => %s))
 GROUP BY 1, 2, 3, 4
"""


def backfill_window(apps, schema_editor):
    """Per-minute totals of what ran without approval in the window (from its first minute on):
    per operator and currency (the rows without a wallet), per wallet (the others)."""
    schema_editor.execute(BACKFILL, [float(settings.APPROVAL_LIMIT_WINDOW_HOURS) * 3600])


class Migration(migrations.Migration):
    dependencies = [
        ("approvals", "0002_staff_movement_policy"),
        ("wallets", "0015_ledger_hash_chain_backfill"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="StaffMovementMinute",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("currency", models.CharField(max_length=3)),
                (
                    "minute",
                    models.DateTimeField(help_text="the start of the minute its movements were made in"),
                ),
                ("amount", wallets.models.MoneyField(decimal_places=4, max_digits=38)),
                (
                    "operator",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "wallet",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="wallets.wallet",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount__gt", 0)), name="staff_minute_amount_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("operator__isnull", True), ("wallet__isnull", True), _connector="XOR"
                        ),
                        name="staff_minute_operator_or_wallet",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("wallet__isnull", True)),
                        fields=("operator", "currency", "minute"),
                        name="staff_minute_operator_unique",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("wallet__isnull", False)),
                        fields=("wallet", "minute"),
                        name="staff_minute_wallet_unique",
                    ),
                ],
            },
        ),
        migrations.RunPython(backfill_window, migrations.RunPython.noop),
        migrations.RunSQL(
            sql=(SQL / "staff_window.sql").read_text(),
            reverse_sql=(SQL / "staff_window_reverse.sql").read_text(),
        ),
    ]
