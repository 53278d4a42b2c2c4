"""Wallets and the double-entry ledger.

Every money movement is one `LedgerTransaction` with entries whose signed amounts sum to zero per
currency. Fund and withdraw move money against a per-currency *system account*: a `Wallet` row of
kind `system` that is never listed as a user wallet. Its balance is not kept as a running column
(that row would be a lock every fund and withdraw in the currency waits on); its balance is the sum
of its entries, and `reconcile` checks that the books balance.

The database enforces what must never be wrong, whatever code writes to it (see
`migrations/0002_ledger_integrity.py`): user balances are never negative, entries are non-zero and
append-only, an entry's currency is its wallet's, and each ledger transaction balances at commit.
Only the ledger's write changes a wallet's balance, held or version, or a hold's state
(`sql/money_state_guard.sql`, migration 0011): an ORM `save()` of an existing wallet is refused
here first, and freezing changes the status alone (`services.wallet_freeze`).

Holds (../shared/spec/holds.md) reserve part of a user wallet's balance: `Wallet.held` is the sum
of its pending holds and PostgreSQL keeps `0 <= held <= balance`, so `available = balance - held`
is never negative. A capture is a ledger transaction linked to its hold (one at most); a reversal
is a ledger transaction linked to the one it reverses (one at most: `reverses` is unique).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from knox.models import AuthToken

from .money import MONEY_DECIMAL_PLACES, MONEY_MAX_DIGITS


class MoneyField(models.DecimalField):  # type: ignore[type-arg]
    """DECIMAL(19,4): the seed's money column."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs.setdefault("max_digits", MONEY_MAX_DIGITS)
        kwargs.setdefault("decimal_places", MONEY_DECIMAL_PLACES)
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]


class Wallet(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        FROZEN = "frozen"

    class Kind(models.TextChoices):
        USER = "user"
        SYSTEM = "system"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.CharField(max_length=100)  # indexed by wallet_user_created_idx (user first)
    currency = models.CharField(max_length=3)
    balance = MoneyField(default=Decimal("0"))
    held = MoneyField(
        default=Decimal("0"), db_default=Decimal("0"), help_text="the sum of the wallet's pending holds"
    )
    version = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.USER)
    # Set by the services (not auto_now), so a wallet's timestamps equal its events' occurred_at.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="system") | Q(balance__gte=0), name="wallet_user_balance_non_negative"
            ),
            models.CheckConstraint(condition=Q(held__gte=0), name="wallet_held_non_negative"),
            # Named after wallet_user_balance_non_negative: PostgreSQL checks in name order, so a
            # negative balance is still reported as that one.
            models.CheckConstraint(
                condition=Q(kind="system", held=0) | Q(kind="user", balance__gte=F("held")),
                name="wallet_user_held_within_balance",
            ),
            models.CheckConstraint(condition=Q(version__gte=0), name="wallet_version_non_negative"),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="wallet_currency_iso"),
            models.CheckConstraint(condition=Q(status__in=["active", "frozen"]), name="wallet_status_valid"),
            models.CheckConstraint(condition=Q(kind__in=["user", "system"]), name="wallet_kind_valid"),
            models.UniqueConstraint(
                fields=["currency"], condition=Q(kind="system"), name="wallet_one_system_account_per_currency"
            ),
            # Target of the entries' composite foreign key (wallet, currency).
            models.UniqueConstraint(fields=["id", "currency"], name="wallet_id_currency_unique"),
        ]
        indexes = [models.Index(fields=["user_id", "-created_at"], name="wallet_user_created_idx")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.currency} {self.id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Insert only: a save writes every column from a read taken without the wallet's lock."""
        if not self._state.adding:
            raise WalletRowReadOnly(f"wallet {self.id}: its row changes only through the ledger's write")
        super().save(*args, **kwargs)

    @property
    def available(self) -> Decimal:
        """What withdrawals, transfers and new holds may take: the balance less the pending holds."""
        return Decimal(self.balance) - Decimal(self.held)


class WalletRowReadOnly(RuntimeError):
    """An ORM save of an existing wallet: balances change through the services, never a save."""


class LedgerTransaction(models.Model):
    """One money movement: its entries balance per currency. Ids are time-ordered (common/ids.py)."""

    class Kind(models.TextChoices):
        FUND = "FUND"
        WITHDRAW = "WITHDRAW"
        TRANSFER = "TRANSFER"
        CAPTURE = "CAPTURE"  # a hold's capture: entries and events as a transfer's
        REVERSAL = "REVERSAL"
        MULTI_LEG = "MULTI_LEG"  # legs between user wallets, all or none (issue #22)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    initiated_by = models.CharField(max_length=150, blank=True)
    description = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 -- null: none given
    metadata = models.JSONField(default=dict, db_default={}, blank=True)
    # A reversal names the transaction it reverses; unique, so a transaction is reversed once at most.
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    reason = models.TextField(blank=True, db_default="", help_text="why a reversal was made")
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="ledger_txn_created_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["FUND", "WITHDRAW", "TRANSFER", "CAPTURE", "REVERSAL", "MULTI_LEG"]),
                name="ledger_txn_kind_valid",
            ),
            models.CheckConstraint(
                condition=Q(kind="REVERSAL", reverses__isnull=False)
                | (~Q(kind="REVERSAL") & Q(reverses__isnull=True)),
                name="ledger_txn_reversal_links_original",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.id}"


class LedgerEntry(models.Model):
    """One leg of a ledger transaction. Amounts are signed: credit > 0, debit < 0.

    For user wallets, `balance_after` and `wallet_version` record the wallet right after this entry
    (the version is the wallet's gap-free event sequence number). System-account entries leave
    both empty: those accounts keep no running balance.
    """

    class Type(models.TextChoices):
        FUND = "FUND"
        WITHDRAW = "WITHDRAW"
        TRANSFER_OUT = "TRANSFER_OUT"
        TRANSFER_IN = "TRANSFER_IN"
        REVERSAL_OUT = "REVERSAL_OUT"
        REVERSAL_IN = "REVERSAL_IN"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Each entry insert maintains every index and checks every foreign key, inside the wallets'
    # locks; so few of each. The transaction is indexed by `entry_transaction_idx`; the wallet by
    # `entry_wallet_version_unique` (wallet first) and, for user wallets only, by time in
    # `entry_wallet_created_idx`; its existence is enforced by the composite
    # `entry_wallet_currency_fk` (migration 0002: the entry's currency is its wallet's).
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="entries", db_index=False
    )
    wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="entries", db_index=False, db_constraint=False
    )
    currency = models.CharField(max_length=3)
    amount = MoneyField()
    type = models.CharField(max_length=20, choices=Type.choices)
    balance_after = MoneyField(null=True, blank=True)
    wallet_version = models.BigIntegerField(null=True, blank=True)
    # The leg of a MULTI_LEG transaction (or of its reversal) this entry belongs to, from 0; empty
    # for every other kind. (transaction, leg) references the leg's row (migration 0009).
    leg = models.SmallIntegerField(null=True, blank=True)  # >= 0: entry_leg_non_negative
    created_at = models.DateTimeField()
    # SHA-256(previous entry's hash || canonical bytes of this entry), set by PostgreSQL on insert
    # for user-wallet entries; empty for system-account entries (wallets/chain.py,
    # docs/ledger-chain.md).
    chain_hash = models.BinaryField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name_plural = "ledger entries"
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="entry_amount_non_zero"),
            models.CheckConstraint(
                condition=Q(balance_after__isnull=True, wallet_version__isnull=True)
                | Q(balance_after__gte=0, wallet_version__gt=0),
                name="entry_running_balance_consistent",
            ),
            models.UniqueConstraint(fields=["wallet", "wallet_version"], name="entry_wallet_version_unique"),
            models.CheckConstraint(condition=Q(leg__gte=0), name="entry_leg_non_negative"),
            # Added NOT VALID, then validated, by migration 0015 after its backfill.
            models.CheckConstraint(
                condition=Q(wallet_version__isnull=True) | Q(chain_hash__isnull=False),
                name="entry_chain_hash_present",
            ),
        ]
        indexes = [
            models.Index(fields=["transaction"], name="entry_transaction_idx"),
            # A user wallet's entries by time: the balance at a moment and a statement's period
            # (issue #33). Partial: system-account entries (half of all rows) are never asked by time.
            models.Index(
                fields=["wallet", "created_at", "wallet_version"],
                name="entry_wallet_created_idx",
                condition=Q(wallet_version__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} {self.wallet_id}"


class TransactionLeg(models.Model):
    """One leg of a MULTI_LEG transaction: `amount` from one user wallet to another, with the leg's
    own description and metadata. Its two entries carry its `index` as their `leg`. A reversal of
    a MULTI_LEG transaction has the same legs, each the other way round. Append-only, as entries."""

    id = models.BigAutoField(primary_key=True)
    transaction = models.ForeignKey(
        LedgerTransaction, on_delete=models.PROTECT, related_name="legs", db_index=False
    )
    index = models.PositiveSmallIntegerField(help_text="the leg's position in the request, from 0")
    from_wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    to_wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    currency = models.CharField(max_length=3)
    amount = MoneyField()
    description = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 -- null: none given
    metadata = models.JSONField(default=dict, db_default={}, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["transaction", "index"], name="leg_transaction_index_unique"),
            models.CheckConstraint(condition=Q(amount__gt=0), name="leg_amount_positive"),
            models.CheckConstraint(condition=~Q(from_wallet=F("to_wallet")), name="leg_two_wallets"),
        ]

    def __str__(self) -> str:
        return f"leg {self.index} of {self.transaction_id}"


class Hold(models.Model):
    """Money of a sending wallet reserved for a receiving wallet, until captured, voided or expired.

    While pending, its amount is part of the sender's `held`. Each change is one version of the
    sender: `created_version` (HOLD_CREATED), and `released_version` (HOLD_RELEASED) when a void,
    the expiry or a partial capture's remainder gives money back; a capture's TRANSFER_OUT is its
    ledger entry's version. `reconcile` reads these to expect one event per hold change.
    """

    class Status(models.TextChoices):
        PENDING = "pending"
        CAPTURED = "captured"
        VOIDED = "voided"
        EXPIRED = "expired"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Indexed by hold_from_created_idx and hold_to_created_idx (the wallet first).
    from_wallet = models.ForeignKey(
        Wallet, on_delete=models.PROTECT, related_name="holds_out", db_index=False
    )
    to_wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="holds_in", db_index=False)
    currency = models.CharField(max_length=3)
    amount = MoneyField()
    captured_amount = MoneyField(default=Decimal("0"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    expires_at = models.DateTimeField()
    # The capture's ledger transaction; one-to-one, so a hold is captured once and a transaction
    # captures one hold at most.
    transaction = models.OneToOneField(
        LedgerTransaction, on_delete=models.PROTECT, null=True, blank=True, related_name="hold"
    )
    description = models.CharField(max_length=255, null=True, blank=True)  # noqa: DJ001 -- null: none given
    metadata = models.JSONField(default=dict, blank=True)
    created_by = models.CharField(max_length=150, help_text="who created it (a username)")
    closed_by = models.CharField(max_length=150, blank=True, help_text="who captured or voided it")
    created_version = models.BigIntegerField(help_text="the sender's version of HOLD_CREATED")
    released_version = models.BigIntegerField(
        null=True, blank=True, help_text="the sender's version of HOLD_RELEASED, if money was released"
    )
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0, captured_amount__lte=F("amount")),
                name="hold_captured_within_amount",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "captured", "voided", "expired"]), name="hold_status_valid"
            ),
            models.CheckConstraint(condition=~Q(from_wallet=F("to_wallet")), name="hold_two_wallets"),
            # Each change of a hold is a version of its sender of its own; migration 0011's commit
            # check finds a wallet's version among them by these keys.
            models.UniqueConstraint(
                fields=["from_wallet", "created_version"], name="hold_created_version_unique"
            ),
            models.UniqueConstraint(
                fields=["from_wallet", "released_version"],
                condition=Q(released_version__isnull=False),
                name="hold_released_version_unique",
            ),
            # Captured exactly when it has a capture transaction and a captured amount.
            models.CheckConstraint(
                condition=Q(status="captured", transaction__isnull=False, captured_amount__gt=0)
                | (~Q(status="captured") & Q(transaction__isnull=True, captured_amount=0)),
                name="hold_capture_consistent",
            ),
        ]
        indexes = [
            models.Index(fields=["from_wallet", "-created_at", "-id"], name="hold_from_created_idx"),
            models.Index(fields=["to_wallet", "-created_at", "-id"], name="hold_to_created_idx"),
            # The expiry task's and the metrics' scan: pending holds only.
            models.Index(
                fields=["expires_at"], condition=Q(status="pending"), name="hold_pending_expiry_idx"
            ),
            # What a wallet holds, summed at commit by wallets_check_wallet_state (migration 0011).
            models.Index(
                fields=["from_wallet"],
                include=["amount"],
                condition=Q(status="pending"),
                name="hold_pending_from_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"hold {self.id} ({self.status})"


class WalletStatusChange(models.Model):
    """Audit trail of freezes and unfreezes: who, when, why."""

    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="status_changes")
    from_status = models.CharField(max_length=10)
    to_status = models.CharField(max_length=10)
    reason = models.TextField()
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    changed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-changed_at"]

    def __str__(self) -> str:
        return f"{self.wallet_id}: {self.from_status} -> {self.to_status}"


class IdempotencyRecord(models.Model):
    """The stored outcome of a POST made with an `Idempotency-Key`, written in the same database
    transaction as the money movement it describes."""

    # Indexed by idempotency_principal_key (the principal first).
    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, db_index=False)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="sha256 of method, path and body")
    status_code = models.PositiveSmallIntegerField()
    response_body = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["principal", "key"], name="idempotency_principal_key")]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created_idx")]

    def __str__(self) -> str:
        return f"{self.principal_id}:{self.key}"


class ApiToken(AuthToken):  # type: ignore[misc]
    """knox's token row as this project shows it: by prefix and owner, never by digest or key."""

    class Meta:
        proxy = True
        verbose_name = "API token"

    def __str__(self) -> str:
        return f"{self.token_key}… of {self.user}"


class TokenEvent(models.Model):
    """Audit trail of API tokens: who issued or revoked whose token, when, and through what.

    Text, not foreign keys: the record outlives the token and its user. `token_prefix` is the first
    characters of the key that knox keeps to find a token (never the key, which is stored nowhere).
    """

    class Action(models.TextChoices):
        ISSUED = "issued"
        REVOKED = "revoked"

    action = models.CharField(max_length=10, choices=Action.choices)
    username = models.CharField(max_length=150, help_text="the token's owner")
    owner_is_staff = models.BooleanField(help_text="the owner was staff (an operator) at the time")
    token_prefix = models.CharField(max_length=25)
    expires_at = models.DateTimeField(null=True, blank=True)
    actor = models.CharField(max_length=150, help_text="who did it: --by, the OS user or the admin user")
    via = models.CharField(max_length=30, help_text="issue_token, revoke_token, admin or migration")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(action__in=["issued", "revoked"]), name="token_event_action_valid"
            )
        ]
        indexes = [models.Index(fields=["username", "-at"], name="token_event_user_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.token_prefix}… of {self.username} by {self.actor}"


class TokenUse(models.Model):
    """When an API token was last used, and from which address. Written at most once a minute per
    token and web process (`wallets/token_use.py`), never on every request, so it lags by up to
    `API_TOKEN_USE_SECONDS`. Goes with its token (cascade)."""

    token = models.OneToOneField(
        AuthToken,
        primary_key=True,
        on_delete=models.CASCADE,
        db_column="token_digest",
        related_name="last_use",
    )
    last_used_at = models.DateTimeField()
    last_used_from = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = "API token use"

    def __str__(self) -> str:
        return f"{self.token_id[:8]}… used {self.last_used_at:%Y-%m-%d %H:%M:%S}"
