"""The two HTTP doors for camera events, authenticated by the camera's own token.

POST /api/v1/safety/cameras/{id}/events   the generic JSON webhook
POST /api/v1/safety/cameras/{id}/isapi    Hikvision ISAPI EventNotificationAlert (XML or multipart)

No session or user token: `auth=None`, then the camera token from `Authorization: Bearer …`
or `X-Camera-Token`. Every refusal is JSON {"detail": "…"} in Vietnamese.
"""

import logging

from django.db import DatabaseError
from ninja import Router, Schema, Status

from xaso.safety import actions, ingest
from xaso.safety.models import Camera, CameraEvent

logger = logging.getLogger(__name__)

router = Router(tags=["safety: camera ingestion"])


class EventOut(Schema):
    id: int | None = None
    source_id: str = ""
    created: bool = False
    incident: str | None = None
    heartbeat: bool = False


class ErrorOut(Schema):
    detail: str


RESPONSES = {
    200: EventOut,
    201: EventOut,
    400: ErrorOut,
    401: ErrorOut,
    404: ErrorOut,
    413: ErrorOut,
    422: ErrorOut,
    503: ErrorOut,
}


class Refused(Exception):
    def __init__(self, status: int, detail: str):
        self.status, self.detail = status, detail


def _token(request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.headers.get("X-Camera-Token", "").strip()


def _camera(request, public_id: str) -> Camera:
    camera = ingest.camera_for_public_id(public_id)
    if camera is None:
        raise Refused(404, "Không tìm thấy camera.")
    if not actions.camera_token_matches(camera, _token(request)):
        raise Refused(401, "Mã xác thực của camera không hợp lệ.")
    return camera


def _body(request) -> bytes:
    """The raw body, refused past the limit before it is read in full."""
    limit = ingest.max_body_bytes()
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if declared > limit:
        raise Refused(413, "Nội dung gửi lên quá lớn.")
    body = request.read(limit + 1)
    if len(body) > limit:
        raise Refused(413, "Nội dung gửi lên quá lớn.")
    return body


def _store(camera: Camera, fields: dict):
    try:
        event, created = actions.event_ingest(camera=camera, **fields)
    except DatabaseError:
        logger.exception("camera %s: event could not be stored", camera.public_id)
        raise Refused(503, "Tạm thời không lưu được sự kiện, vui lòng gửi lại sau.") from None
    return Status(201 if created else 200, _out(event, created))


def _out(event: CameraEvent, created: bool) -> dict:
    return {
        "id": event.pk,
        "source_id": event.source_id,
        "created": created,
        "incident": event.incident.public_id if event.incident_id else None,
    }


def _answer(work):
    try:
        return work()
    except Refused as refused:
        return Status(refused.status, {"detail": refused.detail})
    except ingest.BadPayload as bad:
        return Status(bad.status, {"detail": bad.message})


@router.post("/cameras/{public_id}/events", response=RESPONSES, auth=None)
def camera_event(request, public_id: str):
    """A detection as JSON: id, label, score, zones, started_at, ended_at, snapshot (base64)."""

    def work():
        camera = _camera(request, public_id)
        return _store(camera, ingest.webhook_event(_body(request)))

    return _answer(work)


@router.post("/cameras/{public_id}/isapi", response=RESPONSES, auth=None)
def camera_isapi(request, public_id: str):
    """Hikvision's alarm host push: EventNotificationAlert XML, alone or with a JPEG part."""

    def work():
        camera = _camera(request, public_id)
        alert = ingest.isapi_body(_body(request), request.headers.get("Content-Type", ""))
        if alert.heartbeat:
            actions.camera_heartbeat(camera=camera)
            return Status(200, {"heartbeat": True})
        return _store(camera, alert.fields)

    return _answer(work)
