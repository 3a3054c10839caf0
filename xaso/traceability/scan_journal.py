"""Scans written ahead to a file, applied to the database in batches (docs/decisions/0023).

Issue 4 asks that every scan be recorded "without slowing the page and without losing one under
load". A write to the database in each request was what held the scan pages back (one more
round trip, one commit, one WAL flush per scan), so a scan page instead:

1. copies the scan, as one line, into a *segment* file that belongs to its process and is
   mapped into its memory: no system call, and the operating system keeps the bytes even if
   the process dies the next instant;
2. answers;
3. a thread of the process applies the segment a fraction of a second later, in one
   transaction: the scans inserted, each stamp's counters moved once for all its scans, and a
   `ScanBatch` row naming the segment. Then the file is deleted.

The `ScanBatch` row makes applying a segment happen exactly once: a process that dies between
the commit and the deletion leaves a file whose name is already recorded, and it is deleted
unapplied. A process holds an `flock` on each of its segments until it has applied them, so a
segment nobody holds is one whose process died: `recover()` (run by `xaso clock` and by each
process's thread) applies it.

Until its segment is applied a scan is "pending": the stamp page adds this process's pending
scans to the counters it read (`pending_tally`), so one phone scanning twice sees 1 then 2.
Another process's pending scans show within a flush interval.
"""

import atexit
import fcntl
import itertools
import logging
import mmap
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction

from xaso.core.per_process import BackgroundThread, PerProcess
from xaso.traceability import stamp_replica

logger = logging.getLogger(__name__)

SEGMENT_SUFFIX = ".scans"
RECOVER_EVERY_SECONDS = 30
# A segment's ScanBatch marker is kept this long; a segment left on disk longer than that
# (its server down for months) could no longer be told applied or not: it is set aside in
# `stale/` for an operator, never applied blindly.
BATCHES_KEPT_DAYS = 90


# --- A scan, and what scans do to a stamp's counters -------------------------------------------
@dataclass(frozen=True)
class PendingScan:
    """One scan as the page recorded it, before it reaches the database."""

    scanned_at: datetime
    result: str  # a Scan.Result value
    province: str
    ip_hash: str
    stamp_id: int | None = None
    lot_id: int | None = None
    suspicious: bool = False  # the page found it suspicious: the stamp is flagged

    def line(self) -> bytes:
        """Tab-separated: time, result, province, client hash, stamp id, lot id, suspicious
        (no field can hold a tab: they are an ISO time, codes, hex digits and numbers)."""
        fields = (
            self.scanned_at.isoformat(),
            self.result,
            self.province,
            self.ip_hash,
            _optional_id(self.stamp_id),
            _optional_id(self.lot_id),
            "1" if self.suspicious else "0",
        )
        return ("\t".join(fields) + "\n").encode()

    @classmethod
    def from_line(cls, line: bytes) -> "PendingScan":
        """The scan of a line; ValueError if it is not one."""
        fields = line.decode().rstrip("\n").split("\t")
        if len(fields) != 7:
            raise ValueError(f"{len(fields)} fields")
        scanned_at, result, province, ip_hash, stamp_id, lot_id, suspicious = fields
        return cls(
            scanned_at=datetime.fromisoformat(scanned_at),
            result=result,
            province=province,
            ip_hash=ip_hash,
            stamp_id=int(stamp_id) if stamp_id else None,
            lot_id=int(lot_id) if lot_id else None,
            suspicious=suspicious == "1",
        )


def _optional_id(value: int | None) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class StampTally:
    """What some scans of one stamp add to its counters."""

    count: int
    first_at: datetime
    first_province: str
    last_at: datetime
    last_province: str
    suspicious: bool

    @classmethod
    def of(cls, scan: PendingScan) -> "StampTally":
        at, province = scan.scanned_at, scan.province
        return cls(1, at, province, at, province, scan.suspicious)

    def plus(self, other: "StampTally") -> "StampTally":
        first = self if self.first_at <= other.first_at else other
        last = self if self.last_at >= other.last_at else other
        return StampTally(
            count=self.count + other.count,
            first_at=first.first_at,
            first_province=first.first_province,
            last_at=last.last_at,
            last_province=last.last_province,
            suspicious=self.suspicious or other.suspicious,
        )


def tallies_of(scans: Iterable[PendingScan]) -> dict[int, StampTally]:
    tallies: dict[int, StampTally] = {}
    for scan in scans:
        if scan.stamp_id is not None:
            tally = StampTally.of(scan)
            held = tallies.get(scan.stamp_id)
            tallies[scan.stamp_id] = held.plus(tally) if held else tally
    return tallies


# --- Applying a segment ---------------------------------------------------------------------------
def read_segment(path: Path) -> list[PendingScan]:
    """The scans of a segment file."""
    return scans_of(path.read_bytes(), name=path.name)


def scans_of(content: bytes, *, name: str) -> list[PendingScan]:
    """The scans of a segment's bytes: lines up to the first zero byte (the file is made at
    its full size and filled from the start). A last line cut short (the process died while
    copying it, so that scan was never answered) is left out."""
    end = content.find(b"\0")
    written = content if end < 0 else content[:end]
    scans = []
    for number, line in enumerate(written.splitlines(keepends=True), start=1):
        try:
            if not line.endswith(b"\n"):
                raise ValueError("no end of line")
            scans.append(PendingScan.from_line(line))
        except ValueError:
            logger.warning("scan journal %s: line %d unreadable, left out", name, number)
    return scans


def apply_segment(name: str, scans: list[PendingScan]) -> int:
    """Insert the scans and move the stamps' counters, once per segment name, atomically.

    Returns the scans inserted: 0 when the segment was applied before. Scans of a stamp or lot
    deleted meanwhile are dropped, as deleting it would have deleted them."""
    from xaso.traceability.models import ScanBatch

    try:
        return _apply_once(name, scans)
    except IntegrityError:
        if ScanBatch.objects.filter(name=name).exists():
            return 0  # applied before: by us before a crash, or by another recoverer
    # A stamp or lot is gone (its key is checked at commit): rare, so checked only now.
    return _apply_once(name, _still_referenced(scans))


def _apply_once(name: str, scans: list[PendingScan]) -> int:
    from xaso.traceability.models import ScanBatch

    with transaction.atomic():
        ScanBatch.objects.create(name=name, scans=len(scans))
        _insert_scans(scans)
        _move_counters(tallies_of(scans))
    return len(scans)


def _still_referenced(scans: list[PendingScan]) -> list[PendingScan]:
    from xaso.traceability.models import Lot, Stamp

    stamp_ids = {scan.stamp_id for scan in scans if scan.stamp_id is not None}
    lot_ids = {scan.lot_id for scan in scans if scan.lot_id is not None}
    stamps = set(Stamp.objects.filter(id__in=stamp_ids).values_list("id", flat=True))
    lots = set(Lot.objects.filter(id__in=lot_ids).values_list("id", flat=True))
    return [
        scan
        for scan in scans
        if (scan.stamp_id is None or scan.stamp_id in stamps)
        and (scan.lot_id is None or scan.lot_id in lots)
    ]


def _insert_scans(scans: list[PendingScan]) -> None:
    from xaso.traceability.models import Scan

    if connection.vendor == "postgresql":
        _copy_scans(scans)  # COPY: a fraction of the cost of INSERTs at this rate
        return
    rows = [
        Scan(
            scanned_at=scan.scanned_at,
            stamp_id=scan.stamp_id,
            lot_id=scan.lot_id,
            result=scan.result,
            province=scan.province,
            ip_hash=scan.ip_hash,
        )
        for scan in scans
    ]
    Scan.objects.bulk_create(rows, batch_size=1000)


def _copy_scans(scans: list[PendingScan]) -> None:
    from xaso.traceability.models import Scan

    columns = "scanned_at, stamp_id, lot_id, result, province, ip_hash"
    statement = f"COPY {Scan._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(statement) as copy:
        for scan in scans:
            copy.write_row(
                (scan.scanned_at, scan.stamp_id, scan.lot_id, scan.result, scan.province,
                 scan.ip_hash)
            )  # fmt: skip


def _move_counters(tallies: dict[int, StampTally]) -> None:
    if not tallies:
        return
    if connection.vendor == "postgresql":
        _move_counters_in_one_statement(tallies)
        return
    adapt = connection.ops.adapt_datetimefield_value
    parameters = []
    for stamp_id in sorted(tallies):  # one order for every process: no deadlock between them
        tally = tallies[stamp_id]
        first, last = adapt(tally.first_at), adapt(tally.last_at)
        parameters.append(
            [tally.count, first, tally.first_province, first, first, last, tally.last_province,
             last, last, tally.suspicious, stamp_id]
        )  # fmt: skip
    with connection.cursor() as cursor:
        cursor.executemany(_counters_sql(), parameters)


def _counters_sql() -> str:
    from xaso.traceability.models import Stamp

    # Every right-hand side sees the row as it was, so "first_scan_at IS NULL" means before
    # this UPDATE. Another process's batch may carry earlier or later scans of the same stamp,
    # hence the comparisons rather than plain assignments.
    return f"""
UPDATE {Stamp._meta.db_table} SET
    scan_count = scan_count + %s,
    first_province = CASE WHEN first_scan_at IS NULL OR first_scan_at > %s
                          THEN %s ELSE first_province END,
    first_scan_at = CASE WHEN first_scan_at IS NULL OR first_scan_at > %s
                         THEN %s ELSE first_scan_at END,
    last_province = CASE WHEN last_scan_at IS NULL OR last_scan_at < %s
                         THEN %s ELSE last_province END,
    last_scan_at = CASE WHEN last_scan_at IS NULL OR last_scan_at < %s
                        THEN %s ELSE last_scan_at END,
    suspicious = (suspicious OR %s)
WHERE id = %s
"""


def _move_counters_in_one_statement(tallies: dict[int, StampTally]) -> None:
    """PostgreSQL: the same update as _counters_sql for a whole batch, in one statement whose
    seven parameters are arrays (a statement with thousands of parameters cost more to build
    than to run).

    The arrays are sorted by id, the order in which a nested loop over them locks the rows, as
    the per-stamp updates do. Should two processes still deadlock, PostgreSQL aborts one of the
    transactions, and its segment is applied on the next flush."""
    stamp_ids = sorted(tallies)
    batch = [tallies[stamp_id] for stamp_id in stamp_ids]
    columns = [
        stamp_ids,
        [tally.count for tally in batch],
        [tally.first_at for tally in batch],
        [tally.first_province for tally in batch],
        [tally.last_at for tally in batch],
        [tally.last_province for tally in batch],
        [tally.suspicious for tally in batch],
    ]
    statement = _counters_from_arrays_sql()
    if stamp_replica.notifying():  # each stamp's new row, to every server's replica
        statement = stamp_replica.notify_sql(statement)
    # Bound on the server (Django's cursors quote every array element into the SQL text).
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(statement, columns)


def _counters_from_arrays_sql() -> str:
    from xaso.traceability.models import Stamp

    return f"""
UPDATE {Stamp._meta.db_table} AS stamp SET
    scan_count = stamp.scan_count + batch.count,
    first_province = CASE WHEN stamp.first_scan_at IS NULL OR stamp.first_scan_at > batch.first_at
                          THEN batch.first_province ELSE stamp.first_province END,
    first_scan_at = CASE WHEN stamp.first_scan_at IS NULL OR stamp.first_scan_at > batch.first_at
                         THEN batch.first_at ELSE stamp.first_scan_at END,
    last_province = CASE WHEN stamp.last_scan_at IS NULL OR stamp.last_scan_at < batch.last_at
                         THEN batch.last_province ELSE stamp.last_province END,
    last_scan_at = CASE WHEN stamp.last_scan_at IS NULL OR stamp.last_scan_at < batch.last_at
                        THEN batch.last_at ELSE stamp.last_scan_at END,
    suspicious = (stamp.suspicious OR batch.suspicious)
FROM unnest(%b::bigint[], %b::integer[], %b::timestamptz[], %b::text[], %b::timestamptz[],
            %b::text[], %b::boolean[])
     AS batch(id, count, first_at, first_province, last_at, last_province, suspicious)
WHERE stamp.id = batch.id
"""


# --- Segments of this process -------------------------------------------------------------------
SEGMENT_BYTES = 4 * 1024 * 1024  # some 60,000 scans; a full segment is closed for a new one


class SegmentFull(Exception):
    pass


@dataclass
class Segment:
    """A file this process copies scans into, locked for as long as the process holds it.

    The file is mapped into memory (MAP_SHARED), so appending a scan is a copy into the page
    cache: no system call, no release of the GIL on the page's hottest path, and the
    operating system keeps the bytes even if the process dies the next instant."""

    path: Path
    fd: int
    memory: mmap.mmap
    size: int = 0  # bytes written
    count: int = 0
    tallies: dict[int, StampTally] = field(default_factory=dict)

    @classmethod
    def create(cls, path: Path) -> "Segment":
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)  # a new file: nobody else holds it
        os.ftruncate(fd, SEGMENT_BYTES)  # sparse: zeros, which mark the end of what is written
        return cls(path, fd, mmap.mmap(fd, SEGMENT_BYTES))

    def append(self, scan: PendingScan) -> None:
        line = scan.line()
        end = self.size + len(line)
        if end > SEGMENT_BYTES:
            raise SegmentFull
        self.memory[self.size : end] = line
        self.size = end
        self.count += 1
        if scan.stamp_id is not None:
            tally = StampTally.of(scan)
            held = self.tallies.get(scan.stamp_id)
            self.tallies[scan.stamp_id] = held.plus(tally) if held else tally

    def scans(self) -> list[PendingScan]:
        return scans_of(self.memory[: self.size], name=self.path.name)

    def discard(self) -> None:
        """Delete the file (its scans are in the database), then let go of the lock."""
        self.path.unlink(missing_ok=True)
        self.memory.close()
        os.close(self.fd)


class ScanJournal:
    """The scans this process has answered but not yet written to the database."""

    def __init__(self, directory: Path, flush_seconds: float):
        self.directory = Path(directory)
        self.flush_seconds = flush_seconds
        self._lock = threading.Lock()  # guards the segments; held only for list and file work
        self._apply_lock = threading.Lock()  # one applier at a time (the thread, atexit, tests)
        self._writing: Segment | None = None
        self._written: list[Segment] = []  # closed, waiting to be applied, oldest first
        self._pid = os.getpid()
        self._name_prefix = f"{socket.gethostname()}-{self._pid}-{secrets.token_hex(4)}"
        self._sequence = itertools.count(1)
        self._flusher = BackgroundThread(self._flush_forever, name="scan-journal")

    # -- what a page does
    def record(self, scan: PendingScan) -> None:
        with self._lock:
            if self._writing is None:
                self._writing = self._new_segment()
            try:
                self._writing.append(scan)
            except SegmentFull:
                self._written.append(self._writing)
                self._writing = self._new_segment()
                self._writing.append(scan)
        if self.flush_seconds > 0:
            self._flusher.start_once()

    def pending_tally(self, stamp_id: int) -> StampTally | None:
        """This process's scans of the stamp that the database does not have yet."""
        with self._lock:
            segments = [*self._written, *([self._writing] if self._writing else [])]
            tallies = [s.tallies[stamp_id] for s in segments if stamp_id in s.tallies]
        total = None
        for tally in tallies:
            total = tally if total is None else total.plus(tally)
        return total

    def pending_count(self) -> int:
        with self._lock:
            writing = self._writing.count if self._writing else 0
            return writing + sum(segment.count for segment in self._written)

    # -- what the thread (or a test, or the process's exit) does
    def flush(self) -> int:
        """Apply every scan this process has recorded so far. Returns the scans applied.

        A segment that fails (database down) stays on disk and in the list, and is tried
        again on the next flush, before anything newer. Between a segment's commit and its
        removal from the list, a page may count its scans twice: on screen only, for an
        instant."""
        with self._apply_lock:
            with self._lock:
                if self._writing is not None:
                    self._written.append(self._writing)
                    self._writing = None
                segments = list(self._written)
            applied = 0
            for segment in segments:
                applied += apply_segment(segment.path.name, segment.scans())
                with self._lock:
                    self._written.remove(segment)
                segment.discard()
            return applied

    def recover(self) -> int:
        """Apply the segments left in the directory by processes that died. Returns the scans
        applied. A segment whose process lives is locked and skipped."""
        recovered = 0
        for path in sorted(self.directory.glob(f"*{SEGMENT_SUFFIX}")):
            if path.name.startswith(self._name_prefix):
                continue
            recovered += _recover_segment(path)
        return recovered

    def abandon(self) -> int:
        """Drop what this process holds without applying it. Only for tests: their scans
        belonged to a transaction that was rolled back. Returns the scans dropped."""
        with self._apply_lock, self._lock:
            segments = [*self._written, *([self._writing] if self._writing else [])]
            self._written, self._writing = [], None
        for segment in segments:
            segment.discard()
        return sum(segment.count for segment in segments)

    # -- internals
    def _new_segment(self) -> Segment:
        self.directory.mkdir(parents=True, exist_ok=True)
        name = f"{self._name_prefix}-{next(self._sequence):08d}{SEGMENT_SUFFIX}"
        return Segment.create(self.directory / name)

    def _flush_forever(self) -> None:
        from django.db import close_old_connections

        next_recovery = 0.0
        while True:
            time.sleep(self.flush_seconds)
            close_old_connections()
            try:
                if time.monotonic() >= next_recovery:
                    next_recovery = time.monotonic() + RECOVER_EVERY_SECONDS
                    self.recover()
                self.flush()
            except Exception:
                # Kept on disk and tried again; the connection may be the broken part.
                logger.exception("scan journal: scans not applied yet, will retry")
                connection.close()


def _recover_segment(path: Path) -> int:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return 0  # applied and deleted meanwhile
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # its process is alive and will apply it
        status = os.fstat(fd)
        if status.st_nlink == 0:
            return 0  # another recoverer applied and deleted it while we waited
        if time.time() - status.st_mtime > BATCHES_KEPT_DAYS * 86400:
            _set_aside(path)
            return 0
        applied = apply_segment(path.name, read_segment(path))
        path.unlink(missing_ok=True)
        if applied:
            logger.warning("scan journal: %d scans recovered from %s", applied, path.name)
        return applied
    finally:
        os.close(fd)


def _set_aside(path: Path) -> None:
    stale = path.parent / "stale"
    stale.mkdir(exist_ok=True)
    path.rename(stale / path.name)
    logger.error(
        "scan journal: %s is older than %d days, its marker may be gone; moved to %s for an "
        "operator to check against traceability_scanbatch before applying it",
        path.name,
        BATCHES_KEPT_DAYS,
        stale,
    )


def recover_left_segments() -> int:
    """`xaso clock`: apply the segments of web processes that died (a crash, a kill -9)."""
    return journal().recover()


def batches_prune() -> int:
    """`xaso clock`: forget the markers of segments applied long ago."""
    from django.utils import timezone

    from xaso.traceability.models import ScanBatch

    cutoff = timezone.now() - timedelta(days=BATCHES_KEPT_DAYS)
    deleted, _ = ScanBatch.objects.filter(applied_at__lt=cutoff).delete()
    return deleted


# --- The journal of this process ----------------------------------------------------------------
def _new_journal() -> ScanJournal:
    made = ScanJournal(settings.XASO_SCAN_JOURNAL_DIR, settings.XASO_SCAN_FLUSH_SECONDS)
    if made.flush_seconds > 0:
        atexit.register(_flush_at_exit, made)
    return made


_journal = PerProcess(_new_journal)


def journal() -> ScanJournal:
    """This process's journal (a forked process makes its own: segments, locks and thread
    are its parent's)."""
    return _journal.get()


def _flush_at_exit(exiting: ScanJournal) -> None:
    """A worker stopping (a restart, a deploy) applies what it holds; if it cannot, the
    segments stay on disk and the next process recovers them."""
    if exiting._pid != os.getpid() or not exiting.pending_count():
        return
    try:
        exiting.flush()
    except Exception:
        logger.exception("scan journal: left on disk for recovery")


def record(scan: PendingScan) -> None:
    journal().record(scan)
