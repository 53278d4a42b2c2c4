"""Fixtures for the wallet tests: principals with tokens, API clients, wallets, and a ledger snapshot."""

from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from kafka_bridge.models import OutboxEvent
from tests.conftest import make_client
from wallets import services
from wallets.models import Hold, IdempotencyRecord, LedgerEntry, LedgerTransaction, Wallet


@pytest.fixture
def operator(db: Any) -> APIClient:
    """A staff principal: may act on any wallet, and fund and withdraw."""
    return make_client("ops", staff=True)


@pytest.fixture
def alice(db: Any) -> APIClient:
    """An end user whose username is `alice`."""
    return make_client("alice")


@pytest.fixture
def bob(db: Any) -> APIClient:
    return make_client("bob")


@pytest.fixture
def operator_browser(client: Any) -> Any:
    """Django's test client, logged in to the admin as an operator (`issue_token --operator`)."""
    call_command("issue_token", "opsadmin", "--operator", stdout=open(os.devnull, "w"))  # noqa: SIM115
    client.force_login(get_user_model().objects.get(username="opsadmin"))
    return client


@pytest.fixture
def anonymous(db: Any) -> APIClient:
    return make_client(None)


@pytest.fixture
def make_wallet(db: Any) -> Callable[..., Wallet]:
    """make_wallet("alice", balance="100.00", currency="USD"): funded through the real service."""

    def make(user_id: str, balance: str | Decimal = "0", currency: str | None = None) -> Wallet:
        wallet = services.wallet_create(user_id=user_id, currency=currency)
        if Decimal(balance) > 0:
            services.wallet_fund(wallet_id=wallet.id, amount=Decimal(balance), initiated_by="test")
        wallet.refresh_from_db()
        return wallet

    return make


def ledger_snapshot() -> dict[str, Any]:
    """Everything a money movement could change; equal before and after a refused request."""
    return {
        "balances": dict(Wallet.objects.values_list("id", "balance")),
        "held": dict(Wallet.objects.values_list("id", "held")),
        "holds": dict(Hold.objects.values_list("id", "status")),
        "versions": dict(Wallet.objects.values_list("id", "version")),
        "statuses": dict(Wallet.objects.values_list("id", "status")),
        "wallets": Wallet.objects.count(),
        "transactions": LedgerTransaction.objects.count(),
        "entries": LedgerEntry.objects.count(),
        "outbox": OutboxEvent.objects.count(),
        "idempotency": IdempotencyRecord.objects.count(),
    }


@pytest.fixture
def snapshot() -> Callable[[], dict[str, Any]]:
    return ledger_snapshot
