"""The claim's index: per endpoint, its pending deliveries by due time (dispatch.claim reads each
active endpoint's due rows through it, so a claim costs what it takes, not the whole backlog).

Built concurrently, so a table of many deliveries keeps taking writes while it builds.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
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
    ]
