"""What an indicator may count: the platform's own records, each with the filters it accepts.

An indicator's numerator or denominator is data, `{"source": "residents_surveyed", "filter":
{"adult": true, "has": "smartphone"}}`; this module turns it into a queryset condition for one
period. A new indicator needs no code as long as it counts one of these sources; a new source
is a few lines here.

Each source is attached to the place tree at the village (households, visits, statuses) or at
the commune (dossiers), or at any level (cameras): `place_field` is the ORM path to that place.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass, field

from django.apps import apps
from django.db.models import Q
from django.utils import timezone

from xaso.core.errors import InvalidInput
from xaso.lib.periods import Period, parse
from xaso.survey.checklist import ADULT_AGE, HOUSEHOLD_ITEMS, RESIDENT_ITEMS

FilterBuilder = Callable[[object, Period], Q]
VILLAGE, COMMUNE, ANY = "village", "commune", "any"


@dataclass(frozen=True)
class Source:
    code: str
    label: str
    model: str  # "app_label.Model"
    place_field: str  # ORM path from the model to the place it belongs to
    attached_at: str  # VILLAGE, COMMUNE or ANY
    # Which rows belong to a period: "as_of" (existed by its end) or "within" (happened in it).
    date_rule: str
    date_field: str
    filters: dict[str, FilterBuilder] = field(default_factory=dict)
    base: Q = field(default_factory=Q)  # rows that never count (erased residents, …)
    distinct: str = ""  # count distinct values of this field instead of rows
    # A status source kept as monthly tallies (survey/tallies.py): a filter as a linear
    # combination of tally keys, {key: coefficient}. The rows a filter keeps in a period are
    # those whose key's date is <= its end, so the count is the tallies' sum up to that end.
    tally_terms: Callable[[dict], dict[str, int]] | None = None

    def model_class(self):
        return apps.get_model(self.model)

    def period_q(self, period: Period) -> Q:
        if self.date_field.endswith("__date"):
            return self._instants_q(period)
        if self.date_rule == "within":
            return Q(
                **{f"{self.date_field}__gte": period.start, f"{self.date_field}__lte": period.end}
            )
        return Q(**{f"{self.date_field}__lte": period.end})

    def _instants_q(self, period: Period) -> Q:
        """A date-time field against the local midnights around the period, the same rows as
        its local date against the period's days without converting every row's date-time
        (2.3× faster over a million households on PostgreSQL; bench/indicators_scale.py)."""
        name = self.date_field.removesuffix("__date")
        after_end = {f"{name}__lt": _local_midnight(period.end + datetime.timedelta(days=1))}
        if self.date_rule == "within":
            return Q(**{f"{name}__gte": _local_midnight(period.start)}, **after_end)
        return Q(**after_end)

    def condition(self, spec_filter: dict, period: Period) -> Q:
        """The rows of this source that one numerator or denominator counts in `period`."""
        condition = self.period_q(period)
        for key, value in (spec_filter or {}).items():
            condition &= self.filters[key](value, period)
        return condition


def _resident_terms(spec_filter: dict) -> dict[str, int]:
    """residents_surveyed: "r[.item]" for all, "r.adult[.item]" for adults, and the
    difference of the two for the others."""
    item = spec_filter.get("has")
    suffix = f".{item}" if item else ""
    if "adult" not in spec_filter:
        return {f"r{suffix}": 1}
    if spec_filter["adult"]:
        return {f"r.adult{suffix}": 1}
    return {f"r{suffix}": 1, f"r.adult{suffix}": -1}


def _household_terms(spec_filter: dict) -> dict[str, int]:
    item = spec_filter.get("has")
    return {f"h.{item}" if item else "h": 1}


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _item_held(items) -> FilterBuilder:
    def build(item, period: Period) -> Q:
        if item not in items:
            raise InvalidInput(f"Mục “{item}” không có trong phiếu khảo sát.", field="filter")
        return Q(**{f"{item}_on__lte": period.end})

    return build


def _adult_by_status(value, period: Period) -> Q:
    return Q(adult=bool(value))


def _adult_by_birth(value, period: Period) -> Q:
    born_by = _years_before(period.end, ADULT_AGE)
    adult = Q(birth_date__lte=born_by) | Q(birth_date__isnull=True)
    return adult if value else ~adult


def _years_before(day: datetime.date, years: int) -> datetime.date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _flag(field_name: str) -> FilterBuilder:
    return lambda value, period: Q(**{field_name: bool(value)})


def _dossier_in_time(value, period: Period) -> Q:
    in_time = Q(timeliness__in=["early", "on_time"])
    return in_time if value else Q(timeliness="late")


def _dossier_finished(value, period: Period) -> Q:
    """A dossier whose result is out is judged early, on time or late; one in hand is not."""
    finished = Q(timeliness__in=["early", "on_time", "late"])
    return finished if value else ~finished


def _choice(field_name: str, allowed: set[str]) -> FilterBuilder:
    def build(value, period: Period) -> Q:
        if value not in allowed:
            choices = ", ".join(sorted(allowed))
            raise InvalidInput(f"Giá trị “{value}” không hợp lệ; chọn một trong: {choices}.")
        return Q(**{field_name: value})

    return build


_ALL_ITEMS = {**RESIDENT_ITEMS, **HOUSEHOLD_ITEMS}

SOURCES: dict[str, Source] = {
    source.code: source
    for source in [
        Source(
            code="households",
            label="Hộ gia đình",
            model="places.Household",
            place_field="village",
            attached_at=VILLAGE,
            date_rule="as_of",
            date_field="created_at__date",
        ),
        Source(
            code="residents",
            label="Nhân khẩu",
            model="places.Resident",
            place_field="household__village",
            attached_at=VILLAGE,
            date_rule="as_of",
            date_field="created_at__date",
            filters={"adult": _adult_by_birth},
            base=Q(erased_at__isnull=True),
        ),
        Source(
            code="households_surveyed",
            label="Hộ đã được tổ CNS đến thăm",
            model="survey.HouseholdStatus",
            place_field="village",
            attached_at=VILLAGE,
            date_rule="as_of",
            date_field="first_visited_on",
            filters={"has": _item_held(_ALL_ITEMS)},
            tally_terms=_household_terms,
        ),
        Source(
            code="residents_surveyed",
            label="Nhân khẩu đã được khảo sát",
            model="survey.ResidentStatus",
            place_field="village",
            attached_at=VILLAGE,
            date_rule="as_of",
            date_field="first_visited_on",
            filters={"has": _item_held(RESIDENT_ITEMS), "adult": _adult_by_status},
            tally_terms=_resident_terms,
        ),
        Source(
            code="visits",
            label="Lượt thăm hộ",
            model="survey.Visit",
            place_field="village",
            attached_at=VILLAGE,
            date_rule="within",
            date_field="visited_on",
        ),
        Source(
            code="households_visited",
            label="Hộ được thăm trong kỳ",
            model="survey.Visit",
            place_field="village",
            attached_at=VILLAGE,
            date_rule="within",
            date_field="visited_on",
            distinct="household",
        ),
        Source(
            code="dossiers",
            label="Hồ sơ thủ tục hành chính tiếp nhận",
            model="dossiers.Dossier",
            place_field="commune",
            attached_at=COMMUNE,
            date_rule="within",
            date_field="received_on",
            filters={
                "channel": _choice("channel", {"online", "counter", "post"}),
                "in_time": _dossier_in_time,
                "finished": _dossier_finished,
            },
        ),
        Source(
            code="cameras",
            label="Camera an ninh",
            model="safety.Camera",
            place_field="place",
            attached_at=ANY,
            date_rule="as_of",
            date_field="created_at__date",
            filters={"black_spot": _flag("is_black_spot"), "active": _flag("is_active")},
        ),
    ]
}


def check_spec(spec: dict, *, field_name: str) -> None:
    """Refuse a numerator or denominator that names an unknown source or filter, in Vietnamese."""
    if not isinstance(spec, dict) or not isinstance(spec.get("source"), str):
        spec = {"source": None}
    if spec["source"] not in SOURCES:
        names = ", ".join(SOURCES)
        raise InvalidInput(f"Nguồn dữ liệu phải là một trong: {names}.", field=field_name)
    source = SOURCES[spec["source"]]
    spec_filter = spec.get("filter") or {}
    if not isinstance(spec_filter, dict):
        raise InvalidInput("Bộ lọc phải là một đối tượng JSON.", field=field_name)
    for key, value in spec_filter.items():
        if not isinstance(value, str | bool | int):
            raise InvalidInput(
                f"Giá trị của bộ lọc “{key}” phải là chữ, số hoặc true/false.", field=field_name
            )
        if key not in source.filters:
            allowed = ", ".join(source.filters) or "không có"
            raise InvalidInput(
                f"Nguồn “{source.code}” không có bộ lọc “{key}” (được dùng: {allowed}).",
                field=field_name,
            )
    # Build once with a sample period so that a bad filter value is refused now, not later.
    try:
        source.condition(spec_filter, parse("2026"))
    except InvalidInput as error:  # named for the numerator or denominator it came from
        raise InvalidInput(error.message, field=field_name) from error
