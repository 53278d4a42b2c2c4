"""Holds and ledger transactions over HTTP (../shared/spec/holds.md): thin views over
`wallets.holds`, `wallets.reversals` and the selectors.

Who may do what: a hold is created by its sending wallet's owner (or staff); it is seen by the
owners of either wallet (others: 404, its existence is not revealed); it is captured or voided by
the receiving wallet's owner or staff. The payer sees the hold, so refusing them is 403, not 404.
Reversals are staff only; a ledger transaction is seen by anyone who may see one of its wallets,
as `selectors.transaction_get_visible` says (an end user: another user's balance is never shown).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from common import browsable
from common import schema as common_schema
from common.api import ApiView
from common.errors import ValidationFailed
from common.pagination import Keyset, paginate, read_time_and_uuid
from common.schema import PAGE_PARAMETERS
from wallets import holds, reversals, selectors, staff_gate
from wallets.errors import TransactionNotFound
from wallets.models import Hold, LedgerTransaction
from wallets.openapi import WALLET_ID
from wallets.permissions import PayerMayNotSettle, balances_hidden_from, sending_owner
from wallets.services import Note

from . import examples, schema
from .idempotency import respond_once
from .serializers import (
    CaptureInput,
    HoldInput,
    ReverseInput,
    VoidInput,
    hold_data,
    ledger_transaction_data,
    movement_legs,
)
from .views import _path_wallet_id, body_of, wallet_links

HOLDS_NEWEST_FIRST = Keyset(
    position=lambda hold: [hold.created_at.isoformat(), str(hold.id)], read=read_time_and_uuid
)
HOLD_ID = common_schema.path_parameter(
    "hold_id", {"type": "string", "format": "uuid"}, "The hold's id; any other value is 404."
)
TRANSACTION_ID = common_schema.path_parameter(
    "transaction_id",
    {"type": "string", "format": "uuid"},
    "A ledger transaction's id (a transaction object's reference_id), or one of its entries' "
    "(a transaction object's transaction_id); any other value is 404.",
)
STATUS = OpenApiParameter(
    "status", {"type": "string", "enum": list(Hold.Status.values)}, description="Only holds in this status."
)


def _visible_hold(request: Request, hold_id: str) -> Hold:
    return selectors.hold_get_visible(principal=request.user, hold_id=hold_id)


class WalletHoldsView(ApiView):
    """Create a hold on the wallet (POST) or list the holds it sends or receives (GET)."""

    serializer_class = HoldInput
    crumb = "Holds"
    id_link = "hold-detail"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return wallet_links(request, self.kwargs["wallet_id"])

    @extend_schema(
        operation_id="hold_create",
        summary="Hold money for another wallet",
        description=(
            "Reserve `amount` of this wallet for `to_wallet_id` until `expires_in` seconds pass: the "
            "money stays in the wallet but is no longer available; the receiver (or staff) captures "
            "it (all or part) or voids it, and an expired hold is released. A staff hold may wait for "
            "approval (202)."
        ),
        request=HoldInput,
        parameters=[WALLET_ID, schema.IDEMPOTENCY_KEY],
        responses=schema.responses(201, schema.HOLD, schema.HOLD_CREATE_ERRORS),
        examples=examples.HOLD_CREATE,
        tags=["holds"],
    )
    def post(self, request: Request, wallet_id: str) -> Response | HttpResponse:
        sender = _path_wallet_id(wallet_id)
        data = self.validated(request)
        owner = sending_owner(request.user)
        note = Note.of(data)

        def create() -> tuple[int, Any]:
            hold = holds.hold_create(
                from_wallet_id=sender,
                to_wallet_id=data["to_wallet_id"],
                amount=data["amount"],
                expires_in=data.get("expires_in", holds.EXPIRES_IN_DEFAULT),
                initiated_by=request.user.get_username(),
                owner_user_id=owner,
                note=note,
            )
            return 201, hold_data(hold)

        def describe() -> staff_gate.StaffMovement:
            return staff_gate.sending_movement(
                staff_gate.HOLD_CREATE,
                sender,
                data["to_wallet_id"],
                data["amount"],
                expires_in=data.get("expires_in", holds.EXPIRES_IN_DEFAULT),
                **note.fields(),
            )

        return respond_once(request, staff_gate.gated(request.user, create, describe))

    @extend_schema(
        operation_id="wallet_holds_list",
        summary="List a wallet's holds",
        description=(
            "The holds the wallet sends or receives, newest first, a cursor page at a time; "
            "`status` keeps those in one status."
        ),
        parameters=[WALLET_ID, STATUS, *PAGE_PARAMETERS],
        responses=schema.responses(200, schema.HOLD_PAGE, schema.HOLDS_ERRORS),
        examples=examples.HOLDS,
        tags=["holds"],
    )
    def get(self, request: Request, wallet_id: str) -> Response:
        wallet = selectors.wallet_get_visible(principal=request.user, wallet_id=wallet_id)
        status = request.query_params.get("status")
        if status is not None and status not in Hold.Status.values:
            raise ValidationFailed(
                f"status must be one of {', '.join(Hold.Status.values)}.", details={"status": status[:60]}
            )
        page = paginate(
            request,
            HOLDS_NEWEST_FIRST,
            lambda after: selectors.holds_for_wallet(wallet=wallet, status=status, after=after),
        )
        return Response(page.body(hold_data))


def hold_links(request: Request, hold: dict[str, Any]) -> list[browsable.Link]:
    links = []
    if hold["status"] == Hold.Status.PENDING:
        links += [
            browsable.Link("Capture", reverse("hold-capture", kwargs={"hold_id": hold["id"]})),
            browsable.Link("Void", reverse("hold-void", kwargs={"hold_id": hold["id"]})),
        ]
    links += [
        browsable.Link(
            "Paying wallet", reverse("wallet-detail", kwargs={"wallet_id": hold["from_wallet_id"]})
        ),
        browsable.Link(
            "Receiving wallet", reverse("wallet-detail", kwargs={"wallet_id": hold["to_wallet_id"]})
        ),
    ]
    if hold.get("transaction_id"):
        links.append(
            browsable.Link(
                "Capture's transaction",
                reverse("transaction-detail", kwargs={"transaction_id": hold["transaction_id"]}),
            )
        )
    return links


class HoldDetailView(ApiView):
    crumb = "Hold {hold_id}"
    id_link = "hold-detail"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        hold = body_of(data)
        return hold_links(request, hold) if hold is not None else []

    @extend_schema(
        operation_id="hold_get",
        summary="Get a hold",
        description=(
            "The hold's amount, what was captured, its status and expiry. Visible to staff and to "
            "the owners of either wallet."
        ),
        parameters=[HOLD_ID],
        responses=schema.responses(200, schema.HOLD, schema.HOLD_DETAIL_ERRORS),
        examples=examples.HOLD_GET,
        tags=["holds"],
    )
    def get(self, request: Request, hold_id: str) -> Response:
        return Response({"success": True, "data": hold_data(_visible_hold(request, hold_id))})


def _settleable(request: Request, hold_id: str) -> Hold:
    hold = _visible_hold(request, hold_id)
    if not selectors.may_settle(request.user, hold):
        raise PayerMayNotSettle()
    return hold


class HoldCaptureView(ApiView):
    """Capture all of the hold, or `amount` of it (once): the sender pays the receiver as one
    ledger transaction linked to the hold; the rest is released. Without description or metadata,
    the capture carries the hold's."""

    serializer_class = CaptureInput
    body_optional = True
    crumb = "Capture"
    id_link = "hold-detail"

    def form_intro(self) -> str:
        return (
            f"POST the form below to capture hold {browsable.short(self.kwargs['hold_id'])}: "
            "leave the amount empty to capture all of it."
        )

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return [browsable.Link("Hold", reverse("hold-detail", kwargs=self.kwargs))]

    @extend_schema(
        operation_id="hold_capture",
        summary="Capture a hold",
        description=(
            "Capture all of a pending hold, or `amount` of it (once): the payer pays the receiver as "
            "one ledger transaction linked to the hold, and the rest is released. Without "
            "description or metadata the capture carries the hold's. The receiver's owner or staff "
            "only; a staff capture may wait for approval (202)."
        ),
        request=CaptureInput,
        parameters=[HOLD_ID, schema.IDEMPOTENCY_KEY],
        responses=schema.responses(200, schema.CAPTURE, schema.CAPTURE_ERRORS),
        examples=examples.CAPTURE,
        tags=["holds"],
    )
    def post(self, request: Request, hold_id: str) -> Response | HttpResponse:
        hold = _settleable(request, hold_id)
        data = self.validated(request)
        given = "description" in data or "metadata" in data
        note = Note.of(data) if given else None

        def capture() -> tuple[int, Any]:
            result = holds.hold_capture(
                hold=hold, amount=data.get("amount"), initiated_by=request.user.get_username(), note=note
            )
            hidden = balances_hidden_from(request.user, (hold.from_wallet, hold.to_wallet))
            return 200, {
                "hold": hold_data(result.hold),
                "transactions": movement_legs(result, result.note, hidden),
            }

        def describe() -> staff_gate.StaffMovement:
            amount = data.get("amount") or hold.amount
            return staff_gate.StaffMovement(
                kind=staff_gate.HOLD_CAPTURE,
                moves={hold.from_wallet_id: amount, hold.to_wallet_id: amount},
                request={
                    "hold_id": str(hold.id),
                    "amount": str(data["amount"]) if data.get("amount") is not None else None,
                    **({"note": note.fields()} if note is not None else {}),
                },
                wallet_id=hold.from_wallet_id,
            )

        return respond_once(request, staff_gate.gated(request.user, capture, describe))


class HoldVoidView(ApiView):
    """Release the whole hold to the sender (no body). Allowed on frozen wallets."""

    serializer_class = VoidInput  # no fields: the browsable API's form is a button
    body_optional = True
    crumb = "Void"
    id_link = "hold-detail"

    def form_intro(self) -> str:
        hold = browsable.short(self.kwargs["hold_id"])
        return f"POST the form below to void hold {hold}: its money goes back to the payer."

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return [browsable.Link("Hold", reverse("hold-detail", kwargs=self.kwargs))]

    @extend_schema(
        operation_id="hold_void",
        summary="Void a hold",
        description=(
            "Release the whole pending hold to the payer: nothing moves. No body. Allowed on frozen "
            "wallets. The receiver's owner or staff only."
        ),
        request=None,
        parameters=[HOLD_ID, schema.IDEMPOTENCY_KEY],
        responses=schema.responses(200, schema.HOLD, schema.VOID_ERRORS),
        examples=examples.VOID,
        tags=["holds"],
    )
    def post(self, request: Request, hold_id: str) -> Response | HttpResponse:
        hold = _settleable(request, hold_id)  # any body is ignored

        def void() -> tuple[int, Any]:
            return 200, hold_data(holds.hold_void(hold=hold, initiated_by=request.user.get_username()))

        return respond_once(request, void)


class TransactionDetailView(ApiView):
    crumb = "Transaction {transaction_id}"
    id_link = "transaction-detail"

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        txn = body_of(data)
        if txn is None:
            return []
        links = []
        if (
            request.user.is_staff
            and txn["kind"] != LedgerTransaction.Kind.REVERSAL
            and txn["reversed_by"] is None
        ):
            links.append(
                browsable.Link(
                    "Reverse", reverse("transaction-reverse", kwargs={"transaction_id": txn["id"]})
                )
            )
        wallets = dict.fromkeys(entry["wallet_id"] for entry in txn["entries"])
        links += [
            browsable.Link(
                f"Wallet {browsable.short(wallet_id)}",
                reverse("wallet-detail", kwargs={"wallet_id": wallet_id}),
            )
            for wallet_id in wallets
        ]
        if txn["hold_id"]:
            links.append(browsable.Link("Hold", reverse("hold-detail", kwargs={"hold_id": txn["hold_id"]})))
        return links

    @extend_schema(
        operation_id="transaction_get",
        summary="Get a ledger transaction",
        description=(
            "A ledger transaction (a fund, withdrawal, transfer, capture, split or reversal) with its "
            "entries and legs, and what reversed it. An end user sees it when one of its wallets is "
            "theirs, and other users' wallets without their balances."
        ),
        parameters=[TRANSACTION_ID],
        responses=schema.responses(200, schema.LEDGER_TRANSACTION, schema.TRANSACTION_ERRORS),
        examples=examples.TRANSACTION_GET,
        tags=["money"],
    )
    def get(self, request: Request, transaction_id: str) -> Response:
        txn = reversals.transaction_find(transaction_id)
        visible = selectors.transaction_get_visible(principal=request.user, transaction=txn)
        assert txn is not None
        return Response(
            {
                "success": True,
                "data": ledger_transaction_data(txn, visible.entries, visible.legs, visible.hidden),
            }
        )


class TransactionReverseView(ApiView):
    """Staff: write the opposite entries of a completed fund, withdrawal, transfer or capture as a
    REVERSAL transaction linked to it (once; a reversal itself cannot be reversed)."""

    serializer_class = ReverseInput
    crumb = "Reverse"
    id_link = "transaction-detail"

    def form_intro(self) -> str:
        return (
            f"POST the form below to reverse transaction {browsable.short(self.kwargs['transaction_id'])} "
            "(staff; it may wait for a second operator's approval)."
        )

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        return [browsable.Link("Transaction", reverse("transaction-detail", kwargs=self.kwargs))]

    @extend_schema(
        operation_id="transaction_reverse",
        summary="Reverse a transaction (staff)",
        description=(
            "Staff only: write the opposite entries of a completed fund, withdrawal, transfer, "
            "capture or split as a REVERSAL transaction linked to it, with a reason (once; a reversal "
            "is not reversed). A reversal usually waits for a second operator (202 with the approval)."
        ),
        request=ReverseInput,
        parameters=[TRANSACTION_ID, schema.IDEMPOTENCY_KEY],
        responses=schema.responses(201, schema.LEDGER_TRANSACTION, schema.REVERSE_ERRORS),
        examples=examples.REVERSE,
        tags=["money"],
    )
    def post(self, request: Request, transaction_id: str) -> Response | HttpResponse:
        self.require_staff(request)
        original = reversals.transaction_find(transaction_id)
        if original is None:
            raise TransactionNotFound()
        reason = self.validated(request)["reason"]

        def reverse() -> tuple[int, Any]:
            result = reversals.transaction_reverse(
                transaction_id=original.id, reason=reason, initiated_by=request.user.get_username()
            )
            return 201, reversal_data(request, result.transaction_id)

        return respond_once(
            request,
            staff_gate.gated(request.user, reverse, lambda: staff_gate.reversal_movement(original, reason)),
        )


def reversal_data(request: Request, transaction_id: Any) -> dict[str, Any]:
    """A REVERSAL just written, as `GET /transactions/{id}` shows it to the principal."""
    txn = LedgerTransaction.objects.get(id=transaction_id)
    visible = selectors.transaction_get_visible(principal=request.user, transaction=txn)
    return ledger_transaction_data(txn, visible.entries, visible.legs, visible.hidden)
