"""What `xaso clock` does for the scan journal: old markers pruned, very old segments set aside."""

import os
import time
from datetime import timedelta

from django.utils import timezone

from xaso.core import clock
from xaso.traceability import scan_journal
from xaso.traceability.models import ScanBatch


def test_the_clock_runs_the_scan_journal_jobs():
    names = {job.name for job in clock.periodic_jobs()}
    assert {"scans.recover", "scans.batches_prune"} <= names


def test_markers_older_than_the_kept_days_are_pruned(db):
    old = ScanBatch.objects.create(name="old.scans", scans=3)
    ScanBatch.objects.filter(pk=old.pk).update(
        applied_at=timezone.now() - timedelta(days=scan_journal.BATCHES_KEPT_DAYS + 1)
    )
    ScanBatch.objects.create(name="recent.scans", scans=2)
    assert scan_journal.batches_prune() == 1
    assert list(ScanBatch.objects.values_list("name", flat=True)) == ["recent.scans"]


def test_a_segment_older_than_markers_are_kept_is_set_aside_not_applied(db, tmp_path):
    """Its marker may have been pruned: applying it could count its scans twice."""
    segment = tmp_path / f"deadhost-1-abcd-00000001{scan_journal.SEGMENT_SUFFIX}"
    scan = scan_journal.PendingScan(timezone.now(), "lot", "01", "ab")
    segment.write_bytes(scan.line())
    long_ago = time.time() - (scan_journal.BATCHES_KEPT_DAYS + 1) * 86400
    os.utime(segment, (long_ago, long_ago))

    assert scan_journal.ScanJournal(tmp_path, 0).recover() == 0
    assert not segment.exists()
    assert (tmp_path / "stale" / segment.name).read_bytes() == scan.line()
    assert not ScanBatch.objects.exists()
