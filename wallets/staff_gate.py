"""The one gate every staff money movement passes: fund, withdraw, transfer, split, batch, hold
create and capture, reversal, from the API and the admin alike.

Why a gate here: the policy (who waits for a second operator) is the approvals app's, which sits
above the wallets and may not be imported by them. So the wallets describe each staff movement
(`StaffMovement`: what it is, which wallets it debits or credits and by how much, and the request
as made) and hand it, with the function that runs it, to `submit`; the approvals app installs
its policy here at start-up (`install`). Without one installed, staff movements are refused:
the gate fails closed. An end user's movement never reaches it (one attribute test).

`execute` runs a transfer, split, batch or hold movement recorded earlier from its request, as an
approval does once a second operator approved it: the same services, every rule checked again
under the wallets' locks. (An approved fund, withdrawal or reversal runs from the approval's own
fields: approvals/services.py.)
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from common.errors import ApplicationError

from . import holds, multi_leg, services
from .models import Hold, LedgerEntry

Run = Callable[[], tuple[int, Any]]
Gate = Callable[[Any, "StaffMovement", Run, str], tuple[int, Any]]

FUND, WITHDRAW, TRANSFER, SPLIT, BATCH = "fund", "withdraw", "transfer", "split", "batch"
HOLD_CREATE, HOLD_CAPTURE, REVERSE = "hold_create", "hold_capture", "reverse"
KINDS = (FUND, WITHDRAW, TRANSFER, SPLIT, BATCH, HOLD_CREATE, HOLD_CAPTURE, REVERSE)


@dataclass(frozen=True)
class StaffMovement:
    """A staff movement as the policy weighs it. `moves` is what each wallet gains or gives (a
    positive amount either way; a wallet in several legs, their sum); `request` is JSON that
    `execute` runs later (ids, decimals as text)."""

    kind: str
    moves: dict[uuid.UUID, Decimal]
    request: dict[str, Any] = field(default_factory=dict)
    wallet_id: uuid.UUID | None = None  # the wallet an approval names (funded, sending)


class StaffGateMissing(ApplicationError):
    status_code = 503
    code = "staff_gate_missing"
    default_message = "Staff movements are unavailable: no approval policy is installed."


_gate: Gate | None = None


def install(gate: Gate) -> None:
    global _gate
    _gate = gate


def submit(principal: Any, movement: StaffMovement, run: Run, *, via: str = "api") -> tuple[int, Any]:
    """Run `run` now, or record the movement for a second operator (then a 202 and the approval).
    Call inside the request's transaction (the Idempotency-Key's), so a replay answers the same."""
    if not getattr(principal, "is_staff", False):
        return run()
    if _gate is None:
        raise StaffGateMissing()
    return _gate(principal, movement, run, via)


def gated(principal: Any, run: Run, describe: Callable[[], StaffMovement], *, via: str = "api") -> Run:
    """`run` itself for an end user (nothing built, nothing asked); for staff, `run` behind the
    gate, the movement described only then."""
    if not getattr(principal, "is_staff", False):
        return run
    return lambda: submit(principal, describe(), run, via=via)


def sending_movement(
    kind: str, sender: uuid.UUID, receiver: uuid.UUID, amount: Decimal, **request: Any
) -> StaffMovement:
    """A transfer or a hold from `sender` to `receiver` as the policy weighs it (`request`: the
    rest of the body, its note among it)."""
    return StaffMovement(
        kind=kind,
        moves={sender: amount, receiver: amount} if receiver != sender else {sender: amount},
        request={
            "from_wallet_id": str(sender),
            "to_wallet_id": str(receiver),
            "amount": str(amount),
            **request,
        },
        wallet_id=sender,
    )


def reversal_movement(original: Any, reason: str) -> StaffMovement:
    """A reversal of `original` as the policy weighs it: each user wallet it touched, by the
    amount it moved there."""
    moves: dict[uuid.UUID, Decimal] = {}
    for wallet_id, amount in LedgerEntry.objects.filter(
        transaction=original, wallet_version__isnull=False
    ).values_list("wallet_id", "amount"):
        moves[wallet_id] = moves.get(wallet_id, Decimal(0)) + abs(amount)
    return StaffMovement(
        kind=REVERSE,
        moves=moves,
        request={"transaction_id": str(original.id), "reason": reason},
    )


def legs_moves(legs: list[multi_leg.Leg]) -> dict[uuid.UUID, Decimal]:
    """What each wallet of a split's legs or a batch's transfers gives or gains."""
    moves: dict[uuid.UUID, Decimal] = {}
    for leg in legs:
        for wallet_id in (leg.from_wallet_id, leg.to_wallet_id):
            moves[wallet_id] = moves.get(wallet_id, Decimal(0)) + leg.amount
    return moves


def legs_request(legs: list[multi_leg.Leg]) -> list[dict[str, Any]]:
    return [
        {
            "from_wallet_id": str(leg.from_wallet_id),
            "to_wallet_id": str(leg.to_wallet_id),
            "amount": str(leg.amount),
            **leg.note.fields(),
        }
        for leg in legs
    ]


def _legs(items: list[dict[str, Any]]) -> list[multi_leg.Leg]:
    return [
        multi_leg.Leg(
            uuid.UUID(item["from_wallet_id"]),
            uuid.UUID(item["to_wallet_id"]),
            Decimal(item["amount"]),
            services.Note.of(item),
        )
        for item in items
    ]


@dataclass(frozen=True)
class Executed:
    """What an approved movement made: its ledger transaction (if one), and what else to show."""

    transaction_id: uuid.UUID | None
    result: dict[str, Any]


def execute(kind: str, request: dict[str, Any], *, initiated_by: str) -> Executed:
    """Run a recorded transfer, split, batch or hold movement now (its rules checked again); a
    refusal raises its error."""
    if kind == TRANSFER:
        done = services.transfer_create(
            from_wallet_id=uuid.UUID(request["from_wallet_id"]),
            to_wallet_id=uuid.UUID(request["to_wallet_id"]),
            amount=Decimal(request["amount"]),
            initiated_by=initiated_by,
            note=services.Note.of(request),
        )
        return Executed(done.transaction_id, {})
    if kind == SPLIT:
        done = multi_leg.transaction_create(
            legs=_legs(request["legs"]), initiated_by=initiated_by, note=services.Note.of(request)
        )
        return Executed(done.transaction_id, {})
    if kind == BATCH:
        transfers = _legs(request["transfers"])
        if request.get("atomic"):
            done = multi_leg.transaction_create(legs=transfers, initiated_by=initiated_by, items="transfers")
            return Executed(done.transaction_id, {})
        items = multi_leg.batch_transfer(transfers=transfers, initiated_by=initiated_by)
        return Executed(
            None,
            {
                "items": [
                    {"reference_id": str(item.result.transaction_id)}
                    if item.result is not None
                    else {"error": item.error.code if item.error else "failed"}
                    for item in items
                ]
            },
        )
    if kind == HOLD_CREATE:
        hold = holds.hold_create(
            from_wallet_id=uuid.UUID(request["from_wallet_id"]),
            to_wallet_id=uuid.UUID(request["to_wallet_id"]),
            amount=Decimal(request["amount"]),
            initiated_by=initiated_by,
            expires_in=int(request["expires_in"]),
            note=services.Note.of(request),
        )
        return Executed(None, {"hold_id": str(hold.id)})
    if kind == HOLD_CAPTURE:
        captured = holds.hold_capture(
            hold=Hold.objects.get(id=uuid.UUID(request["hold_id"])),
            amount=Decimal(request["amount"]) if request.get("amount") is not None else None,
            initiated_by=initiated_by,
            note=services.Note.of(request["note"]) if "note" in request else None,
        )
        return Executed(captured.transaction_id, {"hold_id": request["hold_id"]})
    raise ValueError(f"not a staff movement: {kind}")
