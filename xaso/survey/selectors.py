"""Reads for the community digital team: scoped to the places where the user records or oversees
visits."""

import datetime

from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils.translation import gettext as _

from xaso.accounts.permissions import scope_filter, user_can
from xaso.accounts.roles import Capability
from xaso.places.models import Household, Place, Resident
from xaso.survey.actions import local_today
from xaso.survey.checklist import HOUSEHOLD_ITEMS, RESIDENT_ITEMS
from xaso.survey.models import HouseholdStatus, ResidentStatus, Visit

OFFLINE_CACHE_LIMIT = 2000  # households; a village has a few hundred
FOLLOW_UP_HORIZON = datetime.timedelta(days=7)  # "due": on or before a week from today
FOLLOW_UP_LIMIT = 200


def _place(code: str, *, kinds: tuple[str, ...]) -> Place:
    place = Place.objects.filter(code=code, kind__in=kinds).first() if code else None
    if place is None:
        raise Http404
    return place


def _visited_place_filter(place: Place, field: str = "village") -> Q:
    """Rows of a village (its own index) or of every village under a commune."""
    if place.kind == Place.Kind.VILLAGE:
        return Q(**{field: place})
    return Q(**{f"{field}__path__startswith": place.path})


# --- The phone's offline cache ----------------------------------------------------------------
def visit_households_for_user(*, user, village: str = "") -> list[Household]:
    """Households the user may visit, with their living residents and both status rows.

    Three queries whatever the number of households (scope, households, residents). A village
    code the user does not record visits in is PermissionDenied; an unknown one is Http404.
    """
    households = Household.objects.filter(
        scope_filter(user, Capability.RECORD_VISITS, "village__path")
    )
    if village:
        place = _place(village, kinds=(Place.Kind.VILLAGE,))
        if not user_can(user, Capability.RECORD_VISITS, place):
            raise PermissionDenied(_("Bạn không được giao đến thăm các hộ của thôn này."))
        households = households.filter(village=place)
    living = (
        Resident.objects.filter(erased_at__isnull=True)
        .select_related("adoption")
        .only(
            "id",
            "public_id",
            "household_id",
            "full_name",
            "birth_date",
            *(f"adoption__{field}" for field in _resident_status_fields()),
        )
        .order_by("full_name", "id")
    )
    return list(
        households.select_related("village", "adoption")
        .prefetch_related(Prefetch("residents", queryset=living, to_attr="living_residents"))
        .order_by("head_name", "id")[:OFFLINE_CACHE_LIMIT]
    )


def _resident_status_fields() -> list[str]:
    return ["resident_id", *(f"{item}_on" for item in RESIDENT_ITEMS)]


def household_for_visit(*, public_id: str) -> Household:
    """The household a visit names, or Http404. Whether the member may visit it is the
    action's question (a refusal says why)."""
    household = Household.objects.select_related("village").filter(public_id=public_id).first()
    if household is None:
        raise Http404
    return household


def households_by_public_id(public_ids) -> dict[str, Household]:
    """The households a batch of visits names, in one query."""
    wanted = {value for value in public_ids if isinstance(value, str)}
    rows = Household.objects.select_related("village").filter(public_id__in=wanted)
    return {household.public_id: household for household in rows}


# --- Visits -----------------------------------------------------------------------------------
def _visit_scope(user) -> Q:
    return scope_filter(user, Capability.RECORD_VISITS, "village__path") | scope_filter(
        user, Capability.OVERSEE_VISITS, "village__path"
    )


def visits_for_user(
    *, user, village: str = "", since: datetime.datetime | None = None
) -> QuerySet[Visit]:
    """Visits in the villages where the user records or oversees visits, newest first."""
    visits = Visit.objects.filter(_visit_scope(user)).select_related(
        "household", "village", "member"
    )
    if village:
        visits = visits.filter(village__code=village)
    if since is not None:
        visits = visits.filter(created_at__gte=since)
    return visits.order_by("-created_at", "-id")


def visit_get_for_user(
    *, user, public_id: str, capability: str = Capability.OVERSEE_VISITS
) -> Visit:
    visit = (
        Visit.objects.filter(scope_filter(user, capability, "village__path"))
        .select_related("household", "village", "member")
        .filter(public_id=public_id)
        .first()
    )
    if visit is None:
        raise Http404
    return visit


# --- The team leader's progress ---------------------------------------------------------------
def visit_progress_for_user(*, user, place: str, weeks: int = 8) -> dict:
    """Households visited, follow-ups due, open conflicts and, per week, the visits made and
    each checklist item's share at the end of that week among those visited by then (adults
    for the person items, households for the household items)."""
    place_row = _place(place, kinds=(Place.Kind.VILLAGE, Place.Kind.COMMUNE))
    if not user_can(user, Capability.OVERSEE_VISITS, place_row):
        raise PermissionDenied(_("Bạn không theo dõi công việc của tổ công nghệ số ở đây."))
    today = local_today()
    this_monday = today - datetime.timedelta(days=today.weekday())
    starts = [this_monday - datetime.timedelta(weeks=n) for n in reversed(range(weeks))]

    in_place = _visited_place_filter(place_row)
    visits = Visit.objects.filter(in_place)
    statuses = HouseholdStatus.objects.filter(in_place)
    follow_ups = (
        statuses.filter(follow_up_on__lte=today + FOLLOW_UP_HORIZON)
        .select_related("household")
        .order_by("follow_up_on", "household_id")[:FOLLOW_UP_LIMIT]
    )
    return {
        "village": place_row.code,
        "households": Household.objects.filter(in_place).count(),
        "households_visited": statuses.count(),
        "visits": visits.count(),
        "conflicts": visits.filter(conflicts_resolved_at__isnull=True)
        .exclude(conflicts=[])
        .count(),
        "follow_ups_due": [
            {
                "household": status.household.public_id,
                "head_name": status.household.head_name,
                "follow_up_on": status.follow_up_on,
                "overdue": status.follow_up_on < today,
            }
            for status in follow_ups
        ],
        "weeks": _weeks(starts, visits, statuses, ResidentStatus.objects.filter(in_place)),
    }


def _weeks(starts, visits, statuses, residents) -> list[dict]:
    """Three aggregate queries, whatever the number of weeks."""
    week = datetime.timedelta(weeks=1)
    visit_counts, household_counts, resident_counts = {}, {}, {}
    for n, start in enumerate(starts):
        end = start + week - datetime.timedelta(days=1)
        in_week = Q(visited_on__gte=start, visited_on__lte=end)
        visit_counts[f"visits_{n}"] = Count("id", filter=in_week)
        visit_counts[f"households_{n}"] = Count("household", filter=in_week, distinct=True)
        known = Q(first_visited_on__lte=end)
        household_counts[f"seen_{n}"] = Count("pk", filter=known)
        for item in HOUSEHOLD_ITEMS:
            household_counts[f"{item}_{n}"] = Count("pk", filter=known & _yes_by(item, end))
        resident_counts[f"seen_{n}"] = Count("pk", filter=known)
        for item in RESIDENT_ITEMS:
            resident_counts[f"{item}_{n}"] = Count("pk", filter=known & _yes_by(item, end))
    by_visits = visits.filter(visited_on__gte=starts[0]).aggregate(**visit_counts)
    by_households = statuses.aggregate(**household_counts)
    by_adults = residents.filter(adult=True).aggregate(**resident_counts)
    rows = []
    for n, start in enumerate(starts):
        adults, households = by_adults[f"seen_{n}"], by_households[f"seen_{n}"]
        shares = {item: _percent(by_adults[f"{item}_{n}"], adults) for item in RESIDENT_ITEMS}
        shares |= {
            item: _percent(by_households[f"{item}_{n}"], households) for item in HOUSEHOLD_ITEMS
        }
        rows.append(
            {
                "week_start": start,
                "visits": by_visits[f"visits_{n}"],
                "households_visited": by_visits[f"households_{n}"],
                "adults_counted": adults,
                "households_counted": households,
                "shares": shares,
            }
        )
    return rows


def _yes_by(item: str, day: datetime.date) -> Q:
    return Q(**{f"{item}_on__lte": day})


def _percent(part: int, whole: int) -> float:
    return round(100 * part / whole, 1) if whole else 0.0
