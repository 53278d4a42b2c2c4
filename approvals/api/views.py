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
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from approvals import selectors, services
from approvals.errors import ApprovalNotFound, MayNotApprove
from approvals.models import Approval
from common import browsable
from common.api import ApiView, parse_uuid
from common.errors import ValidationFailed
from common.pagination import Keyset, paginate, read_time_and_uuid
from common.schema import PAGE_PARAMETERS
from wallets.api import schema as wallet_schema
from wallets.api.idempotency import respond_once

from . import examples, schema
from .serializers import ApproveInput, RejectInput, approval_data

browsable.link_ids(approval_id="approval-detail")  # the browsable API links an approval's id

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
    crumb = "Approvals"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return [
            browsable.Link(f"{status.capitalize()}", f"{reverse('approval-list')}?status={status}")
            for status in Approval.Status.values
        ]

    @extend_schema(
        operation_id="approvals_list",
        summary="List approvals (staff)",
        description=(
            "Staff only: the staff movements waiting for (or given) a second operator's decision, "
            "newest first, a cursor page at a time; `status` and `kind` filter, e.g. `?status=pending`."
        ),
        parameters=[schema.STATUS, schema.KIND, *PAGE_PARAMETERS],
        responses=wallet_schema.responses(200, schema.APPROVAL_PAGE, schema.LIST_ERRORS),
        examples=examples.LIST,
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


def _body(data: Any) -> Any:
    return data.get("data") if isinstance(data, dict) and data.get("success") else None


class ApprovalDetailView(ApiView):
    crumb = "Approval {approval_id}"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        approval = _body(data)
        if approval is None:
            return []
        links = [browsable.Link("Approvals", reverse("approval-list"))]
        for label, name, key, value in (
            ("Wallet", "wallet-detail", "wallet_id", approval["wallet_id"]),
            ("Transaction it reverses", "transaction-detail", "transaction_id", approval["reverses"]),
            ("Transaction it made", "transaction-detail", "transaction_id", approval["transaction_id"]),
        ):
            if value:
                links.append(browsable.Link(label, reverse(name, kwargs={key: value})))
        return links

    def action_forms(self, request: Request, data: Any) -> list[browsable.ActionForm]:
        """Approve and reject, for an operator who may decide this one (pending, not their own)."""
        approval = _body(data)
        if (
            approval is None
            or approval["status"] != Approval.Status.PENDING
            or not services.may_decide(request.user)
            or approval["requested_by"] == request.user.get_username()
        ):
            return []
        target = {"approval_id": approval["approval_id"]}
        return [
            browsable.ActionForm(
                "Approve",
                reverse("approval-approve", kwargs=target),
                ApproveInput,
                intro="Runs the movement now, with every rule checked again.",
                button="Approve",
            ),
            browsable.ActionForm(
                "Reject",
                reverse("approval-reject", kwargs=target),
                RejectInput,
                intro="Nothing moves; the reason is recorded.",
                button="Reject",
            ),
        ]

    @extend_schema(
        operation_id="approval_get",
        summary="Get an approval (staff)",
        description=(
            "Staff only: what the approval would move and who asked, its status, and once decided "
            "who decided, why, and the transaction it made (or the last refusal of an approve)."
        ),
        examples=examples.GET,
        parameters=[schema.APPROVAL_ID],
        responses=wallet_schema.responses(200, schema.APPROVAL, schema.DETAIL_ERRORS),
        tags=["approvals"],
    )
    def get(self, request: Request, approval_id: str) -> Response:
        self.require_staff(request)
        approval = selectors.approval_get(approval_id=approval_id)
        return Response({"success": True, "data": approval_data(approval)})


class _DecisionView(ApiView):
    id_link = "approval-detail"

    def form_intro(self) -> str:
        approval = browsable.short(self.kwargs["approval_id"])
        return f"POST the form below to {self.crumb.lower()} approval {approval}."

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return [browsable.Link("Approval", reverse("approval-detail", kwargs=self.kwargs))]

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

    crumb = "Approve"

    serializer_class = ApproveInput
    body_optional = True

    @extend_schema(
        operation_id="approval_approve",
        summary="Approve and run a pending movement",
        description=(
            "Staff with the approvals.approve_adjustment permission, never the requester: approve and "
            "run the movement now, every rule checked again. A refusal is the movement's own error "
            "(e.g. 400 insufficient_funds); the approval then stays pending with last_error set."
        ),
        examples=examples.APPROVE,
        request=ApproveInput,
        parameters=[schema.APPROVAL_ID, wallet_schema.IDEMPOTENCY_KEY],
        responses=wallet_schema.responses(200, schema.APPROVAL, schema.APPROVE_ERRORS),
        tags=["approvals"],
    )
    def post(self, request: Request, approval_id: str) -> Response | HttpResponse:
        return self.decide(request, approval_id, services.approval_approve)


class ApprovalRejectView(_DecisionView):
    """Reject (not your own request), with a reason: nothing moves."""

    crumb = "Reject"

    serializer_class = RejectInput

    @extend_schema(
        operation_id="approval_reject",
        summary="Reject a pending movement",
        description=(
            "Staff with the approvals.approve_adjustment permission, never the requester: reject with "
            "a reason; nothing moves."
        ),
        examples=examples.REJECT,
        request=RejectInput,
        parameters=[schema.APPROVAL_ID, wallet_schema.IDEMPOTENCY_KEY],
        responses=wallet_schema.responses(200, schema.APPROVAL, schema.REJECT_ERRORS),
        tags=["approvals"],
    )
    def post(self, request: Request, approval_id: str) -> Response | HttpResponse:
        return self.decide(request, approval_id, services.approval_reject)
