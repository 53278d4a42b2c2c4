"""A permission refusal (403) names the rule that refused it, in the error envelope, with a stable
code: `permission_denied` (or the contract's own, e.g. `own_approval`)."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from rest_framework import exceptions
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from common.errors import PERMISSION_DENIED, StaffOnly, api_exception_handler
from tests.approvals.conftest import post
from tests.conftest import make_approver, make_client
from wallets import services
from wallets.models import Wallet
from wallets.permissions import (
    IsStaff,
    NotYourUserId,
    PayerMayNotSettle,
    require_may_act_for,
    require_staff,
)


def _answer(exc: Exception) -> tuple[int, dict[str, Any]]:
    response = api_exception_handler(exc, {})
    return response.status_code, dict(response.data)


def _user(username: str, *, staff: bool = False) -> Any:
    return get_user_model()(username=username, is_staff=staff)


@pytest.mark.parametrize(
    ("refusal", "says"),
    [
        (StaffOnly(), "Only an operator (a staff user) may do this"),
        (NotYourUserId(_user("alice"), "bob"), "you are 'alice', the request names 'bob'"),
        (PayerMayNotSettle(), "Only the receiving wallet's owner or an operator may capture or void a hold"),
        (exceptions.PermissionDenied("Rule X refuses this."), "Rule X refuses this."),
        (DjangoPermissionDenied("Rule Y refuses this."), "Rule Y refuses this."),
        (exceptions.PermissionDenied(), PERMISSION_DENIED),
        (DjangoPermissionDenied(), PERMISSION_DENIED),
    ],
)
def test_each_refusal_is_403_permission_denied_with_its_rule(refusal, says):
    status, body = _answer(refusal)
    assert status == 403
    assert body["success"] is False
    assert body["code"] == "permission_denied"
    assert says in body["error"]


def test_an_end_user_acts_only_for_their_own_user_id():
    require_may_act_for(_user("alice"), "alice")
    require_may_act_for(_user("ops", staff=True), "bob")
    with pytest.raises(NotYourUserId) as refused:
        require_may_act_for(_user("alice"), "bob")
    assert "Only an operator (staff) may act for another user." in refused.value.message


def test_staff_only():
    require_staff(_user("ops", staff=True))
    for principal in (_user("alice"), AnonymousUser()):
        with pytest.raises(StaffOnly):
            require_staff(principal)


class _StaffView(APIView):
    permission_classes = [IsStaff]

    def get(self, request: Request) -> Response:
        return Response({"success": True})


@pytest.mark.django_db
def test_a_view_behind_is_staff_names_the_rule():
    factory = APIRequestFactory()
    end_user = get_user_model().objects.create_user("alice")
    request = factory.get("/staff-only")
    force_authenticate(request, user=end_user)
    response = _StaffView.as_view()(request)
    response.render()
    body = json.loads(response.content)
    assert (response.status_code, body["code"]) == (403, "permission_denied")
    assert body["error"] == StaffOnly.default_message
    operator = get_user_model().objects.create_user("ops", is_staff=True)
    request = factory.get("/staff-only")
    force_authenticate(request, user=operator)
    assert _StaffView.as_view()(request).status_code == 200


# --- end to end: the approvals' four eyes -----------------------------------------------------------


@pytest.mark.django_db
def test_approving_ones_own_request_names_four_eyes():
    both = make_approver("both")
    wallet = services.wallet_create(user_id="alice", currency=None)
    approval_id = post(both, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    refused = post(both, f"/approvals/{approval_id}/approve")
    assert (refused.status_code, refused.json()["code"]) == (403, "own_approval")
    assert "another operator must approve or reject it" in refused.json()["error"]


@pytest.mark.django_db
def test_an_operator_without_the_approver_permission_is_told_which_permission():
    maker, other = make_client("maker", staff=True), make_client("other", staff=True)
    wallet = services.wallet_create(user_id="alice", currency=None)
    approval_id = post(maker, f"/wallets/{wallet.id}/fund", {"amount": "2000"}).json()["data"]["approval_id"]
    refused = post(other, f"/approvals/{approval_id}/approve")
    assert (refused.status_code, refused.json()["code"]) == (403, "permission_denied")
    assert "approvals.approve_adjustment" in refused.json()["error"]


@pytest.mark.django_db
def test_the_api_names_the_rule_end_to_end():
    alice = make_client("alice")
    bobs = services.wallet_create(user_id="bob")
    alices = services.wallet_create(user_id="alice")
    services.wallet_fund(wallet_id=alices.id, amount=Decimal("50"), initiated_by="test")
    names_bob = "you are 'alice', the request names 'bob'"

    listed = alice.get("/users/bob/wallets")
    assert (listed.status_code, listed.json()["code"]) == (403, "permission_denied")
    assert names_bob in listed.json()["error"]
    created = alice.post("/wallets", {"user_id": "bob"}, format="json")
    assert created.status_code == 403 and names_bob in created.json()["error"]
    assert Wallet.objects.filter(user_id="bob").count() == 1  # nothing created

    funded = alice.post(f"/wallets/{alices.id}/fund", {"amount": "5"}, format="json")
    assert (funded.status_code, funded.json()["error"]) == (403, StaffOnly.default_message)

    held = alice.post(
        f"/wallets/{alices.id}/holds", {"to_wallet_id": str(bobs.id), "amount": "5"}, format="json"
    )
    assert held.status_code == 201, held.json()
    captured = alice.post(f"/holds/{held.json()['data']['id']}/capture", {}, format="json")
    assert (captured.status_code, captured.json()["error"]) == (403, PayerMayNotSettle.default_message)
