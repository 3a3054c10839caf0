"""Jobs of the places app. Each takes a job id, loads, calls an action; safe to run twice."""

import csv
from pathlib import Path

from django.conf import settings
from django_tasks import task

from xaso.core import audit, jobs
from xaso.places import selectors
from xaso.places.loader import official_places_load

EXPORT_CHUNK = 500


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
    """Write the households the job's filters select, as its starter may see them now."""
    households = selectors.households_for_user(user=job.started_by, **job.params)
    total = households.count()
    relative = Path("jobs") / f"ho-gia-dinh-{job.public_id}.csv"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8-sig") as handle:  # BOM: Excel reads UTF-8
        writer = csv.writer(handle)
        writer.writerow(["Mã hộ", "Chủ hộ", "Địa chỉ", "Thôn", "Mã thôn", "Số nhân khẩu"])
        for start in range(0, total, EXPORT_CHUNK):
            for household in households[start : start + EXPORT_CHUNK]:
                writer.writerow(
                    [
                        household.code,
                        household.head_name,
                        household.address,
                        household.village.name,
                        household.village.code,
                        household.member_count,
                    ]
                )
            progress(min(start + EXPORT_CHUNK, total), total)
    return {"file": str(relative), "rows": total}
