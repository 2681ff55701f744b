"""Request-scoped context for actions (the client address for the audit log)."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from workspace.audit import client_ip


def request_client_ip(request: HttpRequest) -> str | None:
    """The client address, trusting X-Forwarded-For only behind a configured proxy."""
    if getattr(settings, "TRUST_X_FORWARDED_FOR", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with client_ip(request_client_ip(request)):
            return self.get_response(request)
