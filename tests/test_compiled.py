"""common.compiled: the ORM's statement, compiled once, gives what the queryset gives."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from common.compiled import CompiledQuery
from wallets import locks, selectors, services
from wallets.models import Wallet

pytestmark = pytest.mark.django_db


def fresh_sql(queryset) -> tuple[str, list[object]]:
    sql, params = queryset.query.get_compiler(using="default").as_sql()
    return sql, list(params)


def test_the_wallet_lock_runs_the_querysets_own_sql_with_the_callers_ids():
    wallets = sorted([services.wallet_create(user_id=f"compiled-{n}") for n in range(3)], key=lambda w: w.id)
    ids = [wallet.id for wallet in wallets]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = locks.lock_user_wallets([ids[2], ids[0], uuid.uuid4()])
        expected_sql, _ = fresh_sql(locks.user_wallets_for_update(sorted([ids[0], ids[2], uuid.uuid4()])))
    assert list(locked) == [ids[0], ids[2]]
    assert len(queries) == 1
    executed = queries[0]["sql"]
    assert "FOR NO KEY UPDATE" in executed and ids[0].hex in executed and ids[2].hex in executed
    statement = locks._LOCK.statement([ids[0], ids[2], uuid.uuid4()])[0]
    assert statement == expected_sql


def test_rows_come_back_as_the_orm_would_build_them():
    wallet = services.wallet_create(user_id="compiled-rows")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("12.3400"), initiated_by="t")
    through_orm = Wallet.objects.get(id=wallet.id)
    [compiled] = selectors._USER_WALLET.run(wallet.id)
    assert compiled == through_orm
    for field in Wallet._meta.concrete_fields:
        assert getattr(compiled, field.attname) == getattr(through_orm, field.attname), field.name
    assert compiled._state.adding is False and compiled._state.db == "default"
    assert selectors._USER_WALLET.run(uuid.uuid4()) == []


def test_a_system_wallet_is_not_found_by_the_user_wallet_read():
    services.wallet_fund(
        wallet_id=services.wallet_create(user_id="compiled-sys").id,
        amount=Decimal("1"),
        initiated_by="t",
    )
    system = Wallet.objects.filter(kind=Wallet.Kind.SYSTEM).first()
    assert system is not None
    assert selectors._USER_WALLET.run(system.id) == []


def test_each_shape_is_compiled_once_and_constants_stay_constant():
    compiled = CompiledQuery(Wallet, lambda ids: Wallet.objects.filter(id__in=ids, kind=Wallet.Kind.USER))
    one = compiled.statement([uuid.uuid4()])
    two = compiled.statement([uuid.uuid4(), uuid.uuid4()])
    assert compiled.statement([uuid.uuid4()]) is one
    assert one[0].count("%s") == 2 and two[0].count("%s") == 3
    assert [type(slot).__name__ for slot in two[1]] == ["tuple", "tuple", "_Constant"]


def test_a_queryset_that_selects_part_of_the_model_is_refused():
    compiled = CompiledQuery(Wallet, lambda wallet_id: Wallet.objects.filter(id=wallet_id).only("id"))
    with pytest.raises(TypeError, match="every concrete field"):
        compiled.statement(uuid.uuid4())


def test_an_argument_the_orm_turns_into_something_else_is_refused():
    # A text field makes the UUID placeholder a string: the statement could not take the value.
    compiled = CompiledQuery(Wallet, lambda user_id: Wallet.objects.filter(user_id=user_id))
    with pytest.raises(TypeError, match="reach the SQL as itself"):
        compiled.statement(uuid.uuid4())
