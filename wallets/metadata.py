"""What a movement's or hold's `description` and `metadata` may be (../shared/spec/holds.md), in one
place for the request serializers and the OpenAPI schema.

`metadata` is a flat JSON object of up to 20 string keys (1-40 characters) with string values (up to
500 characters); `description` is up to 255 characters. Neither may hold a NUL or a lone surrogate:
PostgreSQL's text and jsonb cannot store them, so they are refused (400) rather than failing later.
"""

from __future__ import annotations

import re
from typing import Any

DESCRIPTION_MAX_LENGTH = 255
MAX_KEYS = 20
KEY_MAX_LENGTH = 40
VALUE_MAX_LENGTH = 500

_UNSTORABLE = re.compile(r"[\x00\ud800-\udfff]")
# What the OpenAPI schema publishes for such text (ECMA and Python regex): no NUL. Lone surrogates
# cannot be sent as UTF-8 at all; a JSON escape of one is refused like a NUL.
TEXT_PATTERN = r"^[^\x00]*$"


class InvalidNote(ValueError):
    """Why a description or metadata is refused (answered 400 validation_error)."""


def check_text(text: str, what: str) -> str:
    if _UNSTORABLE.search(text):
        raise InvalidNote(f"{what} must not contain NUL characters or lone surrogates.")
    return text


def parse_description(value: Any) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidNote("description must be a string or null.")
    if len(value) > DESCRIPTION_MAX_LENGTH:
        raise InvalidNote(f"description must be at most {DESCRIPTION_MAX_LENGTH} characters.")
    return check_text(value, "description")


def parse_metadata(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidNote("metadata must be a JSON object of string keys and string values.")
    if len(value) > MAX_KEYS:
        raise InvalidNote(f"metadata may have at most {MAX_KEYS} keys.")
    for key, item in value.items():
        if not 1 <= len(key) <= KEY_MAX_LENGTH:
            raise InvalidNote(f"metadata keys must be 1-{KEY_MAX_LENGTH} characters.")
        if not isinstance(item, str):
            raise InvalidNote("metadata values must be strings.")
        if len(item) > VALUE_MAX_LENGTH:
            raise InvalidNote(f"metadata values must be at most {VALUE_MAX_LENGTH} characters.")
        check_text(key, "metadata keys")
        check_text(item, "metadata values")
    return dict(value)
