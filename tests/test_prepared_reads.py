"""The scan pages' one-row reads (core/prepared_reads.py): same values as Django's cursor, on
Django's connection and transaction, and they survive a server that forgot the statement or
ended the connection."""

import psycopg
import pytest
from django.db import ProgrammingError, connection, transaction

from xaso.accounts.models import User
from xaso.core import prepared_reads
from xaso.core.prepared_reads import PreparedRead

USER_TABLE = User._meta.db_table
BY_NAME = PreparedRead(
    "xaso_test_user_by_name",
    f"SELECT id, username, date_joined, is_active FROM {USER_TABLE} "
    "WHERE username = %s AND email = %s",
)
postgresql_only = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's"
)


@pytest.fixture
def user(db):
    return User.objects.create_user("chi.lan", email="lan@example.vn", password="x")


def test_a_read_returns_what_djangos_cursor_returns(user):
    with connection.cursor() as cursor:
        cursor.execute(BY_NAME.sql, ["chi.lan", "lan@example.vn"])
        expected = cursor.fetchone()
    assert BY_NAME.fetchone(["chi.lan", "lan@example.vn"]) == expected
    assert expected[:2] == (user.id, "chi.lan")
    assert BY_NAME.fetchone(["chi.lan", "other@example.vn"]) is None


def test_placeholders_are_numbered_for_libpq():
    assert prepared_reads._number_placeholders("a = %s AND b = %s") == "a = $1 AND b = $2"


@postgresql_only
def test_the_statement_is_prepared_once_per_connection(user):
    for _ in range(3):
        assert BY_NAME.fetchone(["chi.lan", "lan@example.vn"])[1] == "chi.lan"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_prepared_statements WHERE name = %s",
            [BY_NAME.name.decode()],
        )
        assert cursor.fetchone() == (1,)


@postgresql_only
def test_a_read_sees_the_rows_of_its_transaction(db):
    with transaction.atomic():
        User.objects.create_user("anh.tuan", email="tuan@example.vn", password="x")
        assert BY_NAME.fetchone(["anh.tuan", "tuan@example.vn"])[1] == "anh.tuan"


@postgresql_only
def test_a_statement_the_server_forgot_is_prepared_again(
    world_rebuilt_afterwards, transactional_db, user
):
    assert BY_NAME.fetchone(["chi.lan", "lan@example.vn"]) is not None
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")  # as a pooler handing over another session would
    assert BY_NAME.fetchone(["chi.lan", "lan@example.vn"])[1] == "chi.lan"


@postgresql_only
def test_a_connection_the_server_ended_is_replaced_on_the_next_request(
    world_rebuilt_afterwards, transactional_db, user
):
    assert BY_NAME.fetchone(["chi.lan", "lan@example.vn"]) is not None
    first_backend = connection.connection.info.backend_pid
    _end_backend(first_backend)
    # A new request: Django has not yet checked the reused connection (CONN_HEALTH_CHECKS).
    assert connection.health_check_enabled
    connection.health_check_done = False
    assert BY_NAME.fetchone(["chi.lan", "lan@example.vn"])[1] == "chi.lan"
    assert connection.connection.info.backend_pid != first_backend


@postgresql_only
def test_within_a_request_a_lost_connection_is_an_error_not_a_silent_retry(
    world_rebuilt_afterwards, transactional_db, user
):
    assert BY_NAME.fetchone(["chi.lan", "lan@example.vn"]) is not None
    _end_backend(connection.connection.info.backend_pid)
    connection.health_check_done = True  # this request already used the connection
    with pytest.raises(Exception) as raised:
        BY_NAME.fetchone(["chi.lan", "lan@example.vn"])
    assert type(raised.value).__module__.startswith("django.db")
    connection.close()


@postgresql_only
def test_a_bad_statement_raises_djangos_error_and_is_not_marked_prepared(db):
    broken = PreparedRead(
        "xaso_test_broken", "SELECT no_such_column FROM pg_class WHERE relname = %s"
    )
    with pytest.raises(ProgrammingError), transaction.atomic():
        broken.fetchone(["x"])
    assert broken.name not in prepared_reads._state(connection).prepared


@postgresql_only
def test_with_preparing_turned_off_reads_are_not_prepared(user, monkeypatch):
    connection.ensure_connection()
    monkeypatch.setattr(connection.connection, "prepare_threshold", None)
    unprepared = PreparedRead("xaso_test_unprepared", BY_NAME.sql)
    assert unprepared.fetchone(["chi.lan", "lan@example.vn"])[1] == "chi.lan"
    assert unprepared.name not in prepared_reads._state(connection).prepared


def _end_backend(pid: int) -> None:
    """End a server process from another connection, as a database restart would."""
    settings = connection.settings_dict
    with psycopg.connect(
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=settings["USER"],
        dbname=settings["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])
