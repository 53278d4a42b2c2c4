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

Cost under the locks (issue #37: an operator's funds into one wallet queued on them): the wallets'
read, the locks and the window's sums are one round trip (approvals/sql/staff_gate.sql), the
records one more, and the sums read per-minute totals (`StaffMovementMinute`), at most the
window's minutes, not every movement in it. The window therefore counts whole minutes: a movement
counts from its minute until that minute is older than the window, up to one minute longer than
the window itself, never less.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from wallets import staff_gate
from wallets.models import LedgerTransaction
from wallets.services import Note

from . import services, thresholds
from .api.serializers import approval_data

# pg_advisory_xact_lock(namespace, key)'s namespaces: an operator's (key: the low 32 bits of the
# user's pk) and a wallet's (key: the low 32 bits of its id; two wallets sharing one only wait for
# each other). The keys are computed in approvals/sql/staff_gate.sql.
OPERATOR_LOCKS, WALLET_LOCKS = 0x5741_0001, 0x5741_0002
TWO_SIDED = {
    staff_gate.TRANSFER,
    staff_gate.SPLIT,
    staff_gate.BATCH,
    staff_gate.HOLD_CREATE,
    staff_gate.HOLD_CAPTURE,
}


class PolicyWallet(NamedTuple):
    """What the policy knows of a movement's wallet (approvals/sql/staff_gate.sql reads it, and
    decides which wallets are customers': user wallets not the operator's own, the ones it locks)."""

    currency: str
    customer: bool


def _read_lock_and_sum(
    operator: Any, wallet_ids: list[uuid.UUID], since: datetime
) -> tuple[dict[uuid.UUID, PolicyWallet], dict[str, Decimal], dict[uuid.UUID, Decimal]]:
    """One round trip: the movement's wallets; then, if any is a customer's, the operator's advisory
    lock and each customer wallet's (held to the end of the transaction) and what ran without
    approval since `since`: the operator's total per currency, and each customer wallet's (what
    staff debited or credited there)."""
    wallets: dict[uuid.UUID, PolicyWallet] = {}
    moved: dict[str, Decimal] = {}
    received_or_sent: dict[uuid.UUID, Decimal] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT part, wallet_id, currency, customer, total FROM approvals_gate(%s, %s, %s, %s, %s, %s)",
            [OPERATOR_LOCKS, WALLET_LOCKS, operator.pk, operator.get_username(), wallet_ids, since],
        )
        for part, wallet_id, currency, customer, total in cursor.fetchall():
            if part == "wallet":
                wallets[wallet_id] = PolicyWallet(currency, customer)
            elif part == "operator":
                moved[currency] = total
            else:
                received_or_sent[wallet_id] = total
    return wallets, moved, received_or_sent


def _minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _limit(limits: dict[str, Decimal], default: Decimal, currency: str) -> Decimal:
    return limits.get(currency, default)


def _window_start(now: datetime) -> datetime:
    """The first minute the window counts: the one holding `now - window` (whole minutes)."""
    return _minute(now - timedelta(hours=float(settings.APPROVAL_LIMIT_WINDOW_HOURS)))


def totals_by_currency(
    movement: staff_gate.StaffMovement, wallets: dict[uuid.UUID, PolicyWallet]
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
    movement: staff_gate.StaffMovement,
    customers: dict[uuid.UUID, PolicyWallet],
    totals: dict[str, Decimal],
    moved: dict[str, Decimal],
    received_or_sent: dict[uuid.UUID, Decimal],
) -> str | None:
    """Why the movement waits for a second operator, or None: it may run now. `moved` is what the
    operator ran without approval in the window, per currency; `received_or_sent`, per wallet."""
    if movement.kind == staff_gate.REVERSE:
        for currency, biggest in totals.items():
            if thresholds.reversal_needs_approval(currency=currency, amount=biggest):
                return "reversal"
    if any(thresholds.movement_needs_approval(currency=c, amount=total) for c, total in totals.items()):
        return "threshold"
    for currency, total in totals.items():
        limit = _limit(settings.APPROVAL_OPERATOR_LIMITS, settings.APPROVAL_OPERATOR_LIMIT_DEFAULT, currency)
        if moved.get(currency, Decimal(0)) + total > limit:
            return "operator_limit"
    for wallet_id, wallet in customers.items():
        limit = _limit(
            settings.APPROVAL_WALLET_LIMITS, settings.APPROVAL_WALLET_LIMIT_DEFAULT, wallet.currency
        )
        if received_or_sent.get(wallet_id, Decimal(0)) + movement.moves[wallet_id] > limit:
            return "wallet_limit"
    return None


# The movement's rows (one per currency for the operator, without a wallet; one per customer
# wallet) and the same amounts added to their minutes' totals, in one statement.
RECORD_SQL = """
WITH movement (wallet_id, currency, amount) AS (
    SELECT * FROM unnest(%(wallets)s::uuid[], %(currencies)s::text[], %(amounts)s::numeric[])
), detail AS (
    INSERT INTO approvals_unapprovedstaffmovement (operator_id, wallet_id, currency, amount, at)
    SELECT %(operator)s, wallet_id, currency, amount, %(at)s FROM movement
), operator_minute AS (
    INSERT INTO approvals_staffmovementminute AS total (operator_id, wallet_id, currency, minute, amount)
    SELECT %(operator)s, NULL, currency, %(minute)s, amount FROM movement WHERE wallet_id IS NULL
    ON CONFLICT (operator_id, currency, minute) WHERE wallet_id IS NULL
    DO UPDATE SET amount = total.amount + excluded.amount
)
INSERT INTO approvals_staffmovementminute AS total (operator_id, wallet_id, currency, minute, amount)
SELECT NULL, wallet_id, currency, %(minute)s, amount FROM movement WHERE wallet_id IS NOT NULL
ON CONFLICT (wallet_id, minute) WHERE wallet_id IS NOT NULL
DO UPDATE SET amount = total.amount + excluded.amount
"""


def _record(
    operator: Any,
    movement: staff_gate.StaffMovement,
    customers: dict[uuid.UUID, PolicyWallet],
    totals: dict[str, Decimal],
    now: datetime,
) -> None:
    rows: list[tuple[uuid.UUID | None, str, Decimal]] = [
        (None, currency, total) for currency, total in totals.items() if total > 0
    ]
    rows += [
        (wallet_id, wallet.currency, movement.moves[wallet_id])
        for wallet_id, wallet in sorted(customers.items())
    ]
    wallets, currencies, amounts = (list(column) for column in zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            RECORD_SQL,
            {
                "wallets": wallets,
                "currencies": currencies,
                "amounts": amounts,
                "operator": operator.pk,
                "at": now,
                "minute": _minute(now),
            },
        )


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
        since = _window_start(now)
        wallets, moved, received_or_sent = _read_lock_and_sum(operator, list(movement.moves), since)
        customers = {wallet_id: wallet for wallet_id, wallet in wallets.items() if wallet.customer}
        if not customers:
            return run()  # the operator's own wallets, or none known (the movement answers 404)
        totals = totals_by_currency(movement, wallets)
        if why_wait(movement, customers, totals, moved, received_or_sent) is None:
            status, body = run()
            _record(operator, movement, customers, totals, now)
            return status, body
        approval = _request_approval(operator, movement, totals, via)
        return 202, approval_data(approval)


def install() -> None:
    staff_gate.install(staff_movement_submit)
