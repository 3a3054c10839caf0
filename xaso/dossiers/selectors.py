"""Every user-facing read of dossiers, procedures and receipts, scoped by commune."""

import re

from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from xaso.accounts.permissions import scope_filter
from xaso.accounts.roles import Capability
from xaso.dossiers import actions
from xaso.dossiers.models import Dossier, Procedure, Receipt
from xaso.lib.text import search_key

S = Dossier.Status
OPEN_STATUSES = [
    S.SUBMITTED,
    S.RECEIVED,
    S.SUPPLEMENT,
    S.ASSIGNED,
    S.APPRAISED,
    S.APPROVED,
    S.RESULT_ISSUED,
    S.PAUSED,
]
# What each capability has to act on, for the work queue.
QUEUE_STATUSES = {
    Capability.RECEIVE_DOSSIERS: [S.SUBMITTED, S.RECEIVED, S.RESULT_ISSUED],
    Capability.PROCESS_DOSSIERS: [S.ASSIGNED],
    Capability.APPROVE_DOSSIERS: [S.APPRAISED],
}


def procedures_active() -> QuerySet:
    return Procedure.objects.filter(is_active=True).order_by("field", "name")


def procedure_by_code(code: str) -> Procedure:
    procedure = Procedure.objects.filter(code=code).first()
    if procedure is None:
        raise Http404
    return procedure


def dossiers_for_user(
    *, user, capability: str = Capability.VIEW_DOSSIERS, q: str = "", status: str = ""
) -> QuerySet:
    dossiers = Dossier.objects.filter(scope_filter(user, capability, "commune__path"))
    if status:
        dossiers = dossiers.filter(status__in=[s for s in status.split(",") if s])
    if q.strip():
        dossiers = dossiers.filter(_search(q.strip()))
    return dossiers.select_related("procedure", "commune", "assignee").order_by(
        "-submitted_at", "-id"
    )


def _search(query: str) -> Q:
    """A dossier code (or its start), a phone number, a CCCD number, or the applicant's name."""
    digits = re.sub(r"[\s.\-]", "", query)
    if re.fullmatch(r"0\d{9,10}", digits):
        return Q(applicant_phone_hash=actions._hash("phone", digits))
    if re.fullmatch(r"\d{12}", digits):
        return Q(applicant_id_hash=actions._hash("cccd", digits))
    if "-" in query and any(char.isdigit() for char in query):
        return Q(code__startswith=query.upper()) | Q(code__startswith=query)
    return Q(search_key__contains=search_key(query))


def dossier_get_for_user(*, user, code: str, capability: str = Capability.VIEW_DOSSIERS) -> Dossier:
    dossier = dossiers_for_user(user=user, capability=capability).filter(code=code).first()
    if dossier is None:
        raise Http404
    return dossier


def work_queue_for_user(*, user) -> QuerySet:
    """What waits on this officer, most urgent first: overdue, then by due date.

    Receiving officers see what must be received, assigned or returned; a processing officer
    the dossiers assigned to her; a leader those awaiting approval.
    """
    condition = Q(pk__in=[])
    for capability, statuses in QUEUE_STATUSES.items():
        in_scope = scope_filter(user, capability, "commune__path")
        mine = Q(assignee=user) if capability == Capability.PROCESS_DOSSIERS else Q()
        condition |= in_scope & Q(status__in=statuses) & mine
    return (
        Dossier.objects.filter(condition)
        .select_related("procedure", "commune", "assignee")
        .order_by("due", "submitted_at", "id")
    )


def dossier_public(*, code: str, secret: str) -> Dossier | None:
    """Anyone with the code and the secret; a wrong secret answers like an unknown code."""
    dossier = (
        Dossier.objects.select_related("procedure", "commune").filter(code=code.strip()).first()
    )
    if dossier is None or not actions.secret_matches(dossier, secret):
        return None
    return dossier


def receipts_for_user(*, user, capability: str = Capability.VIEW_DOSSIERS) -> QuerySet:
    receipts = Receipt.objects.filter(scope_filter(user, capability, "series__commune__path"))
    return receipts.select_related("series", "dossier").order_by("-issued_at", "-id")


def receipt_get_for_user(*, user, public_id: str, capability: str = Capability.VIEW_DOSSIERS):
    receipt = (
        receipts_for_user(user=user, capability=capability).filter(public_id=public_id).first()
    )
    if receipt is None:
        raise Http404
    return receipt


def receipt_public(public_id: str) -> Receipt | None:
    return (
        Receipt.objects.select_related("series", "series__commune")
        .filter(public_id=public_id)
        .first()
    )


def statistics_for_user(*, user, since=None, until=None) -> dict:
    """What the commune leader reads: counts, timeliness, online share, fees by month."""
    dossiers = dossiers_for_user(user=user).order_by()
    if since:
        dossiers = dossiers.filter(submitted_at__date__gte=since)
    if until:
        dossiers = dossiers.filter(submitted_at__date__lte=until)
    totals = dossiers.aggregate(
        received=Count("id"),
        in_progress=Count("id", filter=Q(status__in=OPEN_STATUSES)),
        returned=Count("id", filter=Q(status=S.RETURNED)),
        early=Count("id", filter=Q(timeliness=Dossier.Timeliness.EARLY)),
        on_time=Count("id", filter=Q(timeliness=Dossier.Timeliness.ON_TIME)),
        late=Count("id", filter=Q(timeliness=Dossier.Timeliness.LATE)),
        online=Count("id", filter=Q(channel=Dossier.Channel.ONLINE)),
        overdue=Count("id", filter=Q(status__in=OPEN_STATUSES, due__lt=timezone.localdate())),
    )
    by_procedure = (
        dossiers.values("procedure__code", "procedure__name")
        .annotate(count=Count("id"), late=Count("id", filter=Q(timeliness="late")))
        .order_by("-count")
    )
    receipts = receipts_for_user(user=user).filter(status=Receipt.Status.ISSUED).order_by()
    fees_by_month = (
        receipts.annotate(month=TruncMonth("issued_at"))
        .values("month")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("month")
    )
    return {
        "totals": totals,
        "by_procedure": list(by_procedure),
        "fees_by_month": list(fees_by_month),
    }
