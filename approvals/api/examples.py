"""Request and response examples of the approvals' endpoints, as the OpenAPI document shows them: a
fund above the threshold that waits for a second operator (tests/test_openapi_quality.py checks
each against its schema)."""

from __future__ import annotations

from typing import Any

from common.schema import page_example, request_example, response_example
from wallets.api.examples import ALICE_WALLET, AT, FUND_TXN

APPROVAL_ID = "0195f3c9-6298-74d7-85c6-b2a3e1f4050a"


def approval(**changes: Any) -> dict[str, Any]:
    return {
        "approval_id": APPROVAL_ID,
        "kind": "fund",
        "status": "pending",
        "wallet_id": ALICE_WALLET,
        "reverses": None,
        "currency": "USD",
        "amount": "25000.0000",
        "description": "Wire 88-1290",
        "metadata": {},
        "request": {"wallet_id": ALICE_WALLET, "amount": "25000.00", "description": "Wire 88-1290"},
        "result": {},
        "reason": None,
        "requested_by": "ops-maker",
        "requested_at": AT,
        "expires_at": "2026-03-03T09:30:00.000000Z",
        "decided_by": None,
        "decided_at": None,
        "decision_reason": None,
        "transaction_id": None,
        "last_error_code": None,
        "last_error": None,
        **changes,
    }


_DECIDED = {"decided_by": "ops-checker", "decided_at": "2026-03-02T10:02:00.000000Z"}
APPROVED = approval(status="approved", transaction_id=FUND_TXN, decision_reason="Wire confirmed", **_DECIDED)
REJECTED = approval(status="rejected", decision_reason="No matching wire", **_DECIDED)

LIST = [page_example("Pending approvals", [approval()])]
GET = [response_example("A pending fund", approval())]
APPROVE = [
    request_example("Approve, with a reason", {"reason": "Wire confirmed"}),
    request_example("Approve, no reason", {}),
    response_example("Approved: the fund ran", APPROVED),
]
REJECT = [
    request_example("Reject", {"reason": "No matching wire"}),
    response_example("Rejected: nothing moved", REJECTED),
]
# The 202 of a staff movement the policy holds back (approvals.api.schema.staff_movements_may_wait).
PENDING = {"success": True, "data": approval()}
