"""Every user-facing read of traceability records, scoped by place and, for a producer, by
the organisation the producer's membership names. Public reads (scan pages) are in public.py.
"""

from datetime import timedelta

from django.db.models import Count, F, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone

from xaso.accounts.models import Membership
from xaso.accounts.roles import Capability, Role, roles_with
from xaso.places.models import Place
from xaso.traceability.models import (
    CERTIFICATE_WARNING_DAYS,
    Certification,
    CounterfeitReport,
    DiaryEntry,
    GrowingArea,
    Lot,
    Producer,
    Product,
    Scan,
    Stamp,
    StampActivation,
    StampRun,
)


def _membership_rows(user) -> list[tuple[str, str, int | None]]:
    """(role, place path, organisation id) of the user, loaded once per user object."""
    cached = getattr(user, "_xaso_producer_memberships", None)
    if cached is None:
        cached = list(
            Membership.objects.filter(user=user).values_list(
                "role", "place__path", "organisation_id"
            )
        )
        user._xaso_producer_memberships = cached
    return cached


def producer_scope(user, capability: str, prefix: str = "") -> Q:
    """Rows whose producer lies in the user's scope; `prefix` leads from the row to Producer.

    Officers see every producer under their places; a producer sees only its organisation's.
    """
    if not user.is_authenticated or not user.is_active:
        return Q(pk__in=[])
    if user.is_superuser:
        return ~Q(pk__in=[])  # always true; see accounts.permissions.scope_filter
    allowed = roles_with(capability)
    scope = Q(pk__in=[])
    for role, path, organisation_id in _membership_rows(user):
        if role not in allowed:
            continue
        condition = Q(**{f"{prefix}place__path__startswith": path})
        if role == Role.PRODUCER:
            condition &= Q(**{f"{prefix}organisation_id": organisation_id})
        scope |= condition
    return scope


def _get(queryset: QuerySet, public_id: str):
    found = queryset.filter(public_id=public_id).first()
    if found is None:
        raise Http404
    return found


# --- Producers --------------------------------------------------------------------------------
def producers_for_user(*, user, capability: str = Capability.VIEW_TRACEABILITY):
    return (
        Producer.objects.filter(producer_scope(user, capability))
        .select_related("place", "organisation")
        .order_by("public_name", "id")
    )


def producer_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_TRACEABILITY
) -> Producer:
    return _get(producers_for_user(user=user, capability=capability), public_id)


# --- Growing areas and certifications ---------------------------------------------------------
def areas_for_user(*, user, capability: str = Capability.VIEW_TRACEABILITY, producer=None):
    areas = GrowingArea.objects.filter(producer_scope(user, capability, "producer__"))
    if producer is not None:
        areas = areas.filter(producer=producer)
    return areas.select_related("producer", "village").order_by("code")


def area_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_TRACEABILITY
) -> GrowingArea:
    return _get(areas_for_user(user=user, capability=capability), public_id)


def certifications_for_user(*, user, capability: str = Capability.VIEW_TRACEABILITY):
    return (
        Certification.objects.filter(producer_scope(user, capability, "producer__"))
        .select_related("producer", "area")
        .order_by("valid_until", "id")
    )


def certification_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_TRACEABILITY
) -> Certification:
    return _get(certifications_for_user(user=user, capability=capability), public_id)


# --- Products ---------------------------------------------------------------------------------
def products_for_user(*, user, capability: str = Capability.VIEW_TRACEABILITY):
    return (
        Product.objects.filter(producer_scope(user, capability, "producer__"))
        .select_related("producer")
        .order_by("name", "id")
    )


def product_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_TRACEABILITY
) -> Product:
    return _get(products_for_user(user=user, capability=capability), public_id)


# --- Diary ------------------------------------------------------------------------------------
def diary_for_user(
    *, user, capability: str = Capability.VIEW_TRACEABILITY, area=None, kind: str = ""
):
    entries = DiaryEntry.objects.filter(producer_scope(user, capability, "area__producer__"))
    if area is not None:
        entries = entries.filter(area=area)
    if kind:
        entries = entries.filter(kind=kind)
    return entries.select_related("area", "area__producer", "countersigned_by").order_by(
        "-occurred_on", "-id"
    )


def diary_entry_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_TRACEABILITY
) -> DiaryEntry:
    return _get(diary_for_user(user=user, capability=capability), public_id)


# --- Lots and stamps --------------------------------------------------------------------------
def lots_for_user(*, user, capability: str = Capability.VIEW_TRACEABILITY, q: str = ""):
    lots = Lot.objects.filter(producer_scope(user, capability, "product__producer__"))
    if q.strip():
        term = q.strip()
        lots = lots.filter(
            Q(batch__icontains=term) | Q(code__iexact=term) | Q(product__name__icontains=term)
        )
    return lots.select_related("product", "product__producer", "area").order_by(
        "-harvest_end", "-id"
    )


def lot_get_for_user(*, user, public_id: str, capability: str = Capability.VIEW_TRACEABILITY):
    return _get(lots_for_user(user=user, capability=capability), public_id)


def stamp_runs_for_user(*, user, capability: str = Capability.VIEW_TRACEABILITY):
    return (
        StampRun.objects.filter(producer_scope(user, capability, "producer__"))
        .select_related("product", "producer", "job")
        .order_by("-created_at", "-id")
    )


def stamp_run_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_TRACEABILITY
) -> StampRun:
    return _get(stamp_runs_for_user(user=user, capability=capability), public_id)


def reports_for_user(*, user, capability: str = Capability.VIEW_TRACEABILITY):
    """Counterfeit reports: officers by place, a producer only about its own products."""
    reports = CounterfeitReport.objects.filter(producer_scope(user, capability, "producer__"))
    return reports.select_related("producer", "lot", "lot__product").order_by("-created_at")


# --- Dashboard --------------------------------------------------------------------------------
def dashboard_for_user(*, user, season_days: int = 180) -> dict:
    """The officer's figures: producers, areas, lots this season, stamps and their scans."""
    capability = Capability.VIEW_TRACEABILITY
    runs = StampRun.objects.filter(producer_scope(user, capability, "producer__")).exclude(
        status__in=[StampRun.Status.VOID, StampRun.Status.FAILED, StampRun.Status.GENERATING]
    )
    stamps = Stamp.objects.filter(run__in=runs)
    activated = StampActivation.objects.filter(run__in=runs).aggregate(
        total=Sum(F("last_serial") - F("first_serial") + 1)
    )["total"]
    season_start = timezone.localdate() - timedelta(days=season_days)
    scans = Scan.objects.filter(Q(stamp__run__in=runs) | Q(lot__in=lots_for_user(user=user)))
    today = timezone.localdate()
    return {
        "producers": producers_for_user(user=user).count(),
        "areas": areas_for_user(user=user).count(),
        "area_ha": areas_for_user(user=user).aggregate(total=Sum("area_ha"))["total"] or 0,
        "lots_this_season": lots_for_user(user=user).filter(harvest_end__gte=season_start).count(),
        "stamps_issued": runs.aggregate(total=Sum("count"))["total"] or 0,
        "stamps_activated": activated or 0,
        "stamps_scanned": stamps.filter(scan_count__gt=0).count(),
        "scans": scans.count(),
        "scans_by_province": list(
            scans.exclude(province="")
            .values("province")
            .annotate(count=Count("id"))
            .order_by("-count")[:10]
        ),
        "suspicious": stamps.filter(suspicious=True).select_related("run", "run__product")[:20],
        "expiring": certifications_for_user(user=user).filter(
            valid_until__gte=today,
            valid_until__lte=today + timedelta(days=CERTIFICATE_WARNING_DAYS),
        ),
        "reports": reports_for_user(user=user).filter(handled_at__isnull=True)[:20],
    }


def villages_for_producer(producer: Producer):
    """Villages where a producer may place a growing area: those of its commune."""
    commune_path = producer.place.path
    if producer.place.kind == Place.Kind.VILLAGE and producer.place.parent_id:
        commune_path = producer.place.parent.path
    return Place.objects.filter(kind=Place.Kind.VILLAGE, path__startswith=commune_path)
