"""The outbox becomes a delete-on-publish queue (issue #21): no published rows, no `published_at`.

From here on the relay deletes a row once Kafka acknowledged it, so every row in the table is
pending and the relay claims rows in primary-key order: the `published_at` column and the partial
index of pending rows go. The rows already published are deleted first (Kafka and the history keep
their events, `RelayStats` already counted them).

Not reversible in data: the reverse adds the column and the index back, with every remaining row
pending (`published_at` NULL), and restores no deleted row (the RunSQL's reverse is a no-op).

Deploying: migrate before the new code runs. A relay of the new code on the old table would send
every retained published row again. A relay of the old code that marks rows while this runs leaves
them behind (they were marked after the DELETE's snapshot); the new relay sends them once more, a
duplicate with the same `event_id`, which the contract allows. Stopping the Celery worker and beat
while migrating avoids both. On a site with a large retained table the DELETE is the long part:
running the old code's `kafka_bridge.prune_outbox` with `retention_hours=0` first deletes those rows
in chunks of 10,000 (each its own statement), leaving little for this migration.
"""

from django.db import migrations

OUTBOX = "kafka_bridge_outboxevent"


class Migration(migrations.Migration):
    dependencies = [
        ("kafka_bridge", "0002_relay_stats"),
    ]

    operations = [
        migrations.RunSQL(
            sql=f"DELETE FROM {OUTBOX} WHERE published_at IS NOT NULL",  # noqa: S608 -- a constant
            reverse_sql=migrations.RunSQL.noop,
        ),
        migrations.RemoveIndex(model_name="outboxevent", name="outbox_pending_idx"),
        migrations.RemoveField(model_name="outboxevent", name="published_at"),
    ]
