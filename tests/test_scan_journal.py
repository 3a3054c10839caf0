"""The scan journal (xaso/traceability/scan_journal.py): a scan page copies its scan into a
segment file of its process, and the segment reaches the database later, exactly once.

Real files in a temporary directory and the real database. Two tests are transactional, so
that applying commits for real: recovery after a crash (as a recovering process would), and a
lot deleted before the flush (its foreign key is checked only at commit). They empty every
table when they end and the session's world is rebuilt afterwards.
"""

import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from django.db import transaction

from tests.test_stamps import issued  # noqa: F401  (a fixture)
from tests.traceability_data import printed_codes
from tests.worker import run_queued_tasks
from xaso.traceability import actions, scan_journal
from xaso.traceability.models import Lot, Scan, ScanBatch, Stamp
from xaso.traceability.scan_journal import (
    PendingScan,
    ScanJournal,
    StampTally,
    apply_segment,
    journal,
    scans_of,
)

T0 = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
HANOI_TIME = timezone(timedelta(hours=7))
REPO = Path(__file__).resolve().parent.parent


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def scan(
    stamp_id: int | None = None,
    lot_id: int | None = None,
    *,
    seconds: float = 0,
    province: str = "22",
    result: str = "valid",
    suspicious: bool = False,
) -> PendingScan:
    return PendingScan(
        scanned_at=at(seconds),
        result=result,
        province=province,
        ip_hash="5ca1ab1e",
        stamp_id=stamp_id,
        lot_id=lot_id,
        suspicious=suspicious,
    )


def rows() -> Counter:
    """Every Scan row, as the fields a PendingScan carries, counted (a row twice counts 2)."""
    return Counter(
        Scan.objects.values_list(
            "scanned_at", "stamp_id", "lot_id", "result", "province", "ip_hash"
        )
    )


def rows_of(scans: list[PendingScan]) -> Counter:
    return Counter(
        (s.scanned_at, s.stamp_id, s.lot_id, s.result, s.province, s.ip_hash) for s in scans
    )


def counters(stamp_id: int) -> tuple:
    return Stamp.objects.values_list(
        "scan_count",
        "first_scan_at",
        "first_province",
        "last_scan_at",
        "last_province",
        "suspicious",
    ).get(pk=stamp_id)


def segment_files(directory: Path) -> list[Path]:
    return sorted(directory.glob(f"*{scan_journal.SEGMENT_SUFFIX}"))


@pytest.fixture
def make_journal(tmp_path):
    """Journals writing into this test's directory; what they still hold at the end is dropped,
    as conftest.py does for the process's own journal."""
    made: list[ScanJournal] = []

    def make(directory: Path = tmp_path) -> ScanJournal:
        made.append(ScanJournal(directory, 0))
        return made[-1]

    yield make
    for held in made:
        held.abandon()


@pytest.fixture
def stamp_ids(issued) -> list[int]:  # noqa: F811
    """The ids of the issued run's stamps, by serial."""
    return list(Stamp.objects.filter(run=issued).order_by("serial").values_list("id", flat=True))


@pytest.fixture
def committed_stamp_ids(world_rebuilt_afterwards, transactional_db, trace, world) -> list[int]:
    """The same for the transactional tests: a run issued and committed. The action enqueues
    its job when it commits; the worker claims it with SELECT … FOR UPDATE, hence the
    transaction around it."""
    run = actions.stamp_run_start(product=trace.product_a, count=5, by=world.users["htx"])
    with transaction.atomic():
        run_queued_tasks()
    return list(Stamp.objects.filter(run=run).order_by("serial").values_list("id", flat=True))


# --- Lines ---------------------------------------------------------------------------------------
def test_a_scan_line_is_seven_tab_separated_fields_ending_in_a_newline():
    line = scan(7, 3, seconds=0.25, province="01", suspicious=True).line()
    assert line == b"2026-03-01T08:30:00.250000+00:00\tvalid\t01\t5ca1ab1e\t7\t3\t1\n"


@pytest.mark.parametrize(
    "recorded",
    [
        scan(7, 3, seconds=0.25, province="01", suspicious=True),
        scan(None, None, result="unknown", province=""),
        scan(None, 12, result="lot"),
        PendingScan(T0.astimezone(HANOI_TIME), "suspicious", "79", "", 2**40, None, True),
    ],
    ids=["stamp-and-lot-suspicious", "no-ids", "lot-only", "local-time-big-id-no-hash"],
)
def test_a_scan_line_round_trips(recorded):
    assert PendingScan.from_line(recorded.line()) == recorded


def test_a_line_without_seven_fields_is_not_a_scan():
    with pytest.raises(ValueError, match="6 fields"):
        PendingScan.from_line(b"2026-03-01T08:30:00+00:00\tvalid\t01\tab\t7\t3\n")


def test_scans_of_stops_at_the_first_zero_byte():
    """A segment is made at its full size, all zeros, and filled from the start: what follows
    the first zero byte was never written (here: stale bytes that must not be read)."""
    first, second, after_the_end = scan(1, seconds=1), scan(2, seconds=2), scan(3, seconds=3)
    content = first.line() + second.line() + b"\0" * 64 + after_the_end.line()
    assert scans_of(content, name="test") == [first, second]


def test_scans_of_leaves_out_a_torn_last_line_and_keeps_the_lines_before_it():
    """The process died while copying its last line: that scan was never answered."""
    kept = [scan(1, seconds=1), scan(None, 4, seconds=2, result="lot")]
    torn = scan(2, seconds=3).line()[:-1]  # all but the "\n"
    written = b"".join(s.line() for s in kept)
    assert scans_of(written + torn + b"\0" * 64, name="test") == kept
    assert scans_of(written + torn, name="test") == kept  # no zero byte at all
    assert scans_of(written + scan(2).line()[:12] + b"\0", name="test") == kept


def test_scans_of_leaves_out_an_unreadable_line_and_keeps_the_lines_after_it():
    before, after = scan(1, seconds=1), scan(2, seconds=2)
    content = before.line() + b"not a scan\n" + after.line()
    assert scans_of(content, name="test") == [before, after]


# --- Applying -----------------------------------------------------------------------------------
def test_flushing_applies_every_recorded_scan_exactly_once(
    make_journal, stamp_ids, trace, tmp_path
):
    first_stamp, second_stamp, untouched = stamp_ids[:3]
    lot = trace.lot_a.pk
    recorded = [
        scan(first_stamp, lot, seconds=20, province="22"),
        scan(first_stamp, lot, seconds=5, province="01", suspicious=True),
        scan(first_stamp, lot, seconds=40.5, province="79"),
        scan(second_stamp, None, seconds=10, province="48", result="not_activated"),
        scan(None, lot, seconds=30, result="lot"),
        scan(None, None, seconds=35, province="", result="unknown"),
    ]
    here = make_journal()
    for pending in recorded:
        here.record(pending)
    assert here.pending_count() == 6
    assert here.pending_tally(first_stamp) == StampTally(3, at(5), "01", at(40.5), "79", True)
    [segment] = segment_files(tmp_path)
    before = rows()

    assert here.flush() == 6

    assert rows() == before + rows_of(recorded)
    assert counters(first_stamp) == (3, at(5), "01", at(40.5), "79", True)
    assert counters(second_stamp) == (1, at(10), "48", at(10), "48", False)
    assert counters(untouched) == (0, None, "", None, "", False)
    assert ScanBatch.objects.get(name=segment.name).scans == 6
    assert segment_files(tmp_path) == []
    assert here.pending_tally(first_stamp) is None
    assert here.pending_count() == 0

    assert here.flush() == 0
    assert rows() == before + rows_of(recorded)
    assert counters(first_stamp)[0] == 3


def test_a_full_segment_is_closed_for_a_new_one_and_both_are_applied(
    make_journal, stamp_ids, tmp_path, monkeypatch
):
    """Three lines fit in a segment here: the fourth scan starts a second file, and the pending
    tally and the flush cover both files."""
    monkeypatch.setattr(scan_journal, "SEGMENT_BYTES", len(scan(stamp_ids[0]).line()) * 3 + 10)
    here = make_journal()
    for second in range(5):
        here.record(scan(stamp_ids[0], seconds=second, province=f"{second + 1:02d}"))
    full, newer = segment_files(tmp_path)
    assert here.pending_tally(stamp_ids[0]) == StampTally(5, at(0), "01", at(4), "05", False)
    assert here.flush() == 5
    assert counters(stamp_ids[0]) == (5, at(0), "01", at(4), "05", False)
    batches = ScanBatch.objects.filter(name__in=[full.name, newer.name])
    assert dict(batches.values_list("name", "scans")) == {full.name: 3, newer.name: 2}
    assert segment_files(tmp_path) == []


def test_an_earlier_scan_in_a_later_batch_moves_first_scan_back_and_leaves_last_alone(
    make_journal, stamp_ids
):
    """Another process's batch may carry older scans than the one applied before it."""
    stamp = stamp_ids[0]
    here = make_journal()
    here.record(scan(stamp, seconds=600.5, province="22", suspicious=True))
    here.record(scan(stamp, seconds=1200, province="79"))
    assert here.flush() == 2
    assert counters(stamp) == (2, at(600.5), "22", at(1200), "79", True)

    # 15:29:59.75 in Hà Nội is 08:29:59.75 UTC: a quarter of a second before T0.
    earlier = PendingScan(at(-0.25).astimezone(HANOI_TIME), "valid", "01", "", stamp, None, False)
    here.record(earlier)
    here.record(scan(stamp, seconds=900, province="48"))  # between: moves neither end
    assert here.flush() == 2
    assert counters(stamp) == (4, at(-0.25), "01", at(1200), "79", True)

    here.record(scan(stamp, seconds=1200.000001, province="31"))
    assert here.flush() == 1
    assert counters(stamp) == (5, at(-0.25), "01", at(1200.000001), "31", True)


def test_applying_a_segment_twice_under_the_same_name_inserts_once(stamp_ids):
    scans = [scan(stamp_ids[0], seconds=1), scan(stamp_ids[0], seconds=2, province="01")]
    before = Scan.objects.count()
    assert apply_segment("host-1-abcd-00000001.scans", scans) == 2
    assert apply_segment("host-1-abcd-00000001.scans", scans) == 0
    assert Scan.objects.count() == before + 2
    assert counters(stamp_ids[0]) == (2, at(1), "22", at(2), "01", False)
    assert ScanBatch.objects.filter(name="host-1-abcd-00000001.scans").count() == 1


def test_scans_of_a_stamp_or_lot_deleted_before_the_flush_are_dropped_and_the_rest_applied(
    world_rebuilt_afterwards,
    transactional_db,
    committed_stamp_ids,
    trace,
    make_journal,
    tmp_path,
):
    """The foreign keys are checked at commit: the first attempt fails as a whole, and the
    segment is applied again without the scans whose stamp or lot is gone."""
    kept, deleted = committed_stamp_ids[0], committed_stamp_ids[1]
    kept_scans = [
        scan(kept, trace.lot_a.pk, seconds=1),
        scan(kept, trace.lot_a.pk, seconds=2, province="01"),
        scan(None, None, seconds=3, result="unknown"),
    ]
    here = make_journal()
    for pending in [
        kept_scans[0],
        scan(deleted, None, seconds=4, result="not_activated"),
        kept_scans[1],
        scan(None, trace.lot_b.pk, seconds=5, result="lot"),
        kept_scans[2],
    ]:
        here.record(pending)
    [segment] = segment_files(tmp_path)
    Stamp.objects.filter(pk=deleted).delete()
    Lot.objects.filter(pk=trace.lot_b.pk).delete()

    assert here.flush() == 3

    assert rows() == rows_of(kept_scans)
    assert counters(kept) == (2, at(1), "22", at(2), "01", False)
    assert ScanBatch.objects.get(name=segment.name).scans == 3
    assert segment_files(tmp_path) == []


# --- Recovery -----------------------------------------------------------------------------------
# A server process: its journal in the directory given, a flush thread that would apply the
# scans only an hour later, and a crash (SIGKILL: no atexit, no finally) right after recording.
CRASHING_PROCESS = """
import os, signal, sys
import django
django.setup()
from xaso.traceability import scan_journal
for line in sys.argv[1:]:
    scan_journal.record(scan_journal.PendingScan.from_line(line.encode()))
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_the_scans_of_a_process_killed_before_its_flush_are_recovered_exactly_once(
    world_rebuilt_afterwards, transactional_db, committed_stamp_ids, trace, tmp_path
):
    recorded = [
        scan(committed_stamp_ids[0], trace.lot_a.pk, seconds=10, province="22"),
        scan(committed_stamp_ids[0], trace.lot_a.pk, seconds=3, province="01"),
        scan(committed_stamp_ids[0], trace.lot_a.pk, seconds=7, province="79", suspicious=True),
        scan(committed_stamp_ids[1], None, seconds=8, result="not_activated"),
        scan(None, trace.lot_b.pk, seconds=9, result="lot"),
        scan(None, None, seconds=11, province="", result="unknown"),
    ]
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "XASO_SCAN_JOURNAL_DIR": str(tmp_path),
        "XASO_SCAN_FLUSH_SECONDS": "3600",
    }
    crashed = subprocess.run(
        [sys.executable, "-c", CRASHING_PROCESS, *(s.line().decode() for s in recorded)],
        env=environment,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert crashed.returncode == -signal.SIGKILL, crashed.stderr
    [segment] = segment_files(tmp_path)
    assert ScanJournal(tmp_path, 0).recover() == 6

    assert rows() == rows_of(recorded)
    assert counters(committed_stamp_ids[0]) == (3, at(3), "01", at(10), "22", True)
    assert counters(committed_stamp_ids[1]) == (1, at(8), "22", at(8), "22", False)
    assert ScanBatch.objects.get(name=segment.name).scans == 6
    assert segment_files(tmp_path) == []
    assert ScanJournal(tmp_path, 0).recover() == 0
    assert Scan.objects.count() == 6


def test_a_segment_applied_before_a_crash_is_deleted_by_recovery_without_applying_it_again(
    make_journal, stamp_ids, tmp_path
):
    """The process died between its commit and the deletion of the file: the ScanBatch row
    names the segment, so recovery only deletes it."""
    here = make_journal()
    here.record(scan(stamp_ids[0], seconds=1))
    here.record(scan(stamp_ids[0], seconds=2, province="01"))
    [segment] = segment_files(tmp_path)
    content = segment.read_bytes()  # the mapped pages, as the file holds them
    before = Scan.objects.count()
    assert here.flush() == 2
    assert segment_files(tmp_path) == []
    segment.write_bytes(content)

    assert ScanJournal(tmp_path, 0).recover() == 0

    assert segment_files(tmp_path) == []
    assert Scan.objects.count() == before + 2
    assert counters(stamp_ids[0]) == (2, at(1), "22", at(2), "01", False)


def test_recovery_leaves_alone_the_segment_of_a_journal_that_still_holds_it(
    make_journal, stamp_ids, tmp_path
):
    """flock locks belong to an open file: the recovering journal opens the segment itself, so
    it finds the lock taken even in the same process, as it would for a live process."""
    holder, recoverer = make_journal(), make_journal()
    holder.record(scan(stamp_ids[0], seconds=1))
    [segment] = segment_files(tmp_path)
    before = Scan.objects.count()

    assert recoverer.recover() == 0

    assert segment_files(tmp_path) == [segment]
    assert Scan.objects.count() == before
    assert holder.pending_count() == 1
    assert holder.flush() == 1
    assert Scan.objects.count() == before + 1


def test_recovery_applies_a_copy_of_a_segment_nobody_holds(make_journal, stamp_ids, tmp_path):
    """The counterpart of the test above: the same bytes under a name no journal holds."""
    holder = make_journal(tmp_path / "live")
    holder.record(scan(stamp_ids[0], seconds=1))
    holder.record(scan(None, None, seconds=2, result="unknown"))
    [segment] = segment_files(tmp_path / "live")
    orphans = tmp_path / "orphans"
    orphans.mkdir()
    shutil.copyfile(segment, orphans / "deadhost-4242-0000-00000001.scans")
    before = Scan.objects.count()

    assert ScanJournal(orphans, 0).recover() == 2

    assert Scan.objects.count() == before + 2
    assert segment_files(orphans) == []
    assert segment_files(tmp_path / "live") == [segment]  # still the live journal's


# --- Through the stamp page ---------------------------------------------------------------------
def test_the_stamp_page_counts_scans_not_yet_applied_and_then_the_applied_ones(
    issued,  # noqa: F811
    trace,
    client,
):
    """Scans are counted from the journal before the flush and from the database after it; the
    first scan's time shown is the same either way."""
    actions.stamp_run_activate(run=issued, lot=trace.lot_a, by=trace.lot_a.created_by)
    code = printed_codes(issued)[3]
    stamp = Stamp.objects.get(run=issued, serial=4)

    def scan_page() -> tuple[int, str]:
        response = client.get(f"/s/{code}", headers={"Accept": "application/json"})
        assert response.status_code == 200
        return response.json()["scan_count"], response.json()["first_scan_at"]

    (first_count, first_at), (second_count, second_at) = scan_page(), scan_page()
    assert (first_count, second_count) == (1, 2)
    assert second_at == first_at
    assert Scan.objects.filter(stamp=stamp).count() == 0  # not in the database yet
    assert journal().pending_tally(stamp.pk).count == 2

    assert journal().flush() == 2

    assert Scan.objects.filter(stamp=stamp, result="valid").count() == 2
    stamp.refresh_from_db()
    assert stamp.scan_count == 2
    assert stamp.first_scan_at.isoformat() == first_at
    assert journal().pending_tally(stamp.pk) is None
    assert scan_page() == (3, first_at)
