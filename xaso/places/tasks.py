"""Jobs of the places app. Each takes a job id, loads, calls an action; safe to run twice."""

import csv
from pathlib import Path

from django.conf import settings
from django.db.models import Count, Q
from django_tasks import task

from xaso.core import audit, jobs
from xaso.places.loader import official_places_load
from xaso.places.models import Household


@task()
def places_load_job(*, job_id: int) -> None:
    def work(job, progress):
        result = official_places_load(progress=progress)
        audit.record(actor=job.started_by, verb="places.loaded", changes=result)
        return result

    jobs.job_run(job_id=job_id, work=work)


@task()
def households_export_job(*, job_id: int) -> None:
    jobs.job_run(job_id=job_id, work=_export_households)


def _export_households(job, progress) -> dict:
    """Write the households the job's params name (ids already scoped when the job started)."""
    ids = job.params["household_ids"]
    relative = Path("jobs") / f"ho-gia-dinh-{job.public_id}.csv"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    chunk = 500
    with target.open("w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel reads UTF-8
        writer = csv.writer(handle)
        writer.writerow(["Mã hộ", "Chủ hộ", "Địa chỉ", "Thôn", "Mã thôn", "Số nhân khẩu"])
        for start in range(0, len(ids), chunk):
            batch = (
                Household.objects.filter(pk__in=ids[start : start + chunk])
                .select_related("village")
                .annotate(members=Count("residents", filter=Q(residents__erased_at__isnull=True)))
                .order_by("village__code", "head_name")
            )
            for household in batch:
                writer.writerow(
                    [
                        household.code,
                        household.head_name,
                        household.address,
                        household.village.name,
                        household.village.code,
                        household.members,
                    ]
                )
            progress(min(start + chunk, len(ids)), len(ids))
    return {"file": str(relative), "rows": len(ids)}
