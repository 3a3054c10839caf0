"""Traceability over JSON at /api/v1/traceability/. Thin: parse, select, act."""

import datetime
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.errors import HttpError
from ninja.pagination import paginate

from xaso.accounts.permissions import user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.errors import InvalidInput
from xaso.core.pagination import Pagination
from xaso.places.models import Organisation
from xaso.places.selectors import organisations_for_user
from xaso.traceability import actions, epcis, selectors
from xaso.traceability.models import Producer
from xaso.traceability.public import lot_link

router = Router(tags=["traceability"])
PREFIX = "/traceability"
WRITE = Capability.MANAGE_PRODUCTION


def _in_scope(queryset, public_id: str | None, field: str, message: str, *, optional=False):
    """A record named in a request body: out of scope reads as unknown (422 on that field), and
    so does an empty name, unless the field is optional (then None)."""
    if not public_id and optional:
        return None
    found = queryset.filter(public_id=public_id).first() if public_id else None
    if found is None:
        raise InvalidInput(message, field=field)
    return found


def _producer_for_write(user, public_id: str) -> Producer:
    return _in_scope(
        selectors.producers_for_user(user=user, capability=WRITE),
        public_id,
        "producer",
        _("Không tìm thấy cơ sở sản xuất."),
    )


class IdOut(Schema):
    id: str

    @staticmethod
    def resolve_id(row) -> str:
        return row.public_id


# --- Producers --------------------------------------------------------------------------------
class ProducerOut(IdOut):
    organisation: str
    kind: str
    public_name: str
    public_address: str
    public_phone: str
    description: str
    gs1_company_prefix: str
    place: str

    @staticmethod
    def resolve_organisation(producer) -> str:
        return producer.organisation.public_id

    @staticmethod
    def resolve_place(producer) -> str:
        return producer.place.code


class ProducerIn(Schema):
    organisation: str
    kind: str
    public_name: str
    public_address: str
    public_phone: str = ""
    description: str = ""
    gs1_company_prefix: str = ""


class ProducerPatch(Schema):
    kind: str | None = None
    public_name: str | None = None
    public_address: str | None = None
    public_phone: str | None = None
    description: str | None = None
    gs1_company_prefix: str | None = None


@router.get(f"{PREFIX}/producers", response=list[ProducerOut])
@paginate(Pagination)
def producer_list(request):
    return selectors.producers_for_user(user=request.auth)


@router.post(f"{PREFIX}/producers", response={201: ProducerOut})
def producer_create(request, payload: ProducerIn):
    organisation = _in_scope(
        organisations_for_user(user=request.auth, capability=Capability.REGISTER_PRODUCERS).filter(
            producer__isnull=True
        )
        if user_has_anywhere(request.auth, Capability.REGISTER_PRODUCERS)
        else Organisation.objects.none(),
        payload.organisation,
        "organisation",
        _("Không tìm thấy tổ chức (hoặc bạn không có quyền đăng ký cơ sở sản xuất)."),
    )
    values = payload.dict(exclude={"organisation"})
    producer = actions.producer_register(organisation=organisation, by=request.auth, **values)
    return Status(201, producer)


@router.get(f"{PREFIX}/producers/{{public_id}}", response=ProducerOut)
def producer_get(request, public_id: str):
    return selectors.producer_get_for_user(user=request.auth, public_id=public_id)


@router.patch(f"{PREFIX}/producers/{{public_id}}", response=ProducerOut)
def producer_update(request, public_id: str, payload: ProducerPatch):
    producer = selectors.producer_get_for_user(
        user=request.auth, public_id=public_id, capability=WRITE
    )
    return actions.producer_update(
        producer=producer, by=request.auth, **payload.dict(exclude_unset=True)
    )


# --- Growing areas ----------------------------------------------------------------------------
class AreaOut(IdOut):
    producer: str
    village: str
    code: str
    name: str
    crop: str
    area_ha: float
    boundary: Any = None
    planted_on: datetime.date | None
    status: str

    @staticmethod
    def resolve_producer(area) -> str:
        return area.producer.public_id

    @staticmethod
    def resolve_village(area) -> str:
        return area.village.code


class AreaIn(Schema):
    producer: str
    village: str
    code: str
    name: str
    crop: str
    area_ha: float | str
    boundary: Any = None
    planted_on: datetime.date | None = None
    status: str = "active"


class AreaPatch(Schema):
    village: str | None = None
    code: str | None = None
    name: str | None = None
    crop: str | None = None
    area_ha: float | str | None = None
    boundary: Any = None
    planted_on: datetime.date | None = None
    status: str | None = None


def _village_for(producer: Producer, code: str | None):
    if not code:
        return None
    village = selectors.villages_for_producer(producer).filter(code=code).first()
    if village is None:
        raise InvalidInput(_("Không tìm thấy thôn với mã này trong xã."), field="village")
    return village


@router.get(f"{PREFIX}/growing-areas", response=list[AreaOut])
@paginate(Pagination)
def area_list(request):
    return selectors.areas_for_user(user=request.auth)


@router.post(f"{PREFIX}/growing-areas", response={201: AreaOut})
def area_create(request, payload: AreaIn):
    producer = _producer_for_write(request.auth, payload.producer)
    village = _village_for(producer, payload.village)
    values = payload.dict(exclude={"producer", "village"})
    return Status(
        201, actions.area_create(producer=producer, village=village, by=request.auth, **values)
    )


@router.get(f"{PREFIX}/growing-areas/{{public_id}}", response=AreaOut)
def area_get(request, public_id: str):
    return selectors.area_get_for_user(user=request.auth, public_id=public_id)


@router.patch(f"{PREFIX}/growing-areas/{{public_id}}", response=AreaOut)
def area_update(request, public_id: str, payload: AreaPatch):
    area = selectors.area_get_for_user(user=request.auth, public_id=public_id, capability=WRITE)
    village = _village_for(area.producer, payload.village)
    values = payload.dict(exclude_unset=True, exclude={"village"})
    return actions.area_update(area=area, village=village, by=request.auth, **values)


# --- Certifications ---------------------------------------------------------------------------
class CertificationOut(IdOut):
    producer: str
    area: str | None
    scheme: str
    number: str
    issuer: str
    valid_from: datetime.date
    valid_until: datetime.date
    expires_soon: bool
    expired: bool

    @staticmethod
    def resolve_producer(certification) -> str:
        return certification.producer.public_id

    @staticmethod
    def resolve_area(certification) -> str | None:
        return certification.area.public_id if certification.area_id else None


class CertificationIn(Schema):
    producer: str
    area: str | None = None
    scheme: str
    number: str
    issuer: str
    valid_from: datetime.date
    valid_until: datetime.date


class CertificationPatch(Schema):
    scheme: str | None = None
    number: str | None = None
    issuer: str | None = None
    valid_from: datetime.date | None = None
    valid_until: datetime.date | None = None


@router.get(f"{PREFIX}/certifications", response=list[CertificationOut])
@paginate(Pagination)
def certification_list(request):
    return selectors.certifications_for_user(user=request.auth)


@router.post(f"{PREFIX}/certifications", response={201: CertificationOut})
def certification_create(request, payload: CertificationIn):
    producer = _producer_for_write(request.auth, payload.producer)
    area = _in_scope(
        selectors.areas_for_user(user=request.auth, capability=WRITE, producer=producer),
        payload.area,
        "area",
        _("Không tìm thấy vùng trồng của cơ sở này."),
        optional=True,
    )
    values = payload.dict(exclude={"producer", "area"})
    return Status(
        201,
        actions.certification_create(producer=producer, area=area, by=request.auth, **values),
    )


@router.get(f"{PREFIX}/certifications/{{public_id}}", response=CertificationOut)
def certification_get(request, public_id: str):
    return selectors.certification_get_for_user(user=request.auth, public_id=public_id)


@router.patch(f"{PREFIX}/certifications/{{public_id}}", response=CertificationOut)
def certification_update(request, public_id: str, payload: CertificationPatch):
    certification = selectors.certification_get_for_user(
        user=request.auth, public_id=public_id, capability=WRITE
    )
    return actions.certification_update(
        certification=certification, by=request.auth, **payload.dict(exclude_unset=True)
    )


# --- Products ---------------------------------------------------------------------------------
class ProductOut(IdOut):
    producer: str
    name: str
    gtin: str
    ocop_points: int | None
    ocop_stars: int
    shelf_life_days: int | None
    unit: str
    description: str
    photo_url: str | None

    @staticmethod
    def resolve_producer(product) -> str:
        return product.producer.public_id

    @staticmethod
    def resolve_photo_url(product) -> str | None:
        if not product.photo:
            return None
        return reverse("traceability:product_photo", args=[product.public_id])


class ProductIn(Schema):
    producer: str
    name: str
    gtin: str = ""
    ocop_points: int | None = None
    shelf_life_days: int | None = None
    unit: str = "kg"
    description: str = ""


class ProductPatch(Schema):
    name: str | None = None
    gtin: str | None = None
    ocop_points: int | None = None
    shelf_life_days: int | None = None
    unit: str | None = None
    description: str | None = None


@router.get(f"{PREFIX}/products", response=list[ProductOut])
@paginate(Pagination)
def product_list(request):
    return selectors.products_for_user(user=request.auth)


@router.post(f"{PREFIX}/products", response={201: ProductOut})
def product_create(request, payload: ProductIn):
    producer = _producer_for_write(request.auth, payload.producer)
    values = payload.dict(exclude={"producer"})
    return Status(201, actions.product_create(producer=producer, by=request.auth, **values))


@router.get(f"{PREFIX}/products/{{public_id}}", response=ProductOut)
def product_get(request, public_id: str):
    return selectors.product_get_for_user(user=request.auth, public_id=public_id)


@router.patch(f"{PREFIX}/products/{{public_id}}", response=ProductOut)
def product_update(request, public_id: str, payload: ProductPatch):
    product = selectors.product_get_for_user(
        user=request.auth, public_id=public_id, capability=WRITE
    )
    return actions.product_update(
        product=product, by=request.auth, **payload.dict(exclude_unset=True)
    )


# --- Diary ------------------------------------------------------------------------------------
class DiaryOut(IdOut):
    area: str
    kind: str
    status: str
    occurred_on: datetime.date
    description: str
    pesticide: str
    active_ingredient: str
    dose: str
    pre_harvest_interval_days: int | None
    safe_from: datetime.date | None
    quantity: float | None
    unit: str
    guard_override_reason: str
    countersigned: bool
    countersigned_at: datetime.datetime | None

    @staticmethod
    def resolve_area(entry) -> str:
        return entry.area.public_id

    @staticmethod
    def resolve_countersigned(entry) -> bool:
        return entry.countersigned_at is not None


class DiaryIn(Schema):
    area: str
    kind: str
    status: str = "done"
    occurred_on: datetime.date
    description: str = ""
    pesticide: str = ""
    active_ingredient: str = ""
    dose: str = ""
    pre_harvest_interval_days: int | None = None
    quantity: float | str | None = None
    unit: str = ""
    guard_override_reason: str = ""


class DiaryPatch(Schema):
    status: str | None = None
    occurred_on: datetime.date | None = None
    description: str | None = None
    pesticide: str | None = None
    active_ingredient: str | None = None
    dose: str | None = None
    pre_harvest_interval_days: int | None = None
    quantity: float | str | None = None
    unit: str | None = None
    guard_override_reason: str | None = None


def _area_for_diary(user, payload: "DiaryIn"):
    """Producers write their own diary; an officer only records a harvest she allows inside a
    pre-harvest interval, with the written reason."""
    capabilities = [WRITE]
    if payload.kind == "harvest" and payload.guard_override_reason.strip():
        capabilities.append(Capability.CONFIRM_PRODUCTION)
    for capability in capabilities:
        area = selectors.areas_for_user(user=user, capability=capability).filter(
            public_id=payload.area
        )
        if area.exists():
            return area.first()
    raise InvalidInput(_("Không tìm thấy vùng trồng."), field="area")


@router.get(f"{PREFIX}/diary-entries", response=list[DiaryOut])
@paginate(Pagination)
def diary_list(request, area: str = "", kind: str = ""):
    area_row = selectors.area_get_for_user(user=request.auth, public_id=area) if area else None
    return selectors.diary_for_user(user=request.auth, area=area_row, kind=kind)


@router.post(f"{PREFIX}/diary-entries", response={201: DiaryOut})
def diary_create(request, payload: DiaryIn):
    area = _area_for_diary(request.auth, payload)
    values = payload.dict(exclude={"area"})
    return Status(201, actions.diary_entry_create(area=area, by=request.auth, **values))


@router.get(f"{PREFIX}/diary-entries/{{public_id}}", response=DiaryOut)
def diary_get(request, public_id: str):
    return selectors.diary_entry_get_for_user(user=request.auth, public_id=public_id)


@router.patch(f"{PREFIX}/diary-entries/{{public_id}}", response=DiaryOut)
def diary_update(request, public_id: str, payload: DiaryPatch):
    entry = selectors.diary_entry_get_for_user(
        user=request.auth, public_id=public_id, capability=WRITE
    )
    return actions.diary_entry_update(
        entry=entry, by=request.auth, **payload.dict(exclude_unset=True)
    )


@router.post(f"{PREFIX}/diary-entries/{{public_id}}/countersign", response=DiaryOut)
def diary_countersign(request, public_id: str):
    entry = selectors.diary_entry_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.CONFIRM_PRODUCTION
    )
    return actions.diary_entry_countersign(entry=entry, by=request.auth)


# --- Lots -------------------------------------------------------------------------------------
class LotOut(IdOut):
    code: str
    gtin: str
    batch: str
    product: str
    product_name: str
    area: str
    area_code: str
    harvest: str | None
    quantity: float
    unit: str
    harvest_start: datetime.date
    harvest_end: datetime.date
    status: str
    recall_reason: str
    guard_override_reason: str
    link: str

    @staticmethod
    def resolve_gtin(lot) -> str:
        return lot.product.gtin

    @staticmethod
    def resolve_product(lot) -> str:
        return lot.product.public_id

    @staticmethod
    def resolve_product_name(lot) -> str:
        return lot.product.name

    @staticmethod
    def resolve_area(lot) -> str:
        return lot.area.public_id

    @staticmethod
    def resolve_area_code(lot) -> str:
        return lot.area.code

    @staticmethod
    def resolve_harvest(lot) -> str | None:
        return lot.harvest.public_id if lot.harvest_id else None

    @staticmethod
    def resolve_link(lot) -> str:
        return lot_link(lot)


class LotIn(Schema):
    product: str
    area: str
    harvest: str | None = None
    batch: str = ""
    quantity: float | str
    unit: str = ""
    harvest_start: datetime.date
    harvest_end: datetime.date | None = None
    guard_override_reason: str = ""


class RecallIn(Schema):
    reason: str


@router.get(f"{PREFIX}/lots", response=list[LotOut])
@paginate(Pagination)
def lot_list(request, q: str = ""):
    return selectors.lots_for_user(user=request.auth, q=q).select_related("harvest")


@router.post(f"{PREFIX}/lots", response={201: LotOut})
def lot_create(request, payload: LotIn):
    user = request.auth
    product = _in_scope(
        selectors.products_for_user(user=user, capability=WRITE),
        payload.product,
        "product",
        _("Không tìm thấy sản phẩm."),
    )
    area = _in_scope(
        selectors.areas_for_user(user=user, capability=WRITE),
        payload.area,
        "area",
        _("Không tìm thấy vùng trồng."),
    )
    harvest = _in_scope(
        selectors.diary_for_user(user=user, capability=WRITE, area=area),
        payload.harvest,
        "harvest",
        _("Không tìm thấy lần thu hoạch."),
        optional=True,
    )
    values = payload.dict(exclude={"product", "area", "harvest"})
    lot = actions.lot_create(product=product, area=area, harvest=harvest, by=user, **values)
    return Status(201, selectors.lot_get_for_user(user=user, public_id=lot.public_id))


@router.get(f"{PREFIX}/lots/{{public_id}}", response=LotOut)
def lot_get(request, public_id: str):
    return selectors.lot_get_for_user(user=request.auth, public_id=public_id)


@router.post(f"{PREFIX}/lots/{{public_id}}/recall", response=LotOut)
def lot_recall(request, public_id: str, payload: RecallIn):
    lot = selectors.lot_get_for_user(user=request.auth, public_id=public_id, capability=WRITE)
    actions.lot_recall(lot=lot, reason=payload.reason, by=request.auth)
    return selectors.lot_get_for_user(user=request.auth, public_id=public_id)


@router.get(f"{PREFIX}/lots/{{public_id}}/epcis")
def lot_epcis(request, public_id: str):
    lot = selectors.lot_get_for_user(user=request.auth, public_id=public_id)
    return epcis.lot_document(lot)


# --- Stamp runs -------------------------------------------------------------------------------
class StampRunOut(IdOut):
    product: str
    count: int
    layout: str
    status: str
    job: str | None
    csv_url: str | None
    pdf_url: str | None
    manifest: dict
    activations: list[dict]
    created_at: datetime.datetime

    @staticmethod
    def resolve_product(run) -> str:
        return run.product.public_id

    @staticmethod
    def resolve_job(run) -> str | None:
        return run.job.public_id if run.job_id else None

    @staticmethod
    def resolve_csv_url(run) -> str | None:
        return _export_url(run, "csv") if run.csv_file else None

    @staticmethod
    def resolve_pdf_url(run) -> str | None:
        return _export_url(run, "pdf") if run.pdf_file else None

    @staticmethod
    def resolve_activations(run) -> list[dict]:
        return [
            {"lot": a.lot.public_id, "first_serial": a.first_serial, "last_serial": a.last_serial}
            for a in run.activations.select_related("lot")
        ]


def _export_url(run, kind: str) -> str:
    return reverse("traceability:stamp_export", args=[run.public_id, kind])


class StampRunIn(Schema):
    product: str
    count: int
    layout: str = "65"


class StampRunStarted(Schema):
    id: str
    job: str


class ActivateIn(Schema):
    lot: str
    first_serial: int | None = None
    last_serial: int | None = None


class VoidIn(Schema):
    reason: str


@router.get(f"{PREFIX}/stamp-runs", response=list[StampRunOut])
@paginate(Pagination)
def stamp_run_list(request):
    return selectors.stamp_runs_for_user(user=request.auth)


@router.post(f"{PREFIX}/stamp-runs", response={201: StampRunStarted})
def stamp_run_create(request, payload: StampRunIn):
    product = _in_scope(
        selectors.products_for_user(user=request.auth, capability=WRITE),
        payload.product,
        "product",
        _("Không tìm thấy sản phẩm."),
    )
    run = actions.stamp_run_start(
        product=product, count=payload.count, layout=payload.layout, by=request.auth
    )
    return Status(201, {"id": run.public_id, "job": run.job.public_id})


@router.get(f"{PREFIX}/stamp-runs/{{public_id}}", response=StampRunOut)
def stamp_run_get(request, public_id: str):
    return selectors.stamp_run_get_for_user(user=request.auth, public_id=public_id)


def _run_for_write(request, public_id: str):
    return selectors.stamp_run_get_for_user(
        user=request.auth, public_id=public_id, capability=WRITE
    )


@router.post(f"{PREFIX}/stamp-runs/{{public_id}}/activate", response=StampRunOut)
def stamp_run_activate(request, public_id: str, payload: ActivateIn):
    run = _run_for_write(request, public_id)
    lot = _in_scope(
        selectors.lots_for_user(user=request.auth, capability=WRITE),
        payload.lot,
        "lot",
        _("Không tìm thấy lô hàng."),
    )
    values = payload.dict(exclude={"lot"})
    actions.stamp_run_activate(run=run, lot=lot, by=request.auth, **values)
    return selectors.stamp_run_get_for_user(user=request.auth, public_id=public_id)


@router.post(f"{PREFIX}/stamp-runs/{{public_id}}/printed", response=StampRunOut)
def stamp_run_printed(request, public_id: str):
    actions.stamp_run_mark_printed(run=_run_for_write(request, public_id), by=request.auth)
    return selectors.stamp_run_get_for_user(user=request.auth, public_id=public_id)


@router.post(f"{PREFIX}/stamp-runs/{{public_id}}/void", response=StampRunOut)
def stamp_run_void(request, public_id: str, payload: VoidIn):
    run = _run_for_write(request, public_id)
    actions.stamp_run_void(run=run, reason=payload.reason, by=request.auth)
    return selectors.stamp_run_get_for_user(user=request.auth, public_id=public_id)


# --- EPCIS capture ----------------------------------------------------------------------------
class CaptureOut(Schema):
    events: int
    new: int


class RejectedOut(Schema):
    detail: str
    errors: list[str]


@router.post(f"{PREFIX}/epcis/capture", response={201: CaptureOut, 400: RejectedOut})
def epcis_capture(request):
    """Accepts an EPCISDocument (JSON-LD); an invalid one → 400 with every reason found."""
    user = request.auth
    if not any(
        user_has_anywhere(user, capability) for capability in (WRITE, Capability.CONFIRM_PRODUCTION)
    ):
        raise HttpError(403, "forbidden")
    document, reasons = epcis.document_from_body(request.body)
    if reasons:
        return Status(400, {"detail": _("Tài liệu EPCIS không hợp lệ."), "errors": reasons})
    return Status(201, actions.epcis_capture(events=epcis.events_of(document), by=user))
