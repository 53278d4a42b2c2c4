"""`manage.py seed_demo` (issue #35): a living system in one command, its tokens working, and a
second run adding no money."""

from __future__ import annotations

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Sum

from approvals.models import Approval
from tests.conftest import make_client
from wallets.models import Hold, LedgerEntry, LedgerTransaction, Wallet

pytestmark = pytest.mark.django_db


def seed_demo(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_seed_demo_makes_a_living_system_once_and_prints_tokens_that_work():
    first = seed_demo("--password", "demo-password-1")
    assert first.startswith("demo data created")
    demo = Wallet.objects.filter(user_id__startswith="demo-", kind="user")
    assert sorted(demo.values_list("currency", flat=True)) == ["EUR", "USD", "USD", "USD"]
    balances = {(w.user_id, w.currency): (w.balance, w.held) for w in demo}
    # alice: 500 - 42.50 + 10 - 100 (the split) = 367.50, 60 held for the shop
    assert balances[("demo-alice", "USD")] == (Decimal("367.5000"), Decimal("60.0000"))
    # bob: 120 + 42.50 - 10 + 5 (the courier leg) = 157.50
    assert balances[("demo-bob", "USD")] == (Decimal("157.5000"), Decimal("0.0000"))
    assert balances[("demo-shop", "USD")] == (Decimal("95.0000"), Decimal("0.0000"))
    assert LedgerTransaction.objects.filter(kind="MULTI_LEG").count() == 1
    assert Hold.objects.filter(status="pending").count() == 1
    pending = Approval.objects.get(status="pending")
    assert (pending.requested_by.username, pending.kind) == ("demo-ops", "fund")
    # The books balance: every transaction's entries sum to zero.
    assert LedgerEntry.objects.aggregate(total=Sum("amount"))["total"] == 0

    token = re.search(r"^export ALICE=(\S+)", first, re.M)
    assert token
    client = make_client(None)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.group(1)}")
    listed = client.get("/users/demo-alice/wallets").json()["data"]
    assert {w["currency"] for w in listed} == {"USD", "EUR"}

    checker = re.search(r"^export CHECKER=(\S+)", first, re.M)
    assert checker
    client.credentials(HTTP_AUTHORIZATION=f"Token {checker.group(1)}")
    decided = client.post(f"/approvals/{pending.id}/approve", {"reason": "seen the wire"}, format="json")
    assert decided.status_code == 200, decided.json()

    entries = LedgerEntry.objects.count()
    second = seed_demo()
    assert second.startswith("demo data already there")
    assert LedgerEntry.objects.count() == entries
    assert re.search(r"^export OPS=\S+", second, re.M)
