"""The path parameters every API on wallets and users shares (wallets' and the history's), as the
OpenAPI document states them: from the rules' one definitions in `wallets.permissions`."""

from __future__ import annotations

from common import schema

from .permissions import USER_ID_MAX_LENGTH, USER_ID_PATTERN

WALLET_ID = schema.path_parameter(
    "wallet_id", {"type": "string", "format": "uuid"}, "The wallet's id; any other value is 404."
)
USER_ID = schema.path_parameter(
    "user_id",
    {"type": "string", "pattern": USER_ID_PATTERN, "maxLength": USER_ID_MAX_LENGTH},
    "A user id: 1-100 of A-Z a-z 0-9 _ . @ + -; any other value is 404.",
)
