"""Household visits over JSON at /api/v1/survey/: the phone's offline cache, visits one at a
time or in batches (its sync queue), the visit list, the team leader's progress and conflict
resolution. Thin: parse, select, act."""

import datetime
import zoneinfo
from typing import Any

import pydantic
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate
from pydantic import StrictBool, field_validator

from xaso.core.errors import DomainError, InvalidInput
from xaso.core.pagination import Pagination
from xaso.lib.text import clean_input
from xaso.survey import actions, selectors
from xaso.survey.checklist import HOUSEHOLD_ITEMS, RESIDENT_ITEMS

router = Router(tags=["survey"])
PREFIX = "/survey"
BATCH_MAX = 100
KEY_ECHO = 200  # characters of a batch item's key echoed back


class DetailOut(Schema):
    detail: str


# --- The offline cache ------------------------------------------------------------------------
class ResidentCacheOut(Schema):
    id: str
    full_name: str
    birth_year: int | None
    status: dict[str, bool]


class HouseholdCacheOut(Schema):
    id: str
    code: str
    head_name: str
    address: str
    village: str
    version: int
    last_visited_on: datetime.date | None
    follow_up_on: datetime.date | None
    household_status: dict[str, bool]
    residents: list[ResidentCacheOut]


def _household_cache(household) -> dict:
    status = getattr(household, "adoption", None)
    return {
        "id": household.public_id,
        "code": household.code,
        "head_name": household.head_name,
        "address": household.address,
        "village": household.village.code,
        "version": status.version if status else 0,
        "last_visited_on": status.last_visited_on if status else None,
        "follow_up_on": status.follow_up_on if status else None,
        "household_status": _items(status, HOUSEHOLD_ITEMS),
        "residents": [
            {
                "id": resident.public_id,
                "full_name": resident.full_name,
                "birth_year": resident.birth_date.year if resident.birth_date else None,
                "status": _items(getattr(resident, "adoption", None), RESIDENT_ITEMS),
            }
            for resident in household.living_residents
        ],
    }


def _items(row, items) -> dict[str, bool]:
    return {item: row is not None and getattr(row, f"{item}_on") is not None for item in items}


@router.get(
    f"{PREFIX}/households", response={200: list[HouseholdCacheOut], 403: DetailOut, 404: DetailOut}
)
def household_cache(request, village: str = ""):
    households = selectors.visit_households_for_user(
        user=request.auth, village=clean_input(village)
    )
    return [_household_cache(household) for household in households]


# --- Visits -----------------------------------------------------------------------------------
class VisitIn(Schema):
    household: str
    visited_on: datetime.date
    notes: str = ""
    follow_up_on: datetime.date | None = None
    base_version: int | None = Field(None, ge=0, le=2_147_483_647)
    answers: dict = {}

    @field_validator("*", mode="before")
    @classmethod
    def _clean_text(cls, value):
        return clean_input(value)


class VisitOut(Schema):
    id: str
    household: str
    village: str
    visited_on: datetime.date
    notes: str
    follow_up_on: datetime.date | None
    answers: dict
    conflicts: list
    member: str
    created_at: datetime.datetime
    # Beyond the contract, for lists a person reads.
    head_name: str
    member_name: str
    conflicts_resolved_at: datetime.datetime | None

    @staticmethod
    def resolve_id(visit) -> str:
        return visit.public_id

    @staticmethod
    def resolve_household(visit) -> str:
        return visit.household.public_id

    @staticmethod
    def resolve_head_name(visit) -> str:
        return visit.household.head_name

    @staticmethod
    def resolve_village(visit) -> str:
        return visit.village.code

    @staticmethod
    def resolve_member(visit) -> str:
        return visit.member.username

    @staticmethod
    def resolve_member_name(visit) -> str:
        return visit.member.full_name or visit.member.username


def _record(user, payload: VisitIn, key) -> tuple:
    household = selectors.household_for_visit(public_id=payload.household)
    return actions.visit_record(
        member=user,
        household=household,
        visited_on=payload.visited_on,
        notes=payload.notes,
        answers=payload.answers,
        idempotency_key=key,
        follow_up_on=payload.follow_up_on,
        base_version=payload.base_version,
    )


@router.post(
    f"{PREFIX}/visits",
    response={200: VisitOut, 201: VisitOut, 403: DetailOut, 404: DetailOut},
)
def visit_create(request, payload: VisitIn):
    """Record a visit. The `Idempotency-Key` header is required: the same key again returns
    the first visit (200), or 409 if the content differs."""
    key = actions.idempotency_key_clean(clean_input(request.headers.get("Idempotency-Key", "")))
    visit, created = _record(request.auth, payload, key)
    return Status(201 if created else 200, visit)


class BatchIn(Schema):
    visits: list[Any] = Field(..., min_length=1, max_length=BATCH_MAX)


class BatchResultOut(Schema):
    idempotency_key: str
    status: int
    visit: VisitOut | None
    detail: str


class BatchOut(Schema):
    results: list[BatchResultOut]


@router.post(f"{PREFIX}/visits/batch", response=BatchOut)
def visit_batch(request, payload: BatchIn):
    """Record up to 100 visits (a phone's queue); one result per visit, in the order sent. Each
    visit is written in its own savepoint: a refused one never stops or half-writes the
    others."""
    items = [item if isinstance(item, dict) else {} for item in payload.visits]
    households = selectors.households_by_public_id(item.get("household") for item in items)
    results, to_record = [], []
    for item in items:
        key = item.get("idempotency_key")
        key = key if isinstance(key, str) else ""
        results.append({"idempotency_key": key[:KEY_ECHO], "visit": None, "detail": ""})
        parsed = _batch_item(item, key, households)
        if isinstance(parsed, dict):
            to_record.append((results[-1], parsed))
        else:
            results[-1] |= {"status": parsed[0], "detail": parsed[1]}
    recorded = actions.visits_record(member=request.auth, visits=[v for _r, v in to_record])
    for (result, _values), outcome in zip(to_record, recorded, strict=True):
        if isinstance(outcome, Exception):
            result |= dict(zip(("status", "detail"), _refusal(outcome), strict=True))
        else:
            result |= {"status": 201 if outcome[1] else 200, "visit": outcome[0]}
    return {"results": results}


def _batch_item(item: dict, key: str, households: dict) -> dict | tuple[int, str]:
    """The action's arguments for one visit of a batch, or (status, reason) if it cannot be."""
    try:
        key = clean_input(key)
        payload = VisitIn.model_validate(item)
    except pydantic.ValidationError as error:
        return 422, _invalid_fields(error)
    except ValueError:  # a lone surrogate in the key
        return 422, _("Văn bản chứa ký tự không hợp lệ.")
    household = households.get(payload.household)
    if household is None:
        return 404, _("Không tìm thấy hộ gia đình.")
    return {
        "household": household,
        "visited_on": payload.visited_on,
        "notes": payload.notes,
        "answers": payload.answers,
        "idempotency_key": key,
        "follow_up_on": payload.follow_up_on,
        "base_version": payload.base_version,
    }


def _refusal(error: Exception) -> tuple[int, str]:
    if isinstance(error, InvalidInput):
        return 422, error.message
    if isinstance(error, DomainError):
        return 409, error.message
    return 403, str(error)  # PermissionDenied


def _invalid_fields(error: pydantic.ValidationError) -> str:
    fields = sorted({str(part["loc"][0]) for part in error.errors() if part.get("loc")})
    return _("Dữ liệu lượt thăm không hợp lệ: %(fields)s.") % {"fields": ", ".join(fields)}


@router.get(f"{PREFIX}/visits", response=list[VisitOut])
@paginate(Pagination)
def visit_list(request, village: str = "", since: str = ""):
    return selectors.visits_for_user(
        user=request.auth, village=clean_input(village), since=_since(clean_input(since))
    )


def _since(value: str) -> datetime.datetime | None:
    """A date (from its first moment in Vietnam) or a datetime (naive: Vietnam time)."""
    value = value.strip()
    if not value:
        return None
    try:
        if len(value) == 10:
            moment = datetime.datetime.combine(datetime.date.fromisoformat(value), datetime.time())
        else:
            moment = datetime.datetime.fromisoformat(value)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, zoneinfo.ZoneInfo(settings.TIME_ZONE))
        moment.astimezone(datetime.UTC)  # out of range in UTC: a 500 on SQLite otherwise
    except (ValueError, OverflowError) as error:
        raise InvalidInput(
            _("Thời điểm “since” phải có dạng YYYY-MM-DD hoặc ngày giờ ISO 8601."), field="since"
        ) from error
    return moment


# --- The team leader --------------------------------------------------------------------------
class FollowUpOut(Schema):
    household: str
    head_name: str
    follow_up_on: datetime.date
    overdue: bool


class WeekOut(Schema):
    week_start: datetime.date
    visits: int
    households_visited: int
    adults_counted: int
    households_counted: int
    shares: dict[str, float]


class ProgressOut(Schema):
    village: str
    households: int
    households_visited: int
    visits: int
    follow_ups_due: list[FollowUpOut]
    conflicts: int
    weeks: list[WeekOut]


@router.get(f"{PREFIX}/progress", response={200: ProgressOut, 403: DetailOut, 404: DetailOut})
def progress(request, village: str = "", weeks: int = Query(8, ge=1, le=52)):
    """A village's (or a whole commune's) visits, follow-ups and checklist shares per week."""
    return selectors.visit_progress_for_user(
        user=request.auth, place=clean_input(village), weeks=weeks
    )


class ResolveIn(Schema):
    apply: StrictBool


@router.post(f"{PREFIX}/visits/{{public_id}}/resolve", response=VisitOut)
def visit_resolve(request, public_id: str, payload: ResolveIn):
    """Apply the visit's held-back answers (`apply: true`) or keep the current ones."""
    visit = selectors.visit_get_for_user(user=request.auth, public_id=clean_input(public_id))
    return actions.visit_conflicts_resolve(visit=visit, apply=payload.apply, by=request.auth)
