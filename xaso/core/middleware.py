import logging
import uuid

from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from xaso.core import request_context

logger = logging.getLogger(__name__)


class RequestContextMiddleware:
    """Carry the client's address and a request id to the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = request_context.set_current(
            request_context.RequestContext(
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
                request_id=uuid.uuid4().hex,
            )
        )
        try:
            return self.get_response(request)
        finally:
            request_context.reset(token)


def client_ip(request) -> str | None:
    # Behind a reverse proxy the operator sets XASO_TRUST_PROXY so the forwarded address counts.
    if getattr(settings, "XASO_TRUST_PROXY", False):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR") or None


class DatabaseUnavailableMiddleware:
    """When the database is down, answer 503 with a friendly page (or JSON) instead of a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if isinstance(exception, (OperationalError, InterfaceError)):
            logger.error("database unavailable: %s", exception)
            return database_unavailable_response(request)
        return None


def database_unavailable_response(request):
    message = "Hệ thống tạm thời không truy cập được cơ sở dữ liệu. Vui lòng thử lại sau ít phút."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=503)
    html = render_to_string("core/unavailable.html", {"message": message})
    return HttpResponse(html, status=503)
