"""Places, households, residents and organisations over JSON. Thin: parse, select, act."""

import datetime

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Query, Router, Schema, Status
from ninja.pagination import paginate

from xaso.accounts.roles import Capability
from xaso.core.errors import InvalidInput
from xaso.core.pagination import Pagination
from xaso.places import actions, selectors
from xaso.places.models import Household, Organisation, Place, Resident
from xaso.places.personal_data import masked_value

router = Router(tags=["places"])


# --- Places -------------------------------------------------------------------------------------
class PlaceOut(Schema):
    code: str
    name: str
    kind: str
    division_type: str
    parent: str | None
    successor: str | None
    merged_on: datetime.date | None

    @staticmethod
    def resolve_parent(place) -> str | None:
        return place.parent.code if place.parent_id else None

    @staticmethod
    def resolve_successor(place) -> str | None:
        return place.successor.code if place.successor_id else None


@router.get("/places/{code}", response=PlaceOut)
def place_get(request, code: str):
    return selectors.place_get_for_user(user=request.auth, code=code)


@router.get("/places/{code}/children", response=list[PlaceOut])
@paginate(Pagination)
def place_children(request, code: str):
    place = selectors.place_get_for_user(user=request.auth, code=code)
    children = selectors.place_children_for_user(user=request.auth, place=place)
    return children.select_related("parent", "successor").order_by("code")


def _village_for_write(user, code: str) -> Place:
    village = (
        selectors.villages_for_user(user=user, capability=Capability.EDIT_PEOPLE)
        .filter(code=code)
        .first()
    )
    if village is None:
        raise InvalidInput(_("Không tìm thấy thôn với mã này."), field="village")
    return village


# --- Households ---------------------------------------------------------------------------------
class HouseholdOut(Schema):
    id: str
    village: str
    village_name: str
    code: str
    head_name: str
    address: str
    notes: str
    member_count: int | None = None
    created_at: datetime.datetime
    updated_at: datetime.datetime

    @staticmethod
    def resolve_id(household) -> str:
        return household.public_id

    @staticmethod
    def resolve_village(household) -> str:
        return household.village.code

    @staticmethod
    def resolve_village_name(household) -> str:
        return household.village.name


class HouseholdFilter(Schema):
    village: str = ""
    q: str = ""


class HouseholdIn(Schema):
    village: str
    head_name: str
    code: str = ""
    address: str = ""
    notes: str = ""


class HouseholdPatch(Schema):
    village: str | None = None
    head_name: str | None = None
    code: str | None = None
    address: str | None = None
    notes: str | None = None


@router.get("/households", response=list[HouseholdOut])
@paginate(Pagination)
def household_list(request, filters: Query[HouseholdFilter]):
    return selectors.households_for_user(user=request.auth, village=filters.village, q=filters.q)


@router.post("/households", response={201: HouseholdOut})
def household_create(request, payload: HouseholdIn):
    village = _village_for_write(request.auth, payload.village)
    values = payload.dict(exclude={"village"})
    household = actions.household_create(village=village, by=request.auth, **values)
    return Status(
        201, selectors.household_get_for_user(user=request.auth, public_id=household.public_id)
    )


@router.get("/households/{public_id}", response=HouseholdOut)
def household_get(request, public_id: str):
    return selectors.household_get_for_user(user=request.auth, public_id=public_id)


@router.patch("/households/{public_id}", response=HouseholdOut)
def household_update(request, public_id: str, payload: HouseholdPatch):
    household = selectors.household_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.EDIT_PEOPLE
    )
    values = payload.dict(exclude_unset=True, exclude={"village"})
    village = _village_for_write(request.auth, payload.village) if payload.village else None
    actions.household_update(household=household, village=village, by=request.auth, **values)
    return selectors.household_get_for_user(user=request.auth, public_id=public_id)


# --- Residents ----------------------------------------------------------------------------------
class ResidentOut(Schema):
    id: str
    household: str
    village: str
    full_name: str
    gender: str
    birth_date: datetime.date | None
    relation_to_head: str
    cccd_masked: str
    phone_masked: str
    erased: bool

    @staticmethod
    def resolve_id(resident) -> str:
        return resident.public_id

    @staticmethod
    def resolve_household(resident) -> str:
        return resident.household.public_id

    @staticmethod
    def resolve_village(resident) -> str:
        return resident.household.village.code

    @staticmethod
    def resolve_cccd_masked(resident) -> str:
        return masked_value(resident, "cccd")

    @staticmethod
    def resolve_phone_masked(resident) -> str:
        return masked_value(resident, "phone")

    @staticmethod
    def resolve_erased(resident) -> bool:
        return resident.erased_at is not None


class ResidentFilter(Schema):
    village: str = ""
    household: str = ""
    q: str = ""


class ResidentIn(Schema):
    household: str
    full_name: str
    gender: Resident.Gender
    birth_date: datetime.date | None = None
    relation_to_head: str = ""
    cccd: str = ""
    phone: str = ""


class ResidentPatch(Schema):
    household: str | None = None
    full_name: str | None = None
    gender: Resident.Gender | None = None
    birth_date: datetime.date | None = None
    relation_to_head: str | None = None
    cccd: str | None = None
    phone: str | None = None


class RevealIn(Schema):
    field: str
    reason: str = ""


class RevealOut(Schema):
    field: str
    value: str


class ConsentIn(Schema):
    purpose: str
    given: bool = True
    method: str
    note: str = ""


class ConsentOut(Schema):
    purpose: str
    given: bool
    method: str
    note: str
    recorded_at: datetime.datetime


class EraseIn(Schema):
    reason: str


def _household_for_write(user, public_id: str) -> Household:
    try:
        return selectors.household_get_for_user(
            user=user, public_id=public_id, capability=Capability.EDIT_PEOPLE
        )
    except Http404 as missing:
        raise InvalidInput(_("Không tìm thấy hộ gia đình."), field="household") from missing


@router.get("/residents", response=list[ResidentOut])
@paginate(Pagination)
def resident_list(request, filters: Query[ResidentFilter]):
    return selectors.residents_for_user(user=request.auth, **filters.dict())


@router.post("/residents", response={201: ResidentOut})
def resident_create(request, payload: ResidentIn):
    household = _household_for_write(request.auth, payload.household)
    values = payload.dict(exclude={"household"})
    return Status(201, actions.resident_create(household=household, by=request.auth, **values))


@router.get("/residents/{public_id}", response=ResidentOut)
def resident_get(request, public_id: str):
    return selectors.resident_get_for_user(user=request.auth, public_id=public_id)


@router.patch("/residents/{public_id}", response=ResidentOut)
def resident_update(request, public_id: str, payload: ResidentPatch):
    resident = selectors.resident_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.EDIT_PEOPLE
    )
    values = payload.dict(exclude_unset=True, exclude={"household"})
    household = _household_for_write(request.auth, payload.household) if payload.household else None
    return actions.resident_update(
        resident=resident, household=household, by=request.auth, **values
    )


@router.post("/residents/{public_id}/reveal", response=RevealOut)
def resident_reveal(request, public_id: str, payload: RevealIn):
    resident = selectors.resident_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.REVEAL_PERSONAL_DATA
    )
    value = actions.resident_reveal(
        resident=resident, field=payload.field, reason=payload.reason, by=request.auth
    )
    return {"field": payload.field, "value": value}


@router.get("/residents/{public_id}/consents", response=list[ConsentOut])
def consent_list(request, public_id: str):
    resident = selectors.resident_get_for_user(user=request.auth, public_id=public_id)
    return resident.consents.all()


@router.post("/residents/{public_id}/consents", response={201: ConsentOut})
def consent_record(request, public_id: str, payload: ConsentIn):
    resident = selectors.resident_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.EDIT_PEOPLE
    )
    return Status(201, actions.consent_record(resident=resident, by=request.auth, **payload.dict()))


@router.get("/residents/{public_id}/export")
def resident_export(request, public_id: str):
    resident = selectors.resident_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.HANDLE_DATA_REQUESTS
    )
    return actions.resident_export(resident=resident, by=request.auth)


@router.post("/residents/{public_id}/erase", response=ResidentOut)
def resident_erase(request, public_id: str, payload: EraseIn):
    resident = selectors.resident_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.HANDLE_DATA_REQUESTS
    )
    return actions.resident_erase(resident=resident, reason=payload.reason, by=request.auth)


# --- Organisations ------------------------------------------------------------------------------
class OrganisationOut(Schema):
    id: str
    place: str
    name: str
    kind: str
    tax_code: str
    address: str
    phone: str
    representative: str

    @staticmethod
    def resolve_id(organisation) -> str:
        return organisation.public_id

    @staticmethod
    def resolve_place(organisation) -> str:
        return organisation.place.code


class OrganisationFilter(Schema):
    place: str = ""
    q: str = ""


class OrganisationIn(Schema):
    place: str
    name: str
    kind: Organisation.Kind
    tax_code: str = ""
    address: str = ""
    phone: str = ""
    representative: str = ""


class OrganisationPatch(Schema):
    place: str | None = None
    name: str | None = None
    kind: Organisation.Kind | None = None
    tax_code: str | None = None
    address: str | None = None
    phone: str | None = None
    representative: str | None = None


def _organisation_place_for_write(user, code: str) -> Place:
    place = selectors.places_for_organisations(user=user).filter(code=code).first()
    if place is None:
        raise InvalidInput(_("Không tìm thấy địa bàn với mã này."), field="place")
    return place


@router.get("/organisations", response=list[OrganisationOut])
@paginate(Pagination)
def organisation_list(request, filters: Query[OrganisationFilter]):
    return selectors.organisations_for_user(user=request.auth, **filters.dict())


@router.post("/organisations", response={201: OrganisationOut})
def organisation_create(request, payload: OrganisationIn):
    place = _organisation_place_for_write(request.auth, payload.place)
    values = payload.dict(exclude={"place"})
    return Status(201, actions.organisation_create(place=place, by=request.auth, **values))


@router.get("/organisations/{public_id}", response=OrganisationOut)
def organisation_get(request, public_id: str):
    return selectors.organisation_get_for_user(user=request.auth, public_id=public_id)


@router.patch("/organisations/{public_id}", response=OrganisationOut)
def organisation_update(request, public_id: str, payload: OrganisationPatch):
    organisation = selectors.organisation_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.EDIT_PEOPLE
    )
    values = payload.dict(exclude_unset=True, exclude={"place"})
    place = _organisation_place_for_write(request.auth, payload.place) if payload.place else None
    return actions.organisation_update(
        organisation=organisation, place=place, by=request.auth, **values
    )
