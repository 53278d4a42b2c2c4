"""How PostgreSQL plans the one statement that writes a split or a batch (`ledger_writes.write_many`).

Its wallet update joins the new balances to the wallet table. Read straight from
`jsonb_to_recordset` (estimated at 100 rows, whatever they are), PostgreSQL hashed them and scanned
every wallet, a cost that grew with the table: 0.6 ms a split at 3,000 wallets. Migration 0010's
`wallets_new_balances` gives the rows an estimate the planner can use, so each wallet is looked up
by its key. The table here has 3,000 wallets and fresh statistics, as the benchmark's had.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from wallets import multi_leg, services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db

WALLETS_IN_THE_TABLE = 3000


@pytest.fixture
def crowded_wallet_table(db: Any) -> None:
    crowd = (Wallet(user_id=f"crowd-{n}", currency="USD") for n in range(WALLETS_IN_THE_TABLE))
    Wallet.objects.bulk_create(crowd)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE wallets_wallet")


def plans_of_the_write(move: Callable[[], Any]) -> list[str]:
    """EXPLAIN of each write_many statement `move` runs, with its own parameters, then the run."""
    plans: list[str] = []

    def explain_first(execute: Any, sql: str, params: Any, many: bool, context: dict[str, Any]) -> Any:
        if sql.lstrip().startswith("WITH moved AS"):
            execute("EXPLAIN " + sql, params, many, context)
            plans.append("\n".join(row[0] for row in context["cursor"].fetchall()))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(explain_first):
        move()
    return plans


def funded(user_id: str) -> Wallet:
    wallet = services.wallet_create(user_id=user_id)
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("100"), initiated_by="test")
    return wallet


def assert_wallets_looked_up_by_key(plan: str) -> None:
    update = plan.split("CTE transactions")[0]  # the wallet update's part of the plan
    assert "Seq Scan on wallets_wallet" not in update, plan
    assert "Index Scan using" in update and "on wallets_wallet" in update, plan


@pytest.mark.usefixtures("crowded_wallet_table")
def test_a_split_updates_its_wallets_by_key_not_by_a_scan_of_the_table():
    buyer, seller, platform, tax = funded("buyer"), funded("seller"), funded("platform"), funded("tax")
    legs = [multi_leg.Leg(buyer.id, target.id, Decimal("1")) for target in (seller, platform, tax)]

    (plan,) = plans_of_the_write(lambda: multi_leg.transaction_create(legs=legs, initiated_by="test"))

    assert_wallets_looked_up_by_key(plan)
    buyer.refresh_from_db()
    assert (buyer.balance, buyer.version) == (Decimal("97.0000"), 4)  # the statement ran, as planned


@pytest.mark.usefixtures("crowded_wallet_table")
def test_a_batch_updates_its_wallets_by_key_too():
    wallets = [funded(f"payee-{n}") for n in range(10)]
    transfers = [multi_leg.Leg(wallets[0].id, target.id, Decimal("0.5")) for target in wallets[1:]]

    (plan,) = plans_of_the_write(lambda: multi_leg.batch_transfer(transfers=transfers, initiated_by="test"))

    assert_wallets_looked_up_by_key(plan)
    assert Wallet.objects.get(id=wallets[0].id).balance == Decimal("95.5000")
