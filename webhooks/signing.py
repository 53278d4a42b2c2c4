"""Standard Webhooks signatures (standardwebhooks): `webhook-id`, `webhook-timestamp` and
`webhook-signature`, one `v1,<base64 HMAC-SHA256>` per valid secret, space-separated, so during a
rotation's overlap a receiver holding either secret verifies the request."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

PREFIX = "whsec_"


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(24)).decode()


def headers(*, msg_id: str, at: datetime, payload: str, secrets_in_use: list[str]) -> dict[str, str]:
    signatures = " ".join(Webhook(secret).sign(msg_id, at, payload) for secret in secrets_in_use)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signatures,
    }
