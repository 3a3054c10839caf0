"""EPCIS 2.0 for lots: the export of one lot and the capture of partners' documents.

The document itself is built by lib/epcis.py from plain facts; here the facts come from the
database, and capture checks a body against the configured schema before storing its events.
"""

import json
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.lib import epcis as epcis_lib
from xaso.traceability.models import Lot
from xaso.traceability.public import lot_diary_entries, lot_link

MAX_CAPTURE_BYTES = 5 * 1024 * 1024
_STEP_DETAILS = ("pesticide", "active_ingredient", "dose", "pre_harvest_interval_days")


def _moment(day) -> datetime:
    """Diary entries carry a day; EPCIS wants a time: noon, local time."""
    return timezone.make_aware(datetime.combine(day, time(12)))


def lot_facts(lot: Lot) -> epcis_lib.LotFacts:
    base = settings.XASO_PUBLIC_URL
    steps = [
        epcis_lib.DiaryStep(
            kind=entry.kind,
            occurred_at=_moment(entry.occurred_on),
            description=entry.description,
            details={
                name: getattr(entry, name)
                for name in _STEP_DETAILS
                if getattr(entry, name) not in ("", None)
            },
        )
        for entry in lot_diary_entries(lot)
    ]
    return epcis_lib.LotFacts(
        lot_uri=_lot_uri(lot),
        product_name=lot.product.name,
        quantity=lot.quantity,
        unit=lot.unit,
        harvest_start=lot.harvest_start,
        harvest_end=lot.harvest_end,
        area_uri=f"{base}/vung-trong/{lot.area.code}",
        producer_uri=f"{base}/co-so/{lot.product.producer.public_id}",
        steps=steps,
        created_at=lot.created_at,
        base_uri=base,
    )


def _lot_uri(lot: Lot) -> str:
    """GS1's canonical Digital Link for lots with a GTIN, our own link otherwise."""
    if lot.product.gtin:
        return f"https://id.gs1.org/01/{lot.product.gtin}/10/{lot.batch}"
    return lot_link(lot)


def lot_document(lot: Lot) -> dict:
    return epcis_lib.lot_document(lot_facts(lot))


@lru_cache(maxsize=2)
def _schema_from(path: str) -> dict:
    if not path:
        return epcis_lib.bundled_schema()
    return json.loads(Path(path).read_text(encoding="utf-8"))


def capture_schema() -> dict:
    return _schema_from(settings.XASO_EPCIS_SCHEMA)


def document_from_body(body: bytes) -> tuple[dict | None, list[str]]:
    """The document in a request body, or the reasons it cannot be accepted."""
    if len(body) > MAX_CAPTURE_BYTES:
        return None, [_("Tài liệu quá lớn (tối đa 5 MB).")]
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        return None, [_("Nội dung không phải JSON hợp lệ.")]
    reasons = epcis_lib.validate_document(document, capture_schema())
    return (None, reasons) if reasons else (document, [])


def events_of(document: dict) -> list[tuple[epcis_lib.CapturedEvent, dict]]:
    """Each event's summary with the event as sent."""
    body = document.get("epcisBody") or {}
    results = (body.get("queryResults") or {}).get("resultsBody") or {}
    raw_events = body.get("eventList") or results.get("eventList") or []
    return list(zip(epcis_lib.captured_events(document), raw_events, strict=False))
