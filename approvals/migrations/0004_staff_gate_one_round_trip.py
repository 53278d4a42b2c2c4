"""The approval policy reads the movement's wallets in the same round trip as its locks and sums
(issue #37: a staff fund spent more web CPU than a transfer, a third of it in the policy; the
wallets' ORM read alone cost 0.5 ms of CPU): approvals/sql/staff_gate.sql. It takes over from
approvals_lock_and_sum (approvals/sql/staff_window.sql), which stays for the web workers still
running the code before it while a deployment rolls; a later migration can drop it."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [("approvals", "0003_staff_movement_minutes")]

    operations = [
        migrations.RunSQL(
            sql=(SQL / "staff_gate.sql").read_text(),
            reverse_sql=(SQL / "staff_gate_reverse.sql").read_text(),
        ),
    ]
