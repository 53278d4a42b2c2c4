"""Request guards that run before authentication and views."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from common.errors import error_response


class BodySizeLimitMiddleware:
    """413 in the error envelope for a body over the limit, decided from Content-Length alone.

    Django enforces the same limit (DATA_UPLOAD_MAX_MEMORY_SIZE) when the body is read; this answers
    before any work is done, and with the API's error shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH")
        if length and length.isdigit() and int(length) > self.limit:
            return error_response(413, "payload_too_large", "The request body is larger than 64 KiB.")
        return self.get_response(request)
