"""Every write of cameras, rules, camera events and incidents. Rules raise DomainError /
InvalidInput. Citizen reports and Open311 keys are in `reports.py`; alerts in `alerts.py`.
"""

import collections
import datetime
import hashlib
import hmac
import json
import logging
import secrets
import time
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.permissions import scope_paths, user_can
from xaso.accounts.roles import Capability
from xaso.core import audit
from xaso.core.cleaning import clean_text as _text
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.records import save_unique
from xaso.lib import crypto
from xaso.places.models import Household, Organisation, Place
from xaso.safety import alerts, rules
from xaso.safety.models import (
    OPEN_STATUSES,
    Camera,
    CameraEvent,
    DutyShift,
    Incident,
    IncidentStep,
    Rule,
)

logger = logging.getLogger(__name__)

JPEG_MAGIC = b"\xff\xd8\xff"


# --- Shared checks ----------------------------------------------------------------------------
def _coordinate(values: dict, field: str, limit: int) -> Decimal | None:
    value = values.get(field)
    if value in (None, ""):
        return None
    try:
        number = Decimal(str(value)).quantize(Decimal("0.000001"))
    except (InvalidOperation, ValueError) as error:
        raise InvalidInput(_("Toạ độ phải là một số."), field=field) from error
    if not number.is_finite() or abs(number) > limit:
        raise InvalidInput(_("Toạ độ nằm ngoài giới hạn."), field=field)
    return number


def _choice(values: dict, field: str, choices, default: str = "") -> str:
    value = str(values.get(field) or default)
    if value not in choices.values:
        raise InvalidInput(_("Giá trị không hợp lệ: %(value)s.") % {"value": value}, field=field)
    return value


def _place_for_write(user, place: Place | None, capability: str, field: str = "place") -> Place:
    if place is None or place.kind not in {Place.Kind.COMMUNE, Place.Kind.VILLAGE}:
        raise InvalidInput(_("Vui lòng chọn xã hoặc thôn."), field=field)
    if not user_can(user, capability, place):
        raise InvalidInput(_("Địa bàn này nằm ngoài phạm vi của bạn."), field=field)
    return place


def _secret() -> str:
    return settings.FIELD_ENCRYPTION_KEY


def _encrypt(value: str) -> str:
    return crypto.encrypt(value, secret=_secret()) if value else ""


def token_hash(token: str) -> str:
    return crypto.lookup_hash(f"camera-token:{token}", secret=_secret())


# --- Cameras ----------------------------------------------------------------------------------
CAMERA_TEXT_FIELDS = {
    "name": 150,
    "frigate_name": 64,
    "vendor_id": 64,
    "consent_given_by": 150,
    "privacy_notes": 2000,
}


def _camera_values(values: dict, *, place: Place) -> dict:
    cleaned = {
        field: _text(values, field, max_length=length)
        for field, length in CAMERA_TEXT_FIELDS.items()
    }
    if not cleaned["name"]:
        raise InvalidInput(_("Vui lòng nhập tên camera."), field="name")
    cleaned["owner_kind"] = _choice(
        values, "owner_kind", Camera.OwnerKind, Camera.OwnerKind.COMMUNE
    )
    cleaned["latitude"] = _coordinate(values, "latitude", 90)
    cleaned["longitude"] = _coordinate(values, "longitude", 180)
    cleaned["is_black_spot"] = bool(values.get("is_black_spot"))
    cleaned["has_signage"] = bool(values.get("has_signage"))
    cleaned["consent_given_on"] = values.get("consent_given_on") or None
    heartbeat = values.get("heartbeat_seconds") or 300
    try:
        cleaned["heartbeat_seconds"] = int(heartbeat)
    except (TypeError, ValueError) as error:
        raise InvalidInput(
            _("Chu kỳ tín hiệu phải là số giây."), field="heartbeat_seconds"
        ) from error
    if not 30 <= cleaned["heartbeat_seconds"] <= 86_400:
        raise InvalidInput(_("Chu kỳ tín hiệu từ 30 đến 86.400 giây."), field="heartbeat_seconds")
    cleaned["zones"] = _zones(values.get("zones") or [])
    cleaned.update(_owner(values, cleaned, place=place))
    return cleaned


def _owner(values: dict, cleaned: dict, *, place: Place) -> dict:
    """A household camera names the family and needs its consent; others name no family."""
    owner = {"owner_household": None, "owner_organisation": None}
    kind = cleaned["owner_kind"]
    commune_path = place.path if place.kind == Place.Kind.COMMUNE else place.parent.path
    if kind == Camera.OwnerKind.HOUSEHOLD:
        household = values.get("owner_household")
        if not isinstance(household, Household) or not household.village.path.startswith(
            commune_path
        ):
            raise InvalidInput(_("Vui lòng chọn hộ gia đình trong xã."), field="owner_household")
        if not cleaned["consent_given_by"] or not cleaned["consent_given_on"]:
            raise InvalidInput(
                _("Camera của hộ gia đình cần ghi rõ người đồng ý và ngày đồng ý."),
                field="consent_given_by",
            )
        owner["owner_household"] = household
    elif kind == Camera.OwnerKind.ORGANISATION:
        organisation = values.get("owner_organisation")
        if not isinstance(organisation, Organisation) or not organisation.place.path.startswith(
            commune_path
        ):
            raise InvalidInput(_("Vui lòng chọn tổ chức trong xã."), field="owner_organisation")
        owner["owner_organisation"] = organisation
    return owner


def _zones(zones) -> list[dict]:
    """[{"name": …, "polygon": [[x, y], …]}] with x, y as fractions of the frame."""
    if isinstance(zones, str):
        try:
            zones = json.loads(zones) if zones.strip() else []
        except ValueError as error:
            raise InvalidInput(_("Vùng phát hiện phải là JSON hợp lệ."), field="zones") from error
    if not isinstance(zones, list) or len(zones) > 16:
        raise InvalidInput(_("Vùng phát hiện phải là một danh sách (tối đa 16)."), field="zones")
    cleaned = []
    for zone in zones:
        polygon = zone.get("polygon") if isinstance(zone, dict) else None
        name = str(zone.get("name") or "").strip()[:64] if isinstance(zone, dict) else ""
        if not name or not isinstance(polygon, list) or not 3 <= len(polygon) <= 64:
            raise InvalidInput(_("Mỗi vùng cần tên và ít nhất 3 đỉnh."), field="zones")
        points = []
        for point in polygon:
            try:
                x, y = (float(value) for value in point)
            except (TypeError, ValueError, OverflowError) as error:
                raise InvalidInput(_("Đỉnh của vùng phải là [x, y]."), field="zones") from error
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise InvalidInput(
                    _("Toạ độ vùng tính theo tỉ lệ khung hình (0–1)."), field="zones"
                )
            points.append([x, y])
        cleaned.append({"name": name, "polygon": points})
    return cleaned


@transaction.atomic
def camera_register(*, place: Place, values: dict, by) -> tuple[Camera, str]:
    """Register a camera; returns it and its event token (shown once, only its hash kept)."""
    place = _place_for_write(by, place, Capability.MANAGE_CAMERAS)
    camera = Camera(place=place, **_camera_values(values, place=place))
    _set_secrets(camera, values)
    token = secrets.token_urlsafe(24)
    camera.token_hash = token_hash(token)
    _save_camera(camera)
    audit.record(
        actor=by,
        verb="camera.registered",
        target=camera,
        changes={"owner_kind": camera.owner_kind, "frigate_name": camera.frigate_name},
        place_path=place.path,
    )
    return camera, token


@transaction.atomic
def camera_update(*, camera: Camera, values: dict, by) -> Camera:
    place = values.get("place") or camera.place
    place = _place_for_write(by, place, Capability.MANAGE_CAMERAS)
    new_values = {"place": place, **_camera_values(values, place=place)}
    changes = audit.field_changes(camera, new_values)
    for field, value in new_values.items():
        setattr(camera, field, value)
    if _set_secrets(camera, values):
        changes["stream"] = "changed"  # never the value
    _save_camera(camera)
    audit.record(
        actor=by, verb="camera.updated", target=camera, changes=changes, place_path=place.path
    )
    return camera


def _set_secrets(camera: Camera, values: dict) -> bool:
    """Replace the stream URL / credentials only when a new value is given."""
    changed = False
    for field in ("stream_url", "credentials"):
        value = str(values.get(field) or "").strip()
        if value:
            if len(value) > 1000:
                raise InvalidInput(_("Tối đa %(n)s ký tự.") % {"n": 1000}, field=field)
            setattr(camera, f"{field}_encrypted", _encrypt(value))
            changed = True
    return changed


def _save_camera(camera: Camera) -> None:
    save_unique(
        camera,
        duplicate_message=_("Tên Frigate hoặc mã thiết bị này đã được dùng cho camera khác."),
        field="frigate_name",
    )


@transaction.atomic
def camera_token_rotate(*, camera: Camera, by) -> str:
    token = secrets.token_urlsafe(24)
    camera.token_hash = token_hash(token)
    camera.save(update_fields=["token_hash", "updated_at"])
    audit.record(actor=by, verb="camera.token_rotated", target=camera, place_path=camera.place.path)
    return token


def camera_token_matches(camera: Camera, token: str) -> bool:
    return bool(token and camera.token_hash) and hmac.compare_digest(
        camera.token_hash, token_hash(token)
    )


def camera_stream_url(camera: Camera) -> str:
    """The decrypted stream address, for the detector only: never rendered or returned."""
    if not camera.stream_url_encrypted:
        return ""
    return crypto.decrypt(camera.stream_url_encrypted, secret=_secret())


def camera_heartbeat(*, camera: Camera, at: datetime.datetime | None = None) -> None:
    """The camera (or its NVR) spoke: mark it online. One UPDATE, no audit row (frequent).

    A busy camera sends many events a second; the row is written only when the copy in
    memory is offline or older than a quarter of the heartbeat (at most 15 s), which still
    keeps it far inside the period after which the clock declares the camera silent.
    """
    at = at or timezone.now()
    fresh_for = datetime.timedelta(seconds=min(15, camera.heartbeat_seconds / 4))
    if (
        camera.status == Camera.Status.ONLINE
        and camera.last_seen_at is not None
        and at - camera.last_seen_at < fresh_for
    ):
        return
    Camera.objects.filter(pk=camera.pk).update(last_seen_at=at, status=Camera.Status.ONLINE)
    camera.last_seen_at, camera.status = at, Camera.Status.ONLINE


def camera_status_report(*, camera: Camera, online: bool) -> None:
    """Frigate's `<camera>/status` or an NVR says online/offline."""
    if online:
        camera_heartbeat(camera=camera)
        return
    with transaction.atomic():
        _camera_goes_silent(Camera.objects.select_for_update().get(pk=camera.pk))


def cameras_check_heartbeats(*, now: datetime.datetime | None = None) -> int:
    """Cameras silent past their heartbeat become offline with a "camera fault" incident."""
    now = now or timezone.now()
    faults = 0
    candidates = Camera.objects.filter(is_active=True, last_seen_at__isnull=False).exclude(
        status=Camera.Status.OFFLINE
    )
    for camera in candidates.only("pk", "last_seen_at", "heartbeat_seconds"):
        if camera.last_seen_at + datetime.timedelta(seconds=camera.heartbeat_seconds) > now:
            continue
        with transaction.atomic():
            locked = Camera.objects.select_for_update().select_related("place").get(pk=camera.pk)
            if (
                locked.status != Camera.Status.OFFLINE
                and locked.last_seen_at == camera.last_seen_at
            ):
                _camera_goes_silent(locked, now=now)
                faults += 1
    return faults


def _camera_goes_silent(camera: Camera, *, now: datetime.datetime | None = None) -> None:
    now = now or timezone.now()
    camera.status = Camera.Status.OFFLINE
    camera.save(update_fields=["status", "updated_at"])
    already_open = Incident.objects.filter(
        camera=camera, category=Incident.Category.CAMERA_FAULT, status__in=OPEN_STATUSES
    ).exists()
    if already_open:
        return
    silent_since = timezone.localtime(camera.last_seen_at) if camera.last_seen_at else None
    incident = _incident_create(
        category=Incident.Category.CAMERA_FAULT,
        severity=Incident.Severity.LOW,
        title=_("Camera mất tín hiệu: %(name)s") % {"name": camera.name},
        camera=camera,
        at=now,
        explanation={
            "heartbeat_seconds": camera.heartbeat_seconds,
            "last_seen_at": silent_since.isoformat() if silent_since else None,
        },
    )
    audit.record(
        actor=None, verb="camera.went_offline", target=camera, place_path=camera.place.path
    )
    transaction.on_commit(lambda: alerts.incident_opened(incident))


# --- Rules ------------------------------------------------------------------------------------
def _rule_values(values: dict) -> dict:
    cleaned = {
        "name": _text(values, "name", max_length=150),
        "zone": _text(values, "zone", max_length=64),
        "label": _text(values, "label", max_length=40).lower(),
        "category": _choice(values, "category", Incident.Category),
        "severity": _choice(values, "severity", Incident.Severity, Incident.Severity.MEDIUM),
        "is_active": values.get("is_active", True) is not False,
    }
    cleaned["min_score"] = _number(values, "min_score", 0.0, 0.0, 1.0, float)
    cleaned["min_duration_seconds"] = _number(values, "min_duration_seconds", 0, 0, 86_400, int)
    cleaned["min_count"] = _number(values, "min_count", 1, 1, 10_000, int)
    cleaned["window_minutes"] = _number(values, "window_minutes", 10, 1, 1_440, int)
    hours = [values.get("hour_from"), values.get("hour_to")]
    if any(hour not in (None, "") for hour in hours):
        cleaned["hour_from"] = _number(values, "hour_from", 0, 0, 23, int)
        cleaned["hour_to"] = _number(values, "hour_to", 0, 0, 24, int) % 24
    else:
        cleaned["hour_from"] = cleaned["hour_to"] = None
    return cleaned


def _number(values: dict, field: str, default, low, high, kind):
    value = values.get(field)
    if value in (None, ""):
        return default
    try:
        number = kind(value)
    except (TypeError, ValueError) as error:
        raise InvalidInput(_("Giá trị phải là một số."), field=field) from error
    if not low <= number <= high:
        raise InvalidInput(
            _("Giá trị từ %(low)s đến %(high)s.") % {"low": low, "high": high}, field=field
        )
    return number


@transaction.atomic
def rule_create(*, camera: Camera, values: dict, by) -> Rule:
    if not user_can(by, Capability.MANAGE_CAMERAS, camera.place):
        raise InvalidInput(_("Camera này nằm ngoài phạm vi của bạn."), field="camera")
    rule = Rule.objects.create(camera=camera, **_rule_values(values))
    audit.record(
        actor=by,
        verb="rule.created",
        target=rule,
        changes={"label": rule.label, "min_score": rule.min_score, "category": rule.category},
        place_path=camera.place.path,
    )
    return rule


@transaction.atomic
def rule_update(*, rule: Rule, values: dict, by) -> Rule:
    new_values = _rule_values(values)
    changes = audit.field_changes(rule, new_values)
    for field, value in new_values.items():
        setattr(rule, field, value)
    rule.save(update_fields=list(new_values))
    audit.record(
        actor=by,
        verb="rule.updated",
        target=rule,
        changes=changes,
        place_path=rule.camera.place.path,
    )
    return rule


# --- Camera events ----------------------------------------------------------------------------
@dataclass
class IncomingEvent:
    """One delivery for `events_ingest`: the camera, event_ingest's keyword arguments (source,
    source_id, label, score, zones, started_at, ended_at, raw) and an optional snapshot."""

    camera: Camera
    fields: dict
    snapshot: bytes | None = None


def event_ingest(
    *, camera: Camera, snapshot: bytes | None = None, **fields
) -> tuple[CameraEvent, bool]:
    """Store an event once per (camera, source, source_id); later deliveries update it.

    Keyword arguments: source, source_id, label, score, zones, started_at, ended_at, raw.
    Frigate sends "new", "update" and "end" for one event id; a webhook or MQTT retry sends
    the same again. Returns (event, created). The rules run on every delivery, so a rule with a
    minimum duration fires when the event has lasted long enough.
    """
    [(event, created)] = events_ingest(items=[IncomingEvent(camera, fields, snapshot)])
    return event, created


def events_ingest(*, items: list[IncomingEvent], alert=None) -> list[tuple[CameraEvent, bool]]:
    """Store a batch of deliveries in one transaction, a few statements for the whole batch.

    The rows are written first (one INSERT … ON CONFLICT DO NOTHING for the new ones, one
    locked SELECT, one UPDATE for the deliveries that add to an event already stored), then the
    rules run on each event in arrival order, as one by one would: the cameras' rules are read
    once, a rule's open incident once per batch, and the events joining an incident are linked
    with one UPDATE. `alert(incidents)` is called once the transaction commits, with the
    incidents it opened (default: `alerts.incident_opened` for each, in the caller's thread).
    Returns (event, created) for each item, in order. Raises InvalidInput before writing
    anything if an item is malformed.
    """
    cleaned = [(item.camera, _event_fields(**item.fields), item.snapshot) for item in items]
    with transaction.atomic():
        results = _events_upsert(cleaned)
        for (_camera, _fields, snapshot), (event, _created) in zip(cleaned, results, strict=True):
            if snapshot and not event.snapshot:
                _attach_snapshot(event, snapshot)
        for camera in {camera.pk: camera for camera, _fields, _snapshot in cleaned}.values():
            camera_heartbeat(camera=camera)
        opened = _apply_rules(results)
        if opened:
            transaction.on_commit(lambda: (alert or _alert_each)(opened))
    return results


def _alert_each(incidents: list[Incident]) -> None:
    for incident in incidents:
        alerts.incident_opened(incident)


def _event_fields(
    *,
    source: str,
    source_id: str,
    label: str = "",
    score: float | None = None,
    zones: list[str] | None = None,
    started_at: datetime.datetime,
    ended_at: datetime.datetime | None = None,
    raw: dict | None = None,
) -> dict:
    source_id = str(source_id or "").strip()[:100]
    if not source_id:
        raise InvalidInput(_("Sự kiện thiếu mã định danh."), field="source_id")
    return {
        "source": source,
        "source_id": source_id,
        "label": str(label or "")[:40].lower(),
        "score": _score(score),
        "zones": [str(zone)[:64] for zone in (zones or [])][:16],
        "started_at": started_at,
        "ended_at": ended_at,
        "raw": raw or {},
    }


def _score(score) -> float | None:
    if score in (None, ""):
        return None
    try:
        value = float(score)
    except (TypeError, ValueError) as error:
        raise InvalidInput(_("Độ tin cậy phải là số từ 0 đến 1."), field="score") from error
    if not 0 <= value <= 1:
        raise InvalidInput(_("Độ tin cậy phải là số từ 0 đến 1."), field="score")
    return value


def _check_snapshot(snapshot: bytes) -> None:
    if len(snapshot) > settings.XASO_SNAPSHOT_MAX_BYTES:
        raise InvalidInput(_("Ảnh chụp quá lớn."), field="snapshot")
    if not snapshot.startswith(JPEG_MAGIC):
        raise InvalidInput(_("Ảnh chụp phải là ảnh JPEG."), field="snapshot")


MERGED_FIELDS = ["score", "ended_at", "zones", "label", "raw"]


def _events_upsert(cleaned: list) -> list[tuple[CameraEvent, bool]]:
    """The rows of a batch: inserted when new, locked and updated when already stored.

    New rows go in with one INSERT … ON CONFLICT DO NOTHING, so the unique constraint decides
    between two deliveries racing each other; a row counts as ours when it carries the
    `received_at` we gave it (a racing writer's differs), else the delivery is merged into it.
    """
    for _camera, _fields, snapshot in cleaned:
        if snapshot is not None:
            _check_snapshot(snapshot)
    keys = [(camera.pk, fields["source"], fields["source_id"]) for camera, fields, _ in cleaned]
    rows = _events_locked(keys)
    fresh: dict[tuple, CameraEvent] = {}
    for (camera, fields, _snapshot), key in zip(cleaned, keys, strict=True):
        if key not in rows and key not in fresh:
            fresh[key] = CameraEvent(camera=camera, **fields)
    if fresh:
        CameraEvent.objects.bulk_create(list(fresh.values()), ignore_conflicts=True)
        rows |= _events_locked(list(fresh))
    results, changed, seen = [], {}, set()
    for (camera, fields, _snapshot), key in zip(cleaned, keys, strict=True):
        event = rows[key]
        event.camera = camera  # the caller's object: its place and cached rules
        ours = key in fresh and event.received_at == fresh[key].received_at
        if ours and key not in seen:
            results.append((event, True))
        else:
            if _event_merge(event, fields):
                changed[key] = event
            results.append((event, False))
        seen.add(key)
    if changed:
        CameraEvent.objects.bulk_update(list(changed.values()), MERGED_FIELDS)
    return results


def _events_locked(keys: list[tuple]) -> dict[tuple, CameraEvent]:
    """The stored rows among (camera id, source, source id) keys, locked: one SELECT."""
    wanted = set(keys)
    if not wanted:
        return {}
    query = CameraEvent.objects.select_for_update().filter(
        camera_id__in={key[0] for key in wanted},
        source__in={key[1] for key in wanted},
        source_id__in={key[2] for key in wanted},
    )
    rows = {(row.camera_id, row.source, row.source_id): row for row in query}
    return {key: row for key, row in rows.items() if key in wanted}


def _event_merge(event: CameraEvent, fields: dict) -> bool:
    """A later delivery of the same event: keep the best score, the end, every zone. Says
    whether the row changed."""
    before = [getattr(event, name) for name in MERGED_FIELDS]
    if fields["score"] is not None and (event.score is None or fields["score"] > event.score):
        event.score = fields["score"]
    event.ended_at = fields["ended_at"] or event.ended_at
    event.zones = sorted(set(event.zones) | set(fields["zones"]))
    event.label = event.label or fields["label"]
    if fields["raw"]:
        event.raw = fields["raw"]
    return [getattr(event, name) for name in MERGED_FIELDS] != before


def _attach_snapshot(event: CameraEvent, snapshot: bytes) -> None:
    digest = hashlib.sha256(f"{event.camera_id}:{event.source_id}".encode()).hexdigest()[:20]
    event.snapshot.save(f"{digest}.jpg", ContentFile(snapshot), save=False)
    event.save(update_fields=["snapshot"])


class _Joins:
    """The incidents a batch touches: each rule's open incident (locked) and the events that
    join it, written once at the end of the batch."""

    def __init__(self):
        self.open_by_rule: dict[int, Incident] = {}
        self.events: dict[int, list[int]] = collections.defaultdict(list)
        self.incidents: dict[int, tuple[Incident, datetime.datetime | None]] = {}

    def open_incident(self, rule: Rule, event: CameraEvent) -> Incident | None:
        """The open incident of `rule` whose last event lies inside the window, else None.

        The first lookup of a rule in the batch asks the database (and locks the row); after
        it, the rule's incident in hand is its open incident with the latest event (the query
        orders by it, or the batch opened it), so it answers for the rest of the batch.
        """
        since = event.started_at - datetime.timedelta(minutes=rule.window_minutes)
        known = self.open_by_rule.get(rule.pk)
        if known is not None:
            return known if known.last_event_at >= since else None
        found = (
            Incident.objects.select_for_update()
            .filter(rule=rule, status__in=OPEN_STATUSES, last_event_at__gte=since)
            .order_by("-last_event_at")
            .first()
        )
        if found is not None:
            self.open_by_rule[rule.pk] = found
        return found

    def opened(self, rule: Rule, incident: Incident) -> None:
        self.open_by_rule[rule.pk] = incident
        self.incidents[incident.pk] = (incident, incident.last_event_at)

    def join(self, incident: Incident, event: CameraEvent) -> None:
        """Link the event. The incident's events are its evidence list; the timeline keeps to
        what people and rules did, so a crowd of events does not drown it."""
        event.incident = incident
        self.events[incident.pk].append(event.pk)
        self.incidents.setdefault(incident.pk, (incident, incident.last_event_at))
        if incident.last_event_at is None or event.started_at > incident.last_event_at:
            incident.last_event_at = event.started_at

    def write(self) -> None:
        for incident_pk, event_pks in self.events.items():
            incident, last_before = self.incidents[incident_pk]
            CameraEvent.objects.filter(pk__in=event_pks).update(incident=incident)
            if incident.last_event_at != last_before:
                incident.save(update_fields=["last_event_at", "updated_at"])


def _apply_rules(results: list[tuple[CameraEvent, bool]]) -> list[Incident]:
    """For each event without an incident, in arrival order: join or open an incident with
    the first active rule it meets. Returns the incidents opened (for alerting after commit).

    A crowding rule counts the events stored before this one, as one by one would: events of
    the batch inserted after it are left out of its count.
    """
    now = timezone.now()
    joins, opened, done = _Joins(), [], set()
    created = [event.pk for event, was_created in results if was_created]
    position = {pk: index for index, pk in enumerate(created)}
    for event, _created in results:
        if event.incident_id is not None or event.pk in done:
            continue
        done.add(event.pk)
        later = created[position[event.pk] + 1 :] if event.pk in position else []
        for rule in _active_rules(event.camera):
            verdict = rules.evaluate(rule, event, now=now, not_yet=later)
            if not verdict.matched:
                continue
            incident = joins.open_incident(rule, event)
            if incident is None:
                incident = _incident_from_rule(rule, event, verdict)
                joins.opened(rule, incident)
                opened.append(incident)
            joins.join(incident, event)
            break
    joins.write()
    return opened


RULES_CACHE_SECONDS = 10


def _active_rules(camera: Camera) -> list[Rule]:
    """The camera's active rules, kept on the camera object for a few seconds: the MQTT
    listener reuses its camera objects, so a burst of events reads the rules once. A changed
    rule applies within RULES_CACHE_SECONDS."""
    cached = getattr(camera, "_active_rules_cache", None)
    now = time.monotonic()
    if cached is not None and cached[0] > now:
        return cached[1]
    active = list(Rule.objects.filter(camera_id=camera.pk, is_active=True).order_by("id"))
    camera._active_rules_cache = (now + RULES_CACHE_SECONDS, active)
    return active


def _incident_from_rule(rule: Rule, event: CameraEvent, verdict) -> Incident:
    camera = event.camera  # the caller's object, its place usually loaded already
    title = _("%(category)s tại %(camera)s") % {
        "category": Incident.Category(rule.category).label,
        "camera": camera.name,
    }
    incident = _incident_create(
        category=rule.category,
        severity=rule.severity,
        title=title,
        camera=camera,
        rule=rule,
        at=event.started_at,
        explanation=verdict.explanation(event),
    )
    audit.record(
        actor=None,
        verb="incident.opened",
        target=incident,
        changes={"rule": rule.public_id, "event": event.source_id},
        place_path=camera.place.path,
    )
    return incident


def _incident_create(
    *, category, severity, title, camera=None, rule=None, place=None, at, explanation, **extra
) -> Incident:
    place = place or camera.place
    incident = Incident.objects.create(
        category=category,
        severity=severity,
        title=title[:200],
        place=place,
        camera=camera,
        rule=rule,
        latitude=extra.pop("latitude", None) or (camera.latitude if camera else None),
        longitude=extra.pop("longitude", None) or (camera.longitude if camera else None),
        explanation=explanation,
        opened_at=timezone.now(),
        last_event_at=at,
        **extra,
    )
    IncidentStep.objects.create(
        incident=incident, at=incident.opened_at, action="opened", status=incident.status
    )
    return incident


# --- Incidents --------------------------------------------------------------------------------
# action → (statuses it may start from, status it leads to, timestamp field it sets)
TRANSITIONS = {
    "acknowledge": (
        {Incident.Status.NEW},
        Incident.Status.ACKNOWLEDGED,
        "acknowledged_at",
    ),
    "dispatch": (
        {Incident.Status.NEW, Incident.Status.ACKNOWLEDGED},
        Incident.Status.DISPATCHED,
        "dispatched_at",
    ),
    "resolve": (set(OPEN_STATUSES), Incident.Status.RESOLVED, "resolved_at"),
    "close": ({Incident.Status.RESOLVED}, Incident.Status.CLOSED, "closed_at"),
    "reject": (
        {Incident.Status.NEW, Incident.Status.ACKNOWLEDGED},
        Incident.Status.REJECTED,
        "closed_at",
    ),
    "duplicate": (set(OPEN_STATUSES), Incident.Status.DUPLICATE, "closed_at"),
}

ACTION_LABELS = {
    "opened": _("Mở vụ việc"),
    "event": _("Thêm sự kiện camera"),
    "report": _("Thêm phản ánh của người dân"),
    "acknowledge": _("Tiếp nhận"),
    "dispatch": _("Điều lực lượng"),
    "resolve": _("Đã xử lý"),
    "close": _("Đóng"),
    "reject": _("Không xử lý"),
    "duplicate": _("Trùng lặp"),
    "note": _("Ghi chú"),
    "escalated": _("Chuyển cấp trên"),
    "hold": _("Giữ bằng chứng"),
    "release": _("Bỏ giữ bằng chứng"),
}


@transaction.atomic
def incident_transition(
    *,
    incident: Incident,
    action: str,
    by,
    note: str = "",
    assignee=None,
    duplicate_of: Incident | None = None,
    photo=None,
) -> Incident:
    if action not in TRANSITIONS:
        raise InvalidInput(
            _("Thao tác không hợp lệ: %(action)s.") % {"action": action}, field="action"
        )
    incident = Incident.objects.select_for_update().select_related("place").get(pk=incident.pk)
    _require_handler(by, incident)
    allowed_from, new_status, stamp_field = TRANSITIONS[action]
    if incident.status not in allowed_from:
        raise DomainError(
            _("Không thể %(action)s vụ việc đang ở trạng thái “%(status)s”.")
            % {
                "action": str(ACTION_LABELS[action]).lower(),
                "status": incident.get_status_display(),
            }
        )
    note = (note or "").strip()[:2000]
    if action in {"reject", "resolve"} and not note:
        raise InvalidInput(_("Vui lòng ghi rõ kết quả hoặc lý do."), field="note")
    update_fields = ["status", stamp_field, "updated_at"]
    if action == "duplicate":
        _check_duplicate_target(incident, duplicate_of, by)
        incident.duplicate_of = duplicate_of
        update_fields.append("duplicate_of")
    if assignee is not None:
        _check_assignee(incident, assignee)
        incident.assignee = assignee
        update_fields.append("assignee")
    old_status = incident.status
    incident.status = new_status
    setattr(incident, stamp_field, timezone.now())
    incident.save(update_fields=update_fields)
    _step(incident, action=action, by=by, note=note, photo=photo)
    audit.record(
        actor=by,
        verb=f"incident.{action}",
        target=incident,
        changes={"status": [old_status, new_status]},
        place_path=incident.place.path,
    )
    return incident


def _require_handler(user, incident: Incident) -> None:
    if not user_can(user, Capability.HANDLE_INCIDENTS, incident.place):
        raise DomainError(_("Bạn không có quyền xử lý vụ việc này."))


def _check_duplicate_target(incident: Incident, original: Incident | None, by) -> None:
    if original is None or original.pk == incident.pk:
        raise InvalidInput(_("Vui lòng chọn vụ việc gốc."), field="duplicate_of")
    if not user_can(by, Capability.VIEW_SAFETY, original.place):
        raise InvalidInput(_("Vui lòng chọn vụ việc gốc."), field="duplicate_of")


def _check_assignee(incident: Incident, assignee) -> None:
    if not user_can(assignee, Capability.HANDLE_INCIDENTS, incident.place):
        raise InvalidInput(
            _("Người được giao không có quyền xử lý vụ việc ở địa bàn này."), field="assignee"
        )


def _step(incident: Incident, *, action: str, by=None, note: str = "", photo=None, data=None):
    step = IncidentStep(
        incident=incident,
        at=timezone.now(),
        actor=by if getattr(by, "pk", None) else None,
        action=action,
        status=incident.status,
        note=note,
        data=data or {},
    )
    if photo is not None:
        step.photo.save(photo.name, photo, save=False)
    step.save()
    return step


@transaction.atomic
def incident_note_add(*, incident: Incident, note: str, by, photo=None) -> IncidentStep:
    _require_handler(by, incident)
    note = (note or "").strip()[:2000]
    if not note and photo is None:
        raise InvalidInput(_("Vui lòng nhập ghi chú hoặc chọn ảnh."), field="note")
    step = _step(incident, action="note", by=by, note=note, photo=photo)
    audit.record(actor=by, verb="incident.noted", target=incident, place_path=incident.place.path)
    return step


@transaction.atomic
def incident_hold(*, incident: Incident, hold: bool, by, note: str = "") -> Incident:
    """Keep (or stop keeping) the incident's snapshots past the retention period."""
    _require_handler(by, incident)
    incident.on_hold = hold
    incident.save(update_fields=["on_hold", "updated_at"])
    _step(incident, action="hold" if hold else "release", by=by, note=(note or "")[:2000])
    audit.record(
        actor=by,
        verb="incident.held" if hold else "incident.released",
        target=incident,
        place_path=incident.place.path,
    )
    return incident


@transaction.atomic
def incident_report(
    *,
    place: Place,
    category: str,
    title: str,
    by,
    severity: str = Incident.Severity.MEDIUM,
    description: str = "",
    latitude=None,
    longitude=None,
) -> Incident:
    """An officer opens an incident by hand (a phone call, a patrol)."""
    values = {"latitude": latitude, "longitude": longitude, "category": category}
    values["severity"] = severity
    place = _place_for_write(by, place, Capability.HANDLE_INCIDENTS)
    title = _text({"title": title}, "title", required=_("Vui lòng nhập tiêu đề."), max_length=200)
    incident = _incident_create(
        category=_choice(values, "category", Incident.Category),
        severity=_choice(values, "severity", Incident.Severity),
        title=title,
        place=place,
        at=timezone.now(),
        explanation={"opened_by": by.username},
        description=(description or "")[:5000],
        latitude=_coordinate(values, "latitude", 90),
        longitude=_coordinate(values, "longitude", 180),
    )
    audit.record(actor=by, verb="incident.opened", target=incident, place_path=place.path)
    transaction.on_commit(lambda: alerts.incident_opened(incident))
    return incident


# --- Escalation and retention (run by `xaso clock`) ------------------------------------------
def incidents_escalate(*, now: datetime.datetime | None = None) -> int:
    """New incidents nobody acknowledged in time go up one level: leader, then province."""
    now = now or timezone.now()
    escalated = 0
    waiting = Incident.objects.filter(status=Incident.Status.NEW, escalation_level__lt=2)
    for incident in waiting.only("pk", "severity", "opened_at", "escalation_level"):
        minutes = alerts.escalation_minutes(incident.severity)
        if not minutes:
            continue
        due = incident.opened_at + datetime.timedelta(
            minutes=minutes * (incident.escalation_level + 1)
        )
        if due > now:
            continue
        with transaction.atomic():
            locked = (
                Incident.objects.select_for_update().select_related("place").get(pk=incident.pk)
            )
            if (
                locked.status != Incident.Status.NEW
                or locked.escalation_level != incident.escalation_level
            ):
                continue
            locked.escalation_level += 1
            locked.save(update_fields=["escalation_level", "updated_at"])
            _step(locked, action="escalated", data={"level": locked.escalation_level})
            audit.record(
                actor=None,
                verb="incident.escalated",
                target=locked,
                changes={"level": locked.escalation_level},
                place_path=locked.place.path,
            )
            transaction.on_commit(lambda incident=locked: alerts.incident_escalated(incident))
        escalated += 1
    return escalated


def snapshots_purge(*, now: datetime.datetime | None = None) -> int:
    """Delete snapshots older than the retention period, except those of incidents on hold."""
    now = now or timezone.now()
    cutoff = now - datetime.timedelta(days=settings.XASO_SNAPSHOT_RETENTION_DAYS)
    expired = (
        CameraEvent.objects.filter(started_at__lt=cutoff, snapshot_deleted_at__isnull=True)
        .exclude(snapshot="")
        .exclude(incident__on_hold=True)
    )
    purged = 0
    for event in expired.only("pk", "snapshot").iterator(chunk_size=500):
        event.snapshot.delete(save=False)
        CameraEvent.objects.filter(pk=event.pk).update(snapshot="", snapshot_deleted_at=now)
        purged += 1
    if purged:
        audit.record(actor=None, verb="snapshot.purged", changes={"count": purged})
    return purged


# --- Duty shifts ------------------------------------------------------------------------------
@transaction.atomic
def duty_shift_add(*, user, place: Place, starts_at, ends_at, by) -> DutyShift:
    place = _place_for_write(by, place, Capability.MANAGE_CAMERAS)
    if ends_at <= starts_at:
        raise InvalidInput(_("Giờ kết thúc phải sau giờ bắt đầu."), field="ends_at")
    if not user_can(user, Capability.HANDLE_INCIDENTS, place):
        raise InvalidInput(_("Người này không có quyền xử lý vụ việc ở địa bàn."), field="user")
    shift = DutyShift.objects.create(user=user, place=place, starts_at=starts_at, ends_at=ends_at)
    audit.record(actor=by, verb="duty_shift.added", target=shift, place_path=place.path)
    return shift


# --- Officer pages: who looked at evidence and who exported (audit rows only) -----------------
def snapshot_viewed(*, event: CameraEvent, by) -> None:
    """Every view of a camera snapshot is logged (camera images are personal data)."""
    audit.record(
        actor=by,
        verb="snapshot.viewed",
        target=event,
        changes={
            "camera": event.camera.public_id,
            "incident": event.incident.public_id if event.incident_id else None,
        },
        place_path=event.camera.place.path,
    )


def evidence_photo_viewed(*, kind: str, target, place_path: str, by) -> None:
    """A photo of an incident's timeline ("incident_photo") or of a citizen report
    ("report_photo") was opened by an officer."""
    audit.record(actor=by, verb=f"{kind}.viewed", target=target, place_path=place_path)


@transaction.atomic
def incidents_exported(*, by, file_kind: str, count: int, since=None, until=None) -> None:
    """One row per place the exporting user covers, so each place's administrators see it."""
    changes = {
        "format": file_kind,
        "rows": count,
        "since": since.isoformat() if since else None,
        "until": until.isoformat() if until else None,
    }
    for path in scope_paths(by, Capability.VIEW_SAFETY) or [""]:
        audit.record(actor=by, verb="incidents.exported", changes=changes, place_path=path)
