"""Every user-facing read of indicators, their values and criteria sets, scoped by place.

Definitions (indicators, criteria sets) are shared data: anyone who may view indicators
somewhere reads all of them. Values are read for a place the user covers: a village head her
village, a commune leader her commune and its villages, a province viewer her province. A
village outside the user's scope answers like an unknown one (404); a commune or province
outside it (they are public official units) is a refusal (403).
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.permissions import (
    EVERYWHERE,
    scope_filter,
    scope_paths,
    user_can,
    user_has_anywhere,
)
from xaso.accounts.roles import Capability
from xaso.core.errors import InvalidInput
from xaso.indicators import assess, compute
from xaso.indicators.models import (
    CriteriaSet,
    Criterion,
    CriterionFact,
    Indicator,
    ManualValue,
)
from xaso.lib import periods
from xaso.lib.text import clean_input
from xaso.places.models import Place

VIEW = Capability.VIEW_INDICATORS


@dataclass
class PlaceValues:
    """Every indicator asked for, for one place and period."""

    place: Place
    period: periods.Period
    values: list[compute.Value]


@dataclass
class Assessments:
    """A criteria set's verdicts for the places asked about."""

    criteria_set: CriteriaSet
    place: Place
    period: periods.Period
    assessments: list[assess.Assessment]


@dataclass
class ChildrenValues:
    """One indicator for each child place of `parent`."""

    parent: Place
    period: periods.Period
    values: list[compute.Value]


def _require_anywhere(user, capability: str) -> None:
    if not user_has_anywhere(user, capability):
        raise PermissionDenied(_("Bạn không có quyền xem chỉ tiêu."))


def _code(text) -> str:
    try:
        return clean_input(str(text or "")).strip()
    except ValueError:
        return ""


# --- Periods ----------------------------------------------------------------------------------
def period_parse(key: str | None, *, kind: str = periods.MONTH) -> periods.Period:
    """The period a key names, or the current one of `kind` when none is given.

    A key that names no period is an InvalidInput (422) with the Vietnamese PeriodError text.
    """
    close_day = settings.XASO_PERIOD_CLOSE_DAY
    try:
        key = clean_input(key or "").strip()
    except ValueError as error:
        raise InvalidInput(str(error), field="period") from error
    if not key:
        return periods.containing(timezone.localdate(), kind, close_day=close_day)
    try:
        return periods.parse(key, close_day=close_day)
    except periods.PeriodError as error:
        raise InvalidInput(str(error), field="period") from error


# --- Definitions ------------------------------------------------------------------------------
def indicators_visible(user) -> QuerySet[Indicator]:
    """All indicators, for anyone who may view indicators somewhere; PermissionDenied if not."""
    _require_anywhere(user, VIEW)
    return Indicator.objects.order_by("position", "code")


def indicator_get_for_user(user, code: str, *, capability: str = VIEW) -> Indicator:
    _require_anywhere(user, capability)
    indicator = Indicator.objects.filter(code=_code(code)).first()
    if indicator is None:
        raise Http404
    return indicator


def criteria_sets_visible(user) -> QuerySet[CriteriaSet]:
    _require_anywhere(user, VIEW)
    criteria = Criterion.objects.select_related("indicator", "child_set").order_by(
        "position", "code"
    )
    return (
        CriteriaSet.objects.select_related("province")
        .prefetch_related(Prefetch("criteria", queryset=criteria))
        .order_by("code")
    )


def criteria_set_get_for_user(user, code: str, *, capability: str = VIEW) -> CriteriaSet:
    _require_anywhere(user, capability)
    criteria_set = CriteriaSet.objects.select_related("province").filter(code=_code(code)).first()
    if criteria_set is None:
        raise Http404
    return criteria_set


def criterion_in_set(criteria_set: CriteriaSet, code: str, *, missing=InvalidInput) -> Criterion:
    """A criterion of the set by its code; an unknown one is an InvalidInput on the field
    "criterion" (an API body), or `missing` (Http404 for a page's URL)."""
    criterion = (
        Criterion.objects.filter(criteria_set=criteria_set, code=_code(code))
        .select_related("criteria_set__province", "indicator", "child_set")
        .first()
    )
    if criterion is None:
        if missing is InvalidInput:
            raise InvalidInput(_("Bộ tiêu chí không có tiêu chí này."), field="criterion")
        raise missing
    return criterion


def criteria_of_set(criteria_set: CriteriaSet) -> list[Criterion]:
    return list(
        criteria_set.criteria.select_related("indicator", "child_set").order_by("position", "code")
    )


# --- Places -----------------------------------------------------------------------------------
def place_for_user(user, code: str, capability: str = VIEW) -> Place:
    """The place with `code` if the user holds `capability` there.

    Unknown code → Http404; a village outside the user's scope → Http404 too (villages are not
    public); a commune or province outside it → PermissionDenied.
    """
    _require_anywhere(user, capability)
    code = _code(code)
    place = Place.objects.filter(code=code).select_related("parent").first() if code else None
    if place is None:
        raise Http404
    if user_can(user, capability, place):
        return place
    if place.kind == Place.Kind.VILLAGE:
        raise Http404
    raise PermissionDenied(_("Địa bàn này nằm ngoài phạm vi của bạn."))


def places_for_user(user, capability: str = VIEW) -> QuerySet[Place]:
    """The places a page offers to choose from: the user's own places, and below them the
    villages and the communes that have villages (a province has dozens of communes; only
    those in use are worth listing)."""
    paths = scope_paths(user, capability)
    in_use = Q(kind=Place.Kind.VILLAGE) | Q(
        kind=Place.Kind.COMMUNE, children__kind=Place.Kind.VILLAGE
    )
    if paths is EVERYWHERE:
        places = Place.objects.filter(in_use)
    else:
        under = Q(pk__in=[])
        for path in paths:
            under |= Q(path__startswith=path)
        places = Place.objects.filter(Q(path__in=paths) | (under & in_use))
    return places.filter(successor__isnull=True).distinct().order_by("path")


def home_place_for_user(user, capability: str = VIEW) -> Place | None:
    """Where a page starts: the user's first place (a superuser's first commune in use)."""
    return places_for_user(user, capability).exclude(kind=Place.Kind.VILLAGE).first() or (
        places_for_user(user, capability).first()
    )


def fact_criteria_for_user(user) -> list[Criterion]:
    """The yes/no criteria someone who enters values may record, of every set."""
    _require_anywhere(user, Capability.ENTER_INDICATOR_VALUES)
    return list(
        Criterion.objects.filter(kind=Criterion.Kind.FACT)
        .select_related("criteria_set__province")
        .order_by("criteria_set__code", "position", "code")
    )


@dataclass
class RecentEntries:
    values: list[ManualValue]
    facts: list[CriterionFact]


def recent_entries_for_user(user, *, limit: int = 20) -> RecentEntries:
    """The latest hand-entered values and facts in the places the user enters values for."""
    _require_anywhere(user, Capability.ENTER_INDICATOR_VALUES)
    scope = scope_filter(user, Capability.ENTER_INDICATOR_VALUES, "place__path")
    values = (
        ManualValue.objects.filter(scope)
        .select_related("indicator", "place", "entered_by")
        .order_by("-entered_at", "-id")[:limit]
    )
    facts = (
        CriterionFact.objects.filter(scope)
        .select_related("criterion__criteria_set", "place", "recorded_by")
        .order_by("-recorded_at", "-id")[:limit]
    )
    return RecentEntries(values=list(values), facts=list(facts))


# --- Values -----------------------------------------------------------------------------------
def indicator_values_for_user(
    user, indicator_code: str, place_code: str, period_key: str | None = None
) -> compute.Value:
    """One indicator's value for one place and period."""
    indicator = indicator_get_for_user(user, indicator_code)
    place = place_for_user(user, place_code)
    period = period_parse(period_key)
    [value] = compute.values_for_place([indicator], place, period)
    return value


def indicator_children_for_user(
    user, indicator_code: str, parent_code: str, period_key: str | None = None
) -> ChildrenValues:
    """One indicator for every child of a place (villages of a commune, communes of a
    province), from one grouped query per source. Children of a place the user covers are
    covered too, since a membership covers its whole subtree."""
    indicator = indicator_get_for_user(user, indicator_code)
    parent = place_for_user(user, parent_code)
    period = period_parse(period_key)
    by_child = compute.values_for_children([indicator], parent, period)
    return ChildrenValues(
        parent=parent, period=period, values=[row[0] for row in by_child.values()]
    )


def dashboard_for_user(user, place_code: str, period_key: str | None = None) -> PlaceValues:
    """Every indicator for one place and period: one query per source (compute.py)."""
    indicators = list(indicators_visible(user))
    place = place_for_user(user, place_code)
    period = period_parse(period_key)
    return PlaceValues(
        place=place, period=period, values=compute.values_for_place(indicators, place, period)
    )


# --- Criteria assessments ---------------------------------------------------------------------
def assessments_for_user(
    user, set_code: str, place_code: str, period_key: str | None = None
) -> Assessments:
    """The set's verdicts for the place if it is of the set's kind, else for every place of
    that kind below it (the villages of a commune, the communes of a province)."""
    criteria_set = criteria_set_get_for_user(user, set_code)
    place = place_for_user(user, place_code)
    period = period_parse(period_key)
    province = criteria_set.province
    if province is not None and not (
        place.path.startswith(province.path) or province.path.startswith(place.path)
    ):
        raise InvalidInput(
            _("Bộ tiêu chí “%(set)s” là của %(province)s; địa bàn này thuộc tỉnh khác.")
            % {"set": criteria_set.name, "province": province.name},
            field="place",
        )
    order = [Place.Kind.PROVINCE, Place.Kind.DISTRICT, Place.Kind.COMMUNE, Place.Kind.VILLAGE]
    if order.index(place.kind) > order.index(criteria_set.place_kind):
        raise InvalidInput(
            _("Bộ tiêu chí này áp dụng cho cấp %(kind)s; hãy chọn địa bàn cấp đó hoặc cao hơn.")
            % {"kind": Place.Kind(criteria_set.place_kind).label.lower()},
            field="place",
        )
    places = assess.places_to_assess(criteria_set, place)
    if province is not None:
        places = [each for each in places if each.path.startswith(province.path)]
    return Assessments(
        criteria_set=criteria_set,
        place=place,
        period=period,
        assessments=assess.assess(criteria_set, places, period),
    )
