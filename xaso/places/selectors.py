"""Every user-facing read of places and people, scoped to the places the user covers.

An id the user may not see gives the same 404 as an id that does not exist.
"""

from dataclasses import dataclass, field

from django.db.models import Count, F, Prefetch, Q, QuerySet
from django.http import Http404

from xaso.accounts.permissions import EVERYWHERE, scope_filter, scope_paths
from xaso.accounts.roles import Capability
from xaso.lib.text import search_key
from xaso.lib.vn import normalize_cccd, normalize_phone
from xaso.places.models import Household, Organisation, Place, Resident
from xaso.places.personal_data import lookup_hash

PUBLIC_KINDS = {Place.Kind.PROVINCE, Place.Kind.COMMUNE, Place.Kind.DISTRICT}


# --- Places -----------------------------------------------------------------------------------
def place_get_for_user(*, user, code: str) -> Place:
    """Provinces and communes are public official data; villages only inside the user's scope."""
    place = Place.objects.filter(code=code).select_related("parent", "successor").first()
    if place is None or not _place_visible(user, place):
        raise Http404
    return place


def _place_visible(user, place: Place) -> bool:
    if place.kind in PUBLIC_KINDS:
        return True
    return (
        Place.objects.filter(pk=place.pk)
        .filter(scope_filter(user, Capability.VIEW_DASHBOARD, "path"))
        .exists()
    )


def place_children_for_user(*, user, place: Place) -> QuerySet[Place]:
    children = Place.objects.filter(parent=place)
    if place.kind == Place.Kind.PROVINCE:
        return children
    return children.filter(
        Q(kind__in=PUBLIC_KINDS) | scope_filter(user, Capability.VIEW_DASHBOARD, "path")
    )


def villages_for_user(
    *, user, capability: str = Capability.VIEW_PEOPLE, within: Place | None = None
):
    villages = Place.objects.filter(kind=Place.Kind.VILLAGE).filter(
        scope_filter(user, capability, "path")
    )
    if within is not None:
        villages = villages.filter(path__startswith=within.path)
    return villages.order_by("code")


def home_places_for_user(*, user) -> QuerySet[Place]:
    """The places whose dashboard the user may open: those of her memberships."""
    paths = scope_paths(user, Capability.VIEW_DASHBOARD)
    if paths is EVERYWHERE:
        # A superuser starts at the communes that have villages (those in use).
        in_use = Place.objects.filter(kind=Place.Kind.COMMUNE, children__kind=Place.Kind.VILLAGE)
        return in_use.distinct().select_related("parent")
    return Place.objects.filter(path__in=paths).select_related("parent")


def places_search(*, q: str, limit: int = 30) -> QuerySet[Place]:
    """Provinces and communes by name (public official data), for the places admin page."""
    return Place.objects.filter(
        kind__in=[Place.Kind.PROVINCE, Place.Kind.COMMUNE], name__icontains=q.strip()
    ).select_related("parent")[:limit]


def place_for_manager(*, user, code: str) -> Place | None:
    """The place with `code` if the user may manage it (villages, merges, roles), else None."""
    return (
        Place.objects.filter(code=code.strip())
        .filter(scope_filter(user, Capability.MANAGE_PLACES, "path"))
        .first()
    )


@dataclass
class DashboardRow:
    place: Place | None
    villages: int = 0
    households: int = 0
    residents: int = 0
    organisations: int = 0


@dataclass
class Dashboard:
    place: Place
    total: DashboardRow
    rows: list[DashboardRow] = field(default_factory=list)


def dashboard_for_place(*, place: Place) -> Dashboard:
    """Counts under `place`, one row per child. Five queries, whatever the size of the tree.

    The caller has checked that the user may see `place` (home_places_for_user or scope).
    """
    children = list(Place.objects.filter(parent=place).order_by("code"))
    rows = {child.path: DashboardRow(place=child) for child in children}
    own = DashboardRow(place=None)  # records attached to the place itself, not a child
    total = DashboardRow(place=place)

    def bucket(path: str) -> DashboardRow:
        rest = path[len(place.path) :]
        child_path = place.path + rest.split("/")[0] + "/" if rest else None
        return rows.get(child_path, own)

    under = {"path__startswith": place.path}
    counts = [
        (
            "villages",
            Place.objects.filter(kind=Place.Kind.VILLAGE, **under)
            .values("path")
            .annotate(n=Count("id")),
        ),
        (
            "households",
            Household.objects.filter(village__path__startswith=place.path)
            .values(path=F("village__path"))
            .annotate(n=Count("id")),
        ),
        (
            "residents",
            Resident.objects.filter(
                household__village__path__startswith=place.path, erased_at__isnull=True
            )
            .values(path=F("household__village__path"))
            .annotate(n=Count("id")),
        ),
        (
            "organisations",
            Organisation.objects.filter(place__path__startswith=place.path)
            .values(path=F("place__path"))
            .annotate(n=Count("id")),
        ),
    ]
    for attribute, grouped in counts:
        for item in grouped:
            row = bucket(item["path"])
            setattr(row, attribute, getattr(row, attribute) + item["n"])
            setattr(total, attribute, getattr(total, attribute) + item["n"])
    ordered = list(rows.values())
    if own.households or own.organisations or own.residents:
        ordered.append(own)
    return Dashboard(place=place, total=total, rows=ordered)


# --- Households ---------------------------------------------------------------------------------
def _with_living_residents(households: QuerySet[Household]) -> QuerySet[Household]:
    """Attach `living_residents` (ids only) to each household that is actually fetched.

    A prefetch runs for the fetched page only, so counting the list (the paginator's COUNT)
    stays a plain COUNT instead of grouping every resident of the commune.
    """
    living = Resident.objects.filter(erased_at__isnull=True).only("id", "household_id")
    return households.prefetch_related(
        Prefetch("residents", queryset=living, to_attr="living_residents")
    )


def households_for_user(
    *, user, village: str = "", q: str = "", capability: str = Capability.VIEW_PEOPLE
) -> QuerySet[Household]:
    households = _with_living_residents(
        Household.objects.filter(scope_filter(user, capability, "village__path"))
    ).select_related("village")
    if village:
        households = households.filter(village__code=village)
    key = search_key(q)
    if key:
        # The household code is part of search_key, so one LIKE finds names, addresses, codes.
        households = households.filter(search_key__contains=key)
    return households.order_by("head_name", "id")


def household_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_PEOPLE
) -> Household:
    household = (
        _with_living_residents(
            Household.objects.filter(scope_filter(user, capability, "village__path"))
        )
        .select_related("village", "village__parent")
        .filter(public_id=public_id)
        .first()
    )
    if household is None:
        raise Http404
    return household


# --- Residents ----------------------------------------------------------------------------------
def residents_for_user(
    *,
    user,
    village: str = "",
    household: str = "",
    q: str = "",
    capability: str = Capability.VIEW_PEOPLE,
) -> QuerySet[Resident]:
    residents = Resident.objects.filter(
        scope_filter(user, capability, "household__village__path")
    ).select_related("household", "household__village")
    if village:
        residents = residents.filter(household__village__code=village)
    if household:
        residents = residents.filter(household__public_id=household)
    if q.strip():
        # A full CCCD or phone number is found through its keyed hash, never by decrypting.
        cccd, phone = normalize_cccd(q), normalize_phone(q)
        if cccd:
            residents = residents.filter(cccd_hash=lookup_hash("cccd", cccd))
        elif phone:
            residents = residents.filter(phone_hash=lookup_hash("phone", phone))
        else:
            residents = residents.filter(search_key__contains=search_key(q))
    return residents.order_by("full_name", "id")


def resident_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_PEOPLE
) -> Resident:
    resident = (
        Resident.objects.filter(scope_filter(user, capability, "household__village__path"))
        .select_related("household", "household__village")
        .filter(public_id=public_id)
        .first()
    )
    if resident is None:
        raise Http404
    return resident


# --- Organisations ------------------------------------------------------------------------------
def organisations_for_user(
    *, user, q: str = "", place: str = "", capability: str = Capability.VIEW_PEOPLE
) -> QuerySet[Organisation]:
    organisations = Organisation.objects.filter(
        scope_filter(user, capability, "place__path")
    ).select_related("place")
    if place:
        organisations = organisations.filter(place__code=place)
    key = search_key(q)
    if key:
        organisations = organisations.filter(search_key__contains=key)
    return organisations.order_by("name", "id")


def organisation_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_PEOPLE
) -> Organisation:
    organisation = (
        Organisation.objects.filter(scope_filter(user, capability, "place__path"))
        .select_related("place")
        .filter(public_id=public_id)
        .first()
    )
    if organisation is None:
        raise Http404
    return organisation


def places_for_organisations(*, user, capability: str = Capability.EDIT_PEOPLE):
    """Communes and villages where the user may register an organisation."""
    places = Place.objects.filter(kind__in=[Place.Kind.COMMUNE, Place.Kind.VILLAGE])
    if scope_paths(user, capability) is EVERYWHERE:
        # Not all 3,321 communes: only those in use, i.e. with villages.
        in_use = Q(kind=Place.Kind.VILLAGE) | Q(children__kind=Place.Kind.VILLAGE)
        return places.filter(in_use).distinct().order_by("path")
    return places.filter(scope_filter(user, capability, "path")).order_by("path")
