"""One history event per (wallet, version): a unique index replacing `history_wallet_version_idx`.

Why: events published before their ids were derived from the ledger carry random ids; after
`rebuild_history --from-ledger` a consumer re-reading them would store each a second time, since
only `event_id` was unique. The wallet version identifies an event (the ledger gives each its own),
so it is unique now, and it alone orders a wallet's history (the old index's `event_id` tiebreak
is dead weight: it is replaced, not kept beside).

Built CONCURRENTLY (`atomic = False`), so a large history keeps taking writes meanwhile. A history
already holding two events of one wallet version cannot take the index: the migration stops before
building it, with the way out (`rebuild_history --from-ledger`), and changes nothing. Django has no
concurrent unique operation, so the index is SQL and the model state gets the matching constraint.
"""

from __future__ import annotations

from typing import Any

from django.contrib.postgres.operations import RemoveIndexConcurrently
from django.db import IntegrityError, migrations, models
from django.db.models import F

TABLE = "history_historyevent"
INDEX = "history_wallet_version_unique"
OLD_INDEX = "history_wallet_version_idx"

REFUSAL = (
    "The history holds {count} wallet version(s) stored more than once under different event ids "
    "(for example {examples}): events published before the ids were derived from the ledger, "
    "consumed again after a rebuild. The unique index on (wallet_id, wallet_version) cannot be "
    "built on them. Run `manage.py rebuild_history --from-ledger` first (it builds the history "
    "from the ledger, one event per version), then migrate again. Nothing was changed."
)


class DuplicateWalletVersions(RuntimeError):
    """The history holds a (wallet, version) twice: the unique index cannot be built."""


def _duplicates(cursor: Any) -> tuple[int, list[str]]:
    cursor.execute(
        f"""SELECT wallet_id, wallet_version FROM {TABLE}
             GROUP BY wallet_id, wallet_version HAVING count(*) > 1
             ORDER BY wallet_id, wallet_version"""  # noqa: S608
    )
    found = cursor.fetchall()
    return len(found), [f"wallet {w} version {v}" for w, v in found[:3]]


def _refuse(cursor: Any) -> None:
    count, examples = _duplicates(cursor)
    if count:
        raise DuplicateWalletVersions(REFUSAL.format(count=count, examples="; ".join(examples)))


def build_unique_index(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        _refuse(cursor)
        # A failed concurrent build leaves an invalid index behind: dropped, so a retry starts clean.
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
        try:
            cursor.execute(
                f"CREATE UNIQUE INDEX CONCURRENTLY {INDEX} ON {TABLE} (wallet_id, wallet_version DESC)"
            )
        except IntegrityError:
            # A duplicate written between the check and the build.
            cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")
            _refuse(cursor)
            raise


def drop_unique_index(apps: Any, schema_editor: Any) -> None:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("history", "0004_leg_index"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[migrations.RunPython(build_unique_index, drop_unique_index)],
            state_operations=[
                migrations.AddConstraint(
                    model_name="historyevent",
                    constraint=models.UniqueConstraint(
                        F("wallet_id"), F("wallet_version").desc(), name=INDEX
                    ),
                ),
            ],
        ),
        RemoveIndexConcurrently(model_name="historyevent", name=OLD_INDEX),
    ]
