"""What anyone who scans a code may see, and the record of each scan.

No login, no personal data: the producer's published name, address and phone only; officers
appear as "cán bộ xã", never by name. Every scan is appended to the scan journal before the
page answers, and reaches the database a fraction of a second later (scan_journal.py).

The scan path is the hottest code of the site (docs/decisions/0010 and 0023): its one read is
written out in SQL and prepared on PostgreSQL, and the rendered lot page is kept in the
process, under a key that holds the lot's version, so a scan costs one statement, one append
to a file and no cache round trip.
"""

import hashlib
import hmac
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property, lru_cache

from django.conf import settings
from django.core.cache import cache
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from vietnam_provinces import Province

from xaso.core import request_context
from xaso.core.prepared_reads import PreparedRead
from xaso.lib import gs1, scan_geo, stamp_codes
from xaso.traceability import guard, lot_refs, scan_journal, stamp_replica
from xaso.traceability.models import (
    Certification,
    DiaryEntry,
    Lot,
    Product,
    Scan,
    Stamp,
    StampActivation,
    StampRun,
)
from xaso.traceability.resolver import link_header, lot_links
from xaso.traceability.stamps import stamp_key

FACTS_CACHE_SECONDS = 60
DIARY_AFTER_HARVEST_DAYS = 14  # packing and inspection of the lot follow its harvest


# --- Finding a lot ----------------------------------------------------------------------------
_LOT_RELATED = ("product", "product__producer", "area", "area__village", "area__village__parent")


def lot_by_code(code: str) -> Lot | None:
    return Lot.objects.select_related(*_LOT_RELATED).filter(code=code.upper()).first()


@dataclass(frozen=True)
class LotRef:
    """A lot as a scan page needs it before the cached page: its id and its version."""

    id: int
    version: object  # updated_at: a datetime, or its text on SQLite

    @property
    def lot_ids(self) -> tuple[int]:
        return (self.id,)  # forgotten when this lot changes (lot_refs.py)


_LOT_BY_GTIN_BATCH = PreparedRead(
    "xaso_lot_by_gtin_batch",
    f"""
SELECT lot.id, lot.updated_at FROM {Lot._meta.db_table} lot
JOIN {Product._meta.db_table} product ON product.id = lot.product_id
WHERE product.gtin = %s AND lot.batch = %s
""",
)
_LOT_BY_CODE = PreparedRead(
    "xaso_lot_by_code", f"SELECT id, updated_at FROM {Lot._meta.db_table} WHERE code = %s"
)


def lot_ref_by_gtin_batch(gtin14: str, batch: str) -> LotRef | None:
    def read() -> LotRef | None:
        row = _LOT_BY_GTIN_BATCH.fetchone([gtin14, batch])  # one at most: lot_batch_unique
        return LotRef(*row) if row else None

    return _kept_or_read(("gtin", gtin14, batch), read)


def lot_ref_by_code(code: str) -> LotRef | None:
    def read() -> LotRef | None:
        row = _LOT_BY_CODE.fetchone([code.upper()])
        return LotRef(*row) if row else None

    return _kept_or_read(("code", code.upper()), read)


def _kept_or_read(key: tuple, read):
    """From this process's lot references while they are kept (lot_refs.py), else read."""
    refs = lot_refs.lot_refs()
    return refs.get(key, read) if refs is not None else read()


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
    """{"facts": what Circular 02/2024 asks a consumer to see, "html": that as a fragment,
    "document": the lot's public page, "url": its address}.

    Kept for a minute under the lot's `updated_at`: a recall changes it, so every server
    process shows the recall on its next request; diary edits show within the minute. This
    process keeps the pages it served (no round trip to the shared cache on a scan), the
    shared cache spares the other processes the queries that build a page.
    """
    held_key = (lot_id, version)  # no text made on a scan: the version is hashed as it is
    held = _pages_held.get(held_key)
    if held is not None and held["expires"] > time.time():
        return held
    key = f"trace:lot:v2:{lot_id}:{_version_digits(version)}"
    page = cache.get(key)
    if page is None:
        page = _lot_page_built(lot_id)
        cache.set(key, page, FACTS_CACHE_SECONDS)
    if len(_pages_held) >= _PAGES_HELD_MAX:
        _pages_held.clear()  # crude, but bounded; lots scanned at once are few
    _pages_held[held_key] = page
    return page


_PAGES_HELD_MAX = 500
_pages_held: dict[tuple, dict] = {}  # one per process, shared by its threads (each get or set
# of a dict is atomic; a page is never changed once built)


def _lot_page_built(lot_id: int) -> dict:
    lot = Lot.objects.select_related(*_LOT_RELATED).get(pk=lot_id)
    facts = _lot_facts(lot)
    html = render_to_string("traceability/_lot_public.html", {"lot": facts})
    # The lot's own page is the same for every visitor: rendered here, once.
    document = render_to_string("traceability/public_lot.html", {"lot": facts, "lot_html": html})
    page = {
        "facts": facts,
        "html": html,
        "document": document,
        "url": lot_page_url(lot),
        # Expires by the clock of its making, whichever process holds it: within the minute.
        "expires": time.time() + FACTS_CACHE_SECONDS,
    }
    page["links"] = lot_links(page)
    page["link_header"] = link_header(page["links"])  # the same on every scan of the lot
    return page


def _version_digits(version) -> str:
    """`updated_at` as 20 digits (to the microsecond), the same whether it arrives as a datetime
    or, from the raw scan query on SQLite, as its text."""
    return _NOT_DIGITS.sub("", str(version))[:20]


_NOT_DIGITS = re.compile(r"\D")


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
    # A recall always has its date through lot_recall; one written by other means (a province
    # system, by hand) may not, and must still show its banner.
    at = lot.recalled_at.isoformat() if lot.recalled_at else None
    return {"at": at, "reason": lot.recall_reason}


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
class ScannedStamp:
    """A stamp as a scan reads it: its counters, its run and product, the lot it is bound to."""

    id: int
    serial: int
    scan_count: int
    first_scan_at: datetime | None
    first_province: str
    last_scan_at: datetime | None
    last_province: str
    suspicious: bool
    run_status: str
    product_name: str
    bound_lot_id: int | None
    bound_lot_status: str | None
    bound_lot_version: object  # the lot's updated_at: a datetime, or its text on SQLite


@dataclass
class StampVerdict:
    status: str  # a Scan.Result value
    stamp: ScannedStamp | None
    activation: "Activation | None" = None
    warnings: tuple[str, ...] = ()

    @cached_property
    def page(self) -> dict | None:
        """The page of the lot the stamp is bound to, looked up once per scan (the facts and
        the HTML of the stamp page both need it)."""
        activation = self.activation
        return lot_page(activation.lot_id, activation.lot_version) if activation else None


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
    _add_pending_scans(stamp)
    activation = None
    if stamp.bound_lot_id is not None:
        activation = Activation(stamp.bound_lot_id, stamp.bound_lot_status, stamp.bound_lot_version)
    warnings = tuple(_warnings(stamp, province)) if activation is not None else ()
    status = _status(stamp, activation, warnings)
    _count_scan(stamp, province, status=status, activation=activation, warnings=warnings)
    return StampVerdict(status, stamp, activation, warnings)


# The hottest read of the site, written out so Django need not compile it on every scan (and
# PostgreSQL plans it once per connection, see core/prepared_reads.py): the stamp, its run's
# status and product, and the lot its serial is bound to, in one statement. Columns are named,
# never `*`: a prepared statement must keep its result type when a migration adds a column.
_SCANNED_STAMP_SQL = f"""
SELECT stamp.id, stamp.serial, stamp.scan_count, stamp.first_scan_at, stamp.first_province,
       stamp.last_scan_at, stamp.last_province, stamp.suspicious, run.status, product.name,
       activation.lot_id, lot.status, lot.updated_at
FROM {Stamp._meta.db_table} stamp
JOIN {StampRun._meta.db_table} run ON run.id = stamp.run_id
JOIN {Product._meta.db_table} product ON product.id = run.product_id
LEFT JOIN {StampActivation._meta.db_table} activation ON activation.run_id = stamp.run_id
     AND stamp.serial BETWEEN activation.first_serial AND activation.last_serial
LEFT JOIN {Lot._meta.db_table} lot ON lot.id = activation.lot_id
WHERE stamp.code_hash = %s
"""
_SCANNED_STAMP = PreparedRead("xaso_scanned_stamp", _SCANNED_STAMP_SQL)


# While this process keeps runs (lot_refs.py, PostgreSQL), a scan reads the stamp's own row
# only, and its run's facts from memory: a single-table read costs PostgreSQL a third less.
_STAMP_ALONE = PreparedRead(
    "xaso_stamp_alone",
    f"""
SELECT id, serial, scan_count, first_scan_at, first_province, last_scan_at, last_province,
       suspicious, run_id
FROM {Stamp._meta.db_table} WHERE code_hash = %s
""",
)


@dataclass(frozen=True)
class RunFacts:
    """What every scan of a stamp run needs about it, kept per process (lot_refs.py)."""

    status: str
    product_name: str
    activations: tuple[tuple[int, int, Activation], ...]  # (first serial, last serial, lot)

    @property
    def lot_ids(self) -> tuple[int, ...]:
        return tuple(activation.lot_id for _first, _last, activation in self.activations)

    def activation_of(self, serial: int) -> "Activation | None":
        for first, last, activation in self.activations:
            if first <= serial <= last:
                return activation
        return None


def _run_facts(run_id: int) -> RunFacts | None:
    run = StampRun.objects.filter(pk=run_id).values_list("status", "product__name").first()
    if run is None:
        return None
    activations = StampActivation.objects.filter(run_id=run_id).values_list(
        "first_serial", "last_serial", "lot_id", "lot__status", "lot__updated_at"
    )
    return RunFacts(
        *run,
        activations=tuple((first, last, Activation(*lot)) for first, last, *lot in activations),
    )


def _scanned_stamp(code: str) -> ScannedStamp | None:
    canonical = stamp_codes.normalize_code(code)
    if canonical is None:
        return None
    digest = stamp_codes.code_hash(canonical, key=stamp_key())
    refs = lot_refs.lot_refs()
    if refs is not None and refs.keeping():
        stamp = _stamp_with_kept_run(digest, refs)
    else:
        row = _SCANNED_STAMP.fetchone([digest])
        stamp = ScannedStamp(*row) if row else None
    if stamp is None:
        return None
    stamp.first_scan_at = _as_datetime(stamp.first_scan_at)
    stamp.last_scan_at = _as_datetime(stamp.last_scan_at)
    stamp.suspicious = bool(stamp.suspicious)  # 0/1 on SQLite
    return stamp


def _stamp_with_kept_run(digest: str, refs: lot_refs.LotRefs) -> ScannedStamp | None:
    row = _kept_stamp_row(digest) or _STAMP_ALONE.fetchone([digest])
    if row is None:
        return None
    *counters, run_id = row
    run = refs.get(("run", run_id), lambda: _run_facts(run_id))
    if run is None:
        return None
    activation = run.activation_of(counters[1])  # by the stamp's serial
    return ScannedStamp(
        *counters,
        run_status=run.status,
        product_name=run.product_name,
        bound_lot_id=activation.lot_id if activation else None,
        bound_lot_status=activation.lot_status if activation else None,
        bound_lot_version=activation.lot_version if activation else None,
    )


def _kept_stamp_row(digest: str) -> tuple | None:
    """The stamp's row from the server's stamp replica, when it is kept and has it."""
    replica = stamp_replica.replica()
    return replica.row(digest) if replica is not None else None


def _as_datetime(value) -> datetime | None:
    """A timestamp from a raw read: aware on PostgreSQL, naive UTC (or its text) on SQLite."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is None or timezone.is_aware(value):
        return value
    return value.replace(tzinfo=UTC)


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


def _status(stamp: ScannedStamp, activation: Activation | None, warnings) -> str:
    if stamp.run_status == StampRun.Status.VOID:
        return Scan.Result.VOID
    if activation is None:
        return Scan.Result.NOT_ACTIVATED
    if activation.lot_status == Lot.Status.RECALLED:
        return Scan.Result.RECALLED
    if stamp.suspicious or warnings:
        return Scan.Result.SUSPICIOUS
    return Scan.Result.VALID


def _warnings(stamp: ScannedStamp, province: str) -> list[str]:
    history = scan_geo.ScanHistory(
        scan_count=stamp.scan_count,
        last_scan_at=stamp.last_scan_at,
        last_province=stamp.last_province,
    )
    rules = scan_geo.ScanRules(max_scans=settings.XASO_STAMP_MAX_SCANS)
    return scan_geo.scan_warnings(
        history, province=province, scanned_at=timezone.now(), rules=rules
    )


def _add_pending_scans(stamp: ScannedStamp) -> None:
    """Count in this process's scans of the stamp that the database does not have yet."""
    tally = scan_journal.journal().pending_tally(stamp.id)
    if tally is None:
        return
    stamp.scan_count += tally.count
    if stamp.first_scan_at is None or tally.first_at < stamp.first_scan_at:
        stamp.first_scan_at, stamp.first_province = tally.first_at, tally.first_province
    if stamp.last_scan_at is None or tally.last_at > stamp.last_scan_at:
        stamp.last_scan_at, stamp.last_province = tally.last_at, tally.last_province
    stamp.suspicious = stamp.suspicious or tally.suspicious


def _count_scan(stamp: ScannedStamp, province: str, *, status, activation, warnings) -> None:
    """Record the scan; the journal moves the stamp's counters with it (one UPDATE adding
    the batch's count, so the counters stay right when many people scan the same stamp)."""
    now = timezone.now()
    suspicious = bool(warnings)
    scan_journal.record(
        scan_journal.PendingScan(
            scanned_at=now,
            result=status,
            province=province,
            ip_hash=_current_ip_digest(),
            stamp_id=stamp.id,
            lot_id=activation.lot_id if activation else None,
            suspicious=suspicious,
        )
    )
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
        lot = verdict.page["facts"]
        facts["product"] = lot["product"]["name"]
        facts["lot"] = lot
    elif stamp is not None:
        facts["product"] = stamp.product_name
    return facts


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


@lru_cache(maxsize=4096)  # the table is fixed for the process; a scan page asks on every scan
def province_of(ip: str | None) -> str:
    return _ip_table().province_of(ip)


@lru_cache(maxsize=4096)  # the same shoppers' addresses come back; a hash per scan is waste
def ip_digest(ip: str | None) -> str:
    """Counts distinct clients without keeping their address."""
    if not ip:
        return ""
    return hmac.new(stamp_key(), b"ip:" + ip.encode(), hashlib.sha256).digest()[:8].hex()


def scan_record(
    *, result: str, province: str, lot=None, lot_id=None, ip: str | None = None
) -> None:
    """Record a scan that moves no stamp's counters: a lot page, an unknown code."""
    scan_journal.record(
        scan_journal.PendingScan(
            scanned_at=timezone.now(),
            result=result,
            province=province,
            ip_hash=ip_digest(ip) if ip else _current_ip_digest(),
            lot_id=lot.pk if lot is not None else lot_id,
        )
    )


def _current_ip_digest() -> str:
    return ip_digest(request_context.current().ip_address)
