"""Wake the relay when an outbox row commits, instead of its polling (issue #37): a statement-level
trigger on the outbox that NOTIFYs only while the relay sleeps (kafka_bridge/sql/outbox_wake.sql,
kafka_bridge/wake.py). Nothing else changes: a relay of the previous code ignores the notifications,
and this code without the trigger falls back to its timeout's poll."""

from pathlib import Path

from django.db import migrations

SQL = Path(__file__).resolve().parent.parent / "sql"


class Migration(migrations.Migration):
    dependencies = [
        ("kafka_bridge", "0003_outbox_delete_on_publish"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(SQL / "outbox_wake.sql").read_text(),
            reverse_sql=(SQL / "outbox_wake_reverse.sql").read_text(),
        ),
    ]
