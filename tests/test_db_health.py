"""common.postgresql: a persistent connection the server closed is found and replaced before use,
without a query; a healthy one is kept."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import connections

from common.postgresql.url import database_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def own_connection():
    """A connection object of the test's own (the test's transaction keeps the default one)."""
    connection = connections.create_connection("default")
    connection.ensure_connection()
    yield connection
    connection.close()


def backend_pid(connection) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def test_a_healthy_idle_connection_is_kept(own_connection):
    pid = backend_pid(own_connection)
    assert own_connection.is_usable()
    own_connection.health_check_done = False  # what the start of every request does
    own_connection.close_if_health_check_failed()
    assert backend_pid(own_connection) == pid  # the same session: nothing was reopened


def test_a_connection_the_server_closed_is_replaced_before_the_next_query(own_connection):
    pid = backend_pid(own_connection)
    with psycopg.connect(database_url(), autocommit=True) as admin:
        assert admin.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone() == (True,)
    deadline = time.monotonic() + 5
    while own_connection.is_usable():
        assert time.monotonic() < deadline, "the closed connection still looks usable"
        time.sleep(0.05)
    own_connection.health_check_done = False
    own_connection.close_if_health_check_failed()
    new_pid = backend_pid(own_connection)  # no error: a new session
    assert new_pid != pid


def test_the_database_url_reaches_the_test_database_or_a_named_sibling():
    """What subprocesses and admin connections are given: the connection's own database (pytest's
    test database, not the configured one), or another on the same server by name."""
    name = connections["default"].settings_dict["NAME"]
    with psycopg.connect(database_url(), autocommit=True) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == (name,)
    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("postgres",)


@pytest.mark.django_db(transaction=True)
def test_a_write_refused_by_a_read_only_server_is_a_503_and_the_connection_is_dropped():
    """What a request sees when a failover demoted the server its connection chose (issue #36): the
    write is refused (SQLSTATE 25006), the answer is 503 with Retry-After, never a 500, nothing is
    written, and the connection is closed at the request's end so the next one finds the primary."""
    from decimal import Decimal

    from django.db import connection

    from tests.conftest import make_client
    from wallets import services

    wallet = services.wallet_create(user_id="alice")
    services.wallet_fund(wallet_id=wallet.id, amount=Decimal("10"), initiated_by="test")
    other = services.wallet_create(user_id="bob")
    alice = make_client("alice")
    name = connection.settings_dict["NAME"]
    with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    try:
        connection.close()  # the next session starts read-only, as on a demoted primary
        response = alice.post(
            f"/wallets/{wallet.id}/transfer", {"to_wallet_id": str(other.id), "amount": "1"}, format="json"
        )
        assert response.status_code == 503, response.content
        assert response.json()["code"] == "service_unavailable"
        assert response["Retry-After"] == "1"
        # Closed at the request's end, not kept for the next (the test client leaves out the
        # request_finished handler that would call this):
        connection.close_if_unusable_or_obsolete()
        assert connection.connection is None
    finally:
        with psycopg.connect(database_url("postgres"), autocommit=True) as admin:
            admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        connection.close()
    wallet.refresh_from_db()
    assert wallet.balance == Decimal("10")
    assert wallet.version == 1
