"""Camera messages as they arrive, turned into keyword arguments for `actions.event_ingest`.

Three dialects: Frigate's MQTT messages (`frigate/events`, `frigate/reviews`,
`frigate/<camera>/status`), the generic JSON webhook body, and Hikvision ISAPI
`EventNotificationAlert` XML (raw, or inside a multipart body with a JPEG). Parsing does no
database work; anything malformed raises `BadPayload` with a Vietnamese message and the HTTP
status it deserves. See docs/decisions/0013-camera-event-ingestion.md.
"""

import base64
import binascii
import datetime
import email.parser
import email.policy
import hashlib
import json
import math
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from xaso.lib.text import clean_input
from xaso.safety.models import Camera, CameraEvent

JPEG_MAGIC = b"\xff\xd8\xff"
# Fields of Frigate's "after" kept in CameraEvent.raw (boxes and regions are left out).
FRIGATE_RAW_FIELDS = (
    "id",
    "camera",
    "label",
    "sub_label",
    "score",
    "top_score",
    "start_time",
    "end_time",
    "current_zones",
    "entered_zones",
    "has_snapshot",
    "has_clip",
    "false_positive",
    "stationary",
)
# ISAPI events that are a camera's "I am alive", not a detection.
ISAPI_HEARTBEAT = ("videoloss", "inactive")


class BadPayload(Exception):
    """A message that cannot become an event: 400 (unreadable), 413 (too big), 422 (wrong)."""

    def __init__(self, message: str, *, status: int = 422):
        super().__init__(message)
        self.message = message
        self.status = status


@dataclass
class FrigateEvent:
    camera_name: str
    event_id: str
    kind: str  # new, update, end
    has_snapshot: bool
    fields: dict = field(default_factory=dict)  # event_ingest keyword arguments, no camera


@dataclass
class IsapiAlert:
    heartbeat: bool
    fields: dict = field(default_factory=dict)
    channel: str = ""


def max_body_bytes() -> int:
    """A snapshot at its limit, base64-encoded (4/3), plus room for the rest of the body."""
    return settings.XASO_SNAPSHOT_MAX_BYTES * 4 // 3 + 64 * 1024


# --- Small readers ----------------------------------------------------------------------------
def _json_object(payload: bytes | str) -> dict:
    try:
        # NUL characters dropped (PostgreSQL refuses them), lone surrogates refused.
        data = clean_input(json.loads(payload))
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        raise BadPayload("Nội dung không phải JSON hợp lệ.", status=400) from error
    if not isinstance(data, dict):
        raise BadPayload("Nội dung JSON phải là một đối tượng.")
    return data


def _string(value, name: str, *, required: bool = False, max_length: int = 100) -> str:
    if value is None or value == "":
        if required:
            raise BadPayload(f"Thiếu trường {name}.")
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise BadPayload(f"Trường {name} phải là chuỗi ký tự.")
    text = str(value).strip()
    if required and not text:
        raise BadPayload(f"Thiếu trường {name}.")
    return text[:max_length]


def _number(value, name: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadPayload(f"Trường {name} phải là một số.")
    try:
        number = float(value)
    except ValueError as error:
        raise BadPayload(f"Trường {name} phải là một số.") from error
    if not math.isfinite(number):
        raise BadPayload(f"Trường {name} phải là một số.")
    return number


def _score(*values, name: str = "score") -> float | None:
    scores = [score for score in (_number(v, name) for v in values) if score is not None]
    if not scores:
        return None
    best = max(scores)
    if not 0 <= best <= 1:
        raise BadPayload("Độ tin cậy phải là số từ 0 đến 1.")
    return best


def _zones(*values) -> list[str]:
    zones: list[str] = []
    for value in values:
        if value is None:
            continue
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(z, str) for z in value):
            raise BadPayload("Danh sách vùng (zones) phải là các chuỗi ký tự.")
        zones.extend(zone.strip()[:64] for zone in value if zone.strip())
    return sorted(set(zones))[:16]


def _moment(value, name: str, *, required: bool = False) -> datetime.datetime | None:
    """An epoch number (seconds) or an ISO 8601 string; naive times are local (TIME_ZONE)."""
    if value is None or value == "":
        if required:
            raise BadPayload(f"Thiếu trường {name}.")
        return None
    if isinstance(value, bool):
        raise BadPayload(f"Thời điểm {name} không hợp lệ.")
    if isinstance(value, int | float):
        try:
            moment = datetime.datetime.fromtimestamp(float(value), tz=datetime.UTC)
        except (OverflowError, OSError, ValueError) as error:
            raise BadPayload(f"Thời điểm {name} không hợp lệ.") from error
    elif isinstance(value, str):
        try:
            moment = parse_datetime(value.strip())
        except ValueError:
            moment = None
        if moment is None:
            try:
                return _moment(float(value), name)
            except ValueError as error:
                raise BadPayload(f"Thời điểm {name} không hợp lệ.") from error
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
    else:
        raise BadPayload(f"Thời điểm {name} không hợp lệ.")
    if not 2000 <= moment.year <= 2100:
        raise BadPayload(f"Thời điểm {name} không hợp lệ.")
    return moment


def _check_jpeg(data: bytes) -> bytes:
    if len(data) > settings.XASO_SNAPSHOT_MAX_BYTES:
        raise BadPayload("Ảnh chụp quá lớn.", status=413)
    if not data.startswith(JPEG_MAGIC):
        raise BadPayload("Ảnh chụp phải là ảnh JPEG.")
    return data


# --- Frigate over MQTT ------------------------------------------------------------------------
def frigate_event(payload: bytes) -> FrigateEvent:
    """One `frigate/events` message: {"type", "before", "after": {...}}."""
    message = _json_object(payload)
    kind = message.get("type")
    if kind not in {"new", "update", "end"}:
        raise BadPayload("Loại thông điệp Frigate không hợp lệ.")
    after = message.get("after")
    if not isinstance(after, dict):
        raise BadPayload("Thông điệp Frigate thiếu phần “after”.")
    event_id = _string(after.get("id"), "id", required=True)
    camera_name = _string(after.get("camera"), "camera", required=True, max_length=64)
    zones = _zones(after.get("entered_zones"), after.get("current_zones"))
    fields = {
        "source": CameraEvent.Source.FRIGATE,
        "source_id": event_id,
        "label": _string(after.get("label"), "label", max_length=40),
        "score": _score(after.get("top_score"), after.get("score")),
        "zones": zones,
        "started_at": _moment(after.get("start_time"), "start_time", required=True),
        "ended_at": _moment(after.get("end_time"), "end_time"),
        "raw": {key: after[key] for key in FRIGATE_RAW_FIELDS if key in after} | {"type": kind},
    }
    return FrigateEvent(
        camera_name=camera_name,
        event_id=event_id,
        kind=kind,
        has_snapshot=after.get("has_snapshot") is True,
        fields=fields,
    )


def frigate_review(payload: bytes) -> tuple[str, str]:
    """A `frigate/reviews` message, checked but not stored: (camera name, review id).

    Every object of a review also arrives on `frigate/events` with its zones; storing the
    review too would count one person twice (decision 0013).
    """
    message = _json_object(payload)
    after = message.get("after")
    if not isinstance(after, dict):
        raise BadPayload("Thông điệp Frigate thiếu phần “after”.")
    return (
        _string(after.get("camera"), "camera", required=True, max_length=64),
        _string(after.get("id"), "id", required=True),
    )


def frigate_status(payload: bytes) -> bool:
    """`frigate/<camera>/status`: "online" / "offline" (also JSON {"status": …}); True = online."""
    text = payload.decode("utf-8", errors="replace").strip().strip('"').lower()
    if text.startswith("{"):
        text = str(_json_object(payload).get("status") or "").lower()
    if text in {"online", "on", "true", "1", "connected"}:
        return True
    if text in {"offline", "off", "false", "0", "disconnected"}:
        return False
    raise BadPayload("Trạng thái camera không hợp lệ.")


def snapshot_url(event_id: str) -> str:
    return f"{settings.XASO_FRIGATE_URL}/api/events/{event_id}/snapshot.jpg"


# --- The generic JSON webhook -----------------------------------------------------------------
def webhook_event(body: bytes) -> dict:
    """{"id"/"event_id", "label", "score", "zones", "start_time"/"started_at", "end_time"/
    "ended_at", "snapshot" (base64 JPEG)} → event_ingest keyword arguments (no camera)."""
    data = _json_object(body)
    event_id = data.get("id") if data.get("id") not in (None, "") else data.get("event_id")
    started = data.get("started_at", data.get("start_time"))
    fields = {
        "source": CameraEvent.Source.WEBHOOK,
        "source_id": _string(event_id, "id", required=True),
        "label": _string(data.get("label"), "label", max_length=40),
        "score": _score(data.get("score")),
        "zones": _zones(data.get("zones")),
        "started_at": _moment(started, "started_at") or timezone.now(),
        "ended_at": _moment(data.get("ended_at", data.get("end_time")), "ended_at"),
        "snapshot": None,
        "raw": {key: value for key, value in data.items() if key != "snapshot"},
    }
    if len(json.dumps(fields["raw"], default=str)) > 16_384:
        raise BadPayload("Nội dung sự kiện quá dài.", status=413)
    snapshot = data.get("snapshot")
    if snapshot not in (None, ""):
        if not isinstance(snapshot, str):
            raise BadPayload("Ảnh chụp phải là chuỗi base64.")
        if snapshot.startswith("data:") and "," in snapshot:
            snapshot = snapshot.split(",", 1)[1]
        try:
            decoded = base64.b64decode(snapshot, validate=True)
        except (binascii.Error, ValueError) as error:
            raise BadPayload("Ảnh chụp phải là chuỗi base64.") from error
        fields["snapshot"] = _check_jpeg(decoded)
    return fields


# --- Hikvision ISAPI --------------------------------------------------------------------------
def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element) -> dict[str, ElementTree.Element]:
    return {_local(child.tag): child for child in element}


def _text(element, name: str) -> str:
    child = _children(element).get(name)
    return (child.text or "").strip() if child is not None and child.text else ""


def isapi_alert(xml: bytes) -> IsapiAlert:
    """An `EventNotificationAlert` (any namespace) → fields; a heartbeat is flagged, not dropped."""
    if b"<!DOCTYPE" in xml[:2048] or b"<!ENTITY" in xml:
        raise BadPayload("Không đọc được nội dung XML.", status=400)  # no entity expansion
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError as error:
        raise BadPayload("Không đọc được nội dung XML.", status=400) from error
    if _local(root.tag) != "EventNotificationAlert":
        raise BadPayload("XML không phải là EventNotificationAlert.")
    event_type = _text(root, "eventType")
    state = _text(root, "eventState").lower() or "active"
    if not event_type:
        raise BadPayload("Thiếu trường eventType.")
    channel = _text(root, "channelID") or _text(root, "dynChannelID") or "1"
    started = _moment(_text(root, "dateTime"), "dateTime", required=True)
    zones = []
    regions = _children(root).get("DetectionRegionList")
    for region in regions if regions is not None else []:
        region_id = _text(region, "regionID") or _text(region, "RegionID")
        if region_id:
            zones.append(f"region-{region_id}")
    raw = {
        name: value
        for name in (
            "ipAddress",
            "channelID",
            "dateTime",
            "activePostCount",
            "eventType",
            "eventState",
            "eventDescription",
            "channelName",
        )
        if (value := _text(root, name))
    }
    # One detection is posted again and again while active; dateTime + type + channel is stable.
    key = f"{channel}|{event_type}|{_text(root, 'dateTime')}"
    source_id = f"{channel}-{event_type}-{hashlib.sha256(key.encode()).hexdigest()[:24]}"
    fields = {
        "source": CameraEvent.Source.ISAPI,
        "source_id": source_id[:100],
        "label": event_type.lower()[:40],
        "score": None,
        "zones": _zones(zones),
        "started_at": started,
        "ended_at": None,
        "snapshot": None,
        "raw": raw,
    }
    heartbeat = (event_type.lower(), state) == ISAPI_HEARTBEAT
    return IsapiAlert(heartbeat=heartbeat, fields=fields, channel=channel)


def isapi_body(body: bytes, content_type: str) -> IsapiAlert:
    """The raw XML body, or a multipart body with the XML part and an optional JPEG part."""
    if not body.strip():
        raise BadPayload("Nội dung yêu cầu trống.", status=400)
    if not content_type.lower().startswith("multipart/"):
        return isapi_alert(body)
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", errors="replace") + b"\r\n\r\n" + body
    )
    if not message.is_multipart():
        raise BadPayload("Không đọc được nội dung multipart.", status=400)
    xml, image = None, None
    for part in message.iter_parts():
        data = part.get_payload(decode=True) or b""
        kind = part.get_content_type()
        if xml is None and (kind.endswith("xml") or data.lstrip().startswith(b"<")):
            xml = data
        elif (kind.startswith("image/") or part.get_filename()) and image is None:
            image = data
    if xml is None:
        raise BadPayload("Thiếu phần XML EventNotificationAlert.", status=400)
    alert = isapi_alert(xml)
    if image is not None:
        alert.fields["snapshot"] = _check_jpeg(image)
    return alert


# --- Ingestion reads (no user: the camera is named by the message) ----------------------------
def camera_for_public_id(public_id: str) -> Camera | None:
    if not public_id or len(public_id) > 32 or "\x00" in public_id:
        return None
    return (
        Camera.objects.select_related("place").filter(public_id=public_id, is_active=True).first()
    )
