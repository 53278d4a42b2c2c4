"""Wallets and the double-entry ledger.

Every money movement is one `LedgerTransaction` with entries whose signed amounts sum to zero per
currency. Fund and withdraw move money against a per-currency *system account*: a `Wallet` row of
kind `system` that is never listed as a user wallet. Its balance is not kept as a running column
(that row would be a lock every fund and withdraw in the currency waits on); its balance is the sum
of its entries, and `reconcile` checks that the books balance.

The database enforces what must never be wrong, whatever code writes to it (see
`migrations/0002_ledger_integrity.py`): user balances are never negative, entries are non-zero and
append-only, an entry's currency is its wallet's, and each ledger transaction balances at commit.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
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
    user_id = models.CharField(max_length=100, db_index=True)
    currency = models.CharField(max_length=3)
    balance = MoneyField(default=Decimal("0"))
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


class LedgerTransaction(models.Model):
    """One money movement: its entries balance per currency."""

    class Kind(models.TextChoices):
        FUND = "FUND"
        WITHDRAW = "WITHDRAW"
        TRANSFER = "TRANSFER"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    initiated_by = models.CharField(max_length=150, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["-created_at"], name="ledger_txn_created_idx")]

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

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    transaction = models.ForeignKey(LedgerTransaction, on_delete=models.PROTECT, related_name="entries")
    wallet = models.ForeignKey(Wallet, on_delete=models.PROTECT, related_name="entries")
    currency = models.CharField(max_length=3)
    amount = MoneyField()
    type = models.CharField(max_length=20, choices=Type.choices)
    balance_after = MoneyField(null=True, blank=True)
    wallet_version = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField()

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
        ]
        indexes = [models.Index(fields=["transaction"], name="entry_transaction_idx")]

    def __str__(self) -> str:
        return f"{self.type} {self.amount} {self.wallet_id}"


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

    principal = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
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
