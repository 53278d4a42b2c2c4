"""One policy for staff money: which staff movement runs now, and which waits for a second operator.

Every movement an operator starts on a customer's wallet (fund, withdraw, transfer, split, batch,
hold create and capture, reversal; from the API or the admin) reaches `staff_movement_submit`
through `wallets.staff_gate`, installed at start-up (apps.py). It waits when:

- it is a reversal (`APPROVAL_ALL_REVERSALS`, the default; else above the threshold);
- what it moves in a currency (a split's or batch's total) is above `APPROVAL_THRESHOLD`;
- the operator's unapproved total in that currency over the window (`APPROVAL_LIMIT_WINDOW_HOURS`,
  24) would pass `APPROVAL_OPERATOR_LIMIT`; or
- any customer wallet's unapproved staff total over the window (what staff debited or credited
  there) would pass `APPROVAL_WALLET_LIMIT`.

So splitting a large movement into small ones only reaches the limits sooner. A movement that
touches only the operator's own wallets runs as an end user's would. What runs without approval
is recorded (`UnapprovedStaffMovement`) in its own transaction; approved movements had their
second operator and count towards no limit.

Concurrency: the decision and the movement run under transaction-scoped advisory locks, the
operator's and each customer wallet's (in one order: the operator, then the wallets by key), so
two staff movements cannot both fit under a limit only one fits; different operators on different
wallets do not wait for each other. An end user's movement never takes them.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone

from wallets import staff_gate
from wallets.models import LedgerTransaction, Wallet
from wallets.services import Note

from . import services, thresholds
from .api.serializers import approval_data
from .models import UnapprovedStaffMovement

# pg_advisory_xact_lock(namespace, key)'s namespaces: an operator's (key: the user's pk) and a
# wallet's (key: 32 bits of its id; two wallets sharing one only wait for each other).
OPERATOR_LOCKS, WALLET_LOCKS = 0x5741_0001, 0x5741_0002
TWO_SIDED = {
    staff_gate.TRANSFER,
    staff_gate.SPLIT,
    staff_gate.BATCH,
    staff_gate.HOLD_CREATE,
    staff_gate.HOLD_CAPTURE,
}


def _signed32(value: int) -> int:
    return value - (1 << 32) if value >= 1 << 31 else value


def _lock(operator: Any, customers: dict[uuid.UUID, Wallet]) -> None:
    """The operator's advisory lock, then each customer wallet's, in one statement (its calls run
    in order: the wallets' keys sorted), held to the end of the transaction."""
    keys = [(OPERATOR_LOCKS, _signed32(int(operator.pk) & 0xFFFF_FFFF))]
    keys += sorted({(WALLET_LOCKS, _signed32(wallet_id.int & 0xFFFF_FFFF)) for wallet_id in customers})
    calls = ", ".join("pg_advisory_xact_lock(%s, %s)" for _ in keys)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {calls}", [part for key in keys for part in key])


def _limit(limits: dict[str, Decimal], default: Decimal, currency: str) -> Decimal:
    return limits.get(currency, default)


def _window_start(now: datetime) -> datetime:
    return now - timedelta(hours=float(settings.APPROVAL_LIMIT_WINDOW_HOURS))


def totals_by_currency(
    movement: staff_gate.StaffMovement, wallets: dict[uuid.UUID, Wallet]
) -> dict[str, Decimal]:
    """What the movement moves in each currency (each leg once, not once per side; a reversal, its
    largest leg, as the threshold has always weighed it)."""
    sides = 2 if movement.kind in TWO_SIDED else 1
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for wallet_id, amount in movement.moves.items():
        if wallet_id in wallets:
            currency = wallets[wallet_id].currency
            if movement.kind == staff_gate.REVERSE:
                totals[currency] = max(totals[currency], amount)
            else:
                totals[currency] += amount
    return {currency: total / sides for currency, total in totals.items()}


def why_wait(
    operator: Any,
    movement: staff_gate.StaffMovement,
    customers: dict[uuid.UUID, Wallet],
    totals: dict[str, Decimal],
    now: datetime,
) -> str | None:
    """Why the movement waits for a second operator, or None: it may run now."""
    if movement.kind == staff_gate.REVERSE:
        for currency, biggest in totals.items():
            if thresholds.reversal_needs_approval(currency=currency, amount=biggest):
                return "reversal"
    if any(thresholds.movement_needs_approval(currency=c, amount=total) for c, total in totals.items()):
        return "threshold"
    # What ran without approval in the window: one query for the operator (by currency), one for
    # the wallets (by wallet), however many a batch names.
    recent = UnapprovedStaffMovement.objects.filter(at__gt=_window_start(now)).order_by()
    moved = dict(
        recent.filter(operator=operator, wallet__isnull=True, currency__in=list(totals))
        .values_list("currency")
        .annotate(total=Sum("amount"))
    )
    for currency, total in totals.items():
        limit = _limit(settings.APPROVAL_OPERATOR_LIMITS, settings.APPROVAL_OPERATOR_LIMIT_DEFAULT, currency)
        if moved.get(currency, Decimal(0)) + total > limit:
            return "operator_limit"
    received_or_sent = dict(
        recent.filter(wallet_id__in=list(customers)).values_list("wallet_id").annotate(total=Sum("amount"))
    )
    for wallet_id, wallet in customers.items():
        limit = _limit(
            settings.APPROVAL_WALLET_LIMITS, settings.APPROVAL_WALLET_LIMIT_DEFAULT, wallet.currency
        )
        if received_or_sent.get(wallet_id, Decimal(0)) + movement.moves[wallet_id] > limit:
            return "wallet_limit"
    return None


def _record(
    operator: Any,
    movement: staff_gate.StaffMovement,
    customers: dict[uuid.UUID, Wallet],
    totals: dict[str, Decimal],
    now: datetime,
) -> None:
    rows = [
        UnapprovedStaffMovement(operator=operator, wallet=None, currency=currency, amount=total, at=now)
        for currency, total in totals.items()
        if total > 0
    ]
    rows += [
        UnapprovedStaffMovement(
            operator=operator,
            wallet_id=wallet_id,
            currency=wallet.currency,
            amount=movement.moves[wallet_id],
            at=now,
        )
        for wallet_id, wallet in customers.items()
    ]
    UnapprovedStaffMovement.objects.bulk_create(rows)


def _request_approval(
    operator: Any, movement: staff_gate.StaffMovement, totals: dict[str, Decimal], via: str
) -> Any:
    """Record the movement as pending, its own request checks first (services)."""
    request = movement.request
    if movement.kind in (staff_gate.FUND, staff_gate.WITHDRAW):
        return services.movement_request(
            wallet_id=uuid.UUID(request["wallet_id"]),
            amount=Decimal(request["amount"]),
            withdraw=movement.kind == staff_gate.WITHDRAW,
            note=Note.of(request),
            requested_by=operator,
            via=via,
        )
    if movement.kind == staff_gate.REVERSE:
        original = LedgerTransaction.objects.get(id=uuid.UUID(request["transaction_id"]))
        return services.reversal_request(
            original=original, reason=request["reason"], requested_by=operator, via=via
        )
    currency, amount = max(totals.items(), key=lambda item: item[1])
    return services.staff_request(
        kind=movement.kind,
        request=request,
        wallet_id=movement.wallet_id,
        currency=currency,
        amount=amount,
        requested_by=operator,
        via=via,
    )


def staff_movement_submit(
    operator: Any, movement: staff_gate.StaffMovement, run: staff_gate.Run, via: str
) -> tuple[int, Any]:
    """Run a staff movement now, or record it as pending and answer 202 with the approval."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        wallets = {
            wallet.id: wallet
            for wallet in Wallet.objects.filter(id__in=list(movement.moves)).only(
                "id", "user_id", "currency", "kind"
            )
        }
        customers = {
            wallet_id: wallet
            for wallet_id, wallet in wallets.items()
            if wallet.kind == Wallet.Kind.USER and wallet.user_id != operator.get_username()
        }
        if not customers:
            return run()  # the operator's own wallets, or none known (the movement answers 404)
        _lock(operator, customers)
        totals = totals_by_currency(movement, wallets)
        if why_wait(operator, movement, customers, totals, now) is None:
            status, body = run()
            _record(operator, movement, customers, totals, now)
            return status, body
        approval = _request_approval(operator, movement, totals, via)
        return 202, approval_data(approval)


def install() -> None:
    staff_gate.install(staff_movement_submit)
