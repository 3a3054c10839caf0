"""EPCIS 2.0 documents for farm produce, in plain Python (no Django).

EPCIS is the GS1 standard for "what happened to which goods, when, where and why", written here
as JSON-LD. This module does three things:

    lot_document(facts)               one lot and its farm diary as an EPCISDocument
    validate_document(doc, schema)    [] or readable reasons, in Vietnamese, with the JSON path
    captured_events(doc)              the events of a valid document as plain summaries

How a lot is modelled (CBV 2.0 has no "harvesting" step):

    harvest                ObjectEvent ADD, bizStep commissioning, the lot in quantityList,
                           ilmd cbvmda:harvestStartDate / cbvmda:harvestEndDate
    packing, inspection    ObjectEvent OBSERVE, bizStep packing / inspecting
    seeding, fertilising,  ObjectEvent OBSERVE on the lot's class, bizStep = our own URI
    spraying, irrigating,  {base_uri}/voc/bizstep/<kind>, the step's details as xaso:* fields
    observation

Every event happens at the growing area (readPoint and bizLocation). The lot is a class-level
identifier (a GS1 Digital Link with 01 + 10, or our own URI), so it goes in quantityList; its
quantity is stated from the harvest on, since before it the lot does not exist in that amount.
When the diary has several harvest days, the last one commissions the lot and the earlier ones
are OBSERVE events with our step URI …/voc/bizstep/harvesting.

`bundled_schema()` is our own compact schema (epcis_schema.json), written from the standard for
the capture endpoint; GS1's published schema is test material only and is not shipped.
"""

import json
import re
import unicodedata
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import cache
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError

EPCIS_CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
CBV_MASTER_DATA_PREFIX = "urn:epcglobal:cbv:mda:"  # the "cbvmda" prefix of ILMD attributes
SCHEMA_VERSION = "2.0"
MAX_REASONS = 20
SCHEMA_PATH = Path(__file__).with_name("epcis_schema.json")

STEP_KINDS = (
    "seeding",
    "fertilising",
    "spraying",
    "irrigating",
    "observation",
    "harvest",
    "packing",
    "inspection",
)
# Diary steps CBV has no word for: they get a step URI under our own vocabulary.
OWN_STEP_KINDS = frozenset({"seeding", "fertilising", "spraying", "irrigating", "observation"})
CBV_STEP_OF_KIND = {"harvest": "commissioning", "packing": "packing", "inspection": "inspecting"}

# Units people write in the diary → UN/CEFACT Recommendation 20 codes (packages as X + Rec 21).
UNIT_CODES = {
    "kg": "KGM",
    "kilogram": "KGM",
    "g": "GRM",
    "gam": "GRM",
    "tấn": "TNE",
    "tạ": "KGM",  # 100 kg: quantities are multiplied by UNIT_FACTORS
    "yến": "KGM",  # 10 kg
    "lít": "LTR",
    "l": "LTR",
    "quả": "H87",  # pieces
    "trái": "H87",
    "cái": "H87",
    "con": "H87",
    "cây": "H87",
    "hộp": "XBX",  # box
    "thùng": "XCT",  # carton
    "bao": "XBG",  # bag
    "túi": "XBG",
    "bó": "XBE",  # bundle
    "chai": "XBO",  # bottle
}
UNIT_FACTORS = {"tạ": Decimal(100), "yến": Decimal(10)}  # multiples of their code's unit
_UNIT_CODE = re.compile(r"^[A-Z0-9]{2,3}$")


@dataclass(frozen=True)
class DiaryStep:
    kind: str  # one of STEP_KINDS
    occurred_at: datetime  # timezone-aware
    description: str
    details: dict  # e.g. {"pesticide": …, "dose": …, "pre_harvest_interval_days": 7}


@dataclass(frozen=True)
class LotFacts:
    lot_uri: str  # GS1 Digital Link with 01 and 10, or "https://xa.example.vn/l/<code>"
    product_name: str
    quantity: Decimal | float
    unit: str  # "kg", "tấn", "quả", "hộp", "thùng" … (see UNIT_CODES)
    harvest_start: date
    harvest_end: date
    area_uri: str  # the growing area: read point and business location of every event
    producer_uri: str
    steps: list[DiaryStep]  # the area's farm diary for this lot, oldest first
    created_at: datetime
    base_uri: str  # our vocabulary base, e.g. "https://xa.example.vn"


@dataclass(frozen=True)
class CapturedEvent:
    event_type: str
    event_time: datetime
    event_id: str
    biz_step: str  # a CBV bare word (long CBV forms are shortened) or the sender's URI
    epcs: tuple[str, ...]  # instance and class identifiers the event names, in document order


# --- Building a lot document ------------------------------------------------------------------


def lot_document(facts: LotFacts) -> dict:
    """The lot and its diary as an EPCISDocument (JSON-LD), ready for json.dumps."""
    base_uri = facts.base_uri.rstrip("/")
    return {
        "@context": [
            EPCIS_CONTEXT,
            {"cbvmda": CBV_MASTER_DATA_PREFIX, "xaso": f"{base_uri}/voc/"},
        ],
        "type": "EPCISDocument",
        "schemaVersion": SCHEMA_VERSION,
        "creationDate": _time_text(facts.created_at),
        "epcisBody": {"eventList": lot_events(facts)},
    }


def lot_events(facts: LotFacts) -> list[dict]:
    """One event per diary step; the last harvest step commissions the lot."""
    for step in facts.steps:
        _require_zone(step.occurred_at)  # before any comparison of naive with aware times
    commissioning_step = _commissioning_step(facts.steps)
    events = []
    for step in facts.steps:
        if step is commissioning_step:
            event = _harvest_event(facts, step)
        else:
            harvested = step.occurred_at >= commissioning_step.occurred_at
            event = _step_event(facts, step, harvested=harvested)
        events.append(_with_event_id(event, facts.base_uri))
    return events


def _commissioning_step(steps: Iterable[DiaryStep]) -> DiaryStep:
    harvests = [step for step in steps if step.kind == "harvest"]
    if not harvests:
        raise ValueError("A lot document needs a harvest step: the lot comes into being there.")
    return max(harvests, key=lambda step: step.occurred_at)


def _harvest_event(facts: LotFacts, step: DiaryStep) -> dict:
    event = _base_event(facts, step, action="ADD", biz_step="commissioning", harvested=True)
    event["disposition"] = "active"
    event["ilmd"] = {
        "cbvmda:harvestStartDate": facts.harvest_start.isoformat(),
        "cbvmda:harvestEndDate": facts.harvest_end.isoformat(),
        "cbvmda:countryOfOrigin": "VN",
        "xaso:productName": facts.product_name,
        "xaso:producer": facts.producer_uri,
    }
    return event


def _step_event(facts: LotFacts, step: DiaryStep, *, harvested: bool) -> dict:
    biz_step = _biz_step(step.kind, facts)
    event = _base_event(facts, step, action="OBSERVE", biz_step=biz_step, harvested=harvested)
    if step.kind == "inspection" and isinstance(step.details.get("passed"), bool):
        event["disposition"] = "conformant" if step.details["passed"] else "non_conformant"
    return event


def _biz_step(kind: str, facts: LotFacts) -> str:
    if kind in OWN_STEP_KINDS:
        return f"{facts.base_uri.rstrip('/')}/voc/bizstep/{kind}"
    if kind == "harvest":
        # An earlier day of a harvest that ends later: the lot is not whole yet.
        return f"{facts.base_uri.rstrip('/')}/voc/bizstep/harvesting"
    if kind in CBV_STEP_OF_KIND:
        return CBV_STEP_OF_KIND[kind]
    raise ValueError(f"Unknown diary step kind {kind!r}; expected one of {', '.join(STEP_KINDS)}.")


def _base_event(
    facts: LotFacts, step: DiaryStep, *, action: str, biz_step: str, harvested: bool
) -> dict:
    event = {
        "type": "ObjectEvent",
        "eventTime": _time_text(step.occurred_at),
        "eventTimeZoneOffset": _offset_text(step.occurred_at),
        "action": action,
        "bizStep": biz_step,
        "quantityList": [_quantity_element(facts) if harvested else {"epcClass": facts.lot_uri}],
        "readPoint": {"id": facts.area_uri},
        "bizLocation": {"id": facts.area_uri},
    }
    if step.description:
        event["xaso:description"] = step.description
    event.update(_extension_fields(step.details))
    return event


def _quantity_element(facts: LotFacts) -> dict:
    code, factor = unit_code(facts.unit)
    quantity = Decimal(str(facts.quantity)) * factor
    return {"epcClass": facts.lot_uri, "quantity": _json_number(quantity), "uom": code}


def unit_code(unit: str) -> tuple[str, Decimal]:
    """UN/CEFACT code for a unit as people write it, and the factor to multiply quantities by."""
    key = unicodedata.normalize("NFC", unit).strip().lower()
    if key in UNIT_CODES:
        return UNIT_CODES[key], UNIT_FACTORS.get(key, Decimal(1))
    if _UNIT_CODE.match(unit.strip()):
        return unit.strip(), Decimal(1)  # already a code, e.g. "KGM"
    # Dropping the unit would turn "12 thùng" into "12 items": refuse instead.
    raise ValueError(f"Unknown unit {unit!r}: add it to UNIT_CODES with its UN/CEFACT code.")


def _extension_fields(details: dict) -> dict:
    """Diary details as xaso:* fields: {"pre_harvest_interval_days": 7} → xaso:preHarvest…"""
    return {
        _extension_name(key): _json_value(value)
        for key, value in details.items()
        if value is not None
    }


def _extension_name(key: str) -> str:
    # JSON-LD terms must be URI-safe: split on anything but letters and digits, then camelCase.
    words = [word for word in re.split(r"[\W_]+", str(key)) if word]
    if not words:
        raise ValueError(f"Diary detail key {key!r} has no letters or digits.")
    return "xaso:" + words[0] + "".join(word[:1].upper() + word[1:] for word in words[1:])


def _json_value(value: object) -> object:
    if isinstance(value, dict):
        return {_extension_name(key): _json_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_value(item) for item in value]
    if isinstance(value, Decimal):
        return _json_number(value)
    if isinstance(value, datetime):
        return _time_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _require_zone(moment: datetime) -> timedelta:
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError(f"EPCIS times need a time zone; {moment.isoformat()} has none.")
    return offset


def _time_text(moment: datetime) -> str:
    _require_zone(moment)
    return moment.isoformat()


def _offset_text(moment: datetime) -> str:
    offset = _require_zone(moment)
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def _with_event_id(event: dict, base_uri: str) -> dict:
    # A name-based UUID (RFC 4122 version 5) of the event's canonical JSON: rebuilding the
    # document from the same facts gives the same eventID, and any change of content a new one.
    # We do not write ni:///sha-256;…?ver=CBV2.0: that form promises CBV's event-hash algorithm
    # (a specific pre-hash string), which a receiver could recompute and find different.
    namespace = uuid.uuid5(uuid.NAMESPACE_URL, f"{base_uri.rstrip('/')}/epcis/event")
    canonical = json.dumps(event, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return {**event, "eventID": f"urn:uuid:{uuid.uuid5(namespace, canonical)}"}


# --- Validation -------------------------------------------------------------------------------

# RFC 3339 date-time (EPCIS times): a date, "T", a time, and a zone that is Z or ±hh:mm.
_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$"
)
# An absolute URI or IRI: a scheme, a colon, and no spaces or characters URIs never carry.
_URI = re.compile(r'^[A-Za-z][A-Za-z0-9+.\-]*:[^\s"<>\\^`{|}]*$')


@cache
def bundled_schema() -> dict:
    """Our own EPCIS 2.0 schema (epcis_schema.json), loaded once. Treat it as read-only."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate_document(document: object, schema: dict) -> list[str]:
    """[] if the document is valid, else up to MAX_REASONS reasons "path: giải thích"."""
    if not isinstance(document, dict):
        return [f"(tài liệu): phải là một đối tượng JSON {{…}}, nhưng đang là {_kind(document)}."]
    validator = Draft7Validator(schema, format_checker=_format_checker())
    errors = sorted(validator.iter_errors(document), key=_error_sort_key)
    reasons = list(dict.fromkeys(reason for error in errors for reason in _reasons(error)))
    if len(reasons) > MAX_REASONS:
        hidden = len(reasons) - MAX_REASONS
        return [*reasons[:MAX_REASONS], f"… và {hidden} lỗi khác."]
    return reasons


@cache
def _format_checker() -> FormatChecker:
    # jsonschema checks "date-time" and "uri" only when optional packages are installed; we
    # check them ourselves so that validation does not depend on what happens to be installed.
    checker = FormatChecker()
    checker.checks("date-time")(_is_date_time_or_not_string)
    checker.checks("uri")(_is_uri_or_not_string)
    return checker


def _is_date_time_or_not_string(value: object) -> bool:
    return not isinstance(value, str) or parse_date_time(value) is not None


def _is_uri_or_not_string(value: object) -> bool:
    return not isinstance(value, str) or _URI.match(value) is not None


def parse_date_time(text: str) -> datetime | None:
    """An RFC 3339 date-time as an aware datetime, or None when it is not one."""
    match = _DATE_TIME.match(text)
    if not match:
        return None
    year, month, day, hour, minute, second = (int(part) for part in match.groups()[:6])
    fraction, zone = match.group(7) or "", match.group(8)
    try:
        return datetime(
            year,
            month,
            day,
            hour,
            minute,
            min(second, 59),  # a leap second (:60) is valid RFC 3339; Python cannot hold it
            int(fraction[:6].ljust(6, "0")),
            tzinfo=_zone(zone),
        )
    except ValueError:
        return None


def _zone(text: str) -> timezone:
    if text in ("Z", "z"):
        return UTC
    hours, minutes = int(text[1:3]), int(text[4:6])
    if minutes > 59:
        raise ValueError("minutes of a zone offset go up to 59")
    offset = timedelta(hours=hours, minutes=minutes)
    return timezone(-offset if text[0] == "-" else offset)


def _error_sort_key(error: ValidationError) -> tuple:
    return tuple((0, part, "") if isinstance(part, int) else (1, 0, part) for part in error.path)


def _reasons(error: ValidationError) -> Iterator[str]:
    path = list(error.absolute_path)
    if error.validator == "required" and "propertyNames" not in error.schema_path:
        for name in _missing_names(error):
            yield f"{_path_text([*path, name])}: thiếu trường bắt buộc này."
        return
    yield f"{_path_text(path)}: {_explain(error)}"


def _missing_names(error: ValidationError) -> list[str]:
    if not isinstance(error.instance, dict):
        return []
    return [name for name in error.validator_value if name not in error.instance]


def _path_text(path: list) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(tài liệu)"


# Fields whose failures need the field's own explanation, not the generic one.
_FIELD_EXPLANATIONS = {
    "eventTimeZoneOffset": (
        "độ lệch múi giờ phải có dạng ±hh:mm, từ -14:00 đến +14:00 (giờ Việt Nam là +07:00)"
    ),
    "bizStep": (
        "bước nghiệp vụ phải là một từ của CBV (ví dụ commissioning, packing, inspecting) "
        "hoặc một URI riêng đầy đủ, ví dụ https://xa.example.vn/voc/bizstep/spraying"
    ),
    "disposition": (
        "trạng thái phải là một từ của CBV (ví dụ active, in_progress, conformant) "
        "hoặc một URI riêng đầy đủ"
    ),
    "uom": "mã đơn vị phải theo UN/CEFACT Rec 20: 2–3 chữ in hoa hoặc chữ số, ví dụ KGM, TNE, H87",
    "schemaVersion": 'phiên bản lược đồ phải là chuỗi như "2.0" hoặc "2.0.1"',
    "ilmd": "dữ liệu chủ của lô (ilmd) chỉ được ghi khi action là ADD, lúc lô hàng được tạo ra",
}

_FIELD_EXPLAINED_VALIDATORS = frozenset({"pattern", "anyOf", "oneOf", "enum", "not"})

_JSON_KINDS = {
    "object": "một đối tượng JSON {…}",
    "array": "một danh sách (mảng JSON […])",
    "string": "một chuỗi",
    "number": "một số",
    "integer": "một số nguyên",
    "boolean": "true hoặc false",
    "null": "null",
}


def _explain(error: ValidationError) -> str:
    """One failure in Vietnamese, without its path."""
    if "propertyNames" in error.schema_path:
        return (
            f"tên trường {_shown(error.instance)} không được phép ở đây; trường mở rộng phải có "
            "tiền tố khai báo trong @context, ví dụ xaso:ghiChu."
        )
    field = error.path[-1] if error.path else None
    if field in _FIELD_EXPLANATIONS and error.validator in (
        "pattern",
        "anyOf",
        "oneOf",
        "enum",
        "not",
    ):
        return f"giá trị {_shown(error.instance)} không hợp lệ: {_FIELD_EXPLANATIONS[field]}."
    explain = _EXPLAINERS.get(str(error.validator), _explain_other)
    return explain(error)


def _explain_type(error: ValidationError) -> str:
    expected = error.validator_value
    names = [expected] if isinstance(expected, str) else list(expected)
    wanted = " hoặc ".join(_JSON_KINDS.get(name, name) for name in names)
    return f"phải là {wanted}, nhưng đang là {_kind(error.instance)}."


def _explain_enum(error: ValidationError) -> str:
    allowed = [str(value) for value in error.validator_value]
    shown = ", ".join(allowed[:8]) + (", …" if len(allowed) > 8 else "")
    return f"giá trị {_shown(error.instance)} không được chấp nhận; chỉ nhận: {shown}."


def _explain_const(error: ValidationError) -> str:
    expected = _shown(error.validator_value)
    return f"giá trị {_shown(error.instance)} không hợp lệ; ở đây phải là {expected}."


def _explain_format(error: ValidationError) -> str:
    if error.validator_value == "date-time":
        return (
            f"{_shown(error.instance)} không phải ngày giờ hợp lệ: cần dạng RFC 3339 có múi giờ, "
            "ví dụ 2026-03-15T07:30:00+07:00."
        )
    if error.validator_value == "uri":
        return (
            f"{_shown(error.instance)} không phải một URI đầy đủ (cần có lược đồ như https: "
            "hoặc urn:, và không chứa khoảng trắng)."
        )
    return f"{_shown(error.instance)} không đúng định dạng {error.validator_value}."


def _explain_pattern(error: ValidationError) -> str:
    return f"giá trị {_shown(error.instance)} không đúng dạng yêu cầu ({error.validator_value})."


def _explain_min_items(error: ValidationError) -> str:
    return f"danh sách cần ít nhất {error.validator_value} phần tử."


def _explain_unique_items(error: ValidationError) -> str:
    return "danh sách có phần tử bị lặp lại."


def _explain_additional_properties(error: ValidationError) -> str:
    known = set(error.schema.get("properties", {}))
    extra = sorted(name for name in error.instance if name not in known)
    return f"có trường không được phép ở đây: {', '.join(extra)}."


def _explain_not(error: ValidationError) -> str:
    return f"giá trị {_shown(error.instance)} không được phép ở đây."


def _explain_alternatives(error: ValidationError) -> str:
    # anyOf/oneOf: name what each alternative was missing, briefly.
    options = []
    for sub_error in error.context or []:
        if sub_error.validator == "required":
            names = _missing_names(sub_error)
            option = f"có {', '.join(names)}" if names else _explain(sub_error)
        else:
            where = _path_text(list(sub_error.relative_path)) if sub_error.relative_path else ""
            option = f"{where}: {_explain(sub_error)}" if where else _explain(sub_error)
        options.append(option.rstrip("."))
    unique = list(dict.fromkeys(options))[:4]
    return "cần thoả ít nhất một trong các điều kiện sau: " + "; hoặc ".join(unique) + "."


def _explain_other(error: ValidationError) -> str:
    return f"không hợp lệ theo quy tắc {error.validator} của lược đồ."


_EXPLAINERS = {
    "type": _explain_type,
    "enum": _explain_enum,
    "const": _explain_const,
    "format": _explain_format,
    "pattern": _explain_pattern,
    "minItems": _explain_min_items,
    "uniqueItems": _explain_unique_items,
    "additionalProperties": _explain_additional_properties,
    "not": _explain_not,
    "anyOf": _explain_alternatives,
    "oneOf": _explain_alternatives,
}


def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "true/false"
    if isinstance(value, dict):
        return "một đối tượng JSON"
    if isinstance(value, list | tuple):
        return "một danh sách"
    if isinstance(value, str):
        return f"chuỗi {_shown(value)}"
    if isinstance(value, int | float | Decimal):
        return f"số {value}"
    if value is None:
        return "null"
    return f"kiểu Python {type(value).__name__}, không phải dữ liệu JSON"


def _shown(value: object) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "…"


# --- Reading captured documents ---------------------------------------------------------------

_CBV_STEP_PREFIXES = (
    "urn:epcglobal:cbv:bizstep:",
    "https://ref.gs1.org/cbv/BizStep-",
    "https://gs1.org/voc/Bizstep-",
)
# Where an event names goods, in reading order: the parent, then what, children, inputs, outputs.
# Each field holds one identifier, a list of them, or a quantity list (identifiers in epcClass).
_IDENTIFIER_FIELDS = (
    ("parentID", "one"),
    ("epcList", "list"),
    ("quantityList", "quantities"),
    ("childEPCs", "list"),
    ("childQuantityList", "quantities"),
    ("inputEPCList", "list"),
    ("inputQuantityList", "quantities"),
    ("outputEPCList", "list"),
    ("outputQuantityList", "quantities"),
)


def captured_events(document: dict) -> list[CapturedEvent]:
    """The events of a document that validate_document accepted, as plain summaries."""
    return [_captured_event(event) for event in _event_list(document)]


def _event_list(document: dict) -> list[dict]:
    body = document.get("epcisBody", {})
    if "queryResults" in body:
        return body["queryResults"]["resultsBody"]["eventList"]
    return body.get("eventList", [])


def _captured_event(event: dict) -> CapturedEvent:
    event_time = parse_date_time(event["eventTime"])
    if event_time is None:
        raise ValueError(f"eventTime {event['eventTime']!r} is not a date-time; validate first.")
    return CapturedEvent(
        event_type=event["type"],
        event_time=event_time,
        event_id=event.get("eventID", ""),
        biz_step=_short_biz_step(event.get("bizStep", "")),
        epcs=_identifiers(event),
    )


def _short_biz_step(biz_step: str) -> str:
    for prefix in _CBV_STEP_PREFIXES:
        if biz_step.startswith(prefix):
            return biz_step.removeprefix(prefix)
    return biz_step


def _identifiers(event: dict) -> tuple[str, ...]:
    found: list[str] = []
    for name, shape in _IDENTIFIER_FIELDS:
        value = event.get(name)
        if value is None:
            continue
        if shape == "one":
            found.append(value)
        elif shape == "list":
            found.extend(value)
        else:
            found.extend(element["epcClass"] for element in value)
    return tuple(dict.fromkeys(found))
