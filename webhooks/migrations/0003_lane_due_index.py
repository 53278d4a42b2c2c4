"""The claim's index: per endpoint, its pending deliveries by due time (dispatch.claim reads each
active endpoint's due rows through it, so a claim costs what it takes, not the whole backlog). It
replaces the index of every endpoint's pending rows by due time, which nothing reads any more (and
which the planner took for the claim, scanning every endpoint's backlog, when the statistics said
no delivery was pending).

Built and dropped concurrently, so a table of many deliveries keeps taking writes meanwhile.
"""

from django.contrib.postgres.operations import AddIndexConcurrently, RemoveIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("webhooks", "0002_failed_index"),
    ]

    operations = [
        AddIndexConcurrently(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["endpoint", "next_attempt_at", "wallet_version"],
                name="webhook_delivery_lane_due_idx",
            ),
        ),
        RemoveIndexConcurrently(model_name="delivery", name="webhook_delivery_due_idx"),
    ]
