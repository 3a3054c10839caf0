"""One-row reads for the hottest pages (a stamp scan, a lot page): prepared once per database
connection, then each run with a single libpq call.

Django's cursors bind parameters on the client and never prepare, so PostgreSQL parses and
plans the statement on every scan. psycopg's own cursor can prepare, but its Python layers
cost about as much CPU as the round trip itself. Here the statement is prepared under a
fixed name the first time a connection runs it, then executed with `PQexecPrepared`, and
its row converted by psycopg's own loaders, written in C (Django's cursors use a loader for
timestamps written in Python; both give the same aware UTC datetimes, as Django's connections
run in UTC). On SQLite a read is a plain cursor execute.
`XASO_DB_PREPARE_THRESHOLD=0` (psycopg's prepare_threshold None) turns preparing off here too.

The read runs on Django's connection of the request, in whatever transaction it is in.
"""

import itertools
import re
from dataclasses import dataclass, field

import psycopg
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections
from psycopg import errors, pq
from psycopg.adapt import Transformer


class PreparedRead:
    """A SELECT of at most one row, with %s placeholders, all of them text parameters."""

    def __init__(self, name: str, sql: str):
        self.sql = sql
        self.name = name.encode()
        self._numbered_sql = _number_placeholders(sql).encode()

    def fetchone(self, params: list[str]) -> tuple | None:
        # The thread's connection, looked up once: each attribute of django.db.connection is
        # a lookup in a thread-local store.
        db = connections[DEFAULT_DB_ALIAS]
        if db.vendor != "postgresql":
            with db.cursor() as cursor:
                cursor.execute(self.sql, params)
                return cursor.fetchone()
        return _fetchone_checked(db, self, params)


def _number_placeholders(sql: str) -> str:
    """%s, %s → $1, $2: libpq's placeholders."""
    numbers = itertools.count(1)
    return re.sub("%s", lambda _match: f"${next(numbers)}", sql)


def _fetchone_checked(db, read: PreparedRead, params: list[str]) -> tuple | None:
    """The read also stands in for Django's health check of a reused connection
    (CONN_HEALTH_CHECKS: one more `SELECT 1` round trip per request). If the connection died
    since the last request (a database restart), the read is retried once on a new
    connection, as the health check would have reconnected."""
    unchecked = (
        db.connection is not None
        and db.health_check_enabled
        and not db.health_check_done
        and not db.in_atomic_block
    )
    try:
        row = _execute(db, read, params)
    except (OperationalError, InterfaceError):
        if not unchecked:
            raise
        db.close()
        row = _execute(db, read, params)
    db.health_check_done = True  # the server has just answered on this connection
    return row


@dataclass
class _ConnectionState:
    """What one psycopg connection has prepared, and its row converter."""

    psycopg_connection: psycopg.Connection
    transformer: Transformer
    prepared: set[bytes] = field(default_factory=set)


def _state(db) -> _ConnectionState:
    # Kept on Django's connection object, which belongs to one thread; a new psycopg
    # connection (after a reconnect) starts with nothing prepared.
    raw = db.connection
    state = getattr(db, "_xaso_prepared_reads", None)
    if state is None or state.psycopg_connection is not raw:
        state = _ConnectionState(raw, Transformer())  # psycopg's default loaders
        db._xaso_prepared_reads = state
    return state


def _execute(db, read: PreparedRead, params: list[str]) -> tuple | None:
    db.ensure_connection()
    with db.wrap_database_errors:
        state = _state(db)
        encoded = [param.encode() for param in params]
        try:
            result = _exec_prepared(state, read, encoded)
        except errors.InvalidSqlStatementName:
            # The server forgot it (DISCARD ALL, a pooler handing over another session).
            # Prepared again, outside a transaction: the error has aborted one.
            state.prepared.discard(read.name)
            if state.psycopg_connection.pgconn.transaction_status != pq.TransactionStatus.IDLE:
                raise
            result = _exec_prepared(state, read, encoded)
        if result.ntuples == 0:
            return None
        state.transformer.set_pgresult(result)
        return state.transformer.load_row(0, tuple)


def _exec_prepared(state: _ConnectionState, read: PreparedRead, params: list[bytes]):
    pgconn = state.psycopg_connection.pgconn
    if state.psycopg_connection.prepare_threshold is None:
        # XASO_DB_PREPARE_THRESHOLD=0: a pooler that cannot keep prepared statements.
        return _checked(pgconn.exec_params(read._numbered_sql, params), state)
    if read.name not in state.prepared:
        _checked(pgconn.prepare(read.name, read._numbered_sql), state)
        state.prepared.add(read.name)
    return _checked(pgconn.exec_prepared(read.name, params), state)


def _checked(result: pq.abc.PGresult, state: _ConnectionState) -> pq.abc.PGresult:
    if result.status in (pq.ExecStatus.TUPLES_OK, pq.ExecStatus.COMMAND_OK):
        return result
    raw = state.psycopg_connection
    message = result.error_message.decode(errors="replace").strip()
    if raw.pgconn.status == pq.ConnStatus.BAD:
        # A lost connection has no SQLSTATE; as psycopg's cursors do, call it operational.
        raise psycopg.OperationalError(message)
    raise errors.error_from_result(result, encoding=raw.info.encoding)
