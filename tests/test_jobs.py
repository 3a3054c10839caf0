"""Long jobs run in the real task worker (django-tasks database backend) and report progress."""

import csv
from pathlib import Path

from django.conf import settings

from tests.worker import run_queued_tasks
from xaso.core import jobs
from xaso.core.models import Job
from xaso.places import actions


def test_a_household_export_runs_in_the_worker_and_yields_a_csv(
    client_as, world, django_capture_on_commit_callbacks
):
    client = client_as("lanhdao")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/households/export/", {"q": "", "village": ""})
    job = Job.objects.get(kind="households.export")
    assert response["Location"] == f"/jobs/{job.public_id}/"
    assert job.status == Job.Status.QUEUED

    progress = client.get(f"/jobs/{job.public_id}/").content.decode()
    assert '<progress max="100" value="0"' in progress
    assert "every 1s" in progress  # the page polls while the job is unfinished

    run_queued_tasks()
    job.refresh_from_db()
    assert (job.status, job.progress, job.result["rows"]) == (Job.Status.DONE, 100, 3)
    finished = client.get(f"/jobs/{job.public_id}/", headers={"HX-Request": "true"})
    assert "every 1s" not in finished.content.decode()

    download = client.get(f"/jobs/{job.public_id}/download")
    rows = list(csv.reader(b"".join(download.streaming_content).decode("utf-8-sig").splitlines()))
    assert rows[0][:2] == ["Mã hộ", "Chủ hộ"]
    assert {row[1] for row in rows[1:]} == {"Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường"}


def test_the_job_api_reports_status_progress_and_result(
    api_as, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = actions.households_export_start(village=world.a1.code, by=world.users["lanhdao"])
    api = api_as("lanhdao")
    queued = api.get(f"/jobs/{job.public_id}").json()
    assert (queued["status"], queued["progress"], queued["result"]) == ("queued", 0, None)
    run_queued_tasks()
    done = api.get(f"/jobs/{job.public_id}").json()
    assert done["status"] == "done"
    assert done["progress"] == 100
    assert done["result"]["rows"] == 2
    assert done["error"] is None


def test_a_job_delivered_twice_runs_once(world):
    job = Job.objects.create(kind="test", label="t", started_by=world.users["admin"])
    calls = []
    jobs.job_run(job_id=job.pk, work=lambda job, progress: calls.append(1) or {"ok": True})
    jobs.job_run(job_id=job.pk, work=lambda job, progress: calls.append(2) or {"ok": False})
    job.refresh_from_db()
    assert calls == [1]
    assert job.result == {"ok": True}


def test_a_failing_job_is_marked_failed_with_its_error(world):
    job = Job.objects.create(kind="test", label="t", started_by=world.users["admin"])

    def work(job, progress):
        progress(1, 4)
        raise ValueError("tệp nguồn bị hỏng")

    jobs.job_run(job_id=job.pk, work=work)
    job.refresh_from_db()
    assert (job.status, job.progress, job.error) == (Job.Status.FAILED, 25, "tệp nguồn bị hỏng")


def test_only_the_starter_sees_a_job_and_its_file(
    client_as, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = actions.households_export_start(by=world.users["lanhdao"])
    run_queued_tasks()
    other = client_as("motcua")
    assert other.get(f"/jobs/{job.public_id}/").status_code == 404
    assert other.get(f"/jobs/{job.public_id}/download").status_code == 404
    assert Path(settings.MEDIA_ROOT, Job.objects.get(pk=job.pk).result["file"]).exists()


def test_an_administrator_reloads_the_place_tree_as_a_job(
    client_as, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client_as("admin").post("/places/load/")
    job = Job.objects.get(kind="places.load")
    assert response["Location"] == f"/jobs/{job.public_id}/"
    run_queued_tasks()
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    assert job.result == {"created": 0, "updated": 0, "provinces": 34, "communes": 3321}
