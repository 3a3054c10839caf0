"""Stamp runs: generated as a job, only hashes stored, a one-time export, and every state a
scan can find: valid, not activated, recalled, void, suspicious, unknown."""

import csv
import hashlib
from pathlib import Path

import pytest
from django.conf import settings
from pypdf import PdfReader

from tests.traceability_data import printed_codes
from tests.worker import run_queued_tasks
from xaso.core.models import Job
from xaso.lib import stamp_codes
from xaso.traceability import actions, stamps
from xaso.traceability.models import Scan, Stamp, StampRun
from xaso.traceability.scan_journal import journal


def _run(trace, world, django_capture_on_commit_callbacks, count=70, layout="65"):
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.stamp_run_start(
            product=trace.product_a, count=count, layout=layout, by=world.users["htx"]
        )
    run_queued_tasks()
    run.refresh_from_db()
    return run


@pytest.fixture
def issued(trace, world, django_capture_on_commit_callbacks):
    return _run(trace, world, django_capture_on_commit_callbacks)


def test_a_run_issues_every_code_once_and_stores_only_keyed_hashes(issued):
    assert issued.status == StampRun.Status.ISSUED
    codes = printed_codes(issued)
    assert len(codes) == len(set(codes)) == 70
    canonical = [stamp_codes.normalize_code(code) for code in codes]
    assert all(len(code) == 20 for code in canonical)
    stored = set(Stamp.objects.filter(run=issued).values_list("code_hash", flat=True))
    assert stored == {stamp_codes.code_hash(code, key=stamps.stamp_key()) for code in canonical}
    assert not any(code in stored for code in canonical)  # no plain code in the database


def test_the_export_has_a_manifest_with_the_range_operator_and_file_hashes(issued):
    manifest = issued.manifest
    assert (manifest["first_serial"], manifest["last_serial"], manifest["count"]) == (1, 70, 70)
    assert manifest["operator"] == "htx"
    for kind in ("csv", "pdf"):
        path = Path(settings.MEDIA_ROOT) / getattr(issued, f"{kind}_file")
        assert manifest["files"][kind]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    pdf = PdfReader(Path(settings.MEDIA_ROOT) / issued.pdf_file)
    assert len(pdf.pages) == 2  # 70 labels on 65-up sheets
    first_code = printed_codes(issued)[0]
    assert first_code in pdf.pages[0].extract_text().replace("\n", "")  # wrapped in groups


def test_the_qr_links_are_upper_case_and_lead_to_the_stamp_page(issued, client):
    with (Path(settings.MEDIA_ROOT) / issued.csv_file).open(encoding="utf-8") as handle:
        row = next(csv.DictReader(handle))
    assert row["url"] == row["url"].upper()
    path = row["url"].split("/", 3)[3]
    assert client.get(f"/{path}").status_code == 200


def test_the_job_reports_done_with_progress_100_over_the_api(issued, api_as):
    response = api_as("htx").get(f"/jobs/{issued.job.public_id}")
    assert response.json()["status"] == "done"
    assert response.json()["progress"] == 100


def test_an_unactivated_stamp_verifies_as_not_activated(issued, client):
    code = printed_codes(issued)[0]
    body = client.get(f"/s/{code}", headers={"Accept": "application/json"}).json()
    assert body["status"] == "not_activated"
    assert body["scan_count"] == 1
    assert body["product"] == "Na dai Quảng Tân"


def test_an_activated_stamp_is_valid_counts_scans_and_keeps_the_first_scan(issued, trace, client):
    actions.stamp_run_activate(run=issued, lot=trace.lot_a, by=trace.lot_a.created_by)
    code = printed_codes(issued)[5]
    first = client.get(f"/s/{code.lower()}", headers={"Accept": "application/json"}).json()
    second = client.get(f"/S/{code.replace('-', '')}", headers={"Accept": "application/json"})
    body = second.json()
    assert (first["status"], body["status"]) == ("valid", "valid")
    assert body["scan_count"] == 2
    assert body["first_scan_at"] == first["first_scan_at"]
    assert body["lot"]["batch"] == "NA2026A"
    journal().flush()
    assert Scan.objects.filter(stamp__run=issued, result="valid").count() == 2


def test_activation_can_bind_a_range_and_ranges_cannot_overlap(issued, trace):
    by = trace.lot_a.created_by
    actions.stamp_run_activate(run=issued, lot=trace.lot_a, first_serial=1, last_serial=10, by=by)
    with pytest.raises(actions.DomainError, match="1–10"):
        actions.stamp_run_activate(
            run=issued, lot=trace.lot_a, first_serial=5, last_serial=20, by=by
        )


def test_a_recall_flips_every_stamp_of_the_lot_to_recalled_at_once(issued, trace, client):
    actions.stamp_run_activate(run=issued, lot=trace.lot_a, by=trace.lot_a.created_by)
    code = printed_codes(issued)[0]
    assert client.get(f"/s/{code}", headers={"Accept": "application/json"}).json()["status"] == (
        "valid"
    )
    actions.lot_recall(
        lot=trace.lot_a, reason="Dư lượng thuốc vượt ngưỡng", by=trace.lot_a.created_by
    )
    for other in printed_codes(issued)[:3]:
        body = client.get(f"/s/{other}", headers={"Accept": "application/json"}).json()
        assert body["status"] == "recalled"
    page = client.get(f"/s/{code}").content.decode()
    assert "LÔ HÀNG ĐÃ BỊ THU HỒI" in page


def test_a_voided_run_verifies_as_void_and_its_export_is_deleted(issued, trace, client):
    code = printed_codes(issued)[0]
    folder = stamps.export_folder(issued)
    with pytest.raises(actions.InvalidInput):
        actions.stamp_run_void(run=issued, reason=" ", by=trace.lot_a.created_by)
    actions.stamp_run_void(run=issued, reason="In lỗi", by=trace.lot_a.created_by)
    issued.refresh_from_db()
    assert (issued.status, issued.csv_file, issued.pdf_file) == ("void", "", "")
    assert client.get(f"/s/{code}", headers={"Accept": "application/json"}).json()["status"] == (
        "void"
    )
    assert folder.exists()  # deleted on commit; this test's transaction never commits


def test_marking_printed_deletes_the_export_after_commit(
    issued, trace, django_capture_on_commit_callbacks
):
    folder = stamps.export_folder(issued)
    with django_capture_on_commit_callbacks(execute=True):
        actions.stamp_run_mark_printed(run=issued, by=trace.lot_a.created_by)
    assert not folder.exists()
    issued.refresh_from_db()
    assert issued.status == StampRun.Status.PRINTED


def test_a_stamp_scanned_too_often_turns_suspicious(issued, trace, client, settings):
    settings.XASO_STAMP_MAX_SCANS = 3
    actions.stamp_run_activate(run=issued, lot=trace.lot_a, by=trace.lot_a.created_by)
    code = printed_codes(issued)[0]
    statuses = [
        client.get(f"/s/{code}", headers={"Accept": "application/json"}).json()["status"]
        for _ in range(4)
    ]
    assert statuses == ["valid", "valid", "valid", "suspicious"]
    journal().flush()
    assert Stamp.objects.get(run=issued, serial=1).suspicious


def test_an_unknown_code_is_a_404_with_status_unknown_and_is_recorded(trace, client):
    response = client.get("/s/ABCDABCDABCDABCDABCD", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.json()["status"] == "unknown"
    journal().flush()
    assert Scan.objects.filter(result="unknown").count() == 1
    assert client.get("/s/not-a-code").status_code == 404


def test_guessing_codes_is_rate_limited_per_client(trace, client, settings):
    settings.XASO_STAMP_MISSES_PER_MINUTE = 3
    answers = [
        client.get(f"/s/ABCDABCDABCDABCDAB{n:02d}", REMOTE_ADDR="203.0.113.9").status_code
        for n in range(5)
    ]
    assert answers == [404, 404, 404, 429, 429]
    assert client.get("/s/ABCDABCDABCDABCDAB99", REMOTE_ADDR="203.0.113.10").status_code == 404


def test_a_blocked_guesser_is_refused_from_memory_even_for_a_genuine_code(
    issued, trace, client, settings
):
    from django.core.cache import cache

    settings.XASO_STAMP_MISSES_PER_MINUTE = 1
    address = "203.0.113.77"
    for n in range(2):
        client.get(f"/s/ABCDABCDABCDABCDAC{n:02d}", REMOTE_ADDR=address)
    cache.clear()  # the block no longer needs the shared counter in this process
    genuine = printed_codes(issued)[0]
    assert client.get(f"/s/{genuine}", REMOTE_ADDR=address).status_code == 429
    assert client.get(f"/s/{genuine}", REMOTE_ADDR="203.0.113.78").status_code == 200


def test_a_counterfeit_report_reaches_the_producer_and_the_commune(issued, trace, client, api_as):
    code = printed_codes(issued)[0]
    response = client.post(
        f"/s/{code}/report", {"message": "Tem bị bóc lại", "where_bought": "Chợ Hạ Long"}
    )
    assert response.status_code == 201
    report = trace.producer_a.reports.get()
    assert (report.message, report.place) == ("Tem bị bóc lại", trace.producer_a.place)


@pytest.mark.parametrize("count", [0, 1_000_001, "mười"])
def test_a_run_outside_1_to_a_million_codes_is_refused(trace, api_as, count):
    response = api_as("htx").post(
        "/traceability/stamp-runs", {"product": trace.product_a.public_id, "count": count}
    )
    assert response.status_code == 422
    assert not StampRun.objects.exists()


def test_a_failure_during_a_run_leaves_no_stamp_and_no_export(trace, world, monkeypatch):
    run = StampRun.objects.create(
        producer=trace.producer_a, product=trace.product_a, count=30, created_by=world.users["htx"]
    )

    def broken_pdf(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(stamps, "_write_labels", broken_pdf)
    with pytest.raises(OSError):
        stamps.stamp_run_generate(run, progress=lambda done, total: None)
    run.refresh_from_db()
    assert run.status == StampRun.Status.FAILED
    assert not Stamp.objects.filter(run=run).exists()
    assert not stamps.export_folder(run).exists()


def test_the_api_starts_a_run_and_returns_its_id_and_job(trace, api_as):
    response = api_as("htx").post(
        "/traceability/stamp-runs", {"product": trace.product_a.public_id, "count": 10}
    )
    assert response.status_code == 201
    run = StampRun.objects.get(public_id=response.json()["id"])
    assert Job.objects.get(public_id=response.json()["job"]) == run.job
