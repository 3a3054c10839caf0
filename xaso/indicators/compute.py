"""Indicator values for a place and a period, counted from the records when asked.

Nothing is precomputed: a value is one or two counts over a source (see sources.py), and every
count an indicator set needs from the same source is one aggregate query with a FILTER per
count, so a whole dashboard costs one query per source. Rolling up is the same count over a
bigger part of the place tree; the children of a place come from one grouped query per source.

The two status sources (residents_surveyed, households_surveyed) are counted from their
per-village monthly tallies (survey/tallies.py, written with the status rows): a province sums
990 villages × months instead of scanning millions of rows. `COUNT_FROM_TALLIES = False` counts
their rows instead (the equivalence tests and bench/indicators_scale.py compare the two).

Values of a closed period come from what the leader froze (FrozenValue), never recounted.
"""

import posixpath
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection
from django.db.models import Case, Count, Exists, F, Q, QuerySet, Sum, When

from xaso.indicators.models import FrozenValue, Indicator, ManualValue
from xaso.indicators.sources import ANY, COMMUNE, SOURCES, VILLAGE, Source
from xaso.lib.periods import Period
from xaso.places.models import Place
from xaso.survey.models import StatusTally
from xaso.survey.tallies import month_end

ONE_DECIMAL = Decimal("0.1")
COUNT_FROM_TALLIES = True  # False: count the status rows themselves (tests, benchmark)


@dataclass
class Value:
    indicator: Indicator
    place: Place
    period: Period
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    value: Decimal | None = None
    target: Decimal | None = None
    meets_target: bool | None = None
    frozen: bool = False
    applicable: bool = (
        True  # False: the indicator says nothing at this level (dossiers of a village)
    )

    def as_dict(self) -> dict:
        return {
            "indicator": self.indicator.code,
            "place": self.place.code,
            "period": self.period.key,
            "value": _plain(self.value),
            "numerator": _plain(self.numerator),
            "denominator": _plain(self.denominator),
            "target": _plain(self.target),
            "meets_target": self.meets_target,
            "frozen": self.frozen,
        }


def _plain(number: Decimal | None) -> float | int | None:
    """JSON numbers: integers stay integers, the rest one decimal."""
    if number is None:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


# --- one place ------------------------------------------------------------------------------


def values_for_place(indicators: list[Indicator], place: Place, period: Period) -> list[Value]:
    """Every indicator's value for one place: one query per source, frozen values as frozen."""
    values = [Value(indicator=indicator, place=place, period=period) for indicator in indicators]
    frozen = _frozen(indicators, [place], period)
    counted = [value for value in values if (value.indicator.id, place.id) not in frozen]
    counts = _counts_for_place([value.indicator for value in counted], place, period)
    for value in values:
        key = (value.indicator.id, place.id)
        if key in frozen:
            _fill_frozen(value, frozen[key])
        else:
            _fill(value, counts.get(value.indicator.id))
    _fill_manual([value for value in counted if value.indicator.method == Indicator.Method.MANUAL])
    return values


def _counts_for_place(indicators, place: Place, period: Period) -> dict[int, tuple]:
    """{indicator id: (numerator, denominator, applicable)} from one aggregate per source."""
    wanted = _wanted_by_source(indicators, lambda indicator: f"i{indicator.id}", period)
    results = _place_counts(wanted, place)
    return {indicator.id: _parts_result(indicator, results) for indicator in indicators}


def _place_counts(wanted: dict[str, dict], place: Place) -> dict[str, int | None]:
    """{alias: count} at one place, one aggregate query per source; None where the source
    says nothing at the place's level."""
    results: dict[str, int | None] = {}
    for code, asked_of_source in wanted.items():
        source = SOURCES[code]
        place_q = _place_q(source, place)
        if place_q is None:
            results.update(dict.fromkeys(asked_of_source))
            continue
        query = _query(source, asked_of_source)
        results.update(query.answer(query.rows.filter(place_q).aggregate(**query.asked)))
    return results


def _wanted_by_source(indicators, prefix: Callable, period: Period) -> dict[str, dict]:
    """{source code: {"<prefix>_<n|d>": (spec, period)}}: what each source is asked."""
    by_source: dict[str, dict] = defaultdict(dict)
    for indicator in indicators:
        for part, spec in _parts(indicator):
            by_source[spec["source"]][f"{prefix(indicator)}_{part}"] = (spec, period)
    return by_source


@dataclass
class _Query:
    """What one source is asked: the aggregates over `rows` (to be narrowed to a place or
    grouped), and how an aggregate row answers each alias."""

    rows: QuerySet
    place_field: str
    asked: dict
    answer: Callable[[dict], dict]


def _query(source: Source, wanted: dict[str, tuple]) -> _Query:
    """Counts of `source`'s rows, or sums of its tallies, each different count asked once."""
    if _from_tallies(source, wanted):
        return _tally_query(source, wanted)
    counts = {alias: _count(source, spec, period) for alias, (spec, period) in wanted.items()}
    asked, answered_by = _distinct(counts)
    # Every count's FILTER holds its period's date test, so rows outside all the periods
    # asked count for none: said in WHERE, an index on the date narrows the scan (a month of
    # a province's visits instead of all of them; bench/indicators_scale.py).
    asked_periods = [period for _spec, period in wanted.values()]
    hull = replace(
        asked_periods[0],
        start=min(period.start for period in asked_periods),
        end=max(period.end for period in asked_periods),
    )
    return _Query(
        rows=source.model_class().objects.filter(source.base & source.period_q(hull)),
        place_field=source.place_field,
        asked=asked,
        answer=lambda row: {alias: row[answered_by[alias]] for alias in wanted},
    )


def _from_tallies(source: Source, wanted: dict[str, tuple]) -> bool:
    """Tallies are monthly: a period must end where a month of XASO_PERIOD_CLOSE_DAY ends (one
    parsed with another close day is counted from the rows). They hold the months of the close
    day they were written with: after changing it, run `xaso survey_tallies_rebuild`."""
    return (
        COUNT_FROM_TALLIES
        and source.tally_terms is not None
        and all(month_end(period.end) == period.end for _spec, period in wanted.values())
    )


def _tally_query(source: Source, wanted: dict[str, tuple]) -> _Query:
    """SUM(count) of each (key, period end) a count needs, the counts as their combinations
    (adults without "adult": "r" − "r.adult")."""
    terms = {
        alias: (source.tally_terms(spec.get("filter") or {}), period.end)
        for alias, (spec, period) in wanted.items()
    }
    sums: dict[tuple, str] = {}
    for keys, end in terms.values():
        for key in keys:
            sums.setdefault((key, end), f"t{len(sums)}")
    asked = {
        name: Sum("count", filter=Q(key=key, month_end__lte=end))
        for (key, end), name in sums.items()
    }
    rows = StatusTally.objects.filter(
        key__in=sorted({key for key, _end in sums}),
        month_end__lte=max(end for _key, end in sums),
    )

    def answer(row: dict) -> dict:
        return {
            alias: sum(
                coefficient * (row[sums[(key, end)]] or 0) for key, coefficient in keys.items()
            )
            for alias, (keys, end) in terms.items()
        }

    return _Query(rows=rows, place_field="village", asked=asked, answer=answer)


def _distinct(aggregates: dict[str, Count]) -> tuple[dict[str, Count], dict[str, str]]:
    """Each different count once (several shares of a dashboard often share a denominator),
    and for each alias the alias of the count that answers it."""
    first: dict[Count, str] = {}
    answered_by = {alias: first.setdefault(count, alias) for alias, count in aggregates.items()}
    return {alias: count for count, alias in first.items()}, answered_by


# --- one place over several periods -------------------------------------------------------------


def values_over_periods(indicator: Indicator, place: Place, periods: list[Period]) -> list[Value]:
    """`indicator` at `place`, one Value per period in the order given (the dashboard's trend).

    Every period's count is one more aggregate in the same query per source, so a 12-period
    trend reads each source once instead of twelve times. Frozen periods come from what was
    signed off.
    """
    values = [Value(indicator=indicator, place=place, period=p) for p in periods]
    frozen = {
        row.period: row
        for row in FrozenValue.objects.filter(
            indicator=indicator, place=place, period__in=[p.key for p in periods]
        )
    }
    counted = [value for value in values if value.period.key not in frozen]
    wanted: dict[str, dict] = defaultdict(dict)
    for index, value in enumerate(counted):
        for code, asked in _wanted_by_source(
            [indicator], lambda _i, index=index: f"p{index}", value.period
        ).items():
            wanted[code].update(asked)
    counts = _place_counts(wanted, place)
    for index, value in enumerate(counted):
        parts = {
            f"i{indicator.id}_{part}": counts[f"p{index}_{part}"]
            for part, _spec in _parts(indicator)
        }
        _fill(value, _parts_result(indicator, parts))
    for value in values:
        if value.period.key in frozen:
            _fill_frozen(value, frozen[value.period.key])
    if indicator.method == Indicator.Method.MANUAL:
        _fill_manual(counted)
    return values


# --- the children of a place, or every place of a level below it ----------------------------------


def values_for_children(
    indicators: list[Indicator], parent: Place, period: Period
) -> dict[Place, list[Value]]:
    """Each child place of `parent` with every indicator's value, from grouped queries."""
    children = list(Place.objects.filter(parent=parent).order_by("name"))
    return _values_for_group(indicators, parent, _child_kind(parent), children, period)


def values_for_descendants(
    indicators: list[Indicator], ancestor: Place, kind: str, period: Period
) -> dict[Place, list[Value]]:
    """Every place of `kind` below `ancestor` (the villages of a province, in path order) with
    every indicator's value: still one grouped query per source, whatever the number of places."""
    places = list(
        Place.objects.filter(kind=kind, path__startswith=ancestor.path)
        .exclude(pk=ancestor.pk)
        .order_by("path")
    )
    return _values_for_group(indicators, ancestor, kind, places, period)


def _child_kind(parent: Place) -> str:
    return Place.Kind.VILLAGE if parent.kind == Place.Kind.COMMUNE else Place.Kind.COMMUNE


def _values_for_group(indicators, root: Place, kind: str, places, period: Period) -> dict:
    frozen = _frozen(indicators, places, period)
    grouped = _counts_for_group(indicators, root, kind, places, period)
    result: dict[Place, list[Value]] = {}
    manual: list[Value] = []
    for place in places:
        row = []
        for indicator in indicators:
            value = Value(indicator=indicator, place=place, period=period)
            key = (indicator.id, place.id)
            if key in frozen:
                _fill_frozen(value, frozen[key])
            else:
                _fill(value, grouped.get(key, _empty(indicator, place)))
                if indicator.method == Indicator.Method.MANUAL:
                    manual.append(value)
            row.append(value)
        result[place] = row
    _fill_manual(manual)
    return result


def _counts_for_group(indicators, root: Place, kind: str, places, period: Period) -> dict:
    """{(indicator id, place id): (numerator, denominator, applicable)}."""
    per_place: dict[int, dict] = defaultdict(dict)
    wanted = _wanted_by_source(indicators, lambda indicator: f"i{indicator.id}", period)
    for code, asked_of_source in wanted.items():
        source = SOURCES[code]
        for place_id, counts in _grouped_counts(source, asked_of_source, root, kind, places):
            per_place[place_id].update(counts)
    result = {}
    for place in places:
        counts = per_place.get(place.id)
        for indicator in indicators:
            if counts is not None:
                result[(indicator.id, place.id)] = _parts_result(indicator, counts)
    return result


def _grouped_counts(source: Source, wanted: dict[str, tuple], root: Place, kind: str, places):
    """(place id, {alias: count}) for each place that has rows, or zeros where it has none."""
    group = _group_expression(source, kind)
    place_q = _place_q(source, root)
    if group is None or place_q is None:
        return
    query = _query(source, wanted)
    rows = query.rows.filter(place_q)
    if _adds_up_by_village(source, kind):
        counted = _communes_from_villages(rows, query.place_field, query.asked)
    else:
        grouped = rows.annotate(_group=group).values("_group").annotate(**query.asked).order_by()
        counted = ((row.pop("_group"), row) for row in grouped)
    totals: dict[int, dict] = {place.id: dict.fromkeys(wanted, 0) for place in places}
    for place_id, row in counted:
        counts = totals.get(place_id)
        if counts is not None:  # a camera hung on the commune itself is in no village
            for alias, count in query.answer(row).items():
                counts[alias] += count
    # A place with no rows counts zero, not "no data".
    yield from totals.items()


def _adds_up_by_village(source: Source, kind: str) -> bool:
    """Communes of a village-attached source add up from its villages. Not distinct counts:
    one household visited in two villages of a commune is one household of the commune."""
    return kind == Place.Kind.COMMUNE and source.attached_at == VILLAGE and not source.distinct


def _communes_from_villages(rows, village_field: str, asked: dict):
    """(commune id, {alias: count}): counted per village on the table's own column, then the
    few village sums joined to their commune. Grouping by the village's parent instead joins
    places on every row, 40 % slower for a province (bench/indicators_scale.py)."""
    per_village = rows.values(counted_village=F(village_field)).annotate(**asked).order_by()
    inner, params = per_village.query.sql_with_params()
    quote = connection.ops.quote_name
    sums = ", ".join(f"SUM(counted.{quote(alias)})" for alias in asked)
    places = quote(Place._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT village.parent_id, {sums} FROM ({inner}) counted "
            f"JOIN {places} village ON village.id = counted.counted_village "
            "GROUP BY village.parent_id",
            params,
        )
        for commune_id, *counts in cursor.fetchall():
            yield commune_id, dict(zip(asked, counts, strict=True))


def _group_expression(source: Source, kind: str):
    """The id of the place of `kind` each row of `source` counts for; None: it counts for none."""
    field_name = source.place_field
    if kind == Place.Kind.VILLAGE:
        return None if source.attached_at == COMMUNE else F(field_name)
    if source.attached_at == VILLAGE:  # a commune: the village's parent
        return F(f"{field_name}__parent")
    if source.attached_at == COMMUNE:
        return F(field_name)
    # Hung at any level (cameras): a village's row counts for its commune.
    return Case(
        When(**{f"{field_name}__kind": Place.Kind.VILLAGE}, then=F(f"{field_name}__parent")),
        default=F(field_name),
    )


# --- shared pieces ------------------------------------------------------------------------------


def _parts(indicator: Indicator):
    if indicator.method == Indicator.Method.MANUAL:
        return []
    parts = [("n", indicator.numerator)]
    if indicator.method == Indicator.Method.RATIO:
        parts.append(("d", indicator.denominator))
    return parts


def _count(source: Source, spec: dict, period: Period) -> Count:
    condition = source.condition(spec.get("filter") or {}, period)
    if source.distinct:
        return Count(source.distinct, filter=condition, distinct=True)
    return Count("pk", filter=condition)


def _place_q(source: Source, place: Place) -> Q | None:
    """Rows of `source` under `place`; None when the source says nothing at that level."""
    if source.attached_at == ANY:
        return Q(**{f"{source.place_field}__path__startswith": place.path})
    if source.attached_at == COMMUNE:
        if place.kind == Place.Kind.VILLAGE:
            return None
        if place.kind == Place.Kind.COMMUNE:
            return Q(**{source.place_field: place.id})
        communes = Place.objects.filter(kind=Place.Kind.COMMUNE, path__startswith=place.path)
        return Q(**{f"{source.place_field}__in": communes.values("id")})
    if place.kind == Place.Kind.VILLAGE:
        return Q(**{source.place_field: place.id})
    villages = Place.objects.filter(kind=Place.Kind.VILLAGE)
    if place.kind == Place.Kind.COMMUNE:
        # Not a join on the village's parent: PostgreSQL misjudges how many rows that keeps and
        # may scan a whole table for one commune (visits: 326 ms against 2.4 ms this way, for a
        # province of 1,000,000 households; bench/indicators_scale.py).
        return Q(**{f"{source.place_field}__in": villages.filter(parent=place.id).values("id")})
    # A province: when no village lies outside it (a site that serves one province) the first
    # test, evaluated once, keeps every row; else the rows of its villages. Written as an OR,
    # PostgreSQL checks a hashed list per row instead of a semi-join, which cost 1.7× the
    # plain scan (bench/indicators_scale.py).
    inside = villages.filter(path__startswith=place.path)
    outside = villages.exclude(path__startswith=place.path)
    return ~Exists(outside) | Q(**{f"{source.place_field}__in": inside.values("id")})


def _parts_result(indicator: Indicator, counts: dict) -> tuple:
    """A count missing from `counts` is a source that says nothing at this place's level."""
    numerator = counts.get(f"i{indicator.id}_n")
    denominator = counts.get(f"i{indicator.id}_d")
    applicable = numerator is not None
    return numerator, denominator, applicable


def _empty(indicator: Indicator, place: Place) -> tuple:
    """Counts of a child that no grouped query returned: zero if the indicator applies there."""
    applicable = all(
        _place_q(SOURCES[spec["source"]], place) is not None for _part, spec in _parts(indicator)
    )
    zero = 0 if applicable else None
    return zero, zero, applicable


def _fill(value: Value, counts: tuple | None) -> None:
    indicator = value.indicator
    if counts is not None:
        numerator, denominator, value.applicable = counts
        value.numerator = None if numerator is None else Decimal(numerator)
        if indicator.method == Indicator.Method.RATIO:
            value.denominator = None if denominator is None else Decimal(denominator)
            value.value = _ratio(value.numerator, value.denominator)
        else:
            value.value = value.numerator
    _judge(value)


def _ratio(numerator: Decimal | None, denominator: Decimal | None) -> Decimal | None:
    if numerator is None or not denominator:
        return None
    return (Decimal(100) * numerator / denominator).quantize(ONE_DECIMAL, ROUND_HALF_UP)


def _judge(value: Value) -> None:
    target = value.indicator.targets.get(value.place.kind)
    value.target = None if target in (None, "") else Decimal(str(target))
    _judge_against_target(value)


def _judge_against_target(value: Value) -> None:
    if value.value is None or value.target is None:
        value.meets_target = None
    elif value.indicator.higher_is_better:
        value.meets_target = value.value >= value.target
    else:
        value.meets_target = value.value <= value.target


def _frozen(indicators, places, period: Period) -> dict:
    rows = FrozenValue.objects.filter(
        indicator__in=[indicator.id for indicator in indicators],
        place__in=[place.id for place in places],
        period=period.key,
    )
    return {(row.indicator_id, row.place_id): row for row in rows}


def _fill_frozen(value: Value, row: FrozenValue) -> None:
    value.numerator, value.denominator, value.value = row.numerator, row.denominator, row.value
    value.target = row.target
    value.frozen = True
    _judge_against_target(value)  # against the target frozen with it


def _fill_manual(values: list[Value]) -> None:
    """A typed-in value for the place itself, else the sum of those typed in below it.

    One query for all the values of a call (a whole level of places), not one per place.
    """
    if not values:
        return
    paths = [value.place.path for value in values]
    common = posixpath.commonpath(paths).rstrip("/") + "/"  # "/22/06913/", "/22/06914/" → "/22/"
    entries = ManualValue.objects.filter(
        indicator__in={value.indicator.id for value in values},
        period__in={value.period.key for value in values},
        place__path__startswith=common,
    ).select_related("place")
    # Each entry under every place above it: (indicator, period, path) → entries.
    below: dict[tuple, list[ManualValue]] = defaultdict(list)
    for entry in entries:
        segments = entry.place.path.strip("/").split("/")
        for depth in range(1, len(segments) + 1):
            path = "/" + "/".join(segments[:depth]) + "/"
            below[(entry.indicator_id, entry.period, path)].append(entry)
    for value in values:
        found = below.get((value.indicator.id, value.period.key, value.place.path), [])
        own = [entry for entry in found if entry.place_id == value.place.id]
        if own:
            entry = own[0]
            value.numerator, value.denominator, value.value = (
                entry.numerator,
                entry.denominator,
                entry.value,
            )
        elif found and all(entry.denominator for entry in found):
            value.numerator = sum((entry.numerator or 0) for entry in found)
            value.denominator = sum(entry.denominator for entry in found)
            value.value = _ratio(Decimal(value.numerator), Decimal(value.denominator))
        _judge(value)
