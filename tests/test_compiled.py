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


def test_an_end_users_lock_takes_the_owner_as_text_and_leaves_out_senders_not_theirs():
    """`locks.lock_for_sending`: one statement, the ORM's own, the owner a string argument; the id
    lists padded to a power of two (the same rows), so batches compile few shapes."""
    mine = [services.wallet_create(user_id="compiled-owner") for _ in range(3)]
    theirs = services.wallet_create(user_id="compiled-other")
    senders, receivers = [mine[0].id, mine[1].id, theirs.id], [mine[2].id]
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = locks.lock_for_sending(senders, receivers, "compiled-owner")
    assert set(locked) == {wallet.id for wallet in mine}, "another user's sender is not locked"
    assert len(queries) == 1
    padded = locks._padded([*senders, *receivers])
    assert padded == sorted([*senders, *receivers])  # 4 ids: a power of two already
    sizes = [len(locks._padded([uuid.uuid4() for _ in range(n)])) for n in (1, 2, 3, 4, 5, 1000)]
    assert sizes == [1, 2, 4, 4, 8, 1024]
    assert locks._padded([senders[0], senders[2], senders[1]]) == [*sorted(senders), sorted(senders)[-1]]
    statement = locks._LOCK_FOR_SENDING.statement(padded, receivers, "compiled-owner")
    expected_sql, _ = fresh_sql(locks.owned_or_received_for_update(padded, receivers, "compiled-owner"))
    assert statement[0] == expected_sql
    assert locks._LOCK_FOR_SENDING.statement(padded, receivers, "someone else") is statement
    # Staff (no owner): every wallet named, as lock_user_wallets.
    with transaction.atomic():
        assert set(locks.lock_for_sending(senders, receivers, None)) == {*senders, *receivers}
