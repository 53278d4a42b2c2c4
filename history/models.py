"""The history projection: one row per wallet event consumed from Kafka (the seed's `transaction_events`).

Why a projection and not a view over the ledger: the history is what the event stream said, rebuilt
from Kafka alone (`rebuild_history`), so it proves the stream is complete and lets the history
service run on another database one day. `reconcile` checks it against the ledger.

`event_id` is unique: redelivered events insert nothing; so is `(wallet_id, wallet_version)`, so the
same event under another id (the ids changed with `rebuild_history --from-ledger`) inserts nothing
either. Where each row came from (topic,
partition, offset) and the full event as JSONB are kept for audits and replays. The fields schema
version 2 added (API v1.1: holds, reversals, metadata) are null in rows of version 1 events.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q

from wallets.models import MoneyField

from .event_types import EVENT_TYPES


class HistoryEvent(models.Model):
    EVENT_TYPE_CHOICES = [(t, t) for t in EVENT_TYPES]

    id = models.BigAutoField(primary_key=True)
    event_id = models.UUIDField(unique=True)
    event_type = models.CharField(max_length=30, choices=EVENT_TYPE_CHOICES)
    wallet_id = models.UUIDField()
    user_id = models.CharField(max_length=100)
    currency = models.CharField(max_length=3)
    amount = MoneyField()
    balance_after = MoneyField()
    wallet_version = models.BigIntegerField()
    transaction_id = models.UUIDField(null=True, blank=True)
    counterparty_wallet_id = models.UUIDField(null=True, blank=True)
    counterparty_user_id = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    occurred_at = models.DateTimeField(help_text="when it happened (the API's created_at)")
    recorded_at = models.DateTimeField(help_text="when the history service stored it")
    payload = models.JSONField(help_text="the event exactly as consumed")
    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    schema_version = models.PositiveSmallIntegerField(default=1, help_text="the event's schema_version")
    # Schema version 2 (../shared/spec/holds.md); null in rows of version 1 events.
    held_after = MoneyField(null=True, blank=True)
    hold_id = models.UUIDField(null=True, blank=True)
    reverses_transaction_id = models.UUIDField(null=True, blank=True)
    description = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001
    metadata = models.JSONField(null=True, blank=True)
    # A plain smallint: the decoder admits 0-999. (A column check would make adding the column
    # scan the whole history under an exclusive lock.)
    leg_index = models.SmallIntegerField(
        null=True, blank=True, help_text="the leg of a MULTI_LEG transaction or its reversal, from 0"
    )

    class Meta:
        indexes = [
            # GET /users/{user_id}/activity: newest first across the user's wallets.
            models.Index(fields=["user_id", "-occurred_at", "-event_id"], name="history_user_occurred_idx"),
            models.Index(fields=["transaction_id"], name="history_transaction_idx"),
            # ?hold_id=, and the admin's search by hold or reversed transaction: most events have
            # neither, so only those that do are indexed.
            models.Index(fields=["hold_id"], condition=Q(hold_id__isnull=False), name="history_hold_idx"),
            models.Index(
                fields=["reverses_transaction_id"],
                condition=Q(reverses_transaction_id__isnull=False),
                name="history_reverses_idx",
            ),
        ]
        constraints = [
            # One event per wallet version (the ledger gives each a version of its own: entries,
            # holds and their releases, `entry_wallet_version_unique`): an event stored under
            # another id (published before the ids were derived from the ledger, read again after
            # `rebuild_history --from-ledger`) is skipped, not stored twice. Also the order of
            # GET /wallets/{id}/history, newest first: the wallet version alone.
            models.UniqueConstraint(
                F("wallet_id"), F("wallet_version").desc(), name="history_wallet_version_unique"
            ),
            models.CheckConstraint(condition=Q(amount__gte=0), name="history_amount_non_negative"),
            models.CheckConstraint(condition=Q(wallet_version__gte=0), name="history_version_non_negative"),
            models.CheckConstraint(condition=Q(held_after__gte=0), name="history_held_non_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.wallet_id} v{self.wallet_version}"


class VersionGap(models.Model):
    """Versions of a wallet the consumer had not seen when a later one arrived.

    Open until the missing events arrive (late, e.g. after a redelivery); an open gap means the
    history is missing events, which `/metrics` and the admin show rather than hide.
    """

    wallet_id = models.UUIDField()
    first_missing = models.BigIntegerField()
    last_missing = models.BigIntegerField()
    seen_event_id = models.UUIDField(help_text="the event whose version revealed the gap")
    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    detected_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["wallet_id", "first_missing"], name="history_gap_unique"),
        ]
        indexes = [
            models.Index(
                fields=["wallet_id"], condition=Q(resolved_at__isnull=True), name="history_gap_open_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.wallet_id} missing v{self.first_missing}..v{self.last_missing}"


class DeadLetter(models.Model):
    """A message the consumer could not use and sent to the dead-letter topic, with the reason.

    Recorded in the same transaction as the batch it came in, so a redelivered batch does not send
    it to the DLQ twice, and operators see poison messages in the admin without reading Kafka.
    """

    topic = models.CharField(max_length=255)
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    key = models.TextField(blank=True)
    error = models.TextField()
    dead_lettered_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["topic", "partition", "offset"], name="history_dead_letter_origin"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.topic}[{self.partition}]@{self.offset}: {self.error[:60]}"


class ReconcileRun(models.Model):
    """The result of one `reconcile` run; the newest is the one `/metrics` and the admin show."""

    started_at = models.DateTimeField()
    finished_at = models.DateTimeField()
    full = models.BooleanField(
        default=True, help_text="a full run (everything) rather than a periodic one (what is new)"
    )
    ok = models.BooleanField()
    breaches = models.PositiveIntegerField(help_text="checks that failed")
    checks = models.JSONField(help_text="each check: name, ok, count, examples")
    report = models.TextField()

    class Meta:
        ordering = ["-finished_at", "-id"]
        indexes = [models.Index(fields=["-finished_at"], name="history_reconcile_finished_idx")]

    def __str__(self) -> str:
        return f"{self.finished_at:%Y-%m-%d %H:%M:%S} {'ok' if self.ok else f'{self.breaches} breaches'}"


# -- Where the periodic reconcile goes on from (history/checkpoints.py) -----------------------------


class ReconciledWallet(models.Model):
    """How far one wallet has been verified, so the next periodic run checks only what came after.

    The ledger side: the wallet's version, balance and held as last found in agreement with its
    entries and holds (a wallet whose row still has these values has nothing new to check). The
    history side: the last version up to which its history events were matched against the books
    and replayed, and the replayed balance and held there (-1: none yet, not even WALLET_CREATED).
    A wallet in breach keeps its old checkpoint, so every run names it again until it is mended.
    """

    wallet_id = models.UUIDField(primary_key=True)
    version = models.BigIntegerField(default=0)
    balance = MoneyField(default=0)
    held = MoneyField(default=0)
    history_version = models.BigIntegerField(default=-1)
    history_balance = MoneyField(default=0)
    history_held = MoneyField(default=0)
    verified_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.wallet_id} v{self.version} (history v{self.history_version})"


class ReconciledCurrency(models.Model):
    """The system account's entries of one currency, summed over the ledger transactions the
    periodic reconcile has passed (`ReconcileCheckpoint.transactions_through`): ledger entries are
    append-only, so the next run adds only newer transactions' entries."""

    currency = models.CharField(max_length=3, primary_key=True)
    system_total = MoneyField(default=0)

    class Meta:
        verbose_name_plural = "reconciled currencies"

    def __str__(self) -> str:
        return f"{self.currency} {self.system_total}"


class ReconcileCheckpoint(models.Model):
    """One row: the periodic reconcile's table watermarks.

    `transactions_through`: every ledger transaction created up to then has been checked to
    balance (the watermark trails the run's snapshot by a margin and any transaction still open,
    so none committing late is skipped). `history_through_id`: history rows up to this id have
    been seen, so a run looks for events of otherwise quiet wallets only among newer rows."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    transactions_through = models.DateTimeField(null=True, blank=True)
    history_through_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"transactions through {self.transactions_through}, history through #{self.history_through_id}"
