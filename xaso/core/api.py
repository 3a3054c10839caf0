import datetime
from typing import Any

from ninja import Router, Schema

from xaso.core import selectors

router = Router(tags=["jobs"])


class JobOut(Schema):
    id: str
    kind: str
    label: str
    status: str
    progress: int
    result: Any = None
    error: str | None = None
    created_at: datetime.datetime
    finished_at: datetime.datetime | None = None

    @staticmethod
    def resolve_id(job) -> str:
        return job.public_id

    @staticmethod
    def resolve_error(job) -> str | None:
        return job.error or None


@router.get("/jobs/{public_id}", response=JobOut)
def job_get(request, public_id: str):
    return selectors.job_get_for_user(user=request.auth, public_id=public_id)
