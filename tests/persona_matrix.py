"""What the persona × endpoint matrices share (test_permission_matrix,
test_traceability_permissions, test_safety_permissions): each file keeps its own table of who
may do what where; the plumbing to fill, send and check a request is here."""

import json

from xaso.core.models import AuditEntry

ANONYMOUS, FORGED = "anonymous", "forged token"  # API callers without a valid token
_FORGED_HEADERS = {"Authorization": "Bearer xaso_000000000000_forged"}


def scope_in(table: dict, columns: list[str], persona: str, column: str) -> set[str]:
    """The places (or producers) one cell of a scope table names."""
    return set(table[persona][columns.index(column)].split())


def fill(template, ids: dict[str, str]):
    """The path or body of an endpoint with "{household}", "{lot}"… filled in."""
    if template is None:
        return None
    text = json.dumps(template, ensure_ascii=False)
    for key, value in ids.items():
        text = text.replace(f"{{{key}}}", value)
    return json.loads(text)


def detail(response) -> str:
    """Every 4xx answer of the API is JSON with a non-empty "detail" string."""
    assert 400 <= response.status_code < 500, response.status_code
    message = response.json()["detail"]
    assert isinstance(message, str) and message
    return message


def audit_rows() -> int:
    return AuditEntry.objects.exclude(verb="api_token.created").count()


def shown(response, candidates) -> set[str]:
    html = response.content.decode()
    return {name for name in candidates if name in html}


def json_sender(api_as, client, url_of=lambda path: f"/api/v1{path}"):
    """send(persona, method, path, body): a JSON request with the persona's bearer token (or
    none, or a forged one); `url_of` turns an endpoint's path into its URL."""
    headers = {ANONYMOUS: {}, FORGED: _FORGED_HEADERS}

    def send(persona: str, method: str, path: str, body=None):
        if persona not in headers:
            headers[persona] = api_as(persona).headers
        data = "" if body is None else json.dumps(body, default=str)
        return client.generic(
            method, url_of(path), data, "application/json", headers=headers[persona]
        )

    return send


def page_opener(client_as, client):
    """open_page(persona, url, method, data): a page with the persona's session, signed in once
    per test (a login writes a session and last_login)."""
    signed_in = []

    def open_page(persona: str, url: str, method: str = "GET", data=None):
        if persona != ANONYMOUS and persona not in signed_in:
            client_as(persona)
            signed_in[:] = [persona]
        return client.get(url) if method == "GET" else client.post(url, data or {})

    return open_page
