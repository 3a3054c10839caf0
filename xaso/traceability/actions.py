"""Every write of the traceability module. Rules raise DomainError / InvalidInput."""

import datetime
import shutil
from decimal import Decimal, InvalidOperation
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.permissions import user_can
from xaso.accounts.roles import Capability
from xaso.core import audit, jobs
from xaso.core.cleaning import clean_text as _text
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.records import save_unique
from xaso.lib import epcis, gs1
from xaso.lib.geojson import GeoJSONError, clean_boundary
from xaso.places.models import Organisation, Place
from xaso.traceability import guard
from xaso.traceability.models import (
    CapturedEpcisEvent,
    Certification,
    CounterfeitReport,
    DiaryEntry,
    GrowingArea,
    Lot,
    Producer,
    Product,
    Stamp,
    StampActivation,
    StampRun,
)

MAX_STAMPS_PER_RUN = 1_000_000
LABEL_LAYOUTS = ("65", "21")


# --- Shared checks ----------------------------------------------------------------------------
def _date(values: dict, field: str, *, required: bool = True) -> datetime.date | None:
    value = values.get(field)
    if value in (None, ""):
        if required:
            raise InvalidInput(_("Vui lòng nhập ngày."), field=field)
        return None
    if isinstance(value, datetime.date):
        return value
    try:
        return datetime.date.fromisoformat(str(value))
    except ValueError as error:
        raise InvalidInput(_("Ngày không hợp lệ (YYYY-MM-DD)."), field=field) from error


def _decimal(values: dict, field: str, *, required: bool = True) -> Decimal | None:
    value = values.get(field)
    if value in (None, ""):
        if required:
            raise InvalidInput(_("Vui lòng nhập số."), field=field)
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation as error:
        raise InvalidInput(_("Giá trị phải là một số."), field=field) from error
    if not number.is_finite() or number <= 0 or number >= Decimal("1e9"):
        raise InvalidInput(_("Giá trị phải là số dương."), field=field)
    return number


def _date_range(start: datetime.date, end: datetime.date, *, field: str) -> None:
    if end < start:
        raise InvalidInput(_("Ngày kết thúc không được trước ngày bắt đầu."), field=field)


def _apply(instance, cleaned: dict, *, verb: str, by, place_path: str, **save_options):
    """Set the cleaned values, save and audit what changed; nothing when nothing changed."""
    changes = audit.field_changes(instance, cleaned)
    if not changes:
        return instance
    for field, value in cleaned.items():
        setattr(instance, field, value)
    fields = list(cleaned)
    if any(f.name == "updated_at" for f in instance._meta.fields):
        fields.append("updated_at")
    save_unique(instance, update_fields=fields, **save_options)
    audit.record(actor=by, verb=verb, target=instance, changes=changes, place_path=place_path)
    return instance


def _path(producer: Producer) -> str:
    return producer.place.path


# --- Producers --------------------------------------------------------------------------------
def _clean_producer(values: dict) -> dict:
    kind = values.get("kind") or ""
    if kind not in Producer.Kind.values:
        raise InvalidInput(_("Loại hình cơ sở không hợp lệ."), field="kind")
    prefix = _text(values, "gs1_company_prefix", max_length=12)
    if prefix and not (prefix.isdigit() and 6 <= len(prefix) <= 12):
        raise InvalidInput(
            _("Mã doanh nghiệp GS1 gồm 6 đến 12 chữ số."), field="gs1_company_prefix"
        )
    return {
        "kind": kind,
        "public_name": _text(values, "public_name", required=_("Vui lòng nhập tên cơ sở.")),
        "public_address": _text(
            values, "public_address", required=_("Vui lòng nhập địa chỉ công bố.")
        ),
        "public_phone": _text(values, "public_phone", max_length=20),
        "description": str(values.get("description") or "").strip()[:2000],
        "gs1_company_prefix": prefix,
    }


@transaction.atomic
def producer_register(*, organisation: Organisation, by, **values) -> Producer:
    if Producer.objects.filter(organisation=organisation).exists():
        raise DomainError(_("Tổ chức này đã là cơ sở sản xuất."), field="organisation")
    producer = Producer(organisation=organisation, place=organisation.place)
    for field, value in _clean_producer(values).items():
        setattr(producer, field, value)
    producer.save()
    audit.record(actor=by, verb="producer.registered", target=producer, place_path=_path(producer))
    return producer


@transaction.atomic
def producer_update(*, producer: Producer, by, **values) -> Producer:
    fields = ("kind", "public_name", "public_address", "public_phone", "description")
    current = {f: getattr(producer, f) for f in (*fields, "gs1_company_prefix")}
    cleaned = _clean_producer({**current, **values})
    return _apply(
        producer,
        cleaned,
        verb="producer.updated",
        by=by,
        place_path=_path(producer),
        duplicate_message="",
        field="public_name",
    )


# --- Growing areas ----------------------------------------------------------------------------
_AREA_FIELDS = ("code", "name", "crop", "area_ha", "boundary", "planted_on", "status")


def _clean_area(values: dict) -> dict:
    code = _text(values, "code", required=_("Vui lòng nhập mã vùng trồng."), max_length=40)
    status = values.get("status") or GrowingArea.Status.ACTIVE
    if status not in GrowingArea.Status.values:
        raise InvalidInput(_("Trạng thái không hợp lệ."), field="status")
    boundary = values.get("boundary")
    if boundary not in (None, "", {}):
        try:
            boundary = clean_boundary(boundary)
        except GeoJSONError as error:
            raise InvalidInput(str(error), field="boundary") from error
    else:
        boundary = None
    return {
        "code": code.upper(),
        "name": _text(values, "name", required=_("Vui lòng nhập tên vùng."), max_length=150),
        "crop": _text(values, "crop", required=_("Vui lòng nhập cây trồng."), max_length=100),
        "area_ha": _decimal(values, "area_ha"),
        "boundary": boundary,
        "planted_on": _date(values, "planted_on", required=False),
        "status": status,
    }


def _check_village(producer: Producer, village: Place) -> None:
    commune = producer.place if producer.place.kind == Place.Kind.COMMUNE else producer.place.parent
    if village.kind != Place.Kind.VILLAGE or not village.path.startswith(commune.path):
        raise InvalidInput(_("Vùng trồng phải thuộc một thôn của xã."), field="village")


_DUPLICATE_AREA = _("Mã vùng trồng đã tồn tại.")


@transaction.atomic
def area_create(*, producer: Producer, village: Place, by, **values) -> GrowingArea:
    _check_village(producer, village)
    area = GrowingArea(producer=producer, village=village, **_clean_area(values))
    save_unique(area, duplicate_message=_DUPLICATE_AREA, field="code")
    audit.record(actor=by, verb="growing_area.created", target=area, place_path=_path(producer))
    return area


@transaction.atomic
def area_update(*, area: GrowingArea, by, village: Place | None = None, **values) -> GrowingArea:
    current = {f: getattr(area, f) for f in _AREA_FIELDS}
    cleaned = _clean_area({**current, **values})
    if village is not None:
        _check_village(area.producer, village)
        cleaned["village"] = village
    return _apply(
        area,
        cleaned,
        verb="growing_area.updated",
        by=by,
        place_path=_path(area.producer),
        duplicate_message=_DUPLICATE_AREA,
        field="code",
    )


# --- Certifications ---------------------------------------------------------------------------
_CERTIFICATION_FIELDS = ("scheme", "number", "issuer", "valid_from", "valid_until")


def _clean_certification(values: dict) -> dict:
    scheme = values.get("scheme") or ""
    if scheme not in Certification.Scheme.values:
        raise InvalidInput(_("Loại chứng nhận không hợp lệ."), field="scheme")
    cleaned = {
        "scheme": scheme,
        "number": _text(values, "number", required=_("Vui lòng nhập số giấy."), max_length=60),
        "issuer": _text(values, "issuer", required=_("Vui lòng nhập tổ chức cấp."), max_length=200),
        "valid_from": _date(values, "valid_from"),
        "valid_until": _date(values, "valid_until"),
    }
    _date_range(cleaned["valid_from"], cleaned["valid_until"], field="valid_until")
    return cleaned


def _check_no_overlap(certification: Certification) -> None:
    """Two certificates of one scheme for the same area cannot be valid on the same day."""
    overlapping = Certification.objects.filter(
        producer=certification.producer,
        area=certification.area,
        scheme=certification.scheme,
        valid_from__lte=certification.valid_until,
        valid_until__gte=certification.valid_from,
    ).exclude(pk=certification.pk)
    other = overlapping.first()
    if other is not None:
        raise InvalidInput(
            _("Trùng thời gian hiệu lực với giấy %(number)s (%(start)s – %(end)s).")
            % {
                "number": other.number,
                "start": f"{other.valid_from:%d/%m/%Y}",
                "end": f"{other.valid_until:%d/%m/%Y}",
            },
            field="valid_from",
        )


def _check_area_of(producer: Producer, area: GrowingArea | None, field: str = "area") -> None:
    if area is not None and area.producer_id != producer.pk:
        raise InvalidInput(_("Vùng trồng không thuộc cơ sở này."), field=field)


@transaction.atomic
def certification_create(
    *, producer: Producer, area: GrowingArea | None = None, by, **values
) -> Certification:
    _check_area_of(producer, area)
    certification = Certification(producer=producer, area=area, **_clean_certification(values))
    _check_no_overlap(certification)
    certification.save()
    audit.record(
        actor=by, verb="certification.created", target=certification, place_path=_path(producer)
    )
    return certification


@transaction.atomic
def certification_update(*, certification: Certification, by, **values) -> Certification:
    current = {f: getattr(certification, f) for f in _CERTIFICATION_FIELDS}
    cleaned = _clean_certification({**current, **values})
    candidate = Certification(
        pk=certification.pk, producer=certification.producer, area=certification.area, **cleaned
    )
    _check_no_overlap(candidate)
    return _apply(
        certification,
        cleaned,
        verb="certification.updated",
        by=by,
        place_path=_path(certification.producer),
        duplicate_message="",
        field="number",
    )


# --- Products ---------------------------------------------------------------------------------
_PRODUCT_FIELDS = ("name", "gtin", "ocop_points", "shelf_life_days", "unit", "description")


def clean_gtin(raw) -> str:
    """A GTIN-13 or GTIN-14 with a correct check digit, stored as 14 digits; "" for none."""
    text = str(raw or "").replace(" ", "")
    if not text:
        return ""
    if not text.isdigit() or len(text) not in (13, 14):
        raise InvalidInput(_("Mã GTIN phải gồm 13 hoặc 14 chữ số."), field="gtin")
    if not gs1.is_valid_gtin(text):
        expected = gs1.gtin_check_digit(text[:-1])
        raise InvalidInput(
            _("Mã GTIN sai số kiểm tra: chữ số cuối phải là %(digit)s.") % {"digit": expected},
            field="gtin",
        )
    return gs1.to_gtin14(text)


def _small_int(values: dict, field: str, *, maximum: int) -> int | None:
    value = values.get(field)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError) as error:
        raise InvalidInput(_("Giá trị phải là số nguyên."), field=field) from error
    if not 0 <= number <= maximum:
        raise InvalidInput(_("Giá trị phải từ 0 đến %(max)s.") % {"max": maximum}, field=field)
    return number


def _clean_product(values: dict) -> dict:
    return {
        "name": _text(values, "name", required=_("Vui lòng nhập tên sản phẩm."), max_length=200),
        "gtin": clean_gtin(values.get("gtin")),
        "ocop_points": _small_int(values, "ocop_points", maximum=100),
        "shelf_life_days": _small_int(values, "shelf_life_days", maximum=3650),
        "unit": _text(values, "unit", max_length=20) or "kg",
        "description": str(values.get("description") or "").strip()[:2000],
    }


_DUPLICATE_GTIN = _("Mã GTIN đã được dùng cho sản phẩm khác.")


@transaction.atomic
def product_create(*, producer: Producer, by, photo=None, **values) -> Product:
    product = Product(producer=producer, **_clean_product(values))
    if photo:
        product.photo = photo
    save_unique(product, duplicate_message=_DUPLICATE_GTIN, field="gtin")
    audit.record(actor=by, verb="product.created", target=product, place_path=_path(producer))
    return product


@transaction.atomic
def product_update(*, product: Product, by, photo=None, **values) -> Product:
    current = {f: getattr(product, f) for f in _PRODUCT_FIELDS}
    cleaned = _clean_product({**current, **values})
    if photo:
        cleaned["photo"] = photo
    return _apply(
        product,
        cleaned,
        verb="product.updated",
        by=by,
        place_path=_path(product.producer),
        duplicate_message=_DUPLICATE_GTIN,
        field="gtin",
    )


# --- Farm diary -------------------------------------------------------------------------------
_DIARY_FIELDS = (
    "kind",
    "status",
    "occurred_on",
    "description",
    "pesticide",
    "active_ingredient",
    "dose",
    "pre_harvest_interval_days",
    "quantity",
    "unit",
)


def _clean_diary(values: dict) -> dict:
    kind = values.get("kind") or ""
    if kind not in DiaryEntry.Kind.values:
        raise InvalidInput(_("Loại công việc không hợp lệ."), field="kind")
    status = values.get("status") or DiaryEntry.Status.DONE
    if status not in DiaryEntry.Status.values:
        raise InvalidInput(_("Tình trạng không hợp lệ."), field="status")
    cleaned = {
        "kind": kind,
        "status": status,
        "occurred_on": _date(values, "occurred_on"),
        "description": _text(values, "description", max_length=500),
        "pesticide": "",
        "active_ingredient": "",
        "dose": "",
        "pre_harvest_interval_days": None,
        "quantity": None,
        "unit": "",
    }
    if kind == DiaryEntry.Kind.SPRAYING:
        cleaned.update(_clean_spraying(values))
    if kind == DiaryEntry.Kind.HARVEST:
        cleaned["quantity"] = _decimal(values, "quantity", required=False)
        cleaned["unit"] = _text(values, "unit", max_length=20)
    return cleaned


def _clean_spraying(values: dict) -> dict:
    interval = _small_int(values, "pre_harvest_interval_days", maximum=365)
    if interval is None:
        raise InvalidInput(
            _("Vui lòng nhập thời gian cách ly (ngày) của thuốc."),
            field="pre_harvest_interval_days",
        )
    return {
        "pesticide": _text(
            values, "pesticide", required=_("Vui lòng nhập tên thuốc."), max_length=150
        ),
        "active_ingredient": _text(values, "active_ingredient", max_length=150),
        "dose": _text(values, "dose", max_length=100),
        "pre_harvest_interval_days": interval,
    }


def _override(area: GrowingArea, reason: str, by) -> str:
    """A written reason from a commune officer lets a harvest inside an interval through."""
    reason = " ".join((reason or "").split())[:500]
    if reason and not user_can(by, Capability.CONFIRM_PRODUCTION, area.producer.place):
        raise DomainError(
            _("Chỉ cán bộ xã mới được cho phép thu hoạch trong thời gian cách ly."),
            field="guard_override_reason",
        )
    return reason


def _guard_harvest(area, start, end, override_reason: str, by) -> str:
    """Check the interval; returns the override reason actually used ("" when not needed)."""
    verdict = guard.harvest_verdict(area, start, end)
    if verdict.safe:
        return ""
    if not override_reason:
        raise guard.PreHarvestIntervalError(area, verdict.spraying)
    audit.record(
        actor=by,
        verb="harvest_guard.overridden",
        target=verdict.spraying,
        changes={"reason": override_reason, "harvest_start": str(start), "area": area.code},
        place_path=_path(area.producer),
    )
    return override_reason


@transaction.atomic
def diary_entry_create(
    *, area: GrowingArea, by, photo=None, guard_override_reason: str = "", **values
) -> DiaryEntry:
    if area.status != GrowingArea.Status.ACTIVE:
        raise DomainError(_("Vùng trồng đang tạm dừng hoặc đã bị thu hồi mã."), field="area")
    cleaned = _clean_diary(values)
    entry = DiaryEntry(area=area, recorded_by=by, **cleaned)
    if photo:
        entry.photo = photo
    if entry.kind == DiaryEntry.Kind.HARVEST and entry.status == DiaryEntry.Status.DONE:
        reason = _override(area, guard_override_reason, by)
        entry.guard_override_reason = _guard_harvest(
            area, entry.occurred_on, entry.occurred_on, reason, by
        )
        entry.guard_override_by = by if entry.guard_override_reason else None
    entry.save()
    audit.record(
        actor=by, verb="diary_entry.created", target=entry, place_path=_path(area.producer)
    )
    return entry


@transaction.atomic
def diary_entry_update(
    *, entry: DiaryEntry, by, photo=None, guard_override_reason: str = "", **values
) -> DiaryEntry:
    if hasattr(entry, "lot") and values:
        raise DomainError(_("Lần thu hoạch đã tạo lô hàng, không sửa được nữa."))
    current = {f: getattr(entry, f) for f in _DIARY_FIELDS}
    cleaned = _clean_diary({**current, **values})
    if photo:
        cleaned["photo"] = photo
    is_done_harvest = (
        cleaned["kind"] == DiaryEntry.Kind.HARVEST and cleaned["status"] == DiaryEntry.Status.DONE
    )
    if is_done_harvest:
        reason = _override(entry.area, guard_override_reason, by) or entry.guard_override_reason
        day = cleaned["occurred_on"]
        used = _guard_harvest(entry.area, day, day, reason, by)
        cleaned["guard_override_reason"] = used
    if cleaned["kind"] == DiaryEntry.Kind.SPRAYING:
        _check_spraying_keeps_lots_safe(entry.area, cleaned)
    if audit.field_changes(entry, cleaned):
        # A changed record is no longer what the officer confirmed.
        cleaned.update(countersigned_by=None, countersigned_at=None)
    return _apply(
        entry,
        cleaned,
        verb="diary_entry.updated",
        by=by,
        place_path=_path(entry.area.producer),
        duplicate_message="",
        field="kind",
    )


def _check_spraying_keeps_lots_safe(area: GrowingArea, spraying: dict) -> None:
    """Back-dating a spraying must not silently put an existing lot inside its interval."""
    if spraying["status"] != DiaryEntry.Status.DONE:
        return
    safe_from = spraying["occurred_on"] + datetime.timedelta(
        days=spraying["pre_harvest_interval_days"]
    )
    caught = area.lots.filter(
        harvest_start__lt=safe_from,
        harvest_end__gte=spraying["occurred_on"],
        guard_override_reason="",
    ).first()
    if caught is not None:
        raise DomainError(
            _("Lần phun này sẽ làm lô %(batch)s nằm trong thời gian cách ly.")
            % {"batch": caught.batch},
            field="occurred_on",
        )


@transaction.atomic
def diary_entry_countersign(*, entry: DiaryEntry, by) -> DiaryEntry:
    if entry.kind not in (DiaryEntry.Kind.HARVEST, DiaryEntry.Kind.INSPECTION):
        raise DomainError(_("Chỉ xác nhận được lần thu hoạch hoặc kiểm tra."))
    if entry.status != DiaryEntry.Status.DONE:
        raise DomainError(_("Chỉ xác nhận được công việc đã thực hiện."))
    if entry.countersigned_by_id:
        raise DomainError(_("Công việc này đã được xác nhận."))
    entry.countersigned_by, entry.countersigned_at = by, timezone.now()
    entry.save(update_fields=["countersigned_by", "countersigned_at", "updated_at"])
    audit.record(
        actor=by,
        verb="diary_entry.countersigned",
        target=entry,
        place_path=_path(entry.area.producer),
    )
    return entry


# --- Lots -------------------------------------------------------------------------------------
def _clean_batch(raw, product: Product, harvest_end: datetime.date) -> str:
    batch = str(raw or "").strip()
    if not batch:
        return _next_batch(product, harvest_end)
    try:
        gs1.validate_element("10", batch)
    except gs1.DigitalLinkError as error:
        raise InvalidInput(
            _("Số lô tối đa 20 ký tự: chữ, số và một số dấu (- . _ /)."), field="batch"
        ) from error
    return batch


def _next_batch(product: Product, harvest_end: datetime.date) -> str:
    prefix = f"{harvest_end:%y%m%d}"
    taken = set(product.lots.filter(batch__startswith=prefix).values_list("batch", flat=True))
    number = 1
    while f"{prefix}-{number}" in taken:
        number += 1
    return f"{prefix}-{number}"


@transaction.atomic
def lot_create(
    *,
    product: Product,
    area: GrowingArea,
    by,
    harvest: DiaryEntry | None = None,
    guard_override_reason: str = "",
    **values,
) -> Lot:
    if area.producer_id != product.producer_id:
        raise InvalidInput(_("Vùng trồng và sản phẩm phải cùng một cơ sở."), field="area")
    if area.status != GrowingArea.Status.ACTIVE:
        raise DomainError(_("Vùng trồng đang tạm dừng hoặc đã bị thu hồi mã."), field="area")
    start = _date(values, "harvest_start")
    end = _date(values, "harvest_end", required=False) or start
    _date_range(start, end, field="harvest_end")
    if end > timezone.localdate():
        raise InvalidInput(_("Ngày thu hoạch không được ở tương lai."), field="harvest_end")
    quantity = _decimal(values, "quantity")
    unit = _clean_unit(_text(values, "unit", max_length=20) or product.unit)
    reason = _override(area, guard_override_reason, by)
    if harvest is None:
        harvest = _harvest_for_lot(area, start, end, quantity, unit, reason, by)
    else:
        _check_harvest_for_lot(harvest, area, start, end)
        reason = reason or harvest.guard_override_reason
    used_reason = _guard_harvest(area, start, end, reason, by)
    lot = Lot(
        product=product,
        area=area,
        harvest=harvest,
        batch=_clean_batch(values.get("batch"), product, end),
        quantity=quantity,
        unit=unit,
        harvest_start=start,
        harvest_end=end,
        guard_override_reason=used_reason,
        created_by=by,
    )
    save_unique(lot, duplicate_message=_("Số lô đã tồn tại cho sản phẩm này."), field="batch")
    audit.record(actor=by, verb="lot.created", target=lot, place_path=_path(product.producer))
    return lot


def _clean_unit(unit: str) -> str:
    """Units partners can read: each must map to a UN/CEFACT code in the EPCIS export."""
    try:
        epcis.unit_code(unit)
    except ValueError as error:
        raise InvalidInput(
            _("Đơn vị không hợp lệ: dùng kg, tấn, tạ, yến, quả, hộp, thùng… hoặc mã UN/CEFACT."),
            field="unit",
        ) from error
    return unit


def _harvest_for_lot(area, start, end, quantity, unit, reason, by) -> DiaryEntry:
    """A lot made straight from dates records its harvest in the diary too."""
    return diary_entry_create(
        area=area,
        by=by,
        kind=DiaryEntry.Kind.HARVEST,
        status=DiaryEntry.Status.DONE,
        occurred_on=end,
        quantity=quantity,
        unit=unit,
        guard_override_reason=reason,
        description=_("Thu hoạch %(start)s – %(end)s")
        % {"start": f"{start:%d/%m/%Y}", "end": f"{end:%d/%m/%Y}"},
    )


def _check_harvest_for_lot(harvest: DiaryEntry, area, start, end) -> None:
    if harvest.area_id != area.pk or harvest.kind != DiaryEntry.Kind.HARVEST:
        raise InvalidInput(_("Lần thu hoạch không thuộc vùng trồng này."), field="harvest")
    if harvest.status != DiaryEntry.Status.DONE:
        raise InvalidInput(_("Lần thu hoạch chưa thực hiện."), field="harvest")
    if Lot.objects.filter(harvest=harvest).exists():
        raise DomainError(_("Lần thu hoạch này đã có lô hàng."), field="harvest")
    if not start <= harvest.occurred_on <= end:
        raise InvalidInput(
            _("Ngày thu hoạch trong nhật ký (%(day)s) nằm ngoài khoảng ngày của lô.")
            % {"day": f"{harvest.occurred_on:%d/%m/%Y}"},
            field="harvest_start",
        )


@transaction.atomic
def lot_recall(*, lot: Lot, reason: str, by) -> Lot:
    """Recall a lot: every stamp bound to it reads "recalled" from this commit on."""
    if lot.status != Lot.Status.ACTIVE:
        raise DomainError(_("Lô hàng đã được thu hồi."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput(_("Vui lòng ghi rõ lý do thu hồi."), field="reason")
    lot.status, lot.recalled_at, lot.recall_reason = Lot.Status.RECALLED, timezone.now(), reason
    lot.save(update_fields=["status", "recalled_at", "recall_reason", "updated_at"])
    audit.record(
        actor=by,
        verb="lot.recalled",
        target=lot,
        changes={"reason": reason[:255]},
        place_path=_path(lot.product.producer),
    )
    return lot


# --- Stamp runs -------------------------------------------------------------------------------
@transaction.atomic
def stamp_run_start(*, product: Product, count, by, layout: str = "65") -> StampRun:
    from xaso.traceability.tasks import stamp_run_job  # tasks import actions: keep this local

    try:
        count = int(count)
    except (TypeError, ValueError) as error:
        raise InvalidInput(_("Số tem phải là số nguyên."), field="count") from error
    if not 1 <= count <= MAX_STAMPS_PER_RUN:
        raise InvalidInput(
            _("Mỗi đợt từ 1 đến %(max)s tem.")
            % {"max": f"{MAX_STAMPS_PER_RUN:,}".replace(",", ".")},
            field="count",
        )
    if layout not in LABEL_LAYOUTS:
        raise InvalidInput(_("Khổ tem không hợp lệ."), field="layout")
    run = StampRun.objects.create(
        producer=product.producer, product=product, count=count, layout=layout, created_by=by
    )
    run.job = jobs.job_start(
        kind="stamps.generate",
        label=_("Phát hành %(count)s tem cho %(product)s")
        % {"count": f"{count:,}".replace(",", "."), "product": product.name},
        task=stamp_run_job,
        by=by,
        params={"run": run.public_id},
    )
    run.save(update_fields=["job"])
    audit.record(
        actor=by,
        verb="stamp_run.ordered",
        target=run,
        changes={"count": count},
        place_path=_path(product.producer),
    )
    return run


def _serial(values, field: str, default: int, run: StampRun) -> int:
    value = values.get(field)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as error:
        raise InvalidInput(_("Số thứ tự tem phải là số nguyên."), field=field) from error
    if not 1 <= number <= run.count:
        raise InvalidInput(
            _("Số thứ tự tem phải từ 1 đến %(count)s.") % {"count": run.count}, field=field
        )
    return number


@transaction.atomic
def stamp_run_activate(*, run: StampRun, lot: Lot, by, **values) -> StampActivation:
    """Bind serials first…last of the run (all by default) to a lot."""
    run = StampRun.objects.select_for_update().get(pk=run.pk)
    if run.status not in (StampRun.Status.ISSUED, StampRun.Status.PRINTED):
        raise DomainError(_("Chỉ kích hoạt được đợt tem đã phát hành và chưa huỷ."))
    if lot.product_id != run.product_id:
        raise InvalidInput(_("Lô hàng không cùng sản phẩm với đợt tem."), field="lot")
    if lot.status != Lot.Status.ACTIVE:
        raise DomainError(_("Lô hàng đã bị thu hồi."), field="lot")
    first = _serial(values, "first_serial", 1, run)
    last = _serial(values, "last_serial", run.count, run)
    if last < first:
        raise InvalidInput(_("Số cuối phải lớn hơn hoặc bằng số đầu."), field="last_serial")
    clash = run.activations.filter(first_serial__lte=last, last_serial__gte=first).first()
    if clash is not None:
        raise DomainError(
            _("Tem số %(first)s–%(last)s đã được kích hoạt cho lô khác.")
            % {"first": clash.first_serial, "last": clash.last_serial},
            field="first_serial",
        )
    activation = StampActivation.objects.create(
        run=run, lot=lot, first_serial=first, last_serial=last, activated_by=by
    )
    audit.record(
        actor=by,
        verb="stamp_run.activated",
        target=run,
        changes={"lot": lot.public_id, "first": first, "last": last},
        place_path=_path(run.producer),
    )
    return activation


def _delete_export(run: StampRun) -> None:
    """The plain codes exist only in the export; once printed or voided it goes."""
    folder = Path(settings.MEDIA_ROOT) / "stamps" / run.public_id
    transaction.on_commit(lambda: shutil.rmtree(folder, ignore_errors=True))
    run.csv_file = run.pdf_file = ""


@transaction.atomic
def stamp_run_mark_printed(*, run: StampRun, by) -> StampRun:
    run = StampRun.objects.select_for_update().get(pk=run.pk)
    if run.status != StampRun.Status.ISSUED:
        raise DomainError(_("Chỉ đánh dấu đã in cho đợt tem đang chờ in."))
    run.status = StampRun.Status.PRINTED
    _delete_export(run)
    run.save(update_fields=["status", "csv_file", "pdf_file"])
    audit.record(actor=by, verb="stamp_run.printed", target=run, place_path=_path(run.producer))
    return run


@transaction.atomic
def stamp_run_void(*, run: StampRun, reason: str, by) -> StampRun:
    run = StampRun.objects.select_for_update().get(pk=run.pk)
    if run.status not in (StampRun.Status.ISSUED, StampRun.Status.PRINTED):
        raise DomainError(_("Đợt tem này không huỷ được."))
    reason = " ".join((reason or "").split())
    if not reason:
        raise InvalidInput(_("Vui lòng ghi rõ lý do huỷ."), field="reason")
    run.status, run.void_reason = StampRun.Status.VOID, reason[:500]
    _delete_export(run)
    run.save(update_fields=["status", "void_reason", "csv_file", "pdf_file"])
    audit.record(
        actor=by,
        verb="stamp_run.voided",
        target=run,
        changes={"reason": reason[:255]},
        place_path=_path(run.producer),
    )
    return run


def stamp_export_downloaded(*, run: StampRun, file_kind: str, by) -> None:
    audit.record(
        actor=by,
        verb="stamp_run.export_downloaded",
        target=run,
        changes={"file": file_kind},
        place_path=_path(run.producer),
    )


# --- Counterfeit reports ----------------------------------------------------------------------
@transaction.atomic
def counterfeit_report_create(
    *, stamp: Stamp | None, lot: Lot | None, code_shown: str, province: str, **values
) -> CounterfeitReport:
    """A report from the public page; it reaches the producer and the commune's officers."""
    producer = stamp.run.producer if stamp else (lot.product.producer if lot else None)
    if producer is None:
        raise DomainError(_("Không xác định được sản phẩm để báo cáo."))
    report = CounterfeitReport.objects.create(
        stamp=stamp,
        lot=lot,
        producer=producer,
        place=producer.place,
        code_shown=code_shown[:30],
        message=str(values.get("message") or "").strip()[:2000],
        where_bought=_text(values, "where_bought", max_length=255),
        contact=_text(values, "contact", max_length=100),
        province=province,
    )
    audit.record(
        actor=None, verb="counterfeit.reported", target=report, place_path=producer.place.path
    )
    return report


@transaction.atomic
def counterfeit_report_handle(*, report: CounterfeitReport, by) -> CounterfeitReport:
    if report.handled_at:
        raise DomainError(_("Báo cáo này đã được xử lý."))
    report.handled_at = timezone.now()
    report.save(update_fields=["handled_at"])
    audit.record(actor=by, verb="counterfeit.handled", target=report, place_path=report.place.path)
    return report


# --- EPCIS capture ----------------------------------------------------------------------------
@transaction.atomic
def epcis_capture(*, events, by) -> dict:
    """Store partner events once each (by eventID); a repeated capture adds nothing."""
    created = 0
    for event, raw in events:
        _, was_created = CapturedEpcisEvent.objects.get_or_create(
            event_id=event.event_id,
            defaults={
                "event_type": event.event_type,
                "event_time": event.event_time,
                "biz_step": event.biz_step[:255],
                "epcs": list(event.epcs),
                "event": raw,
                "captured_by": by,
            },
        )
        created += was_created
    audit.record(actor=by, verb="epcis.captured", changes={"events": len(events), "new": created})
    return {"events": len(events), "new": created}
