"""schemathesis against our own OpenAPI document: generated requests, no 5xx, responses match it.

Runs in-process against the WSGI app and the real PostgreSQL, once with an operator token and once
with an end user's, so both permission paths are fuzzed. At least 1,000 requests in all.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import issue_key
from walletproject.wsgi import application
from wallets import services

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 80
MIN_REQUESTS = 1000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


def token_headers(username: str, *, staff: bool) -> dict[str, str]:
    return {"Authorization": f"Token {issue_key(username, staff=staff)}"}


@pytest.fixture
def keep_test_connection():
    """The WSGI handler closes "old" connections around each request; Django's test client stops
    that, and so must we, or the test's transaction (and its data) would be closed under it."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_generated_requests_never_fail_the_server_or_the_schema(keep_test_connection):
    operator = token_headers("fuzz-ops", staff=True)
    user = token_headers("fuzz-user", staff=False)
    # Some real wallets, so that not every generated request ends at "not found".
    for owner in ("fuzz-user", "fuzz-other"):
        wallet = services.wallet_create(user_id=owner)
        services.wallet_fund(wallet_id=wallet.id, amount=Decimal(10**6), initiated_by="fuzz")

    schema = schemathesis.openapi.from_wsgi("/api/schema/", application, headers=operator)
    requests = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 7

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case: schemathesis.Case) -> None:
            nonlocal requests
            for headers in (operator, user):
                case.call_and_validate(headers=headers, checks=CHECKS)
                requests += 1

        exercise()

    assert requests >= MIN_REQUESTS, f"only {requests} requests were generated"
