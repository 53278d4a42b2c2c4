"""Approvals over HTTP. Which staff movement waits for one is approvals/policy.py's (every staff
movement route passes it through `wallets.staff_gate`, answering 202 with the approval).

`GET /approvals`, `GET /approvals/{id}`: staff. `POST /approvals/{id}/approve` (reason optional) and
`/reject` (reason required): staff holding `approvals.approve_adjustment`, never the requester. An
approve or reject with an Idempotency-Key is stored with its effect; a refused movement stores
nothing (the approval stays pending), so the same key may approve it again later.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import selectors, services
from approvals.errors import ApprovalNotFound, MayNotApprove
from approvals.models import Approval
from common.api import ApiView, parse_uuid
from common.errors import ValidationFailed
from common.pagination import Keyset, paginate, read_time_and_uuid
from common.schema import PAGE_PARAMETERS
from wallets.api import schema as wallet_schema
from wallets.api.idempotency import respond_once

from . import schema
from .serializers import ApproveInput, RejectInput, approval_data

APPROVALS_NEWEST_FIRST = Keyset(
    position=lambda approval: [approval.requested_at.isoformat(), str(approval.id)], read=read_time_and_uuid
)


def _path_approval_id(raw: str) -> uuid.UUID:
    approval_id = parse_uuid(raw)
    if approval_id is None:
        raise ApprovalNotFound()
    return approval_id


def _choice(request: Request, name: str, values: list[str]) -> str | None:
    value = request.query_params.get(name)
    if value is not None and value not in values:
        raise ValidationFailed(f"{name} must be one of {', '.join(values)}.", details={name: value[:60]})
    return value


class ApprovalListView(ApiView):
    @extend_schema(
        operation_id="approvals_list",
        parameters=[schema.STATUS, schema.KIND, *PAGE_PARAMETERS],
        responses=wallet_schema.responses(200, schema.APPROVAL_PAGE, schema.LIST_ERRORS),
        tags=["approvals"],
    )
    def get(self, request: Request) -> Response:
        """Approvals newest first (staff), e.g. `?status=pending`."""
        self.require_staff(request)
        status = _choice(request, "status", list(Approval.Status.values))
        kind = _choice(request, "kind", list(Approval.Kind.values))
        page = paginate(
            request,
            APPROVALS_NEWEST_FIRST,
            lambda after: selectors.approvals_list(status=status, kind=kind, after=after),
        )
        return Response(page.body(approval_data))


class ApprovalDetailView(ApiView):
    @extend_schema(
        parameters=[schema.APPROVAL_ID],
        responses=wallet_schema.responses(200, schema.APPROVAL, schema.DETAIL_ERRORS),
        tags=["approvals"],
    )
    def get(self, request: Request, approval_id: str) -> Response:
        self.require_staff(request)
        approval = selectors.approval_get(approval_id=approval_id)
        return Response({"success": True, "data": approval_data(approval)})


class _DecisionView(ApiView):
    def decide(self, request: Request, approval_id: str, decision: Any) -> Response | HttpResponse:
        self.require_staff(request)
        if not services.may_decide(request.user):
            raise MayNotApprove()
        target = _path_approval_id(approval_id)
        reason = self.validated(request).get("reason", "")

        def run() -> tuple[int, Any]:
            approval = decision(approval_id=target, approver=request.user, reason=reason, via="api")
            return 200, approval_data(selectors.approval_get(approval_id=approval.id))

        with services.failures_recorded(actor=request.user.get_username(), via="api"):
            return respond_once(request, run)


class ApprovalApproveView(_DecisionView):
    """Approve (not your own request) and run the movement now, with every rule checked again: a
    refusal is the movement's own error; the approval then stays pending, its last_error set."""

    serializer_class = ApproveInput
    body_optional = True

    @extend_schema(
        request=ApproveInput,
        parameters=[schema.APPROVAL_ID, wallet_schema.IDEMPOTENCY_KEY],
        responses=wallet_schema.responses(200, schema.APPROVAL, schema.APPROVE_ERRORS),
        tags=["approvals"],
    )
    def post(self, request: Request, approval_id: str) -> Response | HttpResponse:
        return self.decide(request, approval_id, services.approval_approve)


class ApprovalRejectView(_DecisionView):
    """Reject (not your own request), with a reason: nothing moves."""

    serializer_class = RejectInput

    @extend_schema(
        request=RejectInput,
        parameters=[schema.APPROVAL_ID, wallet_schema.IDEMPOTENCY_KEY],
        responses=wallet_schema.responses(200, schema.APPROVAL, schema.REJECT_ERRORS),
        tags=["approvals"],
    )
    def post(self, request: Request, approval_id: str) -> Response | HttpResponse:
        return self.decide(request, approval_id, services.approval_reject)
