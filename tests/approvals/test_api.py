"""Maker-checker over HTTP against the real services (issue #23): above the threshold the money
does not move until a second operator approves; the requester never decides their own; a movement
no longer possible fails with its own error and changes nothing; expiry; at or below the threshold
nothing changed; the Idempotency-Key covers the request and the decision."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import IntegrityError, transaction
from django.utils import timezone

from approvals import tasks
from approvals.api.serializers import ApprovalOutput
from approvals.models import Approval, ApprovalEvent
from approvals.services import approvals_expire_due
from kafka_bridge.models import OutboxEvent
from tests.conftest import make_client
from tests.wallets.conftest import ledger_snapshot
from wallets import reversals, services
from wallets.models import LedgerTransaction, Wallet

from .conftest import post

pytestmark = pytest.mark.django_db


def money_state() -> dict[str, Any]:
    """What a movement changes (the ledger snapshot without the idempotency records), the outbox
    counted as wallet events only: each approval step writes an event of its own (test_events.py)."""
    state = ledger_snapshot()
    del state["idempotency"]
    state["outbox"] = OutboxEvent.objects.filter(aggregatetype="wallet").count()
    return state


def actions(approval_id: Any) -> list[str]:
    return list(
        ApprovalEvent.objects.filter(approval_id=approval_id).order_by("id").values_list("action", flat=True)
    )


# --- the defaults ------------------------------------------------------------------------------------


def test_the_defaults_are_the_issues():
    assert Decimal("1000.0000") == settings.APPROVAL_THRESHOLD_DEFAULT
    assert settings.APPROVAL_THRESHOLDS == {}
    assert settings.APPROVAL_ALL_REVERSALS is True
    assert settings.APPROVAL_EXPIRY_HOURS == 24


def test_the_threshold_setting_is_read_as_decimals_per_currency():
    from walletproject.settings import _approval_thresholds

    assert _approval_thresholds("USD:1000,eur:900.5, 2500") == (
        {"USD": Decimal("1000"), "EUR": Decimal("900.5")},
        Decimal("2500"),
    )
    assert _approval_thresholds("") == ({}, Decimal("1000.0000"))
    for bad in ("USD:1e3", "USD:-1", "XXX:10", "USD:1.00001", "USD:"):
        with pytest.raises(ImproperlyConfigured):
            _approval_thresholds(bad)


# --- over the threshold: nothing moves until another operator approves -------------------------------


def test_a_fund_above_the_threshold_waits_for_a_second_operator(maker, checker, make_wallet):
    wallet = make_wallet("alice", "10")
    before = money_state()
    body = {"amount": "1000.0001", "description": "wire 881", "metadata": {"ticket": "OPS-7"}}
    response = post(maker, f"/wallets/{wallet.id}/fund", body)
    assert response.status_code == 202, response.content
    pending = response.json()["data"]
    assert set(pending) == set(ApprovalOutput().fields)
    assert (pending["kind"], pending["status"], pending["amount"], pending["wallet_id"]) == (
        "fund",
        "pending",
        "1000.0001",
        str(wallet.id),
    )
    assert (pending["description"], pending["metadata"], pending["requested_by"]) == (
        "wire 881",
        {"ticket": "OPS-7"},
        "maker",
    )
    assert pending["transaction_id"] is None
    assert money_state() == before  # no balance, ledger row or wallet event
    stored = Approval.objects.get(id=pending["approval_id"])
    assert stored.expires_at - stored.requested_at == timedelta(hours=24)
    assert actions(stored.id) == ["requested"]

    approved = post(checker, f"/approvals/{stored.id}/approve", {"reason": "wire seen on the statement"})
    assert approved.status_code == 200, approved.content
    data = approved.json()["data"]
    assert (data["status"], data["decided_by"], data["decision_reason"]) == (
        "approved",
        "checker",
        "wire seen on the statement",
    )
    wallet.refresh_from_db()
    assert (wallet.balance, wallet.version) == (Decimal("1010.0001"), 2)
    txn = LedgerTransaction.objects.get(id=data["transaction_id"])
    assert (txn.kind, txn.initiated_by, txn.description, txn.metadata) == (
        "FUND",
        "maker",
        "wire 881",
        {"ticket": "OPS-7"},
    )
    event = OutboxEvent.objects.filter(aggregateid=str(wallet.id)).order_by("-id").first()
    assert (event.type, event.payload["transaction_id"], event.payload["amount"]) == (
        "WALLET_FUNDED",
        str(txn.id),
        "1000.0001",
    )
    assert actions(stored.id) == ["requested", "approved"]
    audit = ApprovalEvent.objects.get(approval=stored, action="approved")
    assert (audit.actor, audit.via, audit.transaction_id) == ("checker", "api", txn.id)
    shown = maker.get(f"/approvals/{stored.id}").json()["data"]
    assert shown == data


def test_a_withdrawal_above_the_threshold_waits_too(maker, checker, make_wallet):
    wallet = make_wallet("alice", "5000")
    response = post(maker, f"/wallets/{wallet.id}/withdraw", {"amount": "4000"})
    assert response.status_code == 202
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("5000")
    approval_id = response.json()["data"]["approval_id"]
    assert post(checker, f"/approvals/{approval_id}/approve").status_code == 200
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("1000")


def test_every_staff_reversal_waits_by_default(maker, checker, alice, make_wallet):
    payer, payee = make_wallet("alice", "100"), make_wallet("bob")
    legs = post(alice, f"/wallets/{payer.id}/transfer", {"to_wallet_id": str(payee.id), "amount": "3"}).json()
    original = legs["data"][0]["reference_id"]
    before = money_state()
    response = post(maker, f"/transactions/{original}/reverse", {"reason": "duplicate order"})
    assert response.status_code == 202, response.content
    pending = response.json()["data"]
    assert (pending["kind"], pending["reverses"], pending["reason"], pending["amount"]) == (
        "reverse",
        original,
        "duplicate order",
        "3.0000",
    )
    assert money_state() == before
    approved = post(checker, f"/approvals/{pending['approval_id']}/approve").json()["data"]
    reversal = maker.get(f"/transactions/{approved['transaction_id']}").json()["data"]
    assert (reversal["kind"], reversal["reverses"], reversal["reason"]) == (
        "REVERSAL",
        original,
        "duplicate order",
    )
    assert LedgerTransaction.objects.get(id=reversal["id"]).initiated_by == "maker"
    payer.refresh_from_db()
    assert payer.balance == Decimal("100")


# --- at or below the threshold: as before ------------------------------------------------------------


def test_at_the_threshold_and_below_funds_and_withdrawals_run_at_once(maker, make_wallet, no_rolling_limits):
    wallet = make_wallet("alice")
    assert post(maker, f"/wallets/{wallet.id}/fund", {"amount": "1000.0000"}).status_code == 200
    assert post(maker, f"/wallets/{wallet.id}/withdraw", {"amount": "1000"}).status_code == 200
    assert post(maker, f"/wallets/{wallet.id}/fund", {"amount": "0.0001"}).status_code == 200
    assert not Approval.objects.exists()


def test_the_threshold_is_per_currency(maker, make_wallet, settings, no_rolling_limits):
    settings.APPROVAL_THRESHOLDS = {"EUR": Decimal("900")}
    settings.APPROVAL_THRESHOLD_DEFAULT = Decimal("5000")
    eur, usd = make_wallet("alice", currency="EUR"), make_wallet("alice", currency="USD")
    assert post(maker, f"/wallets/{eur.id}/fund", {"amount": "900"}).status_code == 200
    assert post(maker, f"/wallets/{eur.id}/fund", {"amount": "900.0001"}).status_code == 202
    assert post(maker, f"/wallets/{usd.id}/fund", {"amount": "4999"}).status_code == 200
    assert post(maker, f"/wallets/{usd.id}/fund", {"amount": "5001"}).status_code == 202


def test_with_all_reversals_off_a_reversal_waits_only_above_the_threshold(maker, make_wallet, settings):
    settings.APPROVAL_ALL_REVERSALS = False
    small, large = make_wallet("alice", "10"), make_wallet("bob", "1500")
    small_txn = small.entries.get().transaction_id
    large_txn = large.entries.get().transaction_id
    assert post(maker, f"/transactions/{small_txn}/reverse", {"reason": "r"}).status_code == 201
    assert post(maker, f"/transactions/{large_txn}/reverse", {"reason": "r"}).status_code == 202


# --- who decides -------------------------------------------------------------------------------------


def test_the_requester_can_neither_approve_nor_reject_their_own(make_wallet, snapshot):
    from tests.conftest import make_approver

    both = make_approver("both")  # holds the permission, and still may not
    wallet = make_wallet("alice")
    approval_id = post(both, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    before = snapshot()
    for verb, body in (("approve", {}), ("reject", {"reason": "never mind"})):
        refused = post(both, f"/approvals/{approval_id}/{verb}", body)
        assert (refused.status_code, refused.json()["code"]) == (403, "own_approval"), verb
    assert snapshot() == before
    assert Approval.objects.get(id=approval_id).status == "pending"


def test_the_database_refuses_a_decision_by_the_requester(maker, make_wallet):
    wallet = make_wallet("alice")
    approval = Approval.objects.get(
        id=post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    )
    with pytest.raises(IntegrityError, match="approval_decider_not_requester"), transaction.atomic():
        Approval.objects.filter(id=approval.id).update(
            status="rejected",
            decided_by=approval.requested_by,
            decided_at=timezone.now(),
            decision_reason="x",
        )
    with pytest.raises(IntegrityError, match="approval_decision_consistent"), transaction.atomic():
        Approval.objects.filter(id=approval.id).update(status="approved")  # no decider, no transaction


def test_only_staff_with_the_permission_decide(maker, make_wallet):
    wallet = make_wallet("alice")
    approval_id = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    plain_operator = make_client("ops2", staff=True)
    end_user = make_client("alice")
    for client in (plain_operator, end_user):
        for verb in ("approve", "reject"):
            refused = post(client, f"/approvals/{approval_id}/{verb}", {"reason": "x"})
            assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert end_user.get("/approvals").status_code == 403
    assert end_user.get(f"/approvals/{approval_id}").status_code == 403
    assert plain_operator.get(f"/approvals/{approval_id}").status_code == 200  # operators see them
    assert Approval.objects.get(id=approval_id).status == "pending"


# --- the movement is checked again when approved -----------------------------------------------------


def test_an_approval_whose_movement_is_no_longer_possible_fails_with_its_error_and_changes_nothing(
    maker, checker, alice, make_wallet
):
    wallet, other = make_wallet("alice", "2000"), make_wallet("bob")
    approval_id = post(maker, f"/wallets/{wallet.id}/withdraw", {"amount": "1500"}).json()["data"][
        "approval_id"
    ]
    # Meanwhile the money moves away.
    assert (
        post(
            alice, f"/wallets/{wallet.id}/transfer", {"to_wallet_id": str(other.id), "amount": "1000"}
        ).status_code
        == 200
    )
    before = money_state()
    refused = post(checker, f"/approvals/{approval_id}/approve")
    assert refused.status_code == 400
    assert refused.json() == {
        "success": False,
        "error": "The wallet does not hold enough money for this operation.",
        "code": "insufficient_funds",
    }
    assert money_state() == before
    approval = Approval.objects.get(id=approval_id)
    assert (approval.status, approval.decided_by, approval.transaction_id) == ("pending", None, None)
    assert approval.last_error_code == "insufficient_funds"
    assert actions(approval_id) == ["requested", "failed"]
    failed = ApprovalEvent.objects.get(approval_id=approval_id, action="failed")
    assert (failed.actor, failed.error_code) == ("checker", "insufficient_funds")

    # Still pending: once the money is back, it can be approved.
    assert post(maker, f"/wallets/{wallet.id}/fund", {"amount": "600"}).status_code == 200
    assert post(checker, f"/approvals/{approval_id}/approve").status_code == 200
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("100")
    assert actions(approval_id) == ["requested", "failed", "approved"]


def test_a_wallet_frozen_meanwhile_refuses_the_approval_with_wallet_frozen(maker, checker, make_wallet):
    from django.contrib.auth import get_user_model

    wallet = make_wallet("alice")
    approval_id = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    services.wallet_freeze(
        wallet_id=wallet.id, reason="investigation", actor=get_user_model().objects.get(username="maker")
    )
    before = money_state()
    refused = post(checker, f"/approvals/{approval_id}/approve")
    assert (refused.status_code, refused.json()["code"]) == (409, "wallet_frozen")
    assert money_state() == before
    assert Approval.objects.get(id=approval_id).status == "pending"


def test_a_transaction_reversed_meanwhile_refuses_the_approval_with_already_reversed(
    maker, checker, make_wallet
):
    wallet = make_wallet("alice", "50")
    txn = wallet.entries.get().transaction_id
    approval_id = post(maker, f"/transactions/{txn}/reverse", {"reason": "r"}).json()["data"]["approval_id"]
    reversals.transaction_reverse(transaction_id=txn, reason="by a script", initiated_by="script")
    before = money_state()
    refused = post(checker, f"/approvals/{approval_id}/approve")
    assert (refused.status_code, refused.json()["code"]) == (409, "already_reversed")
    assert money_state() == before
    # Rejecting what can no longer run closes it.
    assert (
        post(checker, f"/approvals/{approval_id}/reject", {"reason": "reversed already"}).status_code == 200
    )


# --- what the request itself checks ------------------------------------------------------------------


def test_a_request_impossible_already_is_refused_at_once_and_records_nothing(
    maker, alice, make_wallet, snapshot
):
    wallet, frozen = make_wallet("alice", "100"), make_wallet("bob")
    Wallet.objects.filter(id=frozen.id).update(status="frozen")
    legs = post(
        alice, f"/wallets/{wallet.id}/transfer", {"to_wallet_id": str(make_wallet("carl").id), "amount": "1"}
    )
    original = legs.json()["data"][0]["reference_id"]
    assert post(maker, f"/transactions/{original}/reverse", {"reason": "first"}).status_code == 202
    before = snapshot()
    cases = [
        (f"/wallets/{wallet.id}/withdraw", {"amount": "5000"}, 400, "insufficient_funds"),
        (f"/wallets/{frozen.id}/fund", {"amount": "5000"}, 409, "wallet_frozen"),
        ("/wallets/00000000-0000-0000-0000-000000000000/fund", {"amount": "5000"}, 404, "wallet_not_found"),
        (f"/wallets/{wallet.id}/fund", {"amount": "999999999999999.9999"}, 400, "invalid_amount"),
        (f"/transactions/{original}/reverse", {"reason": "again"}, 409, "approval_pending"),
    ]
    for path, body, status, code in cases:
        response = post(maker, path, body)
        assert (response.status_code, response.json()["code"]) == (status, code), path
    assert snapshot() == before
    assert Approval.objects.count() == 1


# --- reject and expire -------------------------------------------------------------------------------


def test_a_rejection_needs_a_reason_and_moves_nothing(maker, checker, make_wallet, snapshot):
    wallet = make_wallet("alice")
    approval_id = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    before = snapshot()
    for body in ({}, {"reason": ""}, {"reason": "   "}, {"reason": "a\u0000b"}, {"reason": None}):
        refused = post(checker, f"/approvals/{approval_id}/reject", body)
        assert (refused.status_code, refused.json()["code"]) == (400, "validation_error"), body
    assert snapshot() == before
    rejected = post(checker, f"/approvals/{approval_id}/reject", {"reason": "no such wire"}).json()["data"]
    assert (rejected["status"], rejected["decided_by"], rejected["decision_reason"]) == (
        "rejected",
        "checker",
        "no such wire",
    )
    again = post(checker, f"/approvals/{approval_id}/approve")
    assert (again.status_code, again.json()["code"]) == (409, "approval_not_pending")
    wallet.refresh_from_db()
    assert wallet.balance == 0
    assert actions(approval_id) == ["requested", "rejected"]


def test_a_pending_approval_expires(maker, checker, make_wallet, settings):
    settings.APPROVAL_EXPIRY_HOURS = 2
    wallet = make_wallet("alice")
    approval_id = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    approval = Approval.objects.get(id=approval_id)
    assert approval.expires_at - approval.requested_at == timedelta(hours=2)
    assert approvals_expire_due() == 0  # not yet

    past = timezone.now() - timedelta(seconds=1)
    Approval.objects.filter(id=approval_id).update(requested_at=past - timedelta(hours=2), expires_at=past)
    late = post(checker, f"/approvals/{approval_id}/approve")
    assert (late.status_code, late.json()["code"]) == (409, "approval_expired")
    assert Approval.objects.get(id=approval_id).status == "pending"  # refused, unchanged: beat marks it

    assert tasks.expire_approvals() == 1  # what beat runs
    approval.refresh_from_db()
    assert (approval.status, approval.decided_by) == ("expired", None)
    assert approval.decided_at is not None
    assert actions(approval_id) == ["requested", "expired"]
    assert ApprovalEvent.objects.get(approval_id=approval_id, action="expired").actor == "beat"
    assert approvals_expire_due() == 0
    after = post(checker, f"/approvals/{approval_id}/approve")
    assert (after.status_code, after.json()["code"]) == (409, "approval_not_pending")
    wallet.refresh_from_db()
    assert wallet.balance == 0
    assert "approvals-expire" in settings.CELERY_BEAT_SCHEDULE


# --- idempotency -------------------------------------------------------------------------------------


def test_the_idempotency_key_covers_the_request_and_the_approval(maker, checker, checker2, make_wallet):
    wallet = make_wallet("alice")
    first = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}, HTTP_IDEMPOTENCY_KEY="wire-1")
    replay = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}, HTTP_IDEMPOTENCY_KEY="wire-1")
    assert (first.status_code, replay.status_code) == (202, 202)
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    assert Approval.objects.count() == 1
    other = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2001"}, HTTP_IDEMPOTENCY_KEY="wire-1")
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")

    approval_id = first.json()["data"]["approval_id"]
    path = f"/approvals/{approval_id}/approve"
    approved = post(checker, path, {"reason": "ok"}, HTTP_IDEMPOTENCY_KEY="ok-1")
    again = post(checker, path, {"reason": "ok"}, HTTP_IDEMPOTENCY_KEY="ok-1")
    assert (approved.status_code, again.status_code) == (200, 200)
    assert again["Idempotent-Replayed"] == "true" and again.content == approved.content
    second_operator = post(checker2, path, {"reason": "ok"}, HTTP_IDEMPOTENCY_KEY="ok-1")
    assert (second_operator.status_code, second_operator.json()["code"]) == (409, "approval_not_pending")
    assert LedgerTransaction.objects.filter(kind="FUND", initiated_by="maker").count() == 1


def test_a_refused_approval_is_not_stored_under_its_key(maker, checker, make_wallet):
    wallet = make_wallet("alice", "1500")
    approval_id = post(maker, f"/wallets/{wallet.id}/withdraw", {"amount": "1200"}).json()["data"][
        "approval_id"
    ]
    services.wallet_withdraw(wallet_id=wallet.id, amount=Decimal("500"), initiated_by="test")
    path = f"/approvals/{approval_id}/approve"
    assert post(checker, path, HTTP_IDEMPOTENCY_KEY="try").status_code == 400
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("500"), initiated_by="test")
    assert post(checker, path, HTTP_IDEMPOTENCY_KEY="try").status_code == 200


# --- reading ------------------------------------------------------------------------------------------


def test_approvals_are_listed_newest_first_and_filtered(maker, checker, make_wallet):
    wallet = make_wallet("alice", "5000")
    ids = [
        post(maker, f"/wallets/{wallet.id}/{verb}", {"amount": "2000"}).json()["data"]["approval_id"]
        for verb in ("fund", "withdraw", "fund")
    ]
    post(checker, f"/approvals/{ids[0]}/reject", {"reason": "no"})
    listed = maker.get("/approvals").json()
    assert [a["approval_id"] for a in listed["data"]] == ids[::-1]
    assert listed["has_more"] is False
    pending = maker.get("/approvals", {"status": "pending"}).json()["data"]
    assert [a["approval_id"] for a in pending] == ids[:0:-1]
    withdrawals = maker.get("/approvals", {"kind": "withdraw"}).json()["data"]
    assert [a["approval_id"] for a in withdrawals] == [ids[1]]
    page = maker.get("/approvals", {"limit": 2}).json()
    rest = maker.get("/approvals", {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert [a["approval_id"] for a in page["data"] + rest["data"]] == ids[::-1]
    for query in ({"status": "done"}, {"kind": "wire"}, {"limit": 0}, {"cursor": "x"}):
        refused = maker.get("/approvals", query)
        assert (refused.status_code, refused.json()["code"]) == (400, "validation_error"), query


@pytest.mark.parametrize("raw", ["not-a-uuid", "00000000-0000-0000-0000-000000000000", "1"])
def test_an_unknown_approval_is_404_in_the_envelope(maker, checker, raw):
    assert maker.get(f"/approvals/{raw}").json()["code"] == "approval_not_found"
    for verb in ("approve", "reject"):
        response = post(checker, f"/approvals/{raw}/{verb}", {"reason": "x"})
        assert (response.status_code, response.json()["code"]) == (404, "approval_not_found")


def test_bad_bodies_are_400_never_500(maker, checker, make_wallet):
    wallet = make_wallet("alice")
    approval_id = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    path = f"/approvals/{approval_id}/approve"
    for raw in (b"[]", b"{", b'{"reason": null}', b'{"reason": "' + b"x" * 501 + b'"}'):
        response = checker.generic("POST", path, raw, content_type="application/json")
        assert (response.status_code, response.json()["code"]) == (400, "validation_error"), raw
    response = checker.generic("POST", path, b"reason=x", content_type="text/plain")
    assert response.status_code == 415
    assert post(checker, path).status_code == 200  # no body: approve without a reason


def test_metrics_show_the_pending_approvals_and_the_oldest_age(maker, checker, make_wallet):
    def scrape() -> dict[str, float]:
        text = maker.get("/metrics").content.decode()
        return {
            line.split()[0]: float(line.split()[1])
            for line in text.splitlines()
            if line.startswith("wallet_approvals_")
        }

    assert scrape() == {"wallet_approvals_pending": 0.0, "wallet_approvals_oldest_pending_age_seconds": 0.0}
    wallet = make_wallet("alice")
    ids = [
        post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
        for _ in range(2)
    ]
    Approval.objects.filter(id=ids[0]).update(requested_at=timezone.now() - timedelta(minutes=10))
    figures = scrape()
    assert figures["wallet_approvals_pending"] == 2
    assert 600 <= figures["wallet_approvals_oldest_pending_age_seconds"] < 700
    post(checker, f"/approvals/{ids[0]}/approve")
    assert scrape()["wallet_approvals_pending"] == 1
