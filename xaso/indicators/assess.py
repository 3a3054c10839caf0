"""Assessing places against a criteria set, with the evidence behind each verdict.

A criterion is met, not met, or not yet assessable (None): an indicator with no data yet, a
fact nobody has recorded. A place meets the set when every criterion is met; one criterion
not met makes the set not met; otherwise any None leaves the verdict open (None).

Batched: the indicator values of many places come from one grouped count per source
(compute.values_for_children for the villages of a commune, values_for_descendants for those
of a province), the facts from one query, and a CHILDREN criterion assesses all the villages
below the communes at once — never place by place.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.utils.translation import gettext as _

from xaso.indicators import compute
from xaso.indicators.models import CriteriaSet, Criterion, CriterionFact, Indicator
from xaso.lib.periods import Period
from xaso.places.models import Place


@dataclass
class CriterionResult:
    criterion: Criterion
    met: bool | None
    evidence: str
    value: Decimal | None = None
    threshold: Decimal | None = None


@dataclass
class Assessment:
    place: Place
    criteria_set: CriteriaSet
    period: Period
    results: list[CriterionResult] = field(default_factory=list)

    @property
    def met(self) -> bool | None:
        return verdict([result.met for result in self.results])


def verdict(answers: list[bool | None]) -> bool | None:
    """All met → True; any not met → False; otherwise (something unknown, or nothing) None."""
    if any(answer is False for answer in answers):
        return False
    if answers and all(answer is True for answer in answers):
        return True
    return None


def number_text(number: Decimal | int | None) -> str:
    """87.5 → "87,5"; 90 → "90" (Vietnamese decimal comma)."""
    if number is None:
        return "—"
    number = Decimal(number)
    if number == number.to_integral_value():
        return f"{int(number):,}".replace(",", ".")
    return f"{number.normalize():f}".replace(".", ",")


def places_to_assess(criteria_set: CriteriaSet, place: Place) -> list[Place]:
    """The place itself if it is of the set's kind, else every such place below it."""
    if place.kind == criteria_set.place_kind:
        return [place]
    return list(
        Place.objects.filter(
            kind=criteria_set.place_kind,
            path__startswith=place.path,
            successor__isnull=True,
        )
        .select_related("parent")
        .order_by("path")
    )


def assess(criteria_set: CriteriaSet, places: list[Place], period: Period) -> list[Assessment]:
    """Each place (all of the set's kind) against the set, in the order given."""
    criteria = list(
        criteria_set.criteria.select_related("indicator", "child_set").order_by("position", "code")
    )
    assessments = [
        Assessment(place=place, criteria_set=criteria_set, period=period) for place in places
    ]
    if not places:
        return assessments
    indicators = {
        c.indicator_id: c.indicator for c in criteria if c.kind == Criterion.Kind.INDICATOR
    }
    values = _indicator_values(list(indicators.values()), places, period)
    facts = _facts([c for c in criteria if c.kind == Criterion.Kind.FACT], places)
    children = _children(criteria, places, period)
    for assessment in assessments:
        place = assessment.place
        for criterion in criteria:
            if criterion.kind == Criterion.Kind.INDICATOR:
                result = _by_indicator(criterion, values.get((criterion.indicator_id, place.id)))
            elif criterion.kind == Criterion.Kind.FACT:
                result = _by_fact(criterion, facts.get((criterion.id, place.id)))
            else:
                result = _by_children(
                    criterion, children.get((criterion.child_set_id, place.id), [])
                )
            assessment.results.append(result)
    return assessments


# --- Indicator criteria -----------------------------------------------------------------------
def _indicator_values(indicators: list[Indicator], places: list[Place], period: Period) -> dict:
    """{(indicator id, place id): Value}: one grouped count per source for all the places
    (the villages of a commune, or of a whole province), whatever their number."""
    if not indicators or not places:
        return {}
    if len(places) == 1:
        rows = {places[0]: compute.values_for_place(indicators, places[0], period)}
    elif len({place.parent_id for place in places}) == 1 and places[0].parent_id:
        rows = compute.values_for_children(indicators, places[0].parent, period)
    else:
        ancestor = Place.objects.filter(path=_common_path(places)).first()
        if ancestor is None:  # places of several provinces: one batch per parent
            return _by_parent(indicators, places, period)
        rows = compute.values_for_descendants(indicators, ancestor, places[0].kind, period)
    wanted = {place.id for place in places}
    return {
        (value.indicator.id, place.id): value
        for place, row in rows.items()
        if place.id in wanted
        for value in row
    }


def _by_parent(indicators: list[Indicator], places: list[Place], period: Period) -> dict:
    by_parent: dict[int | None, list[Place]] = defaultdict(list)
    for place in places:
        by_parent[place.parent_id].append(place)
    found: dict = {}
    for parent_id, group in by_parent.items():
        for part in [group] if parent_id else [[place] for place in group]:
            found |= _indicator_values(indicators, part, period)
    return found


def _common_path(places: list[Place]) -> str:
    """The path every place lies under: "/22/" for villages of two communes of province 22."""
    shared = places[0].path.strip("/").split("/")
    for place in places[1:]:
        parts = place.path.strip("/").split("/")
        length = 0
        while length < min(len(shared), len(parts)) and shared[length] == parts[length]:
            length += 1
        shared = shared[:length]
    return "/" + "".join(f"{part}/" for part in shared)


def _by_indicator(criterion: Criterion, value: compute.Value | None) -> CriterionResult:
    indicator = criterion.indicator
    threshold = criterion.threshold
    if threshold is None and value is not None:
        threshold = value.target  # the indicator's own target for this kind of place
    result = CriterionResult(criterion=criterion, met=None, evidence="", threshold=threshold)
    if value is None or not value.applicable:
        result.evidence = _("chỉ tiêu không áp dụng cho cấp này")
        return result
    result.value = value.value
    if value.value is None:
        result.evidence = _("chưa có số liệu")
        return result
    if threshold is None:
        result.evidence = _("%(value)s; chưa đặt ngưỡng") % {"value": _amount(value)}
        return result
    if indicator.higher_is_better:
        result.met = value.value >= threshold
        operator = "≥" if result.met else "<"
    else:
        result.met = value.value <= threshold
        operator = "≤" if result.met else ">"
    unit = _unit(indicator)
    result.evidence = f"{_amount(value)} {operator} {number_text(threshold)}{unit}"
    return result


def _unit(indicator: Indicator) -> str:
    return f" {indicator.unit}" if indicator.unit else ""


def _amount(value: compute.Value) -> str:
    """ "87,5 % (35/40)" for a ratio, "2 camera" for a count."""
    text = f"{number_text(value.value)}{_unit(value.indicator)}"
    if value.numerator is not None and value.denominator:
        text += f" ({number_text(value.numerator)}/{number_text(value.denominator)})"
    return text


# --- Facts ------------------------------------------------------------------------------------
def _facts(criteria: list[Criterion], places: list[Place]) -> dict:
    if not criteria:
        return {}
    rows = CriterionFact.objects.filter(criterion__in=criteria, place__in=places)
    return {(row.criterion_id, row.place_id): row for row in rows}


def _by_fact(criterion: Criterion, fact: CriterionFact | None) -> CriterionResult:
    if fact is None:
        return CriterionResult(criterion=criterion, met=None, evidence=_("chưa có minh chứng"))
    return CriterionResult(criterion=criterion, met=fact.met, evidence=fact.evidence)


# --- Villages meeting a village set -----------------------------------------------------------
def _children(criteria: list[Criterion], places: list[Place], period: Period) -> dict:
    """{(child set id, place id): [Assessment of each village below the place]}."""
    child_sets = {
        c.child_set_id: c.child_set for c in criteria if c.kind == Criterion.Kind.CHILDREN
    }
    if not child_sets:
        return {}
    villages = list(
        Place.objects.filter(parent__in=places, kind=Place.Kind.VILLAGE, successor__isnull=True)
        .select_related("parent")
        .order_by("path")
    )
    found: dict = defaultdict(list)
    for child_set in child_sets.values():
        for assessment in assess(child_set, villages, period):
            found[(child_set.id, assessment.place.parent_id)].append(assessment)
    return found


def _by_children(criterion: Criterion, villages: list[Assessment]) -> CriterionResult:
    threshold = criterion.threshold if criterion.threshold is not None else Decimal(1)
    met = [assessment.place.name for assessment in villages if assessment.met is True]
    open_ = sum(1 for assessment in villages if assessment.met is None)
    evidence = _("%(met)s/%(all)s thôn đạt") % {"met": len(met), "all": len(villages)}
    if met:
        evidence += f": {', '.join(met)}"
    if len(met) >= threshold:
        answer = True
    elif len(met) + open_ >= threshold:
        answer = None
        evidence += "; " + _("%(n)s thôn chưa đủ căn cứ đánh giá") % {"n": open_}
    else:
        answer = False
    return CriterionResult(
        criterion=criterion,
        met=answer,
        evidence=evidence,
        value=Decimal(len(met)),
        threshold=threshold,
    )
