"""Request guards that run before authentication and views."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from common.errors import error_response


class BodySizeLimitMiddleware:
    """413 in the error envelope for a body over the limit, decided from Content-Length alone.

    REQUEST_BODY_MAX_BYTES (64 KiB) for every path but a batch of transfers (BATCH_BODY_MAX_BYTES,
    1 MiB). Django enforces the larger (DATA_UPLOAD_MAX_MEMORY_SIZE) when the body is read; this
    answers before any work is done, and with the API's error shape.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.limits = (settings.REQUEST_BODY_MAX_BYTES, settings.BATCH_BODY_MAX_BYTES)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        length = request.META.get("CONTENT_LENGTH")
        if length and length.isdigit():
            limit = self.limits[1] if request.path.rstrip("/").endswith(BATCH_PATH) else self.limits[0]
            if int(length) > limit:
                return error_response(
                    413, "payload_too_large", f"The request body is larger than {_size(limit)}."
                )
        return self.get_response(request)


BATCH_PATH = "/transactions/batch"


def _size(limit: int) -> str:
    return f"{limit // (1024 * 1024)} MiB" if limit % (1024 * 1024) == 0 else f"{limit // 1024} KiB"
