"""`manage.py seed_demo`: a small living system to try, and the tokens to try it with (issue #35).

Customers `demo-alice` (USD and EUR wallets), `demo-bob` (USD) and `demo-shop` (USD), moved through
the services as the API would: funds, transfers, a pending hold, a split payment, and a fund above
the approval threshold that waits for a second operator. Operators `demo-ops` (who asked for it) and
`demo-checker` (an approver, who may decide it). With `--password`, both operators can also log in to
the admin and the browsable API.

Why it lives in approvals: the pending approval is the approvals app's, and an app may use the apps
below it (the wallets), never one above. Run twice, it adds no money: the data is made once (found
again by its customers' wallets), and each run prints fresh tokens and the ids to use.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from approvals import services as approvals
from approvals.models import Approval
from approvals.thresholds import threshold
from wallets import holds, multi_leg, services
from wallets.models import Wallet

CUSTOMERS = ("demo-alice", "demo-bob", "demo-shop")
OPERATOR, CHECKER = "demo-ops", "demo-checker"


def issue(username: str, *flags: str) -> str:
    out = io.StringIO()
    call_command("issue_token", username, *flags, "--by", "seed_demo", stdout=out)
    return out.getvalue().strip()


def wallets_of(user_id: str) -> list[Wallet]:
    return list(Wallet.objects.filter(user_id=user_id, kind=Wallet.Kind.USER).order_by("created_at", "id"))


@transaction.atomic
def seed(operator: Any) -> None:
    note = services.Note
    alice = services.wallet_create(user_id="demo-alice", currency="USD")
    alice_eur = services.wallet_create(user_id="demo-alice", currency="EUR")
    bob = services.wallet_create(user_id="demo-bob", currency="USD")
    shop = services.wallet_create(user_id="demo-shop", currency="USD")
    by = OPERATOR
    services.wallet_fund(wallet_id=alice.id, amount=Decimal("500.00"), initiated_by=by, note=note("top-up"))
    services.wallet_fund(
        wallet_id=alice_eur.id, amount=Decimal("250.00"), initiated_by=by, note=note("top-up")
    )
    services.wallet_fund(wallet_id=bob.id, amount=Decimal("120.00"), initiated_by=by, note=note("top-up"))
    services.transfer_create(
        from_wallet_id=alice.id,
        to_wallet_id=bob.id,
        amount=Decimal("42.50"),
        initiated_by="demo-alice",
        owner_user_id="demo-alice",
        note=note("dinner", {"split": "2"}),
    )
    services.transfer_create(
        from_wallet_id=bob.id,
        to_wallet_id=alice.id,
        amount=Decimal("10.00"),
        initiated_by="demo-bob",
        owner_user_id="demo-bob",
        note=note("taxi"),
    )
    holds.hold_create(
        from_wallet_id=alice.id,
        to_wallet_id=shop.id,
        amount=Decimal("60.00"),
        initiated_by="demo-alice",
        owner_user_id="demo-alice",
        note=note("order 1001", {"order": "1001"}),
    )
    multi_leg.transaction_create(
        legs=[
            multi_leg.Leg(alice.id, shop.id, Decimal("95.00")),
            multi_leg.Leg(alice.id, bob.id, Decimal("5.00")),
        ],
        initiated_by="demo-alice",
        owner_user_id="demo-alice",
        note=note("order 1002, 5 to the courier"),
    )
    approvals.movement_request(
        wallet_id=shop.id,
        amount=threshold(shop.currency) + Decimal("500"),
        withdraw=False,
        note=note("wire 4711"),
        requested_by=operator,
        via="seed_demo",
    )


class Command(BaseCommand):
    help = "Create a small demo dataset (once) and print tokens to try it with."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--password", help="also let demo-ops and demo-checker log in with this password")

    def handle(self, *args: Any, **options: Any) -> None:
        ops_token = issue(OPERATOR, "--operator")
        checker_token = issue(CHECKER, "--operator")
        call_command("grant_approver", CHECKER, stdout=io.StringIO())
        users = get_user_model().objects
        if options["password"]:
            for name in (OPERATOR, CHECKER):
                user = users.get(username=name)
                user.set_password(options["password"])
                user.save(update_fields=["password"])
        made = not wallets_of("demo-alice")
        if made:
            seed(users.get(username=OPERATOR))
        tokens = {name: issue(name) for name in CUSTOMERS}
        pending = Approval.objects.filter(
            requested_by__username=OPERATOR, status=Approval.Status.PENDING
        ).first()
        write = self.stdout.write
        write("demo data " + ("created" if made else "already there: nothing added"))
        write(f"export OPS={ops_token}  # operator demo-ops")
        write(f"export CHECKER={checker_token}  # operator and approver demo-checker")
        for name, token in tokens.items():
            variable = name.removeprefix("demo-").upper()
            ids = " ".join(f"{w.currency}:{w.id}" for w in wallets_of(name))
            write(f"export {variable}={token}  # {name}: {ids}")
        if pending is not None:
            write(f"# waiting for a second operator: approval {pending.id} ({pending.kind} {pending.amount})")
