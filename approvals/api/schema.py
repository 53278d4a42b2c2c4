"""OpenAPI shapes of the approvals and of the staff adjustments that may answer 202 with one, the
errors each operation answers (besides `common.schema.COMMON_ERRORS`), and the links from an
approval to the operations on it."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter

from approvals.models import Approval
from common import schema
from wallets.api import schema as wallet_schema

from .examples import PENDING as PENDING_EXAMPLE
from .serializers import ApprovalOutput

APPROVAL = schema.envelope("ApprovalEnvelope", ApprovalOutput())
APPROVAL_PAGE = schema.page_of("ApprovalPage", ApprovalOutput)

APPROVAL_ID = schema.path_parameter(
    "approval_id", {"type": "string", "format": "uuid"}, "The approval's id; any other value is 404."
)
STATUS = OpenApiParameter(
    "status",
    {"type": "string", "enum": list(Approval.Status.values)},
    description="Only approvals in this status.",
)
KIND = OpenApiParameter(
    "kind", {"type": "string", "enum": list(Approval.Kind.values)}, description="Only approvals of this kind."
)

PENDING = (
    "Staff only: a staff movement of a customer's money that the policy holds back (above "
    "APPROVAL_THRESHOLD, past an operator's or a wallet's rolling limit, or a reversal): nothing "
    "moved; the request is recorded as a pending approval, which another operator approves or "
    "rejects (POST /approvals/{approval_id}/approve or /reject)."
)
# The operations a staff movement goes through (wallets.staff_gate), each of which may answer 202.
STAFF_MOVEMENTS = [
    "/wallets/{wallet_id}/fund",
    "/wallets/{wallet_id}/withdraw",
    "/wallets/{wallet_id}/transfer",
    "/wallets/{wallet_id}/holds",
    "/holds/{hold_id}/capture",
    "/transactions",
    "/transactions/batch",
    "/transactions/{transaction_id}/reverse",
]

_POST = {
    413: "payload_too_large: a body over 64 KiB",
    415: "unsupported_media_type: the body is not declared as JSON",
    422: "idempotency_key_reused: the Idempotency-Key was used with another request",
}
REVERSE_ERRORS = {
    **wallet_schema.REVERSE_ERRORS,
    409: (
        "already_reversed, not_reversible (a reversal), approval_pending (a reversal of it awaits "
        "approval), idempotency_key_in_use, or conflict (a lock wait over the limit; Retry-After)"
    ),
}
LIST_ERRORS = {
    400: "validation_error (status, kind, limit or cursor)",
    403: "permission_denied: staff only",
}
DETAIL_ERRORS = {403: "permission_denied: staff only", 404: "approval_not_found"}
_DECIDE_403 = (
    "permission_denied (staff with the approvals.approve_adjustment permission only) or own_approval "
    "(the requester never decides their own)"
)
APPROVE_ERRORS = {
    400: (
        "validation_error (the body or the Idempotency-Key), or the movement's own refusal, checked "
        "again now: insufficient_funds or invalid_amount (past the maximum balance)"
    ),
    403: _DECIDE_403,
    404: "approval_not_found",
    409: (
        "approval_not_pending, approval_expired, the movement's wallet_frozen or already_reversed, "
        "idempotency_key_in_use, or conflict (a lock wait over the limit; Retry-After)"
    ),
    **_POST,
}
REJECT_ERRORS = {
    400: "validation_error (the reason, the body or the Idempotency-Key)",
    403: _DECIDE_403,
    404: "approval_not_found",
    409: "approval_not_pending, approval_expired, idempotency_key_in_use, or conflict",
    **_POST,
}


def staff_movements_may_wait(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    """Postprocessing hook: every staff movement's operation answers 202 with the pending approval,
    and 503 staff_gate_missing when no approval policy is installed (a deployment error)."""
    for path in STAFF_MOVEMENTS:
        operation = result["paths"].get(path, {}).get("post")
        if operation is not None:
            operation["responses"]["202"] = {
                "description": PENDING,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/ApprovalEnvelope"},
                        "examples": {"WaitingForASecondOperator": {"value": PENDING_EXAMPLE}},
                    }
                },
            }
            unavailable = operation["responses"].get("503")
            if unavailable is not None and "staff_gate_missing" not in unavailable["description"]:
                unavailable["description"] += (
                    "; staff_gate_missing (staff: no approval policy is installed, a deployment error)"
                )
    return result


def link_approvals(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Postprocessing hook: an approval's id (in every response carrying one, the 202 of a staff
    adjustment too) links to each operation on `{approval_id}`."""
    ref = "#/components/schemas/ApprovalEnvelope"
    for _, _, operation in schema.operations(result):
        for response in operation["responses"].values():
            content = response.get("content", {}).get("application/json", {})
            if content.get("schema", {}).get("$ref") == ref:
                schema.link_to_operations_taking(
                    result, response, "approval_id", "$response.body#/data/approval_id"
                )
    return result
