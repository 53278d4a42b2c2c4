"""A JSON parser that never turns a number into a binary float.

Numbers stay as their source text (`JsonNumber`), so amounts are parsed exactly (the wallets app's
`money.parse_amount`), and `1e3`, `NaN` or `Infinity` can be refused rather than guessed at.
Since `JsonNumber` is not a str, int or float, a number sent for a text field fails validation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


@dataclass(frozen=True)
class JsonNumber:
    """A JSON number as it was written in the request body."""

    text: str

    def __str__(self) -> str:  # error messages quote the number as written, not this class
        return self.text


class ExactJSONParser(JSONParser):
    def parse(
        self, stream: IO[Any], media_type: str | None = None, parser_context: Mapping[str, Any] | None = None
    ) -> Any:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read().decode(encoding)
            return json.loads(text, parse_float=JsonNumber, parse_int=JsonNumber, parse_constant=JsonNumber)
        except (ValueError, LookupError, RecursionError) as exc:
            # ValueError covers bad JSON and undecodable bytes; LookupError a charset that is not a
            # text encoding (e.g. rot13); RecursionError absurdly deep nesting.
            raise ParseError("Malformed JSON in the request body.") from exc
