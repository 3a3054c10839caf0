"""Every stamp, with its counters, in a file that each web process of the server maps into
memory: a stamp scan reads it there instead of making a database round trip
(docs/decisions/0024).

The stamp page cannot skip reading the stamp: whether the code exists and how often anyone
scanned it are the page. Under load that one round trip cost the page a third of its
throughput. A cache of recently scanned stamps would not help, since a real stamp is scanned
by one or two people; so the replica holds *every* stamp, kept up to date from PostgreSQL:

- An LMDB file under `XASO_DATA_DIR/stamp-replica`, shared by the processes of one server
  (LMDB's readers take no lock and make no system call). Key: the stamp's code hash. Value:
  the stamp's row as one line of text, in the format `line_sql` makes (`row()` reads it back).
- One process per server holds `writer.lock` and keeps the file, in a thread: it LISTENs,
  copies every stamp, then applies what is notified. The scan journal's flush notifies each
  stamp's new counters on `xaso_stamp_counters` in the transaction that moves them (so
  notifications arrive in commit order, for the scans of every server), and a stamp run's
  trigger notifies `run:{id}` on `xaso_lot_changed` when its stamps are inserted.
- A stamp's counters only grow, so a notified row replaces the kept one unless it has fewer
  scans: the order in which the copy and the notifications meet does not matter.
- The writer writes a heartbeat each second. Readers use the file only while the heartbeat is
  fresh; otherwise (no writer, a lost connection, a copy under way), and for any code not in
  the file, they read the database as before. The file is only ever a faster copy.

The page adds this process's pending scans to what it reads (scan_journal.pending_tally), as
it does with a database read; scans flushed by this process show in the file a few
milliseconds after their commit.
"""

import fcntl
import logging
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import lmdb
import psycopg
from django.conf import settings
from django.db import connection

from xaso.core.per_process import BackgroundThread, PerProcess
from xaso.traceability import lot_refs

logger = logging.getLogger(__name__)

CHANNEL = "xaso_stamp_counters"
FRESH_SECONDS = 5  # readers trust the file while the writer's heartbeat is this recent
HEARTBEAT_SECONDS = 1
RETRY_SECONDS = 2  # how often a process that is not the writer tries to become it
COPY_CHUNK = 10_000  # stamps per transaction of the first copy
MAP_BYTES = 1 << 38  # address space LMDB may use; the file grows only as stamps are added
LINES_PER_NOTIFICATION = 50  # a line is at most ~130 bytes; a notification at most 8,000

_HEARTBEAT = b"heartbeat"


def line_sql(alias: str) -> str:
    """SQL for a stamp's row as one tab-separated line: code hash, id, serial, run id, scan
    count, first scan (seconds since 1970, or empty), first province, last scan, last
    province, suspicious (0/1). The journal's notification and the writer's copy both use it."""
    fields = [
        f"{alias}.code_hash",
        f"{alias}.id::text",
        f"{alias}.serial::text",
        f"{alias}.run_id::text",
        f"{alias}.scan_count::text",
        f"coalesce(extract(epoch FROM {alias}.first_scan_at)::text, '')",
        f"coalesce({alias}.first_province, '')",
        f"coalesce(extract(epoch FROM {alias}.last_scan_at)::text, '')",
        f"coalesce({alias}.last_province, '')",
        f"{alias}.suspicious::int::text",
    ]
    return f"concat_ws(E'\\t', {', '.join(fields)})"


def notify_sql(counters_update: str) -> str:
    """Wraps the journal's counters UPDATE so that it notifies each moved stamp's new row, in
    notifications of LINES_PER_NOTIFICATION lines (PostgreSQL caps a payload at 8,000 bytes)."""
    return f"""
WITH moved AS ({counters_update} RETURNING {line_sql("stamp")} AS line)
SELECT pg_notify('{CHANNEL}', string_agg(line, E'\\n'))
FROM (SELECT line, (row_number() OVER ()) / {LINES_PER_NOTIFICATION} AS part FROM moved) AS lines
GROUP BY part
"""


def _copy_sql(condition: str) -> str:
    from xaso.traceability.models import Stamp

    return f"SELECT stamp.run_id, {line_sql('stamp')} FROM {Stamp._meta.db_table} stamp {condition}"


# --- Reading a kept row -------------------------------------------------------------------------
def _key_and_value(line: bytes) -> tuple[bytes, bytes]:
    code_hash, _, value = line.partition(b"\t")
    return bytes.fromhex(code_hash.decode()), value


def _moment(seconds: bytes) -> datetime | None:
    return datetime.fromtimestamp(float(seconds), UTC) if seconds else None


def row_of(value: bytes) -> tuple:
    """A kept value as the row `public._STAMP_ALONE` reads: id, serial, scan count, first
    scan, first province, last scan, last province, suspicious, run id."""
    stamp_id, serial, run_id, count, first_at, first_province, last_at, last_province, flag = (
        value.split(b"\t")
    )
    return (
        int(stamp_id),
        int(serial),
        int(count),
        _moment(first_at),
        first_province.decode(),
        _moment(last_at),
        last_province.decode(),
        flag == b"1",
        int(run_id),
    )


def newer(kept: bytes | None, value: bytes) -> bool:
    """Whether `value` should replace `kept`: a new stamp under the same hash (higher id: the
    old one was deleted), or the same stamp with at least as many scans."""
    if kept is None:
        return True
    kept_id, _serial, _run, kept_count, _rest = kept.split(b"\t", 4)
    new_id, _serial, _run, new_count, _rest = value.split(b"\t", 4)
    if int(new_id) != int(kept_id):
        return int(new_id) > int(kept_id)
    return int(new_count) >= int(kept_count)


# --- The file, as one process uses it -------------------------------------------------------------
class StampReplica:
    def __init__(self, directory: Path):
        directory.mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(
            str(directory),
            map_size=MAP_BYTES,
            max_dbs=2,
            # A copy: after a crash the next writer copies everything again, so no fsync.
            sync=False,
            metasync=False,
            readahead=False,
        )
        self._stamps = self._env.open_db(b"stamps")
        self._meta = self._env.open_db(b"meta")
        self._lock_path = directory / "writer.lock"
        self._stopping = threading.Event()
        self._writing = threading.Event()
        self._keeper = BackgroundThread(self._keep_forever, name="stamp-replica")

    def row(self, code_hash: str) -> tuple | None:
        """The stamp's row, or None: not kept, or the file is not being kept up to date."""
        self._keeper.start_once()
        with self._env.begin() as txn:
            if not _fresh(txn.get(_HEARTBEAT, db=self._meta)):
                return None
            value = txn.get(bytes.fromhex(code_hash), db=self._stamps)
        return row_of(value) if value is not None else None

    def fresh(self) -> bool:
        with self._env.begin() as txn:
            return _fresh(txn.get(_HEARTBEAT, db=self._meta))

    def kept(self) -> int | None:
        """How many stamps the file holds while it is kept up to date, else None (for a
        process that only looks at it: the benchmark, tests)."""
        with self._env.begin() as txn:
            if not _fresh(txn.get(_HEARTBEAT, db=self._meta)):
                return None
            return txn.stat(self._stamps)["entries"]

    def writing(self) -> bool:
        """Whether this process is the writer (tests)."""
        return self._writing.is_set()

    def stop(self) -> None:
        """Stop the thread, if started, and close the file (tests, benchmark; the thread
        dies with its process)."""
        self._stopping.set()
        self._keeper.join()
        self._env.close()

    # -- the writer's thread
    def _keep_forever(self) -> None:
        while not self._stopping.is_set():
            try:
                with open(self._lock_path, "a") as lock_file:
                    if _locked(lock_file):
                        self._writing.set()
                        self._keep_while_connected()
            except Exception:
                logger.warning("stamp replica: not kept; scans read the database", exc_info=True)
            finally:
                if self._writing.is_set():
                    self._beat(None)  # notifications may be missed from now on
                self._writing.clear()
            self._stopping.wait(RETRY_SECONDS)

    def _keep_while_connected(self) -> None:
        self._beat(None)  # readers go to the database until everything is copied again
        parameters = {**connection.get_connection_params(), "autocommit": True}
        with psycopg.connect(**parameters) as listening:
            listening.execute(f"LISTEN {CHANNEL}")
            listening.execute(f"LISTEN {lot_refs.CHANNEL}")
            runs = self._copy_all(listening)
            while not self._stopping.is_set():
                self._beat(time.time())
                # Listed first: the connection is busy (locked) while it waits for them.
                heard = list(listening.notifies(timeout=HEARTBEAT_SECONDS, stop_after=1))
                for notification in heard:
                    if notification.channel == CHANNEL:
                        self._apply(notification.payload.encode())
                    elif notification.payload.startswith(lot_refs.RUN_PREFIX):
                        run_id = int(notification.payload.removeprefix(lot_refs.RUN_PREFIX))
                        if run_id not in runs:  # a run's stamps are inserted once
                            runs |= self._copy_run(listening, run_id)

    def _copy_all(self, source: psycopg.Connection) -> set[int]:
        """Copies every stamp, in the file's key order: appended, its pages are full (a
        third of the size of the same stamps in random order). Returns the runs seen."""
        with self._env.begin(write=True) as txn:
            txn.drop(self._stamps, delete=False)
        runs = set()
        with source.transaction(), source.cursor(name="stamp_replica_copy") as cursor:
            cursor.execute(_copy_sql('ORDER BY stamp.code_hash COLLATE "C"'))
            while rows := cursor.fetchmany(COPY_CHUNK):
                runs.update(run_id for run_id, _line in rows)
                items = [_key_and_value(line.encode()) for _run_id, line in rows]
                with self._env.begin(write=True, db=self._stamps) as txn:
                    txn.cursor().putmulti(items, append=True)
        return runs

    def _copy_run(self, source: psycopg.Connection, run_id: int) -> set[int]:
        """Copies a run's stamps, in one transaction of the file (runs have at most a million
        stamps; smaller transactions would leave more half-empty pages). Returns {run_id}
        once the run has stamps, else nothing (it is still being made)."""
        copied = 0
        with (
            source.transaction(),
            source.cursor(name="stamp_replica_copy") as cursor,
            self._env.begin(write=True, db=self._stamps) as txn,
        ):
            cursor.execute(_copy_sql("WHERE stamp.run_id = %s"), [run_id])
            while rows := cursor.fetchmany(COPY_CHUNK):
                txn.cursor().putmulti([_key_and_value(line.encode()) for _run_id, line in rows])
                copied += len(rows)
        return {run_id} if copied else set()

    def _apply(self, payload: bytes) -> None:
        with self._env.begin(write=True, db=self._stamps) as txn:
            for line in payload.split(b"\n"):
                key, value = _key_and_value(line)
                if newer(txn.get(key), value):
                    txn.put(key, value)

    def _beat(self, moment: float | None) -> None:
        with self._env.begin(write=True, db=self._meta) as txn:
            if moment is None:
                txn.delete(_HEARTBEAT)
            else:
                txn.put(_HEARTBEAT, repr(moment).encode())


def _fresh(heartbeat: bytes | None) -> bool:
    return heartbeat is not None and time.time() - float(heartbeat) <= FRESH_SECONDS


def _locked(lock_file) -> bool:
    try:
        fcntl.flock(lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _open() -> StampReplica | None:
    try:
        return StampReplica(Path(settings.DATA_DIR) / "stamp-replica")
    except lmdb.Error:
        logger.warning("stamp replica: cannot open; scans read the database", exc_info=True)
        return None


_replica = PerProcess(_open)


def replica() -> StampReplica | None:
    """This process's view of the replica; None where it is not used (SQLite, or
    XASO_STAMP_REPLICA off)."""
    if not settings.XASO_STAMP_REPLICA or connection.vendor != "postgresql":
        return None
    return _replica.get()


def notifying() -> bool:
    """Whether the journal's flush notifies counters (PostgreSQL with the replica on)."""
    return settings.XASO_STAMP_REPLICA and connection.vendor == "postgresql"
