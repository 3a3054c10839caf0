"""Camera events over HTTP: the JSON webhook and Hikvision ISAPI, authenticated by camera token."""

import base64
import datetime
import json

import cv2
import numpy
import pytest

from xaso.safety import actions, ingest
from xaso.safety.models import Camera, CameraEvent, Incident

NS = "http://www.hikvision.com/ver20/XMLSchema"


def jpeg_bytes(width: int = 16, height: int = 12) -> bytes:
    ok, encoded = cv2.imencode(".jpg", numpy.full((height, width, 3), 90, dtype=numpy.uint8))
    assert ok
    return encoded.tobytes()


def isapi_xml(
    event_type="linedetection",
    state="active",
    when="2025-07-01T10:15:30+07:00",
    channel="1",
    namespace=NS,
) -> bytes:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="{namespace}">
  <ipAddress>192.168.1.64</ipAddress>
  <portNo>80</portNo>
  <protocol>HTTP</protocol>
  <channelID>{channel}</channelID>
  <dateTime>{when}</dateTime>
  <activePostCount>1</activePostCount>
  <eventType>{event_type}</eventType>
  <eventState>{state}</eventState>
  <eventDescription>{event_type} alarm</eventDescription>
  <DetectionRegionList>
    <DetectionRegionEntry><regionID>2</regionID><sensitivityLevel>50</sensitivityLevel>
    </DetectionRegionEntry>
  </DetectionRegionList>
</EventNotificationAlert>""".encode()


def multipart(parts: list[tuple[str, str, str | None, bytes]], boundary="MIME_boundary") -> bytes:
    """[(name, content type, filename, data)] → a multipart/form-data body as Hikvision sends."""
    chunks = []
    for name, kind, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        chunks.append(
            f"--{boundary}\r\nContent-Disposition: {disposition}\r\nContent-Type: {kind}\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode()
            + data
            + b"\r\n"
        )
    return b"".join(chunks) + f"--{boundary}--\r\n".encode()


@pytest.fixture
def camera(world):
    camera, token = actions.camera_register(
        place=world.a1,
        values={"name": "Cổng chợ", "frigate_name": "cong_cho"},
        by=world.users["admin"],
    )
    camera.plain_token = token
    return camera


@pytest.fixture
def post(client):
    def send(camera, path, body, *, token=None, content_type="application/json", header="bearer"):
        token = camera.plain_token if token is None else token
        headers = (
            {"Authorization": f"Bearer {token}"}
            if header == "bearer"
            else {"X-Camera-Token": token}
        )
        return client.generic(
            "POST",
            f"/api/v1/safety/cameras/{camera.public_id}/{path}",
            body,
            content_type=content_type,
            headers=headers,
        )

    return send


def webhook(**fields) -> bytes:
    return json.dumps({"id": "evt-1", "label": "person", "score": 0.8, **fields}).encode()


# --- The JSON webhook -------------------------------------------------------------------------
def test_a_webhook_event_with_the_camera_token_is_stored_once_however_often_it_is_sent(
    camera, post
):
    first = post(camera, "events", webhook(zones=["cong"], started_at="2025-07-01T08:00:00+07:00"))
    assert first.status_code == 201, first.content
    again = post(
        camera, "events", webhook(score=0.95, end_time=1751331660), header="x-camera-token"
    )
    assert again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    assert first.json()["created"] is True and again.json()["created"] is False
    event = CameraEvent.objects.get(camera=camera)
    assert (event.source, event.source_id, event.label) == ("webhook", "evt-1", "person")
    assert event.score == 0.95
    assert event.zones == ["cong"]
    assert event.started_at == datetime.datetime(2025, 7, 1, 1, 0, tzinfo=datetime.UTC)
    assert event.ended_at == datetime.datetime.fromtimestamp(1751331660, tz=datetime.UTC)
    camera.refresh_from_db()
    assert camera.status == Camera.Status.ONLINE


def test_a_webhook_event_that_meets_a_rule_answers_with_its_incident(camera, post, world):
    actions.rule_create(
        camera=camera,
        values={"label": "person", "min_score": 0.5, "category": "security"},
        by=world.users["admin"],
    )
    response = post(camera, "events", webhook(event_id="evt-9", id=None))
    assert response.status_code == 201
    incident = Incident.objects.get(public_id=response.json()["incident"])
    assert incident.camera == camera
    assert incident.events.get().source_id == "evt-9"


def test_a_base64_jpeg_snapshot_is_kept_with_the_event(camera, post):
    image = jpeg_bytes()
    response = post(camera, "events", webhook(snapshot=base64.b64encode(image).decode()))
    assert response.status_code == 201
    event = CameraEvent.objects.get(camera=camera)
    with event.snapshot.open("rb") as stored:
        assert stored.read() == image


@pytest.mark.parametrize(
    ("token", "header"), [("", "bearer"), ("not-the-token", "bearer"), ("wrong", "x")]
)
def test_a_wrong_or_missing_camera_token_is_refused_and_stores_nothing(camera, post, token, header):
    response = post(camera, "events", webhook(), token=token, header=header)
    assert response.status_code == 401
    assert response.json() == {"detail": "Mã xác thực của camera không hợp lệ."}
    assert not CameraEvent.objects.exists()


def test_another_cameras_token_does_not_open_this_camera(camera, post, world):
    _other, other_token = actions.camera_register(
        place=world.a2, values={"name": "Cầu"}, by=world.users["admin"]
    )
    assert post(camera, "events", webhook(), token=other_token).status_code == 401


def test_an_unknown_or_retired_camera_answers_404(camera, post, world):
    ghost = Camera(public_id="khongcocameranay")
    ghost.plain_token = camera.plain_token
    response = post(ghost, "events", webhook())
    assert response.status_code == 404
    assert response.json() == {"detail": "Không tìm thấy camera."}
    Camera.objects.filter(pk=camera.pk).update(is_active=False)
    assert post(camera, "events", webhook()).status_code == 404


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        (b"{not json", 400, "Nội dung không phải JSON hợp lệ."),
        (b"[1, 2]", 422, "Nội dung JSON phải là một đối tượng."),
        (json.dumps({"label": "person"}).encode(), 422, "Thiếu trường id."),
        (webhook(score="cao"), 422, "Trường score phải là một số."),
        (webhook(score=7), 422, "Độ tin cậy phải là số từ 0 đến 1."),
        (webhook(zones=[1, 2]), 422, "Danh sách vùng (zones) phải là các chuỗi ký tự."),
        (webhook(started_at="hôm qua"), 422, "Thời điểm started_at không hợp lệ."),
        (webhook(id={"a": 1}), 422, "Trường id phải là chuỗi ký tự."),
        (webhook(snapshot="@@not base64@@"), 422, "Ảnh chụp phải là chuỗi base64."),
        (
            webhook(snapshot=base64.b64encode(b"GIF89a not a jpeg").decode()),
            422,
            "Ảnh chụp phải là ảnh JPEG.",
        ),
    ],
)
def test_a_malformed_webhook_body_is_refused_in_vietnamese(camera, post, body, status, detail):
    response = post(camera, "events", body)
    assert response.status_code == status
    assert response.json() == {"detail": detail}
    assert not CameraEvent.objects.exists()


def test_an_oversized_body_is_refused_before_it_is_read(camera, post, settings):
    settings.XASO_SNAPSHOT_MAX_BYTES = 10_000
    limit = ingest.max_body_bytes()
    huge = webhook(snapshot=base64.b64encode(b"\xff\xd8\xff" + b"0" * limit).decode())
    response = post(camera, "events", huge)
    assert response.status_code == 413
    assert response.json() == {"detail": "Nội dung gửi lên quá lớn."}
    # Within the body limit but over the snapshot limit: the snapshot itself is refused.
    big_image = base64.b64encode(b"\xff\xd8\xff" + b"0" * 20_000).decode()
    response = post(camera, "events", webhook(snapshot=big_image))
    assert response.status_code == 413
    assert response.json() == {"detail": "Ảnh chụp quá lớn."}
    assert not CameraEvent.objects.exists()


# --- Hikvision ISAPI --------------------------------------------------------------------------
def test_an_isapi_alert_as_raw_xml_is_stored_once_per_channel_type_and_time(camera, post):
    first = post(camera, "isapi", isapi_xml(), content_type="application/xml")
    assert first.status_code == 201, first.content
    assert post(camera, "isapi", isapi_xml(), content_type="application/xml").status_code == 200
    later = isapi_xml(when="2025-07-01T10:15:31+07:00")
    assert post(camera, "isapi", later, content_type="application/xml").status_code == 201
    events = list(CameraEvent.objects.filter(camera=camera).order_by("started_at"))
    assert len(events) == 2
    event = events[0]
    assert (event.source, event.label, event.zones) == ("isapi", "linedetection", ["region-2"])
    assert event.started_at == datetime.datetime(2025, 7, 1, 3, 15, 30, tzinfo=datetime.UTC)
    assert event.raw["ipAddress"] == "192.168.1.64"
    assert event.source_id.startswith("1-linedetection-")


def test_an_isapi_alert_in_the_isapi_org_namespace_is_read_too(camera, post):
    body = isapi_xml(event_type="VMD", namespace="http://www.isapi.org/ver20/XMLSchema")
    response = post(camera, "isapi", body, content_type="text/xml")
    assert response.status_code == 201
    assert CameraEvent.objects.get(camera=camera).label == "vmd"


def test_an_isapi_alert_in_multipart_keeps_its_jpeg(camera, post):
    image = jpeg_bytes()
    body = multipart(
        [
            ("linedetection", "application/xml", None, isapi_xml()),
            ("linedetectionImage", "image/jpeg", "linedetection.jpg", image),
        ]
    )
    response = post(
        camera, "isapi", body, content_type="multipart/form-data; boundary=MIME_boundary"
    )
    assert response.status_code == 201, response.content
    event = CameraEvent.objects.get(camera=camera)
    with event.snapshot.open("rb") as stored:
        assert stored.read() == image


def test_an_isapi_upload_that_is_not_a_jpeg_is_refused(camera, post):
    body = multipart(
        [
            ("linedetection", "application/xml", None, isapi_xml()),
            ("linedetectionImage", "image/jpeg", "x.jpg", b"MZ\x90\x00 an executable"),
        ]
    )
    response = post(
        camera, "isapi", body, content_type="multipart/form-data; boundary=MIME_boundary"
    )
    assert response.status_code == 422
    assert response.json() == {"detail": "Ảnh chụp phải là ảnh JPEG."}
    assert not CameraEvent.objects.exists()


def test_an_isapi_heartbeat_marks_the_camera_online_and_stores_no_event(camera, post):
    assert camera.status == Camera.Status.UNKNOWN
    heartbeat = isapi_xml(event_type="videoloss", state="inactive")
    response = post(camera, "isapi", heartbeat, content_type="application/xml")
    assert response.status_code == 200
    assert response.json()["heartbeat"] is True
    assert not CameraEvent.objects.exists()
    camera.refresh_from_db()
    assert camera.status == Camera.Status.ONLINE and camera.last_seen_at is not None
    # A real video loss (active) is an event.
    loss = isapi_xml(event_type="videoloss", state="active")
    assert post(camera, "isapi", loss, content_type="application/xml").status_code == 201


@pytest.mark.parametrize(
    ("body", "content_type", "status", "detail"),
    [
        (b"<EventNotificationAlert><eventType>", "application/xml", 400, None),
        (b"", "application/xml", 400, "Nội dung yêu cầu trống."),
        (b"<Other/>", "application/xml", 422, "XML không phải là EventNotificationAlert."),
        (
            b'<!DOCTYPE x [<!ENTITY a "b">]><EventNotificationAlert/>',
            "application/xml",
            400,
            None,
        ),
        (
            isapi_xml(when="không phải ngày"),
            "application/xml",
            422,
            "Thời điểm dateTime không hợp lệ.",
        ),
        (
            multipart([("note", "text/plain", None, b"hello")]),
            "multipart/form-data; boundary=MIME_boundary",
            400,
            "Thiếu phần XML EventNotificationAlert.",
        ),
    ],
)
def test_broken_isapi_bodies_are_refused_in_vietnamese(
    camera, post, body, content_type, status, detail
):
    response = post(camera, "isapi", body, content_type=content_type)
    assert response.status_code == status
    assert response.json()["detail"] == (detail or "Không đọc được nội dung XML.")
    assert not CameraEvent.objects.exists()


def test_isapi_refuses_a_wrong_token(camera, post):
    response = post(camera, "isapi", isapi_xml(), token="x", content_type="application/xml")
    assert response.status_code == 401


def test_the_endpoints_appear_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "/api/v1/safety/cameras/{public_id}/events" in paths
    assert "/api/v1/safety/cameras/{public_id}/isapi" in paths


# --- Frigate payloads (parsing only; the listener is in test_mqtt.py) -------------------------
@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        (b"\xff\xfe", "Nội dung không phải JSON hợp lệ."),
        (b'{"type": "new"}', "Thông điệp Frigate thiếu phần “after”."),
        (b'{"type": "gone", "after": {}}', "Loại thông điệp Frigate không hợp lệ."),
        (
            b'{"type": "new", "after": {"id": "1", "camera": "c", "start_time": "x"}}',
            "Thời điểm start_time không hợp lệ.",
        ),
        (
            b'{"type": "new", "after": {"id": "1", "camera": ["c"], "start_time": 1}}',
            "Trường camera phải là chuỗi ký tự.",
        ),
        (
            b'{"type": "new", "after": {"id": "1", "camera": "c", "start_time": 1751331600,'
            b' "top_score": true}}',
            "Trường score phải là một số.",
        ),
    ],
)
def test_a_malformed_frigate_event_is_refused(payload, detail):
    with pytest.raises(ingest.BadPayload) as refused:
        ingest.frigate_event(payload)
    assert refused.value.message == detail


def test_a_frigate_event_keeps_the_best_score_and_every_zone():
    event = ingest.frigate_event(
        json.dumps(
            {
                "type": "update",
                "after": {
                    "id": "1751331600.5-abc",
                    "camera": "cong_cho",
                    "label": "Person",
                    "score": 0.71,
                    "top_score": 0.88,
                    "start_time": 1751331600.5,
                    "end_time": None,
                    "entered_zones": ["duong"],
                    "current_zones": ["cong"],
                    "has_snapshot": True,
                    "box": [1, 2, 3, 4],
                },
            }
        ).encode()
    )
    assert (event.camera_name, event.event_id, event.kind) == (
        "cong_cho",
        "1751331600.5-abc",
        "update",
    )
    assert event.fields["score"] == 0.88
    assert event.fields["zones"] == ["cong", "duong"]
    assert event.fields["ended_at"] is None
    assert "box" not in event.fields["raw"]
    assert event.has_snapshot is True
