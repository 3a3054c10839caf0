"""Jobs of the traceability module. Each takes a job id; safe to deliver twice."""

from django.http import Http404
from django_tasks import task

from xaso.accounts.roles import Capability
from xaso.core import jobs
from xaso.traceability import selectors
from xaso.traceability.models import StampRun
from xaso.traceability.stamps import stamp_run_generate


@task()
def stamp_run_job(*, job_id: int) -> None:
    jobs.job_run(job_id=job_id, work=_generate)


def _generate(job, progress) -> dict:
    # The scope as it is now: a producer whose role was revoked meanwhile gets a failed job.
    try:
        run = selectors.stamp_run_get_for_user(
            user=job.started_by,
            public_id=job.params["run"],
            capability=Capability.MANAGE_PRODUCTION,
        )
    except Http404:
        StampRun.objects.filter(
            public_id=job.params["run"], status=StampRun.Status.GENERATING
        ).update(status=StampRun.Status.FAILED)
        raise
    return stamp_run_generate(run, progress)
