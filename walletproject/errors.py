"""The error envelope for requests that never reach a DRF view (unknown routes, crashes).

Same shape as the API's errors: `{"success": false, "error": ..., "code": ...}`, never a stack trace.
"""

from typing import Any

from django.http import HttpRequest, JsonResponse

COMPACT = {"separators": (",", ":")}


def compact_json(body: Any, status: int = 200) -> JsonResponse:
    """JSON rendered compactly, as DRF renders it, for the views that are plain Django."""
    return JsonResponse(body, status=status, safe=False, json_dumps_params=COMPACT)


def error_response(status: int, code: str, message: str) -> JsonResponse:
    return compact_json({"success": False, "error": message, "code": code}, status=status)


def not_found(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(404, "not_found", "The requested resource was not found.")


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500, "internal_error", "An unexpected error occurred.")
