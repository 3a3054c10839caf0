"""Cameras, rules and incidents over JSON at /api/v1/safety/. Thin: parse, select, act.

The camera event endpoints (camera token, no user) are in ingest_api.py.
"""

import datetime
from decimal import Decimal

from django.utils.translation import gettext as _
from ninja import Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from xaso.accounts.models import User
from xaso.accounts.permissions import user_can
from xaso.accounts.roles import Capability
from xaso.core.errors import InvalidInput
from xaso.core.pagination import Pagination
from xaso.lib.text import clean_input
from xaso.places.models import Household, Organisation, Place
from xaso.safety import actions, selectors
from xaso.safety.models import Camera, Incident

router = Router(tags=["safety"])
PREFIX = "/safety"


def _place_for_write(user, code: str, capability: str, field: str = "village") -> Place:
    place = Place.objects.filter(code=code, kind__in=["commune", "village"]).first()
    if place is None or not user_can(user, capability, place):
        raise InvalidInput(_("Không tìm thấy thôn hoặc xã với mã này."), field=field)
    return place


def _owner_rows(payload, place: Place) -> dict:
    """The household / organisation named by public id, looked up in the camera's commune."""
    commune = place if place.kind == Place.Kind.COMMUNE else place.parent
    rows = {}
    if payload.owner_household:
        rows["owner_household"] = Household.objects.filter(
            public_id=payload.owner_household, village__path__startswith=commune.path
        ).first()
    if payload.owner_organisation:
        rows["owner_organisation"] = Organisation.objects.filter(
            public_id=payload.owner_organisation, place__path__startswith=commune.path
        ).first()
    return rows


class _In(Schema):
    """A request body: NUL characters dropped from every string, lone surrogates refused."""

    @field_validator("*", mode="before")
    @classmethod
    def _clean_text(cls, value):
        return clean_input(value)


# --- Cameras ----------------------------------------------------------------------------------
class CameraOut(Schema):
    id: str
    name: str
    frigate_name: str
    vendor_id: str
    village: str
    village_name: str
    owner_kind: str
    status: str
    last_seen_at: datetime.datetime | None
    latitude: Decimal | None
    longitude: Decimal | None
    is_black_spot: bool
    has_signage: bool
    consent_given_on: datetime.date | None
    heartbeat_seconds: int
    zones: list
    is_active: bool

    @staticmethod
    def resolve_id(camera) -> str:
        return camera.public_id

    @staticmethod
    def resolve_village(camera) -> str:
        return camera.place.code

    @staticmethod
    def resolve_village_name(camera) -> str:
        return camera.place.name


class CameraCreatedOut(CameraOut):
    token: str  # for the HTTP event endpoints; shown once


class CameraIn(_In):
    name: str
    village: str  # code of a village, or of the commune
    owner_kind: str = Camera.OwnerKind.COMMUNE
    owner_household: str = ""  # public id
    owner_organisation: str = ""  # public id
    frigate_name: str = ""
    vendor_id: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    is_black_spot: bool = False
    stream_url: str = ""  # write-only: stored encrypted, never returned
    credentials: str = ""  # write-only
    consent_given_by: str = ""
    consent_given_on: datetime.date | None = None
    has_signage: bool = False
    privacy_notes: str = ""
    zones: list = []
    heartbeat_seconds: int = 300


@router.get(f"{PREFIX}/cameras", response=list[CameraOut])
@paginate(Pagination)
def camera_list(request, status: str = "", q: str = ""):
    return selectors.cameras_for_user(user=request.auth, status=status, q=q)


@router.post(f"{PREFIX}/cameras", response={201: CameraCreatedOut})
def camera_create(request, payload: CameraIn):
    place = _place_for_write(request.auth, payload.village, Capability.MANAGE_CAMERAS)
    values = payload.dict(exclude={"village", "owner_household", "owner_organisation"})
    values.update(_owner_rows(payload, place))
    camera, token = actions.camera_register(place=place, values=values, by=request.auth)
    camera.token = token
    return Status(201, camera)


@router.get(f"{PREFIX}/cameras/{{public_id}}", response=CameraOut)
def camera_get(request, public_id: str):
    return selectors.camera_get_for_user(user=request.auth, public_id=public_id)


@router.put(f"{PREFIX}/cameras/{{public_id}}", response=CameraOut)
def camera_update(request, public_id: str, payload: CameraIn):
    camera = selectors.camera_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.MANAGE_CAMERAS
    )
    place = _place_for_write(request.auth, payload.village, Capability.MANAGE_CAMERAS)
    values = payload.dict(exclude={"village", "owner_household", "owner_organisation"})
    values.update(_owner_rows(payload, place), place=place)
    return actions.camera_update(camera=camera, values=values, by=request.auth)


# --- Rules ------------------------------------------------------------------------------------
class RuleOut(Schema):
    id: str
    name: str
    camera: str
    zone: str
    label: str
    min_score: float
    min_duration_seconds: int
    hour_from: int | None
    hour_to: int | None
    min_count: int
    window_minutes: int
    category: str
    severity: str
    is_active: bool

    @staticmethod
    def resolve_id(rule) -> str:
        return rule.public_id

    @staticmethod
    def resolve_camera(rule) -> str:
        return rule.camera.public_id


class RuleIn(_In):
    camera: str
    category: str
    label: str = ""
    min_score: float = 0.0
    severity: str = Incident.Severity.MEDIUM
    name: str = ""
    zone: str = ""
    min_duration_seconds: int = 0
    hour_from: int | None = None
    hour_to: int | None = None
    min_count: int = 1
    window_minutes: int = 10
    is_active: bool = True


def _camera_for_write(user, public_id: str) -> Camera:
    camera = (
        selectors.cameras_for_user(user=user, capability=Capability.MANAGE_CAMERAS)
        .filter(public_id=public_id)
        .first()
    )
    if camera is None:
        raise InvalidInput(_("Không tìm thấy camera."), field="camera")
    return camera


@router.get(f"{PREFIX}/rules", response=list[RuleOut])
@paginate(Pagination)
def rule_list(request, camera: str = ""):
    cameras = selectors.cameras_for_user(user=request.auth)
    camera = clean_input(camera)
    chosen = cameras.filter(public_id=camera).first() if camera else None
    if camera and chosen is None:
        return selectors.rules_for_user(user=request.auth).none()
    return selectors.rules_for_user(user=request.auth, camera=chosen)


@router.post(f"{PREFIX}/rules", response={201: RuleOut})
def rule_create(request, payload: RuleIn):
    camera = _camera_for_write(request.auth, payload.camera)
    rule = actions.rule_create(
        camera=camera, values=payload.dict(exclude={"camera"}), by=request.auth
    )
    return Status(201, rule)


@router.get(f"{PREFIX}/rules/{{public_id}}", response=RuleOut)
def rule_get(request, public_id: str):
    return selectors.rule_get_for_user(user=request.auth, public_id=public_id)


@router.put(f"{PREFIX}/rules/{{public_id}}", response=RuleOut)
def rule_update(request, public_id: str, payload: RuleIn):
    rule = selectors.rule_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.MANAGE_CAMERAS
    )
    return actions.rule_update(rule=rule, values=payload.dict(exclude={"camera"}), by=request.auth)


# --- Incidents --------------------------------------------------------------------------------
class IncidentOut(Schema):
    id: str
    title: str
    category: str
    severity: str
    status: str
    place: str
    place_name: str
    camera: str | None
    latitude: Decimal | None
    longitude: Decimal | None
    assignee: str | None
    opened_at: datetime.datetime
    last_event_at: datetime.datetime | None
    acknowledged_at: datetime.datetime | None
    resolved_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    escalation_level: int
    on_hold: bool

    @staticmethod
    def resolve_id(incident) -> str:
        return incident.public_id

    @staticmethod
    def resolve_place(incident) -> str:
        return incident.place.code

    @staticmethod
    def resolve_place_name(incident) -> str:
        return incident.place.name

    @staticmethod
    def resolve_camera(incident) -> str | None:
        return incident.camera.public_id if incident.camera_id else None

    @staticmethod
    def resolve_assignee(incident) -> str | None:
        return incident.assignee.username if incident.assignee_id else None


class EventOut(Schema):
    id: int
    source: str
    source_id: str
    camera: str
    label: str
    score: float | None
    zones: list
    started_at: datetime.datetime
    ended_at: datetime.datetime | None
    has_snapshot: bool

    @staticmethod
    def resolve_camera(event) -> str:
        return event.camera.public_id

    @staticmethod
    def resolve_has_snapshot(event) -> bool:
        return bool(event.snapshot)


class StepOut(Schema):
    at: datetime.datetime
    action: str
    status: str
    actor: str | None
    note: str
    data: dict

    @staticmethod
    def resolve_actor(step) -> str | None:
        return step.actor.username if step.actor_id else None


class IncidentDetailOut(IncidentOut):
    description: str
    explanation: dict
    events: list[EventOut]
    timeline: list[StepOut]
    reports: list[str]

    @staticmethod
    def resolve_events(incident) -> list:
        return list(incident.events.all())

    @staticmethod
    def resolve_timeline(incident) -> list:
        return list(incident.steps.all())

    @staticmethod
    def resolve_reports(incident) -> list[str]:
        return [report.public_id for report in incident.reports.all()]


class IncidentIn(_In):
    place: str  # code of a village or the commune
    category: str
    title: str
    severity: str = Incident.Severity.MEDIUM
    description: str = ""
    latitude: Decimal | None = None
    longitude: Decimal | None = None


class TransitionIn(_In):
    note: str = ""
    assignee: str = ""  # username
    duplicate_of: str = ""  # incident id


@router.get(f"{PREFIX}/incidents", response=list[IncidentOut])
@paginate(Pagination)
def incident_list(
    request,
    status: str = "",
    since: datetime.datetime | None = None,
    category: str = "",
    severity: str = "",
):
    # Year 1 or 9999 in another time zone is out of range in UTC (a 500 from SQLite).
    if since is not None and not datetime.MINYEAR < since.year < datetime.MAXYEAR:
        raise InvalidInput(_("Thời điểm không hợp lệ."), field="since")
    return selectors.incidents_for_user(
        user=request.auth, status=status, since=since, category=category, severity=severity
    )


@router.post(f"{PREFIX}/incidents", response={201: IncidentDetailOut})
def incident_create(request, payload: IncidentIn):
    place = _place_for_write(
        request.auth, payload.place, Capability.HANDLE_INCIDENTS, field="place"
    )
    incident = actions.incident_report(
        place=place, by=request.auth, **payload.dict(exclude={"place"})
    )
    return Status(
        201,
        selectors.incident_detail_for_user(user=request.auth, public_id=incident.public_id),
    )


@router.get(f"{PREFIX}/incidents/{{public_id}}", response=IncidentDetailOut)
def incident_get(request, public_id: str):
    return selectors.incident_detail_for_user(user=request.auth, public_id=public_id)


def _transition(request, public_id: str, action: str, payload: TransitionIn):
    # Seen but not handled (a village head, the province) answers like an unknown incident,
    # as the camera and rule writes do; the action's own check would have been a 409.
    incident = selectors.incident_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.HANDLE_INCIDENTS
    )
    actions.incident_transition(
        incident=incident,
        action=action,
        by=request.auth,
        note=payload.note,
        assignee=_assignee(payload.assignee),
        duplicate_of=_duplicate_target(request.auth, payload.duplicate_of),
    )
    return selectors.incident_detail_for_user(user=request.auth, public_id=public_id)


def _assignee(username: str):
    if not username:
        return None
    user = User.objects.filter(username=username, is_active=True).first()
    if user is None:
        raise InvalidInput(_("Không tìm thấy người được giao."), field="assignee")
    return user


def _duplicate_target(user, public_id: str):
    if not public_id:
        return None
    return selectors.incidents_for_user(user=user).filter(public_id=public_id).first()


def _transition_endpoint(action: str):
    def endpoint(request, public_id: str, payload: TransitionIn | None = None):
        return _transition(request, public_id, action, payload or TransitionIn())

    endpoint.__name__ = f"incident_{action}"
    router.post(
        f"{PREFIX}/incidents/{{public_id}}/{action}",
        response=IncidentDetailOut,
        operation_id=f"incident_{action}",
    )(endpoint)


for _action in actions.TRANSITIONS:
    _transition_endpoint(_action)
