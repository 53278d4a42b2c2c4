"""The base of every JSON endpoint, and the one way a UUID is read from a path, body or cursor."""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework import exceptions
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.views import APIView

from .parsers import ExactJSONParser


def parse_uuid(raw: object) -> uuid.UUID | None:
    """A UUID from request input; None when it is not one (the caller decides what that means)."""
    if isinstance(raw, uuid.UUID):
        return raw
    if not isinstance(raw, str):
        return None
    try:
        return uuid.UUID(raw)
    except ValueError:
        return None


class ApiView(APIView):
    """JSON in (numbers kept exact), JSON or the browsable API out; a POST must say it is JSON."""

    parser_classes = [ExactJSONParser]
    renderer_classes = [JSONRenderer, BrowsableAPIRenderer]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method == "POST" and not (request.content_type or "").split(";")[0].strip().endswith(
            ("/json", "+json")
        ):
            raise exceptions.UnsupportedMediaType(request.content_type or "none")

    def validated(self, serializer_class: type[Any], request: Request) -> dict[str, Any]:
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        serializer = serializer_class(data=request.data)
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def require_staff(self, request: Request) -> None:
        if not request.user.is_staff:
            raise exceptions.PermissionDenied()
