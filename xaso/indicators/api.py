"""Indicators, their values and criteria assessments over JSON (/api/v1/indicators, /criteria).

Thin: parse, select, act. Reads go through selectors.py (scoped by place), writes through
actions.py. A refusal (PermissionDenied) answers 403, an unknown or hidden place 404, a bad
period or definition 422 with the reason in Vietnamese, a closed period 409.
"""

import functools
import json
from typing import Any

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema, Status
from ninja.errors import HttpError
from pydantic import field_validator

from xaso.accounts.roles import Capability
from xaso.core.errors import InvalidInput
from xaso.indicators import actions, selectors
from xaso.indicators.models import Indicator
from xaso.lib.text import clean_input

router = Router(tags=["indicators"])


def refusals(view):
    """PermissionDenied from a selector or an action becomes a 403 with a JSON body."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except PermissionDenied as refusal:
            raise HttpError(403, str(refusal)) from refusal

    return wrapper


class _In(Schema):
    """A request body: NUL characters dropped from every string, lone surrogates refused."""

    @field_validator("*", mode="before")
    @classmethod
    def _clean_text(cls, value):
        return clean_input(value)


Number = int | float | None


# --- Definitions ------------------------------------------------------------------------------
class IndicatorOut(Schema):
    code: str
    name: str
    unit: str
    method: str
    period_kind: str
    targets: dict
    higher_is_better: bool
    source_note: str
    description: str
    published: bool


class IndicatorDefinition(IndicatorOut):
    """The whole definition, as exported and imported."""

    numerator: dict
    denominator: dict
    position: int


class IndicatorIn(_In):
    code: str = ""  # ignored on PUT: the code is the one in the path
    name: str = ""
    unit: str = "%"
    method: str = ""
    numerator: Any = None
    denominator: Any = None
    period_kind: str = Indicator.PeriodKind.MONTH
    targets: Any = None
    higher_is_better: bool = True
    source_note: str = ""
    description: str = ""
    published: bool = False
    position: Any = 0


@router.get("/indicators", response=list[IndicatorOut])
@refusals
def indicator_list(request):
    return list(selectors.indicators_visible(request.auth))


@router.post("/indicators", response={201: IndicatorOut})
@refusals
def indicator_create(request, payload: IndicatorIn):
    return Status(201, actions.indicator_save(values=payload.dict(), by=request.auth))


@router.get("/indicators/export", response=list[IndicatorDefinition])
@refusals
def indicator_export(request):
    return list(selectors.indicators_visible(request.auth))


class ImportOut(Schema):
    created: int
    updated: int


@router.post("/indicators/import", response=ImportOut)
@refusals
def indicator_import(request):
    try:
        rows = clean_input(json.loads(request.body or b"null"))
    except (ValueError, RecursionError) as error:  # UnicodeDecodeError is a ValueError
        raise InvalidInput(_("Nội dung không phải JSON hợp lệ."), field="file") from error
    return actions.indicators_import(rows=rows, by=request.auth)


@router.get("/indicators/{code}", response=IndicatorDefinition)
@refusals
def indicator_get(request, code: str):
    return selectors.indicator_get_for_user(request.auth, code)


@router.put("/indicators/{code}", response=IndicatorOut)
@refusals
def indicator_update(request, code: str, payload: IndicatorIn):
    indicator = selectors.indicator_get_for_user(
        request.auth, code, capability=Capability.MANAGE_INDICATORS
    )
    return actions.indicator_save(values=payload.dict(), by=request.auth, indicator=indicator)


# --- Values -----------------------------------------------------------------------------------
class ValueOut(Schema):
    indicator: str
    place: str
    period: str
    value: Number
    numerator: Number
    denominator: Number
    target: Number
    meets_target: bool | None
    frozen: bool


class ChildValueOut(ValueOut):
    place_name: str


class ChildrenOut(Schema):
    parent: str
    period: str
    values: list[ChildValueOut]


@router.get("/indicators/{code}/values", response={200: ValueOut | ChildrenOut})
@refusals
def indicator_values(request, code: str, place: str = "", parent: str = "", period: str = ""):
    if bool(place) == bool(parent):
        raise InvalidInput(_("Cần đúng một trong hai tham số: place hoặc parent."), field="place")
    if place:
        value = selectors.indicator_values_for_user(request.auth, code, place, period)
        return value.as_dict()
    children = selectors.indicator_children_for_user(request.auth, code, parent, period)
    return {
        "parent": children.parent.code,
        "period": children.period.key,
        "values": [value.as_dict() | {"place_name": value.place.name} for value in children.values],
    }


class EntryIn(_In):
    place: str
    period: str
    value: Any = None
    numerator: Any = None
    denominator: Any = None
    source: str = ""


class EntryOut(Schema):
    indicator: str = Field(alias="indicator.code")
    place: str = Field(alias="place.code")
    period: str
    value: float
    numerator: float | None
    denominator: float | None
    source: str


@router.post("/indicators/{code}/entries", response={201: EntryOut})
@refusals
def indicator_entry(request, code: str, payload: EntryIn):
    indicator = selectors.indicator_get_for_user(
        request.auth, code, capability=Capability.ENTER_INDICATOR_VALUES
    )
    place = selectors.place_for_user(request.auth, payload.place, Capability.ENTER_INDICATOR_VALUES)
    period = selectors.period_parse(payload.period or "")
    entry = actions.manual_value_enter(
        indicator=indicator,
        place=place,
        period=period,
        values=payload.dict(exclude={"place", "period"}),
        by=request.auth,
    )
    return Status(201, entry)


# --- Criteria sets ----------------------------------------------------------------------------
class CriterionOut(Schema):
    code: str
    name: str
    kind: str
    indicator: str | None
    threshold: Number
    child_set: str | None

    @staticmethod
    def resolve_indicator(criterion) -> str | None:
        return criterion.indicator.code if criterion.indicator_id else None

    @staticmethod
    def resolve_child_set(criterion) -> str | None:
        return criterion.child_set.code if criterion.child_set_id else None

    @staticmethod
    def resolve_threshold(criterion) -> Number:
        return _plain(criterion.threshold)


class CriteriaSetOut(Schema):
    code: str
    name: str
    place_kind: str
    province: str | None
    legal_basis: str
    criteria: list[CriterionOut]

    @staticmethod
    def resolve_province(criteria_set) -> str | None:
        return criteria_set.province.code if criteria_set.province_id else None

    @staticmethod
    def resolve_criteria(criteria_set) -> list:
        return list(criteria_set.criteria.all())


def _plain(number) -> Number:
    if number is None:
        return None
    return int(number) if number == number.to_integral_value() else float(number)


@router.get("/criteria", response=list[CriteriaSetOut])
@refusals
def criteria_set_list(request):
    return list(selectors.criteria_sets_visible(request.auth))


class CriterionAssessmentOut(Schema):
    code: str
    name: str
    kind: str
    met: bool | None
    evidence: str
    value: Number
    threshold: Number


class PlaceAssessmentOut(Schema):
    place: str
    place_name: str
    met: bool | None
    criteria: list[CriterionAssessmentOut]


class AssessmentsOut(Schema):
    set: str
    period: str
    assessments: list[PlaceAssessmentOut]


@router.get("/criteria/{code}/assessments", response=AssessmentsOut)
@refusals
def criteria_assessments(request, code: str, place: str = "", period: str = ""):
    if not place:
        raise InvalidInput(_("Vui lòng chọn địa bàn (place)."), field="place")
    found = selectors.assessments_for_user(request.auth, code, place, period)
    return {
        "set": found.criteria_set.code,
        "period": found.period.key,
        "assessments": [
            {
                "place": assessment.place.code,
                "place_name": assessment.place.name,
                "met": assessment.met,
                "criteria": [
                    {
                        "code": result.criterion.code,
                        "name": result.criterion.name,
                        "kind": result.criterion.kind,
                        "met": result.met,
                        "evidence": result.evidence,
                        "value": _plain(result.value),
                        "threshold": _plain(result.threshold),
                    }
                    for result in assessment.results
                ],
            }
            for assessment in found.assessments
        ],
    }


class FactIn(_In):
    criterion: str
    place: str
    met: bool
    evidence: str = ""


class FactOut(Schema):
    criterion: str = Field(alias="criterion.code")
    place: str = Field(alias="place.code")
    met: bool
    evidence: str


@router.post("/criteria/{code}/facts", response={201: FactOut})
@refusals
def criterion_fact(request, code: str, payload: FactIn):
    criteria_set = selectors.criteria_set_get_for_user(
        request.auth, code, capability=Capability.ENTER_INDICATOR_VALUES
    )
    criterion = selectors.criterion_in_set(criteria_set, payload.criterion)
    place = selectors.place_for_user(request.auth, payload.place, Capability.ENTER_INDICATOR_VALUES)
    fact = actions.criterion_fact_record(
        criterion=criterion,
        place=place,
        met=payload.met,
        evidence=payload.evidence,
        by=request.auth,
    )
    return Status(201, fact)
