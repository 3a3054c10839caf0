"""Shared test setup (the environment itself is set in tests/settings.py).

The suite runs twice in `make test`: on SQLite and on the local PostgreSQL (DATABASE_URL set).
A small "world" is built once per session, through the actions, and every test runs inside a
transaction that is rolled back, so tests see the same world and cannot disturb each other.
"""

import pytest

from tests import world as world_module


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        world_module.build()


@pytest.fixture
def world_rebuilt_afterwards(django_db_blocker):
    """A transactional test empties every table when it ends; the session's world is rebuilt
    afterwards for the tests that follow. Ask for it before `transactional_db`, so that it is
    torn down after the flush."""
    yield
    with django_db_blocker.unblock():
        world_module.build()


@pytest.fixture(autouse=True)
def scan_journal_emptied():
    """Scans a test recorded and did not apply belong to its rolled-back transaction: the
    next test must not count them (stamp ids are reused)."""
    yield
    from xaso.traceability import scan_journal

    scan_journal.journal().abandon()


@pytest.fixture
def world(db) -> world_module.World:
    return world_module.World.load()


@pytest.fixture
def client_as(client, world):
    """Log the test client in as a named persona: client_as("truongthon")."""

    def login(username: str):
        client.force_login(world.users[username])
        return client

    return login


@pytest.fixture
def api_as(client, world):
    """An API client with a bearer token for a named persona: api_as("lanhdao").get(...)."""
    from xaso.accounts.tokens import token_create

    def make(username: str) -> "ApiClient":
        _token, plain = token_create(user=world.users[username])
        return ApiClient(client, plain)

    return make


class ApiClient:
    def __init__(self, client, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params):
        return self.client.get(f"/api/v1{path}", params, headers=self.headers)

    def post(self, path: str, body=None, raw: str | None = None):
        data = raw if raw is not None else _json(body or {})
        return self.client.post(
            f"/api/v1{path}", data, content_type="application/json", headers=self.headers
        )

    def patch(self, path: str, body):
        return self.client.patch(
            f"/api/v1{path}", _json(body), content_type="application/json", headers=self.headers
        )


def _json(body) -> str:
    import json

    return json.dumps(body, default=str)


@pytest.fixture
def trace(world):
    """Producers, areas, products and two lots (see tests/traceability_data.py)."""
    from tests import traceability_data

    return traceability_data.build(world)
