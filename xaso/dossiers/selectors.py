"""Every user-facing read of dossiers, procedures and receipts, scoped by commune."""

import re

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.expressions import RawSQL
from django.db.models.functions import TruncMonth
from django.http import Http404
from django.utils import timezone

from xaso.accounts.permissions import EVERYWHERE, memberships, scope_filter, scope_paths
from xaso.accounts.roles import Capability
from xaso.dossiers import actions
from xaso.dossiers.models import Dossier, Procedure, Receipt
from xaso.lib.text import search_key
from xaso.places.models import Place

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


def _in_communes(user, capability: str) -> Q:
    """Dossiers of the communes under the user's places, as commune ids.

    Dossiers hang off communes only, so the scope is a short list of ids: the (commune,
    status, due) indexes then serve the queue and the list, where a path-prefix join to the
    places table would scan (bench/dossier_queue.py).
    """
    paths = scope_paths(user, capability)
    if paths is EVERYWHERE:
        return ~Q(pk__in=[])  # always true; see accounts.permissions.scope_filter
    ids = [pk for pk, path in _communes_of(user) if any(path.startswith(p) for p in paths)]
    return Q(commune_id__in=ids)


def _communes_of(user) -> list[tuple[int, str]]:
    """(id, path) of every commune under any of the user's places, loaded once per user
    object (i.e. per request), whatever the capability asked."""
    cached = getattr(user, "_xaso_dossier_communes", None)
    if cached is None:
        paths = {path for _role, path in memberships(user)}
        under = Q(pk__in=[])
        for path in paths:
            under |= Q(path__startswith=path)
        cached = list(
            Place.objects.filter(under, kind=Place.Kind.COMMUNE).values_list("pk", "path")
        )
        user._xaso_dossier_communes = cached
    return cached


def dossiers_for_user(
    *, user, capability: str = Capability.VIEW_DOSSIERS, q: str = "", status: str = ""
) -> QuerySet:
    dossiers = Dossier.objects.filter(_in_communes(user, capability))
    if status:
        dossiers = dossiers.filter(status__in=[s for s in status.split(",") if s])
    if q.strip():
        dossiers = dossiers.filter(_search(q.strip()))
    return dossiers.select_related("procedure", "commune", "assignee").order_by(
        "-submitted_at", "-id"
    )


def _search(query: str) -> Q:
    """A dossier code (or its start), a phone number, a CCCD number, or the applicant's name."""
    if _looks_like_code(query):
        prefix = query.upper()  # codes hold digits, dots, dashes and capitals only
        if connection.vendor == "sqlite":
            # SQLite's LIKE ignores case, so it cannot use the unique index; a range can
            # (byte order, SQLite's default collation). PostgreSQL's LIKE uses the
            # pattern-ops index Django made for the unique column.
            return Q(code__gte=prefix, code__lt=prefix + "\U0010ffff")
        return Q(code__startswith=prefix)
    digits = re.sub(r"[\s.\-]", "", query)
    if re.fullmatch(r"0\d{9,10}", digits):
        return _by_hash(applicant_phone_hash=actions._hash("phone", digits))
    if re.fullmatch(r"\d{12}", digits):
        return _by_hash(applicant_id_hash=actions._hash("cccd", digits))
    return _by_name(search_key(query))


SQLITE_NAME_MATCH = "SELECT rowid FROM dossier_search WHERE dossier_search MATCH %s"


def _by_name(key: str) -> Q:
    """Dossiers whose search key holds `key` anywhere ("van an" finds "Nguyễn Văn An").

    PostgreSQL serves the LIKE from its pg_trgm index (migration 0002), or for a common name
    with no commune bound walks `dossier_newest_idx` (0003) to its first page. SQLite has no
    index for the LIKE, so a key of 3 characters or more is looked up in the FTS5 trigram
    table of 0003 (a phrase query: the same substrings as the LIKE) and the ids are then
    scoped by the caller's filters (decision 0022, bench/dossier_queue.py). Shorter keys hold
    no trigram.
    """
    if connection.vendor == "sqlite" and len(key) >= 3:
        phrase = '"' + key.replace('"', '""') + '"'
        return Q(pk__in=RawSQL(SQLITE_NAME_MATCH, [phrase]))
    return Q(search_key__contains=key)


def _by_hash(**lookup) -> Q:
    """The few dossiers of one phone or CCCD, found through its hash index first: combined
    with the commune filter, SQLite would rather walk the commune's rows."""
    ids = list(Dossier.objects.filter(**lookup).values_list("pk", flat=True)[:1000])
    return Q(pk__in=ids)


def _looks_like_code(query: str) -> bool:
    """ "06913-2611…" or "000.00.12.H56-…": an agency code (a 5-digit commune code or a dotted
    agency code), then a dash. A phone written "0912-345-678" starts with 3–4 digits."""
    agency, dash, _rest = query.partition("-")
    return bool(dash) and (("." in agency and len(agency) > 3) or re.fullmatch(r"\d{5}", agency))


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
    condition = scope = Q(pk__in=[])
    for capability, statuses in QUEUE_STATUSES.items():
        in_scope = _in_communes(user, capability)
        mine = Q(assignee=user) if capability == Capability.PROCESS_DOSSIERS else Q()
        condition |= in_scope & Q(status__in=statuses) & mine
        scope |= in_scope
    # The same bounds once more outside the OR, so the (commune, status, due) index can
    # serve the whole query instead of a walk along the due dates (bench/dossier_queue.py).
    every_status = sorted({status for group in QUEUE_STATUSES.values() for status in group})
    return (
        Dossier.objects.filter(scope, Q(status__in=every_status), condition)
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


# --- For the officer and citizen pages (views.py, citizen_views.py) ------------------------------
def dossier_assignees(*, commune) -> QuerySet:
    """Active users who may process dossiers of `commune` (a membership at it or above it)."""
    from xaso.accounts.models import Membership, User
    from xaso.accounts.roles import roles_with

    ancestors = [prefix for prefix in _path_prefixes(commune.path)]
    memberships = Membership.objects.filter(
        role__in=roles_with(Capability.PROCESS_DOSSIERS), place__path__in=ancestors
    )
    return (
        User.objects.filter(is_active=True, pk__in=memberships.values("user_id"))
        .order_by("full_name", "username")
        .distinct()
    )


def _path_prefixes(path: str) -> list[str]:
    """ "/22/06913/" → ["/22/", "/22/06913/"]."""
    parts = [part for part in path.split("/") if part]
    return ["/" + "/".join(parts[: index + 1]) + "/" for index in range(len(parts))]


def communes_online() -> QuerySet:
    """Communes that take dossiers in XãSố: a one-stop officer holds a role at the commune."""
    from xaso.accounts.models import Membership
    from xaso.accounts.roles import roles_with
    from xaso.places.models import Place

    staffed = Membership.objects.filter(
        role__in=roles_with(Capability.RECEIVE_DOSSIERS), place__kind=Place.Kind.COMMUNE
    ).values("place_id")
    return Place.objects.filter(pk__in=staffed).select_related("parent").order_by("name")


def dossier_applicant_masked(dossier: Dossier) -> dict[str, str]:
    """The applicant's phone, e-mail and CCCD with all but the last 3 characters hidden."""
    from xaso.lib import crypto
    from xaso.lib.text import mask

    def masked(token: str) -> str:
        if not token:
            return ""
        try:
            return mask(crypto.decrypt(token, secret=actions._secret_key()), keep_end=3)
        except crypto.DecryptionError:
            return "⚠"

    return {
        "phone": masked(dossier.applicant_phone_encrypted),
        "email": masked(dossier.applicant_email_encrypted),
        "id_number": masked(dossier.applicant_id_encrypted),
    }


CHAIN_CHECK_LIMIT = 2000  # dossiers whose chain the statistics page verifies, newest first


def dossier_statistics_detail(*, user, since=None, until=None) -> dict:
    """What statistics_for_user leaves out, for the leader's page and its Decision 766
    estimates: dossiers and fees per month and per procedure, payments by method, ratings,
    digitised dossiers and validly signed chains (each chain verified, newest first)."""
    from xaso.dossiers import chain
    from xaso.dossiers.models import DossierDocument, Payment

    dossiers = dossiers_for_user(user=user).order_by()
    if since:
        dossiers = dossiers.filter(submitted_at__date__gte=since)
    if until:
        dossiers = dossiers.filter(submitted_at__date__lte=until)
    by_month = (
        dossiers.annotate(month=TruncMonth("submitted_at"))
        .values("month")
        .annotate(count=Count("id"), online=Count("id", filter=Q(channel=Dossier.Channel.ONLINE)))
        .order_by("month")
    )
    receipts = receipts_for_user(user=user).filter(status=Receipt.Status.ISSUED).order_by()
    if since:
        receipts = receipts.filter(issued_at__date__gte=since)
    if until:
        receipts = receipts.filter(issued_at__date__lte=until)
    fees_by_month = (
        receipts.annotate(month=TruncMonth("issued_at"))
        .values("month")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("month")
    )
    fees_by_procedure = (
        receipts.values("dossier__procedure__code", "dossier__procedure__name")
        .annotate(count=Count("id"), amount=Sum("amount"))
        .order_by("-amount")
    )
    paid = Payment.objects.filter(dossier__in=dossiers, status=Payment.Status.PAID).aggregate(
        paid=Count("id"), vietqr=Count("id", filter=Q(method=Payment.Method.VIETQR))
    )
    ratings = dossiers.filter(rating__isnull=False).aggregate(
        count=Count("id"), total=Sum("rating")
    )
    recent = list(
        dossiers.select_related("procedure", "commune").order_by("-submitted_at", "-id")[
            :CHAIN_CHECK_LIMIT
        ]
    )
    names: dict[int, set[str]] = {}
    for dossier_id, name in DossierDocument.objects.filter(
        dossier__in=[d.pk for d in recent],
        kind__in=[DossierDocument.Kind.SUBMITTED, DossierDocument.Kind.SUPPLEMENT],
    ).values_list("dossier_id", "name"):
        names.setdefault(dossier_id, set()).add(name)
    digitised = signed = 0
    for dossier in recent:
        required = {d["name"] for d in dossier.procedure.documents if d.get("required")}
        if required <= names.get(dossier.pk, set()):
            digitised += 1
        if chain.chain_verify(dossier).intact:
            signed += 1
    return {
        "by_month": list(by_month),
        "fees_by_month": list(fees_by_month),
        "fees_by_procedure": list(fees_by_procedure),
        "payments_paid": paid["paid"],
        "payments_vietqr": paid["vietqr"],
        "ratings": ratings["count"],
        "rating_total": ratings["total"] or 0,
        "checked": len(recent),
        "digitised": digitised,
        "signed": signed,
    }
