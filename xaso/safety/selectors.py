"""Every user-facing read of cameras, rules, incidents and citizen reports, scoped by place."""

import datetime

from django.db.models import Count, Max, Prefetch, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.http import Http404

from xaso.accounts.models import Membership, User
from xaso.accounts.permissions import scope_filter
from xaso.accounts.roles import Capability, roles_with
from xaso.lib.text import clean_input
from xaso.places.models import Place
from xaso.safety.models import (
    OPEN_STATUSES,
    Camera,
    CameraEvent,
    CitizenReport,
    DutyShift,
    Incident,
    IncidentStep,
    Rule,
)


def _get(queryset: QuerySet, public_id: str):
    """A row out of scope answers exactly like an unknown one (so does a malformed id)."""
    if "\x00" in public_id:
        raise Http404
    row = queryset.filter(public_id=public_id).first()
    if row is None:
        raise Http404
    return row


# --- Cameras and rules ------------------------------------------------------------------------
def cameras_for_user(
    *, user, capability: str = Capability.VIEW_SAFETY, q: str = "", status: str = ""
) -> QuerySet:
    cameras = Camera.objects.filter(scope_filter(user, capability, "place__path"))
    q, status = clean_input(q), clean_input(status)
    if q.strip():
        cameras = cameras.filter(name__icontains=q.strip())
    if status:
        cameras = cameras.filter(status=status)
    return cameras.select_related("place", "owner_household", "owner_organisation").order_by(
        "name", "id"
    )


def camera_get_for_user(*, user, public_id: str, capability: str = Capability.VIEW_SAFETY):
    return _get(cameras_for_user(user=user, capability=capability), public_id)


def camera_for_frigate_name(name: str) -> Camera | None:
    """The camera a Frigate message names (ingestion: no user, matched by name)."""
    if not name:
        return None
    return Camera.objects.select_related("place").filter(frigate_name=name, is_active=True).first()


def rules_for_user(*, user, capability: str = Capability.VIEW_SAFETY, camera=None) -> QuerySet:
    rules = Rule.objects.filter(scope_filter(user, capability, "camera__place__path"))
    if camera is not None:
        rules = rules.filter(camera=camera)
    return rules.select_related("camera", "camera__place").order_by("camera__name", "id")


def rule_get_for_user(*, user, public_id: str, capability: str = Capability.VIEW_SAFETY):
    return _get(rules_for_user(user=user, capability=capability), public_id)


# --- Incidents --------------------------------------------------------------------------------
def incidents_for_user(
    *,
    user,
    capability: str = Capability.VIEW_SAFETY,
    status: str = "",
    category: str = "",
    severity: str = "",
    since: datetime.datetime | None = None,
    place=None,
    open_only: bool = False,
) -> QuerySet:
    incidents = Incident.objects.filter(scope_filter(user, capability, "place__path"))
    status, category, severity = (clean_input(text) for text in (status, category, severity))
    if status:
        incidents = incidents.filter(status__in=[s for s in status.split(",") if s])
    if open_only:
        incidents = incidents.filter(status__in=OPEN_STATUSES)
    if category:
        incidents = incidents.filter(category=category)
    if severity:
        incidents = incidents.filter(severity=severity)
    if since is not None:
        incidents = incidents.filter(opened_at__gte=since)
    if place is not None:
        incidents = incidents.filter(place__path__startswith=place.path)
    return incidents.select_related("place", "camera", "assignee").order_by("-opened_at", "-id")


def incident_get_for_user(*, user, public_id: str, capability: str = Capability.VIEW_SAFETY):
    return _get(incidents_for_user(user=user, capability=capability), public_id)


def incident_detail_for_user(*, user, public_id: str) -> Incident:
    """The incident with its events, timeline and citizen reports, in a fixed few queries."""
    incidents = incidents_for_user(user=user).prefetch_related(
        Prefetch("events", queryset=CameraEvent.objects.select_related("camera")),
        Prefetch("steps", queryset=IncidentStep.objects.select_related("actor")),
        Prefetch("reports", queryset=CitizenReport.objects.order_by("created_at")),
    )
    return _get(incidents, public_id)


def event_get_for_user(*, user, event_id: int, capability: str = Capability.VIEW_SNAPSHOTS):
    """A camera event (for its snapshot); scoped by the camera's place."""
    event = (
        CameraEvent.objects.filter(scope_filter(user, capability, "camera__place__path"))
        .select_related("camera", "camera__place", "incident")
        .filter(pk=event_id)
        .first()
    )
    if event is None:
        raise Http404
    return event


def incident_statistics(*, user, since=None, until=None) -> dict:
    """Counts by place, category and month (black spots first), for the statistics page."""
    incidents = incidents_for_user(user=user).order_by()
    if since is not None:
        incidents = incidents.filter(opened_at__date__gte=since)
    if until is not None:
        incidents = incidents.filter(opened_at__date__lte=until)
    by_place = (
        incidents.values("place__name", "place__code")
        .annotate(count=Count("id"))
        .order_by("-count")
    )
    by_category = incidents.values("category").annotate(count=Count("id")).order_by("-count")
    by_month = (
        incidents.annotate(month=TruncMonth("opened_at"))
        .values("month")
        .annotate(count=Count("id"))
        .order_by("month")
    )
    by_camera = (
        incidents.filter(camera__isnull=False)
        .values("camera__name", "camera__is_black_spot")
        .annotate(count=Count("id"))
        .order_by("-count")[:20]
    )
    categories = dict(Incident.Category.choices)
    return {
        "total": incidents.count(),
        "by_place": list(by_place),
        "by_category": [
            {**row, "label": str(categories.get(row["category"], row["category"]))}
            for row in by_category
        ],
        "by_month": list(by_month),
        "by_camera": list(by_camera),
    }


def incident_rows_for_export(*, user, since=None, until=None) -> QuerySet:
    """One row per incident for the CSV/XLSX given to the traffic-safety committee."""
    incidents = incidents_for_user(user=user)
    if since is not None:
        incidents = incidents.filter(opened_at__date__gte=since)
    if until is not None:
        incidents = incidents.filter(opened_at__date__lte=until)
    return incidents


# --- Citizen reports --------------------------------------------------------------------------
def citizen_reports_for_user(
    *, user, capability: str = Capability.VIEW_SAFETY, status: str = ""
) -> QuerySet:
    reports = CitizenReport.objects.filter(scope_filter(user, capability, "place__path"))
    if status:
        reports = reports.filter(status=status)
    return reports.select_related("place", "incident").order_by("-created_at", "-id")


def citizen_report_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_SAFETY
) -> CitizenReport:
    return _get(citizen_reports_for_user(user=user, capability=capability), public_id)


# --- Officer pages (added for views.py; small reads the pages need) -----------------------------
def safety_places_for_user(*, user, capability: str = Capability.VIEW_SAFETY) -> QuerySet:
    """Communes and villages the user may pick for a camera, an incident or a shift (the
    villages' communes first). A superuser gets the communes in use and their villages."""
    places = Place.objects.filter(kind__in=[Place.Kind.COMMUNE, Place.Kind.VILLAGE]).filter(
        scope_filter(user, capability, "path")
    )
    if user.is_superuser:
        places = places.filter(
            Q(kind=Place.Kind.VILLAGE) | Q(children__kind=Place.Kind.VILLAGE)
        ).distinct()
    return places.order_by("path")


def incident_handlers_for_place(*, place) -> QuerySet:
    """Active users who may handle incidents at `place` (a membership at it or above it)."""
    parts = [part for part in place.path.split("/") if part]
    paths = ["/" + "/".join(parts[: index + 1]) + "/" for index in range(len(parts))]
    members = Membership.objects.filter(
        role__in=roles_with(Capability.HANDLE_INCIDENTS), place__path__in=paths
    ).values("user_id")
    return User.objects.filter(pk__in=members, is_active=True).order_by("username")


def duty_shifts_for_user(*, user, capability: str = Capability.VIEW_SAFETY) -> QuerySet:
    return (
        DutyShift.objects.filter(scope_filter(user, capability, "place__path"))
        .select_related("user", "place")
        .order_by("-starts_at", "-id")
    )


def safety_cursor_for_user(*, user) -> str:
    """Changes when an incident in the user's scope opens or changes, or a camera goes on- or
    offline: the command centre polls with it and gets nothing back while it stays the same."""
    incidents = Incident.objects.filter(scope_filter(user, Capability.VIEW_SAFETY, "place__path"))
    figures = incidents.aggregate(count=Count("id"), last=Max("updated_at"))
    cameras = Camera.objects.filter(scope_filter(user, Capability.VIEW_SAFETY, "place__path"))
    online = cameras.aggregate(
        online=Count("id", filter=Q(status=Camera.Status.ONLINE)),
        offline=Count("id", filter=Q(status=Camera.Status.OFFLINE)),
    )
    last = figures["last"]
    stamp = int(last.timestamp() * 1_000_000) if last else 0
    return f"{figures['count']}-{stamp}-{online['online']}-{online['offline']}"
