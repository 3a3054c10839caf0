import datetime

from django.http import Http404
from ninja import Query, Router, Schema
from ninja.pagination import paginate

from xaso.accounts import selectors
from xaso.core.pagination import Pagination

router = Router(tags=["audit"])


class AuditOut(Schema):
    created_at: datetime.datetime
    actor: str
    verb: str
    target_type: str
    target_id: str
    target_label: str
    changes: dict
    ip_address: str | None

    @staticmethod
    def resolve_actor(entry) -> str:
        return entry.actor_username


class AuditFilter(Schema):
    actor: str = ""
    verb: str = ""
    target: str = ""
    since: datetime.date | None = None
    until: datetime.date | None = None


@router.get("/audit", response=list[AuditOut])
@paginate(Pagination)
def audit_list(request, filters: Query[AuditFilter]):
    entries = selectors.audit_for_user(user=request.auth, **filters.dict())
    if entries is None:
        raise Http404
    return entries
