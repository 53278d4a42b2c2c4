"""`POST /transactions` (a multi-leg transaction) and `POST /transactions/batch` (issue #22).

Thin views over `wallets.multi_leg`: an end user may send only from their own wallets (a leg from
another's is answered as not found), staff from any. The response shows an end user the other
users' entries without their balance (`permissions.balances_hidden_from`). Both take an
Idempotency-Key as every POST.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response

from common import browsable
from common.api import ApiView
from common.errors import envelope
from common.times import format_timestamp
from wallets import multi_leg, staff_gate
from wallets.ledger_writes import LegRow
from wallets.models import LedgerTransaction
from wallets.permissions import balances_hidden_from, sending_owner
from wallets.services import NO_NOTE, MovementResult, Note

from . import examples, schema
from .idempotency import respond_once
from .serializers import BatchInput, MultiLegInput, leg_data, movement_legs, transaction_data


class RawJsonBrowsableAPIRenderer(browsable.Renderer):
    """The browsable API with only its raw JSON form (DRF's HTML forms cannot hold a list of
    legs), filled in with the view's `raw_example` (and the form's idempotency key) to edit."""

    def get_rendered_html_form(self, data: Any, view: Any, method: str, request: Any) -> Any:
        return None


_EXAMPLE_LEG = {
    "from_wallet_id": "<your wallet id>",
    "to_wallet_id": "<a receiving wallet id>",
    "amount": "10.00",
}


def _legs(items: list[dict[str, Any]]) -> list[multi_leg.Leg]:
    return [
        multi_leg.Leg(item["from_wallet_id"], item["to_wallet_id"], item["amount"], Note.of(item))
        for item in items
    ]


def multi_leg_data(
    result: MovementResult, legs: list[multi_leg.Leg], note: Note, hidden: frozenset[uuid.UUID]
) -> dict[str, Any]:
    """The MULTI_LEG transaction just written, as `GET /transactions/{id}` shows it to its sender,
    without reading it back: every leg (each is from the sender's wallet), the wallets in `hidden`
    (other users') without balance."""
    notes = [multi_leg.leg_note(leg, note) for leg in legs]
    return {
        "id": str(result.transaction_id),
        "kind": LedgerTransaction.Kind.MULTI_LEG,
        "status": "COMPLETED",
        "description": note.description,
        "metadata": note.metadata,
        "hold_id": None,
        "reverses": None,
        "reversed_by": None,
        "reason": None,
        "created_at": format_timestamp(result.created_at),
        "entries": [
            transaction_data(
                entry,
                result.transaction_id,
                result.created_at,
                notes[entry.leg].description,  # type: ignore[index]
                notes[entry.leg].metadata,  # type: ignore[index]
                balance_hidden=entry.wallet_id in hidden,
            )
            for entry in result.entries
        ],
        "legs": [
            leg_data(
                LegRow(
                    index,
                    leg.from_wallet_id,
                    leg.to_wallet_id,
                    result.wallets[leg.from_wallet_id].currency,
                    leg.amount,
                    leg.note.description,
                    leg.note.metadata,
                )
            )
            for index, leg in enumerate(legs)
        ],
    }


class MultiLegTransactionView(ApiView):
    serializer_class = MultiLegInput
    renderer_classes = [JSONRenderer, RawJsonBrowsableAPIRenderer]
    raw_example = {"description": "order 78", "legs": [_EXAMPLE_LEG, {**_EXAMPLE_LEG, "amount": "0.50"}]}
    crumb = "Transactions"
    id_link = "transaction-detail"

    def form_intro(self) -> str:
        return "POST a transaction of up to 100 legs below (JSON): every leg moves, or none."

    @extend_schema(
        request=MultiLegInput,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses=schema.responses(201, schema.LEDGER_TRANSACTION, schema.MULTI_LEG_ERRORS),
        tags=["money"],
        operation_id="multi_leg_transaction_create",
        summary="Move money along up to 100 legs as one transaction: every leg or none",
        description=(
            "A split payment: up to 100 legs, each from one wallet to another in one currency, moved "
            "in order as one MULTI_LEG ledger transaction, all or none (a refused leg is named in "
            "the 400's details). An end user's legs all send from their own wallets; a staff "
            "transaction may wait for approval (202)."
        ),
        examples=examples.MULTI_LEG,
    )
    def post(self, request: Request) -> Response | HttpResponse:
        data = self.validated(request)
        legs, note, owner = _legs(data["legs"]), Note.of(data), sending_owner(request.user)

        def move() -> tuple[int, Any]:
            result = multi_leg.transaction_create(
                legs=legs, initiated_by=request.user.get_username(), owner_user_id=owner, note=note
            )
            hidden = balances_hidden_from(request.user, result.wallets.values())
            return 201, multi_leg_data(result, legs, note, hidden)

        def describe() -> staff_gate.StaffMovement:
            return staff_gate.StaffMovement(
                kind=staff_gate.SPLIT,
                moves=staff_gate.legs_moves(legs),
                request={"legs": staff_gate.legs_request(legs), **note.fields()},
            )

        return respond_once(request, staff_gate.gated(request.user, move, describe))


def _item_data(index: int, item: multi_leg.BatchItem, leg: multi_leg.Leg, principal: Any) -> dict[str, Any]:
    if item.result is not None:
        hidden = balances_hidden_from(principal, item.result.wallets.values())
        return {
            "index": index,
            "status": "completed",
            "reference_id": str(item.result.transaction_id),
            "entries": movement_legs(item.result, leg.note, hidden),
            "error": None,
        }
    assert item.error is not None
    error = envelope(item.error.code, item.error.message, item.error.details)
    del error["success"]
    return {"index": index, "status": "failed", "reference_id": None, "entries": [], "error": error}


class BatchTransferView(ApiView):
    serializer_class = BatchInput
    renderer_classes = [JSONRenderer, RawJsonBrowsableAPIRenderer]
    raw_example = {"atomic": False, "transfers": [_EXAMPLE_LEG, _EXAMPLE_LEG]}
    crumb = "Batch"

    def form_intro(self) -> str:
        return "POST up to 1,000 transfers below (JSON): each succeeds or fails on its own unless atomic."

    @extend_schema(
        request=BatchInput,
        parameters=[schema.IDEMPOTENCY_KEY],
        responses={
            **schema.responses(200, schema.BATCH, schema.BATCH_ERRORS),
            201: schema.LEDGER_TRANSACTION,
        },
        tags=["money"],
        operation_id="batch_transfer_create",
        summary="Up to 1,000 transfers in one request: each its own result (or, atomic, all or none)",
        description=(
            "Payouts in bulk: each transfer completes or fails on its own, and the 200 lists every "
            "item's result in the request's order (a refused transfer is a failed item, not an "
            "error). With `atomic: true` (at most 100) they move as one MULTI_LEG transaction, all "
            "or none: 201 with it, as POST /transactions. A staff batch may wait for approval (202)."
        ),
        examples=examples.BATCH,
    )
    def post(self, request: Request) -> Response | HttpResponse:
        data = self.validated(request)
        transfers, owner = _legs(data["transfers"]), sending_owner(request.user)
        initiated_by = request.user.get_username()

        def move() -> tuple[int, Any]:
            if data["atomic"]:
                result = multi_leg.transaction_create(
                    legs=transfers, initiated_by=initiated_by, owner_user_id=owner, items="transfers"
                )
                hidden = balances_hidden_from(request.user, result.wallets.values())
                return 201, multi_leg_data(result, transfers, NO_NOTE, hidden)
            items = multi_leg.batch_transfer(
                transfers=transfers, initiated_by=initiated_by, owner_user_id=owner
            )
            completed = sum(item.result is not None for item in items)
            return 200, {
                "completed": completed,
                "failed": len(items) - completed,
                "items": [
                    _item_data(index, item, transfers[index], request.user)
                    for index, item in enumerate(items)
                ],
            }

        def describe() -> staff_gate.StaffMovement:
            return staff_gate.StaffMovement(
                kind=staff_gate.BATCH,
                moves=staff_gate.legs_moves(transfers),
                request={"transfers": staff_gate.legs_request(transfers), "atomic": data["atomic"]},
            )

        return respond_once(request, staff_gate.gated(request.user, move, describe))
