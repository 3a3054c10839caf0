import ipaddress
import logging
import uuid
from functools import lru_cache

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
    """The client's address, or None when it is not a valid IP address.

    Behind a reverse proxy (XASO_TRUST_PROXY) the address is the last X-Forwarded-For entry:
    the one our proxy appended. Earlier entries come from the client and can be forged.
    """
    address = request.META.get("REMOTE_ADDR", "")
    if settings.XASO_TRUST_PROXY:
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            address = forwarded.split(",")[-1].strip()
    return _valid_ip(address)


@lru_cache(maxsize=4096)  # parsing costs more than the rest of a scan page's own work
def _valid_ip(address: str) -> str | None:
    try:
        return str(ipaddress.ip_address(address))
    except ValueError:
        return None


class DatabaseUnavailableMiddleware:
    """When the database is down, answer 503 with a friendly page (or JSON) instead of a 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if is_connection_failure(exception):
            logger.error("database unavailable: %s", exception)
            return database_unavailable_response(request)
        return None


class NulCharacterMiddleware:
    """NUL characters are dropped from the query string, as lib.text.clean_input drops them from
    other input: no caller means anything by one, and PostgreSQL cannot compare text holding
    it (a search for "%00" was a 500). Bodies are cleaned where they are read: Django's forms
    refuse NUL, the API's parser drops it (config/api.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # On the raw query string, before anything parses it into request.GET.
        query = request.META.get("QUERY_STRING", "")
        if "%00" in query:
            request.META["QUERY_STRING"] = query.replace("%00", "")
        return self.get_response(request)


def error_response(request, status: int, title: str, message: str) -> HttpResponse:
    """An error as JSON {"detail": …} on the API, else as the site's error page."""
    if request is not None and request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=status)
    html = render_to_string("core/error.html", {"title": title, "message": message})
    return HttpResponse(html, status=status)


def is_connection_failure(exception: BaseException) -> bool:
    """The database cannot be reached (not: a query was wrong or a constraint failed)."""
    return isinstance(exception, (OperationalError, InterfaceError))


def database_unavailable_response(request):
    message = "Hệ thống tạm thời không truy cập được cơ sở dữ liệu. Vui lòng thử lại sau ít phút."
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=503)
    html = render_to_string("core/unavailable.html", {"message": message})
    return HttpResponse(html, status=503)
