"""Jobs of the traceability module. Each takes a job id; safe to deliver twice."""

from django_tasks import task

from xaso.accounts.roles import Capability
from xaso.core import jobs
from xaso.traceability import selectors
from xaso.traceability.stamps import stamp_run_generate


@task()
def stamp_run_job(*, job_id: int) -> None:
    jobs.job_run(job_id=job_id, work=_generate)


def _generate(job, progress) -> dict:
    # The scope as it is now: a producer whose role was revoked meanwhile gets a failed job.
    run = selectors.stamp_run_get_for_user(
        user=job.started_by, public_id=job.params["run"], capability=Capability.MANAGE_PRODUCTION
    )
    return stamp_run_generate(run, progress)
