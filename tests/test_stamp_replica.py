"""Every stamp and its counters in a file each web process maps into memory, kept up to date
from PostgreSQL's notifications (traceability/stamp_replica.py, decision 0024).

The file is only a faster copy: a code it lacks, or a file whose writer has stopped, is read
from the database as before.
"""

import json
import os
import re
import signal
import time
from pathlib import Path

import pytest
from django.db import connection

from tests import processes
from tests.test_lot_refs import LOT_PATH, _issued_run, _stamp_status, until
from tests.traceability_data import printed_codes
from xaso.lib import stamp_codes
from xaso.traceability import actions, lot_refs, public, stamp_replica
from xaso.traceability.scan_journal import journal
from xaso.traceability.stamps import stamp_key

needs_postgresql = pytest.mark.skipif(
    connection.vendor == "sqlite", reason="LISTEN/NOTIFY is PostgreSQL's; SQLite reads each time"
)


def _line(stamp_id=7, count=0, *, first_at="", first_province="", serial=1, run_id=3) -> bytes:
    fields = [
        "00ff" * 8,
        str(stamp_id),
        str(serial),
        str(run_id),
        str(count),
        first_at,
        first_province,
        first_at,
        first_province,
        "0",
    ]
    return "\t".join(fields).encode()


def _value(line: bytes) -> bytes:
    return line.partition(b"\t")[2]


@pytest.fixture
def idle_replica(tmp_path):
    """A replica file with no writer thread: the test writes into it itself."""
    replica = stamp_replica.StampReplica(tmp_path / "replica")
    replica._keeper.start_once = lambda: None
    yield replica
    replica.stop()


# --- The file ---------------------------------------------------------------------------------
def test_a_row_reads_back_as_the_database_gives_it():
    value = _value(_line(count=2, first_at="1764460800.250000", first_province="01"))
    stamp_id, serial, count, first_at, province, last_at, _last, suspicious, run_id = (
        stamp_replica.row_of(value)
    )
    assert (stamp_id, serial, count, province, suspicious, run_id) == (7, 1, 2, "01", False, 3)
    assert first_at.isoformat() == "2025-11-30T00:00:00.250000+00:00" and last_at == first_at
    assert stamp_replica.row_of(_value(_line()))[3] is None  # never scanned


def test_counters_only_grow_whatever_order_notifications_arrive_in():
    one, two = _value(_line(count=1)), _value(_line(count=2))
    assert stamp_replica.newer(None, one)
    assert stamp_replica.newer(one, two) and stamp_replica.newer(two, two)
    assert not stamp_replica.newer(two, one)  # an older notification after the copy
    # A stamp deleted and a new one with the same code: the higher id is the live one.
    assert stamp_replica.newer(two, _value(_line(stamp_id=8, count=0)))
    assert not stamp_replica.newer(_value(_line(stamp_id=8)), two)


def test_notified_rows_are_applied_and_an_older_one_does_not_undo_a_newer(idle_replica):
    idle_replica._beat(time.time())
    idle_replica._apply(
        _line(count=3) + b"\n" + _line(stamp_id=9, count=1).replace(b"00ff", b"ab12")
    )
    idle_replica._apply(_line(count=2))
    assert idle_replica.row("00ff" * 8)[2] == 3
    assert idle_replica.row("ab12" * 8)[:3] == (9, 1, 1)
    assert idle_replica.row("ffff" * 8) is None  # not kept: the database is asked


def test_a_file_whose_writer_stopped_is_not_read(idle_replica):
    idle_replica._apply(_line(count=3))
    assert idle_replica.row("00ff" * 8) is None  # no heartbeat yet: still copying
    idle_replica._beat(time.time() - stamp_replica.FRESH_SECONDS - 1)
    assert idle_replica.row("00ff" * 8) is None and not idle_replica.fresh()
    assert idle_replica.kept() is None
    idle_replica._beat(time.time())
    assert idle_replica.row("00ff" * 8)[2] == 3 and idle_replica.fresh()
    assert idle_replica.kept() == 1


def test_only_one_process_writes(tmp_path):
    path = tmp_path / "writer.lock"
    with open(path, "a") as first, open(path, "a") as second:
        assert stamp_replica._locked(first)
        assert not stamp_replica._locked(second)  # flock: per open file, as between processes


# --- Kept up to date from PostgreSQL ----------------------------------------------------------
@pytest.fixture
def kept_replica(settings):
    """This process's replica and kept lots, started by the first scan and stopped afterwards."""
    settings.XASO_LOT_REF_CACHE = True
    settings.XASO_STAMP_REPLICA = True
    lot_refs._lot_refs.forget()
    stamp_replica._replica.forget()
    yield
    stamp_replica.replica().stop()
    lot_refs.lot_refs().stop()
    stamp_replica._replica.forget()
    lot_refs._lot_refs.forget()


def _digest(code: str) -> str:
    return stamp_codes.code_hash(stamp_codes.normalize_code(code), key=stamp_key())


def _kept_row(code: str) -> tuple | None:
    return stamp_replica.replica().row(_digest(code))


def _no_database_reads(monkeypatch):
    def refused(_parameters):
        raise AssertionError("the stamp was read from the database")

    monkeypatch.setattr(public._STAMP_ALONE, "fetchone", refused)
    monkeypatch.setattr(public._SCANNED_STAMP, "fetchone", refused)


@needs_postgresql
def test_stamp_scans_are_answered_from_the_file_with_every_scan_counted(
    world_rebuilt_afterwards, transactional_db, kept_replica, client, trace, world, monkeypatch
):
    run = _issued_run(trace, world, count=2)
    actions.stamp_run_activate(run=run, lot=trace.lot_a, by=trace.lot_a.created_by)
    code, other = printed_codes(run)
    client.get(LOT_PATH)  # starts listening for lot changes
    assert until(lot_refs.lot_refs().listening)
    assert _stamp_status(client, code)["scan_count"] == 1  # from the database: starts the writer
    assert until(lambda: lot_refs.lot_refs().listening() and stamp_replica.replica().fresh())
    assert stamp_replica.replica().writing()

    _no_database_reads(monkeypatch)
    assert _stamp_status(client, code)["scan_count"] == 2  # the file's 0 and 2 pending
    journal().flush()  # the flush notifies the stamp's new counters
    assert until(lambda: _kept_row(code)[2] == 2)
    body = _stamp_status(client, code)
    assert (body["status"], body["scan_count"]) == ("valid", 3)
    assert body["first_scan_at"] is not None
    assert _stamp_status(client, other)["scan_count"] == 1
    journal().flush()
    assert until(lambda: _kept_row(code)[2] == 3 and _kept_row(other)[2] == 1)


@needs_postgresql
def test_a_run_issued_while_the_file_is_kept_is_added_to_it(
    world_rebuilt_afterwards, transactional_db, kept_replica, client, trace, world
):
    client.get(LOT_PATH)
    assert until(lot_refs.lot_refs().listening)
    client.get("/s/" + "0" * stamp_codes.CODE_LENGTH)  # an unknown code: starts the writer
    assert until(lambda: stamp_replica.replica().fresh())
    run = _issued_run(trace, world, count=3)
    codes = printed_codes(run)
    assert until(lambda: all(_kept_row(code) is not None for code in codes))
    assert {_kept_row(code)[8] for code in codes} == {run.id}
    journal().flush()


@needs_postgresql
def test_a_stamp_missing_from_the_file_is_read_from_the_database(
    world_rebuilt_afterwards, transactional_db, kept_replica, client, trace, world
):
    run = _issued_run(trace, world, count=1)
    (code,) = printed_codes(run)
    client.get(LOT_PATH)
    assert until(lot_refs.lot_refs().listening)
    client.get(f"/s/{code}")  # starts the writer
    assert until(lambda: stamp_replica.replica().fresh() and _kept_row(code) is not None)
    kept = stamp_replica.replica()
    with kept._env.begin(write=True, db=kept._stamps) as txn:  # as if not copied yet
        txn.delete(bytes.fromhex(_digest(code)))
    assert _kept_row(code) is None
    body = _stamp_status(client, code)
    assert (body["status"], body["scan_count"]) == ("not_activated", 2)
    journal().flush()


# --- A real server: two gunicorn workers, one writer, a writer killed -------------------------
def _lock_holder(lock_path) -> int | None:
    """The pid holding an flock on the file, from /proc/locks: "1: FLOCK ADVISORY WRITE {pid}
    {major}:{minor}:{inode} 0 EOF"."""
    inode = lock_path.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        if fields[1] == "FLOCK" and fields[5].endswith(f":{inode}"):
            return int(fields[4])
    return None


def _replica_fresh(folder) -> bool:
    replica = stamp_replica.StampReplica(folder)  # its writer thread is never started
    try:
        return replica.kept() is not None
    finally:
        replica.stop()


@needs_postgresql
def test_a_served_stamp_counts_every_scan_across_workers_and_survives_its_writer_killed():
    with processes.fresh_database_env() as env:
        assert processes.run(["migrate", "--no-input"], env).returncode == 0
        demo = processes.run(["demo", "--no-serve"], env, timeout=300)
        code = re.search(r"/s/(\S+)", demo.stdout).group(1)
        folder = Path(env["XASO_DATA_DIR"]) / "stamp-replica"
        with processes.serving(env, "--workers", "2") as url:

            def scan() -> int:
                status, body = processes.get(f"{url}/s/{code}", {"Accept": "application/json"})
                assert status == 200, body
                return json.loads(body)["scan_count"]

            scans = 0
            while not (folder.exists() and _replica_fresh(folder)):  # the writer starts
                scans += 1
                scan()
                assert scans < 200, "the replica was never kept"
                time.sleep(0.1)
            time.sleep(2)  # every worker's journal flushed (every 0.25 s), the file updated
            for number in range(scans + 1, scans + 21):
                # A worker sees the file and its own pending scans, not the other's yet.
                assert scans < scan() <= number
            time.sleep(2)
            assert scan() == scans + 21  # nothing lost and nothing counted twice

            # Killed with a scan pending, a worker's segment waits up to 30 s for recovery
            # (scan_journal.py): let it flush first.
            time.sleep(2)
            writer = _lock_holder(folder / "writer.lock")
            assert writer is not None
            os.kill(writer, signal.SIGKILL)  # gunicorn starts another worker
            assert until(lambda: _lock_holder(folder / "writer.lock") not in (None, writer), 30)
            assert until(lambda: _replica_fresh(folder), 30)
            time.sleep(2)
            assert scan() == scans + 22
