"""Long jobs: a Job row the page polls, and a task in the worker that does the work.

Usage from an app:

    # tasks.py
    @task()
    def households_export(*, job_id: int) -> None:
        jobs.job_run(job_id=job_id, work=export_households)

    # actions.py
    job = jobs.job_start(kind="households.export", label=…, task=households_export, by=user)

`work(job, progress)` returns the JSON result; it calls `progress(done, total)` as it goes.
A job runs at most once: the worker claims it with a conditional update, so a task delivered
twice finds it already claimed and returns.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.utils import timezone

from xaso.core import audit
from xaso.core.models import Job

logger = logging.getLogger(__name__)

ProgressFn = Callable[[int, int], None]


@transaction.atomic
def job_start(*, kind: str, label: str, task, by, params: dict | None = None) -> Job:
    job = Job.objects.create(kind=kind, label=label, started_by=by, params=params or {})
    audit.record(actor=by, verb="job.started", target=job, changes={"kind": kind})
    transaction.on_commit(lambda: task.enqueue(job_id=job.pk))
    return job


def job_run(*, job_id: int, work: Callable[[Job, ProgressFn], Any]) -> None:
    claimed = Job.objects.filter(pk=job_id, status=Job.Status.QUEUED).update(
        status=Job.Status.RUNNING, started_at=timezone.now()
    )
    if not claimed:
        logger.info("job %s already claimed or gone; nothing to do", job_id)
        return
    job = Job.objects.get(pk=job_id)
    try:
        result = work(job, _progress_reporter(job_id))
    except Exception as error:
        logger.exception("job %s (%s) failed", job_id, job.kind)
        Job.objects.filter(pk=job_id).update(
            status=Job.Status.FAILED, error=str(error)[:2000], finished_at=timezone.now()
        )
        return
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.DONE, progress=100, result=result, finished_at=timezone.now()
    )


def _progress_reporter(job_id: int) -> ProgressFn:
    last_reported = -1

    def report(done: int, total: int) -> None:
        nonlocal last_reported
        percent = min(99, int(done * 100 / total)) if total else 0
        # One write per percent, not per row: progress must not slow the job down.
        if percent != last_reported:
            Job.objects.filter(pk=job_id).update(progress=percent)
            last_reported = percent

    return report
