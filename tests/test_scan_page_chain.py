"""The WSGI application gunicorn serves (xaso/config/wsgi.py): the scan pages go through the
short middleware chain `XASO_SCAN_PAGE_MIDDLEWARE`, every other page through `MIDDLEWARE`.

The application is called as gunicorn calls it, with an environ made by hand (PEP 3333), not
through Django's test client, whose handler always uses the full chain.
"""

import gzip
import io
from dataclasses import dataclass

import pytest
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.urls import reverse

from tests.test_stamps import issued  # noqa: F401  (a fixture)
from tests.traceability_data import printed_codes
from xaso.config.wsgi import SCAN_PAGE_PATH, application
from xaso.traceability import actions
from xaso.traceability.scan_journal import journal

# A session cookie too short to be a session key: SessionMiddleware answers it by deleting the
# cookie, so a response that carries no Set-Cookie for it never went through that middleware.
STALE_SESSION = f"{settings.SESSION_COOKIE_NAME}=stale"
CUT_FROM_SCAN_PAGES = {
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
}


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        """Its values, without the space Django leaves before a cookie (Morsel.output)."""
        return [value.strip() for key, value in self.headers if key.lower() == name.lower()]


def wsgi_get(path: str, *, app=application, **environ_extra: str) -> Answer:
    """GET `path` from the application, as a WSGI server would.

    Like Django's test client, the request does not close old database connections when it
    starts and ends: that would close the connection that holds the test's transaction."""
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.61",
        "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **environ_extra,
    }
    started: dict = {}

    def start_response(status, headers, exc_info=None):
        started["status"], started["headers"] = status, headers
        return lambda data: None

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        result = app(environ, start_response)
        try:
            body = b"".join(result)
        finally:
            result.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return Answer(int(started["status"].split()[0]), started["headers"], body)


@pytest.fixture
def activated_code(issued, trace) -> str:  # noqa: F811
    actions.stamp_run_activate(run=issued, lot=trace.lot_a, by=trace.lot_a.created_by)
    return printed_codes(issued)[0]


def test_the_scan_pages_chain_is_the_full_chain_without_sessions_logins_csrf_and_messages():
    scan_chain = settings.XASO_SCAN_PAGE_MIDDLEWARE
    positions = [settings.MIDDLEWARE.index(middleware) for middleware in scan_chain]
    assert positions == sorted(positions)  # a subsequence: same order, nothing added
    assert set(settings.MIDDLEWARE) >= CUT_FROM_SCAN_PAGES
    assert CUT_FROM_SCAN_PAGES.isdisjoint(scan_chain)
    assert {
        "django.middleware.security.SecurityMiddleware",
        "django.middleware.gzip.GZipMiddleware",
        "django.middleware.clickjacking.XFrameOptionsMiddleware",
        "xaso.core.middleware.RequestContextMiddleware",
    } <= set(scan_chain)


@pytest.mark.parametrize(
    ("path", "scan_page"),
    [
        ("/s/ABCD-ABCD", True),
        ("/S/ABCD-ABCD", True),
        ("/l/NA2026A", True),
        ("/L/NA2026A", True),
        ("/01/08931234567897/10/NA2026A", True),
        ("/s", False),
        ("/login/", False),
        ("/static/app.css", False),
        ("/truy-xuat/", False),
        ("/api/v1/openapi.json", False),
    ],
)
def test_which_paths_take_the_scan_pages_chain(path, scan_page):
    assert bool(SCAN_PAGE_PATH.match(path)) is scan_page


def test_a_stamp_page_sets_no_cookie_keeps_the_security_headers_and_counts_the_scan(
    activated_code,
):
    answer = wsgi_get(f"/s/{activated_code}", HTTP_COOKIE=STALE_SESSION)
    assert answer.status == 200
    assert answer.header("Set-Cookie") == []
    assert answer.header("X-Frame-Options") == ["DENY"]
    assert answer.header("X-Content-Type-Options") == ["nosniff"]
    assert "Tem chính hãng" in answer.body.decode()
    assert journal().pending_count() == 1


def test_the_full_chain_would_have_deleted_the_stale_cookie_of_the_same_stamp_request(
    activated_code,
):
    """What makes the assertion above worth something: the page's own handler, on the same
    request, with sessions in its chain."""
    answer = wsgi_get(f"/s/{activated_code}", app=application.pages, HTTP_COOKIE=STALE_SESSION)
    assert answer.status == 200
    [deleted] = answer.header("Set-Cookie")
    assert deleted.startswith(f'{settings.SESSION_COOKIE_NAME}=""; expires=Thu, 01 Jan 1970')


def test_a_stamp_page_is_gzipped_for_a_client_that_accepts_it(activated_code):
    answer = wsgi_get(f"/s/{activated_code}", HTTP_ACCEPT_ENCODING="gzip, deflate")
    assert answer.status == 200
    assert answer.header("Content-Encoding") == ["gzip"]
    page = gzip.decompress(answer.body).decode()
    assert "Tem chính hãng" in page
    assert "Số lần quét" in page


def test_an_unknown_code_answers_404_with_no_cookie_and_the_security_headers(trace):
    answer = wsgi_get(
        "/s/ABCDABCDABCDABCDAB61",
        HTTP_COOKIE=STALE_SESSION,
        HTTP_ACCEPT_ENCODING="gzip",
        REMOTE_ADDR="203.0.113.62",
    )
    assert answer.status == 404
    assert answer.header("Set-Cookie") == []
    assert answer.header("X-Frame-Options") == ["DENY"]
    assert answer.header("X-Content-Type-Options") == ["nosniff"]
    assert answer.header("Content-Encoding") == ["gzip"]
    assert "Mã tem không tồn tại" in gzip.decompress(answer.body).decode()


def test_a_logged_in_page_still_goes_through_the_full_chain(db):
    """Anonymous: sent to the login page (authentication), and the stale session cookie is
    deleted (sessions), as the scan pages never do."""
    answer = wsgi_get("/truy-xuat/", HTTP_COOKIE=STALE_SESSION)
    assert answer.status == 302
    assert answer.header("Location") == [f"{reverse('accounts:login')}?next=/truy-xuat/"]
    [deleted] = answer.header("Set-Cookie")
    assert deleted.startswith(f'{settings.SESSION_COOKIE_NAME}=""; expires=Thu, 01 Jan 1970')
    assert answer.header("X-Frame-Options") == ["DENY"]


def test_the_login_page_gets_its_csrf_cookie_through_the_full_chain(db):
    answer = wsgi_get(reverse("accounts:login"))
    assert answer.status == 200
    [cookie] = answer.header("Set-Cookie")
    assert cookie.startswith(f"{settings.CSRF_COOKIE_NAME}=")
