"""schemathesis hooks (loaded through schemathesis.toml): one project check.

Some refusals answer schema-valid requests because of the state the server holds, which no schema
can state: a withdrawal or transfer larger than the balance (400 `insufficient_funds`), a transfer
to itself or across currencies (`same_wallet`, `currency_mismatch`), a credit past the maximum
balance (`invalid_amount` naming `maximum_balance`), a cursor the server did not issue
(`validation_error` on `cursor` only), an Idempotency-Key already used for another request (422
`idempotency_key_reused`), a capture above its hold (`invalid_amount` naming `held`). And one rule
OpenAPI 3.0 cannot state: metadata keys are 1-40 characters without NUL (`validation_error` on
`metadata`, or a leg's `legs[i].metadata`, about its keys); and one it cannot tie to another field:
an atomic batch has at most 100 transfers (`validation_error` on `transfers` saying so).
schemathesis.toml lets `positive_data_acceptance` accept 400 or 422 on exactly the operations that
answer them; this check keeps it as strict as before for everything else: a schema-valid request
refused with 400 or 422 must carry one of those codes and reasons.
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis

METADATA_FIELD = re.compile(r"(?:(?:legs|transfers)\[\d+\]\.)?metadata")
# too_many_endpoints: a user's webhook endpoints are capped (WEBHOOK_MAX_ENDPOINTS_PER_USER).
STATE_CODES = {
    "insufficient_funds",
    "same_wallet",
    "currency_mismatch",
    "idempotency_key_reused",
    "too_many_endpoints",
}


def refused_for_state(body: Any) -> bool:
    if not isinstance(body, dict):
        return False
    code, details = body.get("code"), body.get("details") or {}
    if code in STATE_CODES:
        return True
    if code == "invalid_amount":
        return "maximum_balance" in details or "held" in details
    if code == "validation_error" and isinstance(details, dict):
        if details and all(METADATA_FIELD.fullmatch(name) for name in details):  # a leg's too
            return all("metadata keys" in str(messages) for messages in details.values())
        if set(details) == {"transfers"}:  # an atomic batch's 100: OpenAPI cannot tie it to `atomic`
            return "atomic batch" in str(details["transfers"])
        if set(details) == {"from"}:  # a statement's period: OpenAPI cannot tie `from` to `to`
            return "before `to`" in str(details["from"])
        return set(details) == {"cursor"}
    return False


@schemathesis.check
def positive_data_refused_only_for_state(ctx: Any, response: Any, case: Any) -> bool | None:
    """A schema-valid request answered 400 or 422 was refused for the server's state, not its shape."""
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code not in (400, 422):
        return None
    try:
        body = response.json()
    except ValueError:
        body = None
    if not refused_for_state(body):
        raise AssertionError(
            f"Schema-valid request refused with {response.status_code} for its shape, not for the "
            f"server's state: {response.text[:300]}"
        )
    return None
