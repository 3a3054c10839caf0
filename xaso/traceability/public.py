"""What anyone who scans a code may see, and the record of each scan.

No login, no personal data: the producer's published name, address and phone only; officers
appear as "cán bộ xã", never by name. Scans are written in the request that serves them (one
UPDATE of the stamp's counters and one INSERT), so none is lost when the server is busy.
"""

import hashlib
import hmac
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from vietnam_provinces import Province

from xaso.core import request_context
from xaso.lib import gs1, scan_geo, stamp_codes
from xaso.traceability import guard
from xaso.traceability.models import (
    Certification,
    DiaryEntry,
    Lot,
    Scan,
    Stamp,
    StampActivation,
    StampRun,
)
from xaso.traceability.stamps import stamp_key

FACTS_CACHE_SECONDS = 60
DIARY_AFTER_HARVEST_DAYS = 14  # packing and inspection of the lot follow its harvest


# --- Finding a lot ----------------------------------------------------------------------------
_LOT_RELATED = ("product", "product__producer", "area", "area__village", "area__village__parent")


def lot_by_code(code: str) -> Lot | None:
    return Lot.objects.select_related(*_LOT_RELATED).filter(code=code.upper()).first()


def lot_by_gtin_batch(gtin14: str, batch: str) -> Lot | None:
    return (
        Lot.objects.select_related(*_LOT_RELATED).filter(product__gtin=gtin14, batch=batch).first()
    )


def lot_link(lot: Lot) -> str:
    """The lot's own link: GS1 Digital Link when the product has a GTIN, else /l/{code}."""
    if lot.product.gtin:
        return gs1.generate_digital_link(
            [("01", lot.product.gtin), ("10", lot.batch)], stem=settings.XASO_PUBLIC_URL
        )
    return f"{settings.XASO_PUBLIC_URL}/l/{lot.code}"


def lot_page_url(lot: Lot) -> str:
    return settings.XASO_PUBLIC_URL + reverse("traceability:public_lot", args=[lot.code])


# --- What the public page shows ---------------------------------------------------------------
def lot_page(lot_id: int, version) -> dict:
    """{"facts": what Circular 02/2024 asks a consumer to see, "html": that as a fragment}.

    Cached for a minute under the lot's `updated_at`: a recall changes it, so every server
    process shows the recall on its next request; diary edits show within the minute.
    """
    key = f"trace:lot:{lot_id}:{_version_digits(version)}"
    page = cache.get(key)
    if page is None:
        lot = Lot.objects.select_related(*_LOT_RELATED).get(pk=lot_id)
        facts = _lot_facts(lot)
        html = render_to_string("traceability/_lot_public.html", {"lot": facts})
        page = {"facts": facts, "html": html}
        cache.set(key, page, FACTS_CACHE_SECONDS)
    return page


def _version_digits(version) -> str:
    """`updated_at` as 20 digits (to the microsecond), the same whether it arrives as a datetime
    or, from the raw scan query on SQLite, as its text."""
    return "".join(char for char in str(version) if char.isdigit())[:20]


def _lot_facts(lot: Lot) -> dict:
    product, area = lot.product, lot.area
    producer = product.producer
    village = area.village
    return {
        "code": lot.code,
        "batch": lot.batch,
        "gtin": product.gtin,
        "link": lot_link(lot),
        "status": lot.status,
        "recall": _recall(lot),
        "product": {
            "name": product.name,
            "photo": reverse("traceability:product_photo", args=[product.public_id])
            if product.photo
            else "",
            "description": product.description,
            "ocop_points": product.ocop_points,
            "ocop_stars": product.ocop_stars,
            "shelf_life_days": product.shelf_life_days,
        },
        "producer": {
            "name": producer.public_name,
            "kind": producer.get_kind_display(),
            "address": producer.public_address,
            "phone": producer.public_phone,
        },
        "area": {
            "code": area.code,
            "name": area.name,
            "crop": area.crop,
            "area_ha": f"{area.area_ha.normalize():f}",
            "place": ", ".join(p.name for p in (village, village.parent) if p is not None),
            "planted_on": _iso(area.planted_on),
            "status": area.status,
            "status_label": area.get_status_display(),
        },
        "certifications": _certifications(lot),
        "harvest_start": _iso(lot.harvest_start),
        "harvest_end": _iso(lot.harvest_end),
        "best_before": _iso(lot.best_before),
        "quantity": f"{lot.quantity.normalize():f}",
        "unit": lot.unit,
        "diary": _diary(lot),
        "guard": _guard(lot),
    }


def _iso(day) -> str | None:
    return day.isoformat() if day else None


def _recall(lot: Lot) -> dict | None:
    if lot.status != Lot.Status.RECALLED:
        return None
    return {"at": lot.recalled_at.isoformat(), "reason": lot.recall_reason}


def _certifications(lot: Lot) -> list[dict]:
    certifications = Certification.objects.filter(producer=lot.product.producer).filter(
        area__in=[lot.area_id, None]
    )
    return [
        {
            "scheme": certification.get_scheme_display(),
            "number": certification.number,
            "issuer": certification.issuer,
            "valid_from": certification.valid_from.isoformat(),
            "valid_until": certification.valid_until.isoformat(),
            "valid_at_harvest": certification.is_valid_on(lot.harvest_end),
        }
        for certification in certifications.order_by("scheme", "valid_from")
    ]


def lot_diary_entries(lot: Lot):
    """The diary of the lot's season: from planting (or a year back) to just after harvest."""
    season_start = lot.area.planted_on or (lot.harvest_start - timedelta(days=365))
    return DiaryEntry.objects.filter(
        area=lot.area,
        status=DiaryEntry.Status.DONE,
        occurred_on__gte=season_start,
        occurred_on__lte=lot.harvest_end + timedelta(days=DIARY_AFTER_HARVEST_DAYS),
    ).order_by("occurred_on", "id")


def _diary(lot: Lot) -> list[dict]:
    return [_diary_item(entry) for entry in lot_diary_entries(lot)]


def _diary_item(entry: DiaryEntry) -> dict:
    item = {
        "kind": entry.kind,
        "label": entry.get_kind_display(),
        "date": entry.occurred_on.isoformat(),
        "description": entry.description,
        "confirmed_by_officer": entry.countersigned_at is not None,
        "photo": reverse("traceability:diary_photo", args=[entry.public_id]) if entry.photo else "",
    }
    if entry.kind == DiaryEntry.Kind.SPRAYING:
        item["spraying"] = {
            "pesticide": entry.pesticide,
            "active_ingredient": entry.active_ingredient,
            "dose": entry.dose,
            "pre_harvest_interval_days": entry.pre_harvest_interval_days,
            "safe_from": _iso(entry.safe_from),
        }
    if entry.guard_override_reason:
        item["guard_override_reason"] = entry.guard_override_reason
    return item


def _guard(lot: Lot) -> dict:
    verdict = guard.harvest_verdict(lot.area, lot.harvest_start, lot.harvest_end)
    last = verdict.last_spraying
    facts = {
        "verdict": "safe" if verdict.safe else "overridden",
        "last_spraying": _iso(last.occurred_on) if last else None,
        "days_since_last_spraying": (lot.harvest_start - last.occurred_on).days if last else None,
        "interval_days": last.pre_harvest_interval_days if last else None,
        "override_reason": lot.guard_override_reason,
    }
    if not verdict.safe:
        facts["message"] = guard.refusal_message(lot.area, verdict.spraying)
    return facts


# --- Stamps -----------------------------------------------------------------------------------
@dataclass
class StampVerdict:
    status: str  # a Scan.Result value
    stamp: Stamp | None
    activation: "Activation | None" = None
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class Activation:
    """The lot a stamp is bound to, as much of it as a scan needs before the cached page."""

    lot_id: int
    lot_status: str
    lot_version: object  # the lot's updated_at: a datetime, or its text on SQLite


def stamp_verdict(code: str, *, province: str) -> StampVerdict:
    """The status of the scanned stamp, recording the scan and updating its counters."""
    stamp = _scanned_stamp(code)
    if stamp is None or stamp.run_status not in _LIVE_RUNS:
        scan_record(result=Scan.Result.UNKNOWN, province=province)
        return StampVerdict(Scan.Result.UNKNOWN, None)
    activation = None
    if stamp.bound_lot_id is not None:
        activation = Activation(stamp.bound_lot_id, stamp.bound_lot_status, stamp.bound_lot_version)
    warnings = tuple(_warnings(stamp, province)) if activation is not None else ()
    status = _status(stamp, activation, warnings)
    with transaction.atomic():  # one commit for the counters and the scan
        _count_scan(stamp, province, suspicious=bool(warnings))
        scan_record(
            result=status,
            province=province,
            stamp=stamp,
            lot_id=activation.lot_id if activation else None,
        )
    return StampVerdict(status, stamp, activation, warnings)


# The hottest read of the site, written out so Django need not compile it on every scan: the
# stamp, its run's status and the lot its serial is bound to, in one statement.
_SCANNED_STAMP_SQL = f"""
SELECT stamp.*, run.status AS run_status, activation.lot_id AS bound_lot_id,
       lot.status AS bound_lot_status, lot.updated_at AS bound_lot_version
FROM {Stamp._meta.db_table} stamp
JOIN {StampRun._meta.db_table} run ON run.id = stamp.run_id
LEFT JOIN {StampActivation._meta.db_table} activation ON activation.run_id = stamp.run_id
     AND stamp.serial BETWEEN activation.first_serial AND activation.last_serial
LEFT JOIN {Lot._meta.db_table} lot ON lot.id = activation.lot_id
WHERE stamp.code_hash = %s
"""


def _scanned_stamp(code: str) -> Stamp | None:
    canonical = stamp_codes.normalize_code(code)
    if canonical is None:
        return None
    digest = stamp_codes.code_hash(canonical, key=stamp_key())
    return next(iter(Stamp.objects.raw(_SCANNED_STAMP_SQL, [digest])), None)


_LIVE_RUNS = (StampRun.Status.ISSUED, StampRun.Status.PRINTED, StampRun.Status.VOID)


def activation_of(stamp: Stamp) -> Activation | None:
    row = (
        StampActivation.objects.filter(
            run_id=stamp.run_id, first_serial__lte=stamp.serial, last_serial__gte=stamp.serial
        )
        .order_by()
        .values_list("lot_id", "lot__status", "lot__updated_at")
        .first()
    )
    return Activation(*row) if row else None


def activated_lot(stamp: Stamp) -> Lot | None:
    activation = activation_of(stamp)
    return Lot.objects.filter(pk=activation.lot_id).first() if activation else None


def _status(stamp: Stamp, activation: Activation | None, warnings) -> str:
    if stamp.run_status == StampRun.Status.VOID:
        return Scan.Result.VOID
    if activation is None:
        return Scan.Result.NOT_ACTIVATED
    if activation.lot_status == Lot.Status.RECALLED:
        return Scan.Result.RECALLED
    if stamp.suspicious or warnings:
        return Scan.Result.SUSPICIOUS
    return Scan.Result.VALID


def _warnings(stamp: Stamp, province: str) -> list[str]:
    history = scan_geo.ScanHistory(
        scan_count=stamp.scan_count,
        last_scan_at=stamp.last_scan_at,
        last_province=stamp.last_province,
    )
    rules = scan_geo.ScanRules(max_scans=settings.XASO_STAMP_MAX_SCANS)
    return scan_geo.scan_warnings(
        history, province=province, scanned_at=timezone.now(), rules=rules
    )


_COUNT_SCAN_SQL = f"""
UPDATE {Stamp._meta.db_table}
SET scan_count = scan_count + 1,
    first_province = CASE WHEN first_scan_at IS NULL THEN %s ELSE first_province END,
    first_scan_at = COALESCE(first_scan_at, %s),
    last_scan_at = %s, last_province = %s, suspicious = (suspicious OR %s)
WHERE id = %s
"""


def _count_scan(stamp: Stamp, province: str, *, suspicious: bool) -> None:
    """One UPDATE; the counters stay right when many people scan the same stamp at once."""
    now = timezone.now()
    moment = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(_COUNT_SCAN_SQL, [province, moment, moment, province, suspicious, stamp.pk])
    # The page shows the counters including this scan.
    stamp.scan_count += 1
    stamp.first_scan_at = stamp.first_scan_at or now
    stamp.first_province = stamp.first_province or province
    stamp.suspicious = stamp.suspicious or suspicious


def stamp_facts(verdict: StampVerdict) -> dict:
    stamp = verdict.stamp
    facts = {
        "status": verdict.status,
        "scan_count": stamp.scan_count if stamp else 0,
        "first_scan_at": stamp.first_scan_at.isoformat() if stamp and stamp.first_scan_at else None,
        "first_scan_province": province_name(stamp.first_province) if stamp else "",
        "warnings": list(verdict.warnings),
        "serial": stamp.serial if stamp else None,
        "product": None,
        "lot": None,
    }
    if verdict.activation is not None:
        lot = verdict_lot_page(verdict)["facts"]
        facts["product"] = lot["product"]["name"]
        facts["lot"] = lot
    elif stamp is not None:
        facts["product"] = stamp.run.product.name
    return facts


def verdict_lot_page(verdict: StampVerdict) -> dict | None:
    activation = verdict.activation
    return lot_page(activation.lot_id, activation.lot_version) if activation else None


def province_name(code: str) -> str:
    """'01' → 'Thành phố Hà Nội', from the official list; "" when unknown."""
    try:
        return Province.from_code(int(code)).name if code else ""
    except ValueError:
        return ""


# --- Scans ------------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _ip_table() -> scan_geo.IpProvinceTable:
    path = settings.XASO_IP_PROVINCES
    return scan_geo.IpProvinceTable.from_csv(path) if path else scan_geo.IpProvinceTable.empty()


def province_of(ip: str | None) -> str:
    return _ip_table().province_of(ip)


def ip_digest(ip: str | None) -> str:
    """Counts distinct clients without keeping their address."""
    if not ip:
        return ""
    return hmac.digest(stamp_key(), b"ip:" + ip.encode(), hashlib.sha256)[:8].hex()


_INSERT_SCAN_SQL = f"""
INSERT INTO {Scan._meta.db_table} (scanned_at, stamp_id, lot_id, result, province, ip_hash)
VALUES (%s, %s, %s, %s, %s, %s)
"""


def scan_record(
    *, result: str, province: str, stamp=None, lot=None, lot_id=None, ip: str | None = None
) -> None:
    """Append one scan (written out: it runs on every public page view)."""
    values = [
        connection.ops.adapt_datetimefield_value(timezone.now()),
        stamp.pk if stamp is not None else None,
        lot.pk if lot is not None else lot_id,
        result,
        province,
        ip_digest(ip) if ip else _current_ip_digest(),
    ]
    with connection.cursor() as cursor:
        cursor.execute(_INSERT_SCAN_SQL, values)


def _current_ip_digest() -> str:
    return ip_digest(request_context.current().ip_address)
