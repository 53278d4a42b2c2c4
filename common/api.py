"""The base of every JSON endpoint, and the one way a UUID is read from a path, body or cursor.

Bodies are JSON (`ExactJSONParser`: numbers stay exact). One exception, for the browsable API's
HTML forms: a POST authenticated by a *session* (an operator logged in through `/admin/` or
`/api-auth/login/`) may also send a form (`multipart/form-data`, what DRF's HTML form posts, or
`application/x-www-form-urlencoded`). DRF's `SessionAuthentication` enforces Django's CSRF check on
such a request, so a form cannot be posted from another site, and a form's fields arrive as text,
so an amount goes through the same exact decimal parsing as a JSON string (never a float). A token
or anonymous client posting a form still gets 415, and the OpenAPI schema offers JSON only
(`PARSER_WHITELIST`). A browser's form also carries its idempotency key (common/browsable.py), which
`validated` leaves out of the body.
"""

from __future__ import annotations

import uuid
from typing import Any

from rest_framework import exceptions
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request, is_form_media_type
from rest_framework.views import APIView

from . import browsable
from .errors import StaffOnly
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
    """JSON in (numbers kept exact), JSON or the browsable API out; a POST must say it is JSON.

    The method is checked before the media type: a POST to a view without `post` is 405
    `method_not_allowed` with `Allow` (DRF's dispatch answers it), never 415.
    """

    # The form parsers serve logged-in browsers only (`browser_form`); with them, the browsable API
    # renders an HTML form for a view's `serializer_class`.
    parser_classes = [ExactJSONParser, MultiPartParser, FormParser]
    renderer_classes = [JSONRenderer, browsable.Renderer]
    # The page's title and breadcrumb, formatted with the path's arguments (ids shortened):
    # "Wallet {wallet_id}" reads "Wallet 1a2b3c4d". Empty: DRF's name from the class.
    crumb = ""
    id_link: str | None = None  # the URL name an "id" in this view's JSON links to (browsable API)

    @classmethod
    def title(cls, kwargs: dict[str, Any]) -> str:
        if not cls.crumb:
            return cls().get_view_name()
        return cls.crumb.format(**{name: browsable.short(value) for name, value in kwargs.items()})

    def get_view_name(self) -> str:
        if not self.crumb:
            return super().get_view_name()
        return self.title(getattr(self, "kwargs", {}) or {})

    def links(self, request: Request, data: Any) -> list[browsable.Link]:
        """Related pages and actions, shown in the browsable API's "Links" panel."""
        return []

    def action_forms(self, request: Request, data: Any) -> list[browsable.ActionForm]:
        """Forms on this page that post to another endpoint (e.g. an approval's approve)."""
        return []

    def form_intro(self) -> str:
        """What a POST-only page's form does, shown to a browser instead of the 405 answer."""
        return f"{self.get_view_name()}: fill in the form below and POST it."

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if is_form_media_type(request.content_type or ""):
            # Keep the raw bytes before the CSRF check parses a multipart form off the stream:
            # the idempotency fingerprint reads them.
            _ = request._request.body
        super().initial(request, *args, **kwargs)
        if (
            request.method == "POST"
            and hasattr(self, "post")
            and not (request.content_type or "").split(";")[0].strip().endswith(("/json", "+json"))
            and not self.browser_form(request)
            and not (self.body_optional and not request._request.body)
        ):
            raise exceptions.UnsupportedMediaType(request.content_type or "none")

    @staticmethod
    def browser_form(request: Request) -> bool:
        """A form posted by a session-authenticated browser (whose CSRF token DRF has checked)."""
        return browsable.is_browser_form(request)

    serializer_class: type[Any] | None = None  # the POST body's input serializer (and browsable form)
    body_optional = False  # a POST whose fields are all optional may come with no body (and no type)

    def validated(self, request: Request) -> dict[str, Any]:
        """The body, validated by the view's `serializer_class`."""
        if not isinstance(request.data, dict):
            raise exceptions.ValidationError({"non_field_errors": ["The body must be a JSON object."]})
        assert self.serializer_class is not None, f"{type(self).__name__} has no serializer_class"
        serializer = self.serializer_class(
            data=browsable.without_key(request.data), context={"browser_form": self.browser_form(request)}
        )
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)

    def require_staff(self, request: Request) -> None:
        if not request.user.is_staff:
            raise StaffOnly()
