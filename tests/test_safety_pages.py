"""The officer pages of the safety command centre: who sees what, the incident workflow through
the pages, snapshots served only through an audited view, the one-click acknowledge link, the
live fragment of the command centre, exports readable back, and list pages pinned to a fixed
number of queries. Data is made through xaso.safety.actions, as cameras and officers make it."""

import csv
import datetime
import io
import json
import re

import cv2
import numpy as np
import openpyxl
import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from xaso.core.models import AuditEntry
from xaso.safety import actions, alerts
from xaso.safety.models import Camera, CitizenReport, DutyShift, Incident, Rule

ROOT = "/an-ninh/"


def _jpeg() -> bytes:
    frame = np.zeros((24, 32, 3), dtype=np.uint8)
    frame[:, :16] = (40, 110, 200)
    ok, encoded = cv2.imencode(".jpg", frame)
    assert ok
    return encoded.tobytes()


def _html(response) -> str:
    return response.content.decode()


def _camera(world, place, name="Cổng chợ", **values) -> Camera:
    camera, _token = actions.camera_register(
        place=place,
        values={"name": name, "latitude": "21.1", "longitude": "107.2", **values},
        by=world.users["admin"],
    )
    return camera


def _incident_from_camera(world, place, *, name="Ngã ba Đồng Tâm", source_id="ev-1", **rule):
    """A camera with a rule and one matching event with a snapshot: an open incident."""
    camera = _camera(world, place, name=name, is_black_spot=True)
    actions.rule_create(
        camera=camera,
        values={
            "label": "person",
            "min_score": 0.6,
            "category": "security",
            "severity": "high",
            **rule,
        },
        by=world.users["admin"],
    )
    event, _created = actions.event_ingest(
        camera=camera,
        source="webhook",
        source_id=source_id,
        label="person",
        score=0.91,
        zones=["cong"],
        started_at=timezone.now(),
        snapshot=_jpeg(),
    )
    event.refresh_from_db()
    assert event.incident is not None
    return event.incident, event


@pytest.fixture
def scene(world):
    """An incident from a camera in each commune (A1 and B1) and a hand-made one in A2."""
    incident_a, event_a = _incident_from_camera(world, world.a1)
    incident_b, event_b = _incident_from_camera(
        world, world.b1, name="Cầu Bên Kia", source_id="ev-b"
    )
    manual = actions.incident_report(
        place=world.a2,
        category="traffic_accident",
        title="Va chạm xe máy ở Tân Hợp",
        severity="medium",
        by=world.users["congan"],
    )
    return {
        "a": incident_a,
        "event_a": event_a,
        "b": incident_b,
        "event_b": event_b,
        "manual_a2": manual,
    }


# --- Who sees what ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("congan", 200),
        ("lanhdao", 200),
        ("truongthon", 200),
        ("canbo_b", 200),
        ("tinh", 200),
        ("admin", 200),
        ("nobody", 404),
        ("motcua", 404),
    ],
)
def test_the_command_centre_opens_for_safety_roles_only(client_as, scene, persona, status):
    response = client_as(persona).get(ROOT)
    assert response.status_code == status


def test_an_anonymous_visitor_is_sent_to_the_login_page(client, scene):
    response = client.get(ROOT)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.parametrize(
    ("persona", "sees_a", "sees_a2", "sees_b"),
    [
        ("congan", True, True, False),
        ("lanhdao", True, True, False),
        ("truongthon", True, False, False),  # her village only
        ("canbo_b", False, False, True),
        ("tinh", True, True, True),
    ],
)
def test_each_persona_sees_only_the_incidents_of_her_places(
    client_as, scene, persona, sees_a, sees_a2, sees_b
):
    html = _html(client_as(persona).get(ROOT))
    assert (scene["a"].title in html and scene["a"].place.name in html) == sees_a
    assert (scene["manual_a2"].title in html) == sees_a2
    assert (scene["b"].public_id in html) == sees_b
    for key, seen in (("a", sees_a), ("b", sees_b)):
        page = client_as(persona).get(f"{ROOT}su-co/{scene[key].public_id}/")
        assert page.status_code == (200 if seen else 404)


@pytest.mark.parametrize(
    "url",
    [
        lambda s: f"{ROOT}su-co/{s['b'].public_id}/",
        lambda s: f"{ROOT}camera/{s['b'].camera.public_id}/",
        lambda s: f"{ROOT}camera/{s['b'].camera.public_id}/sua/",
        lambda s: f"{ROOT}anh/{s['event_b'].pk}/",
        lambda s: f"{ROOT}quy-tac/{s['b'].rule.public_id}/sua/",
    ],
)
def test_a_foreign_id_answers_404_like_an_unknown_one(client_as, scene, url):
    client = client_as("congan")
    assert client.get(url(scene)).status_code == 404
    assert client.get(f"{ROOT}su-co/0000000000000000/").status_code == 404


def test_a_foreign_incident_cannot_be_acted_on_and_leaves_no_audit_row(client_as, scene):
    before = AuditEntry.objects.count()
    response = client_as("congan").post(f"{ROOT}su-co/{scene['b'].public_id}/buoc/acknowledge/")
    assert response.status_code == 404
    assert AuditEntry.objects.count() == before
    scene["b"].refresh_from_db()
    assert scene["b"].status == Incident.Status.NEW


def test_a_village_head_sees_an_incident_but_has_no_workflow_buttons(client_as, scene):
    client = client_as("truongthon")
    html = _html(client.get(f"{ROOT}su-co/{scene['a'].public_id}/"))
    assert scene["a"].title in html
    assert "buoc/acknowledge" not in html
    response = client.post(f"{ROOT}su-co/{scene['a'].public_id}/buoc/acknowledge/")
    assert response.status_code == 403
    scene["a"].refresh_from_db()
    assert scene["a"].status == Incident.Status.NEW


def test_the_menu_shows_the_safety_entry_to_safety_roles_only(client_as, scene):
    assert "An ninh trật tự" in _html(client_as("truongthon").get("/"))
    assert "An ninh trật tự" not in _html(client_as("motcua").get("/"))


# --- The incident page and its workflow ---------------------------------------------------------
def test_the_incident_page_explains_which_rule_fired_on_which_evidence(client_as, scene):
    html = _html(client_as("congan").get(f"{ROOT}su-co/{scene['a'].public_id}/"))
    assert "Vì sao mở vụ việc" in html
    table = html.split("Vì sao mở vụ việc")[1].split("</table>")[0]
    assert "Đối tượng" in table and "person" in table
    assert "Độ tin cậy tối thiểu" in table and "0.60" in table and "0.91" in table
    assert table.count("✓") == 3 and "✗" not in table
    event = scene["event_a"]
    assert event.source_id in html and "Webhook" in html
    assert f'src="{ROOT}anh/{event.pk}/"' in html  # the thumbnail goes through the view
    assert "/media/" not in html
    assert "Ngã ba Đồng Tâm" in html and "điểm đen" in html
    assert "Mở vụ việc" in html  # the timeline's first step


def test_an_officer_takes_an_incident_through_its_whole_workflow(client_as, world, scene):
    client = client_as("congan")
    incident = scene["a"]
    url = f"{ROOT}su-co/{incident.public_id}/"

    page = _html(client.get(url))
    for action in ("acknowledge", "dispatch", "resolve", "reject", "duplicate"):
        assert f"buoc/{action}/" in page
    assert "buoc/close/" not in page  # not from "new"

    assert client.post(f"{url}buoc/acknowledge/").status_code == 302
    response = client.post(f"{url}buoc/dispatch/", {"assignee": "congan", "note": "Tổ tuần tra 2"})
    assert response.status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.DISPATCHED
    assert incident.assignee == world.users["congan"]

    # Resolving needs a note: the page answers 400 with the error and nothing changes.
    response = client.post(f"{url}buoc/resolve/", {"note": ""})
    assert response.status_code == 400
    assert "This field is required" in _html(response) or "Trường này" in _html(response)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.DISPATCHED

    photo = SimpleUploadedFile("hien-truong.jpg", _jpeg(), content_type="image/jpeg")
    response = client.post(f"{url}ghi-chu/", {"note": "Đã có mặt", "photo": photo})
    assert response.status_code == 302
    assert client.post(f"{url}buoc/resolve/", {"note": "Đã giải tán"}).status_code == 302
    assert client.post(f"{url}buoc/close/").status_code == 302
    incident.refresh_from_db()
    assert incident.status == Incident.Status.CLOSED

    html = _html(client.get(url))
    for text in ("Tiếp nhận", "Điều lực lượng", "Tổ tuần tra 2", "Đã có mặt", "Đã giải tán"):
        assert text in html
    assert "Đã đóng" in html
    step = incident.steps.exclude(photo="").get()
    photo_url = f"{url}anh/{step.pk}/"
    assert photo_url in html
    response = client.get(photo_url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"\xff\xd8\xff")
    assert AuditEntry.objects.filter(verb="incident_photo.viewed", actor=world.users["congan"])
    verbs = set(
        AuditEntry.objects.filter(target_id=incident.public_id).values_list("verb", flat=True)
    )
    assert {"incident.acknowledge", "incident.dispatch", "incident.resolve"} <= verbs
    assert {"incident.close", "incident.noted"} <= verbs


def test_an_action_not_allowed_from_the_current_status_is_a_form_error(client_as, scene):
    url = f"{ROOT}su-co/{scene['a'].public_id}/"
    response = client_as("congan").post(f"{url}buoc/close/")
    assert response.status_code == 400
    assert "Không thể đóng vụ việc" in _html(response)
    assert client_as("congan").post(f"{url}buoc/fly-away/").status_code == 404


def test_dispatch_to_someone_without_the_right_is_refused(client_as, scene):
    url = f"{ROOT}su-co/{scene['a'].public_id}/buoc/dispatch/"
    response = client_as("congan").post(url, {"assignee": "canbo_b"})
    assert response.status_code == 400
    scene["a"].refresh_from_db()
    assert scene["a"].status == Incident.Status.NEW


def test_reject_needs_a_reason_and_duplicate_needs_an_incident_in_scope(client_as, scene):
    client = client_as("lanhdao")
    a, manual = scene["a"], scene["manual_a2"]
    assert client.post(f"{ROOT}su-co/{a.public_id}/buoc/reject/", {"note": " "}).status_code == 400
    response = client.post(
        f"{ROOT}su-co/{manual.public_id}/buoc/duplicate/", {"duplicate_of": scene["b"].public_id}
    )
    assert response.status_code == 400
    assert "Không tìm thấy vụ việc" in _html(response)
    response = client.post(
        f"{ROOT}su-co/{manual.public_id}/buoc/duplicate/", {"duplicate_of": a.public_id.lower()}
    )
    assert response.status_code == 302
    manual.refresh_from_db()
    assert manual.status == Incident.Status.DUPLICATE and manual.duplicate_of == a
    response = client.post(f"{ROOT}su-co/{a.public_id}/buoc/reject/", {"note": "Báo nhầm"})
    assert response.status_code == 302


def test_holding_evidence_is_recorded_and_can_be_released(client_as, scene):
    client = client_as("congan")
    url = f"{ROOT}su-co/{scene['a'].public_id}/bang-chung/"
    assert client.post(url, {"hold": "1"}).status_code == 302
    scene["a"].refresh_from_db()
    assert scene["a"].on_hold
    assert "Bỏ giữ bằng chứng" in _html(client.get(f"{ROOT}su-co/{scene['a'].public_id}/"))
    assert client.post(url, {"hold": "0"}).status_code == 302
    scene["a"].refresh_from_db()
    assert not scene["a"].on_hold
    assert client.post(url, {"hold": "maybe"}).status_code == 302  # ignored, with a message
    assert not Incident.objects.get(pk=scene["a"].pk).on_hold


def test_an_officer_opens_an_incident_by_hand(client_as, world):
    client = client_as("congan")
    assert client.get(f"{ROOT}su-co/moi/").status_code == 200
    response = client.post(
        f"{ROOT}su-co/moi/",
        {
            "place": world.a1.code,
            "category": "fire",
            "severity": "critical",
            "title": "Cháy rơm ở Đồng Tâm",
            "latitude": "21,05",
            "longitude": "107.1",
        },
    )
    assert response.status_code == 302
    incident = Incident.objects.get(title="Cháy rơm ở Đồng Tâm")
    assert response["Location"] == f"{ROOT}su-co/{incident.public_id}/"
    assert str(incident.latitude) == "21.050000"
    assert incident.severity == "critical" and incident.place == world.a1


@pytest.mark.parametrize(
    "change",
    [
        {"title": ""},
        {"category": "alien"},
        {"latitude": "bắc"},
        {"latitude": "95"},
        {"place": "99999"},
    ],
)
def test_bad_input_on_the_new_incident_form_is_a_400_with_errors(client_as, world, change):
    body = {"place": world.a1.code, "category": "fire", "severity": "low", "title": "Cháy"}
    response = client_as("congan").post(f"{ROOT}su-co/moi/", {**body, **change})
    assert response.status_code == 400
    assert 'role="alert"' in _html(response)
    assert not Incident.objects.filter(title="Cháy").exists()


def test_a_foreign_place_cannot_be_chosen_for_a_new_incident(client_as, world):
    body = {"place": world.b1.code, "category": "fire", "severity": "low", "title": "Cháy B"}
    response = client_as("congan").post(f"{ROOT}su-co/moi/", body)
    assert response.status_code == 400
    assert not Incident.objects.filter(title="Cháy B").exists()
    assert client_as("truongthon").get(f"{ROOT}su-co/moi/").status_code == 404


# --- Snapshots ----------------------------------------------------------------------------------
def test_a_snapshot_is_served_through_the_view_and_every_view_is_audited(client_as, world, scene):
    event = scene["event_a"]
    client = client_as("lanhdao")
    for expected in (1, 2):
        response = client.get(f"{ROOT}anh/{event.pk}/")
        assert response.status_code == 200
        assert response["Content-Type"] == "image/jpeg"
        assert "no-store" in response["Cache-Control"]
        assert b"".join(response.streaming_content) == event.snapshot.open("rb").read()
        rows = AuditEntry.objects.filter(verb="snapshot.viewed", actor=world.users["lanhdao"])
        assert rows.count() == expected
    row = rows.first()
    assert row.place_path == world.a1.path and row.target_id == str(event.pk)
    assert row.changes["incident"] == scene["a"].public_id


@pytest.mark.parametrize("persona", ["truongthon", "tinh", "canbo_b", "nobody"])
def test_roles_without_snapshot_rights_are_refused_and_leave_no_audit_row(
    client_as, scene, persona
):
    response = client_as(persona).get(f"{ROOT}anh/{scene['event_a'].pk}/")
    assert response.status_code == 404
    assert not AuditEntry.objects.filter(verb="snapshot.viewed").exists()


def test_the_village_head_sees_no_thumbnail_on_the_incident_page(client_as, scene):
    html = _html(client_as("truongthon").get(f"{ROOT}su-co/{scene['a'].public_id}/"))
    assert f"{ROOT}anh/" not in html
    assert "có ảnh" in html


def test_snapshots_are_not_reachable_under_media(client_as, scene):
    name = scene["event_a"].snapshot.name
    assert client_as("congan").get(f"{settings.MEDIA_URL}{name}").status_code == 404


# --- Acknowledge from a notification ------------------------------------------------------------
def test_the_ack_link_shows_a_confirm_page_and_post_acknowledges_as_its_user(client, world, scene):
    incident = scene["a"]
    token = alerts.ack_token(incident, world.users["congan"])
    url = f"{ROOT}xac-nhan/{token}/"
    page = client.get(url)  # no login
    assert page.status_code == 200
    assert incident.title in _html(page) and "Xác nhận tiếp nhận" in _html(page)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.NEW  # a GET changes nothing

    client.handler.enforce_csrf_checks = True  # no CSRF token: the signature is the proof
    response = client.post(url)
    assert response.status_code == 200
    assert "đã tiếp nhận vụ việc" in _html(response)
    incident.refresh_from_db()
    assert incident.status == Incident.Status.ACKNOWLEDGED
    row = AuditEntry.objects.get(verb="incident.acknowledge", target_id=incident.public_id)
    assert row.actor == world.users["congan"]

    again = client.post(url)
    assert again.status_code == 200
    assert "Đã tiếp nhận" in _html(again) and "không cần xác nhận lại" in _html(again)
    assert AuditEntry.objects.filter(verb="incident.acknowledge").count() == 1


@pytest.mark.parametrize("tamper", [lambda t: t[:-2] + "xx", lambda t: "abc", lambda t: t + "1"])
def test_a_tampered_ack_link_is_refused(client, world, scene, tamper):
    token = alerts.ack_token(scene["a"], world.users["congan"])
    response = client.post(f"{ROOT}xac-nhan/{tamper(token)}/")
    assert response.status_code == 400
    assert "không hợp lệ" in _html(response)
    scene["a"].refresh_from_db()
    assert scene["a"].status == Incident.Status.NEW


def test_an_ack_link_signed_for_someone_out_of_scope_is_a_404(client, world, scene):
    token = alerts.ack_token(scene["a"], world.users["canbo_b"])
    assert client.post(f"{ROOT}xac-nhan/{token}/").status_code == 404
    scene["a"].refresh_from_db()
    assert scene["a"].status == Incident.Status.NEW


# --- The live command centre --------------------------------------------------------------------
def _cursor(html: str) -> str:
    return re.search(r'data-cursor="([^"]+)"', html).group(1)


def test_the_live_fragment_returns_new_incidents_after_the_cursor(client_as, world, scene):
    client = client_as("congan")
    page = _html(client.get(ROOT))
    cursor = _cursor(page)
    assert 'hx-trigger="every 3s"' in page

    unchanged = client.get(f"{ROOT}truc-tiep/", {"since": cursor})
    assert unchanged.status_code == 204 and unchanged.content == b""

    # Something in commune B changes nothing for an officer of A.
    actions.incident_report(
        place=world.b1, category="fire", title="Cháy ở B", by=world.users["canbo_b"]
    )
    assert client.get(f"{ROOT}truc-tiep/", {"since": cursor}).status_code == 204

    new = actions.incident_report(
        place=world.a1, category="security", title="Đánh nhau ở chợ", by=world.users["congan"]
    )
    response = client.get(f"{ROOT}truc-tiep/", {"since": cursor})
    assert response.status_code == 200
    fragment = _html(response)
    assert fragment.lstrip().startswith('<section id="live"')
    assert "<html" not in fragment
    assert new.title in fragment and "Cháy ở B" not in fragment
    assert fragment.index(new.title) < fragment.index(scene["a"].title)  # newest first
    assert _cursor(fragment) != cursor
    assert client.get(f"{ROOT}truc-tiep/", {"since": _cursor(fragment)}).status_code == 204

    # A change of status also shows.
    actions.incident_transition(incident=new, action="acknowledge", by=world.users["congan"])
    assert client.get(f"{ROOT}truc-tiep/", {"since": _cursor(fragment)}).status_code == 200


def test_the_command_centre_filters_by_status_category_severity_and_village(
    client_as, world, scene
):
    client = client_as("congan")
    html = _html(client.get(ROOT, {"severity": "high"}))
    assert scene["a"].title in html and scene["manual_a2"].title not in html
    html = _html(client.get(ROOT, {"village": world.a2.code}))
    assert scene["manual_a2"].title in html and scene["a"].title not in html
    html = _html(client.get(ROOT, {"category": "traffic_accident"}))
    assert scene["manual_a2"].title in html and scene["a"].title not in html
    actions.incident_transition(
        incident=scene["manual_a2"], action="resolve", note="xong", by=world.users["congan"]
    )
    assert scene["manual_a2"].title not in _html(client.get(ROOT))  # open only, by default
    assert scene["manual_a2"].title in _html(client.get(ROOT, {"status": "all"}))
    assert scene["manual_a2"].title in _html(client.get(ROOT, {"status": "resolved"}))
    live = client.get(f"{ROOT}truc-tiep/", {"village": world.a2.code, "status": "all"})
    assert scene["manual_a2"].title in _html(live)


@pytest.mark.parametrize(
    "query", [{"status": "burning"}, {"severity": "9"}, {"village": "nowhere"}]
)
def test_a_bad_filter_is_a_400_with_an_error(client_as, world, scene, query):
    response = client_as("congan").get(ROOT, query)
    assert response.status_code == 400
    assert 'role="alert"' in _html(response)


def test_a_foreign_village_is_not_a_valid_filter(client_as, world, scene):
    assert client_as("congan").get(ROOT, {"village": world.b1.code}).status_code == 400


def test_the_map_data_holds_cameras_and_incidents_with_a_black_spot(client_as, scene):
    html = _html(client_as("congan").get(ROOT))
    data = json.loads(html.split('id="map-data" type="application/json">')[1].split("</script>")[0])
    names = {camera["name"]: camera for camera in data["cameras"]}
    assert names["Ngã ba Đồng Tâm"]["black_spot"] is True
    assert "Cầu Bên Kia" not in names
    assert {incident["severity"] for incident in data["incidents"]} == {"high"}
    assert "leaflet/leaflet.js" in html
    assert "tile.openstreetmap" not in html  # tiles only when XASO_MAP_TILES is set


def test_the_command_centre_weighs_little(client_as, scene):
    response = client_as("congan").get(ROOT)
    assert len(response.content) < 40_000


# --- Cameras, rules, duty shifts ----------------------------------------------------------------
def test_an_officer_registers_a_household_camera_and_sees_its_token_once(client_as, world):
    client = client_as("congan")
    household = world.household("Nguyễn Văn An")
    assert client.get(f"{ROOT}camera/them/").status_code == 200
    options = _html(client.get(f"{ROOT}camera/ho-gia-dinh/", {"q": "Nguyễn Văn"}))
    assert household.public_id in options and "Phạm Thị Dung" not in options
    body = {
        "name": "Camera nhà ông An",
        "place": world.a1.code,
        "owner_kind": "household",
        "owner_household": household.public_id,
        "consent_given_by": "Nguyễn Văn An",
        "consent_given_on": "01/03/2026",
        "has_signage": "on",
        "privacy_notes": "Không quay vào sân nhà bên.",
        "latitude": "21.2",
        "longitude": "107.3",
        "frigate_name": "nha_ong_an",
        "stream_url": "rtsp://admin:matkhau-bi-mat@10.0.0.5/sub",
        "credentials": "admin:matkhau-bi-mat",
        "zones": '[{"name": "cong", "polygon": [[0,0],[1,0],[1,1]]}]',
        "heartbeat_seconds": "120",
    }
    response = client.post(f"{ROOT}camera/them/", body)
    assert response.status_code == 302, _html(response)
    camera = Camera.objects.get(name="Camera nhà ông An")
    assert camera.owner_household == household and camera.has_signage
    assert camera.consent_given_on == datetime.date(2026, 3, 1)
    assert camera.zones[0]["name"] == "cong"

    first = _html(client.get(response["Location"]))
    token = re.search(r'id="camera-token">([^<]+)<', first).group(1)
    assert actions.camera_token_matches(camera, token)
    second = _html(client.get(response["Location"]))
    assert token not in second and 'id="camera-token"' not in second

    edit = _html(client.get(f"{ROOT}camera/{camera.public_id}/sua/"))
    assert "matkhau-bi-mat" not in edit and "rtsp://" not in edit  # write-only
    assert "matkhau-bi-mat" not in first


def test_a_household_camera_without_consent_is_a_form_error(client_as, world):
    body = {
        "name": "Camera thiếu đồng ý",
        "place": world.a1.code,
        "owner_kind": "household",
        "owner_household": world.household("Nguyễn Văn An").public_id,
        "heartbeat_seconds": "300",
    }
    response = client_as("congan").post(f"{ROOT}camera/them/", body)
    assert response.status_code == 400
    assert "người đồng ý" in _html(response)
    assert not Camera.objects.filter(name="Camera thiếu đồng ý").exists()


@pytest.mark.parametrize(
    "change",
    [{"zones": "{không phải json"}, {"heartbeat_seconds": "5"}, {"place": ""}, {"latitude": "x"}],
)
def test_bad_camera_input_is_a_400(client_as, world, change):
    body = {"name": "Camera lỗi", "place": world.a1.code, "owner_kind": "commune"}
    response = client_as("congan").post(
        f"{ROOT}camera/them/", {**body, "heartbeat_seconds": "300", **change}
    )
    assert response.status_code == 400
    assert not Camera.objects.filter(name="Camera lỗi").exists()


def test_editing_a_camera_keeps_the_stream_when_left_blank_and_rotating_changes_the_token(
    client_as, world
):
    client = client_as("congan")
    camera, old_token = actions.camera_register(
        place=world.a1,
        values={"name": "Cổng trường", "stream_url": "rtsp://x/1"},
        by=world.users["congan"],
    )
    stream = camera.stream_url_encrypted
    body = {
        "name": "Cổng trường THCS",
        "place": world.a2.code,
        "owner_kind": "commune",
        "heartbeat_seconds": "300",
        "is_black_spot": "on",
    }
    assert client.post(f"{ROOT}camera/{camera.public_id}/sua/", body).status_code == 302
    camera.refresh_from_db()
    assert camera.name == "Cổng trường THCS" and camera.place == world.a2 and camera.is_black_spot
    assert camera.stream_url_encrypted == stream

    response = client.post(f"{ROOT}camera/{camera.public_id}/ma-ket-noi/")
    assert response.status_code == 302
    token = re.search(r'id="camera-token">([^<]+)<', _html(client.get(response["Location"])))
    camera.refresh_from_db()
    assert actions.camera_token_matches(camera, token.group(1))
    assert not actions.camera_token_matches(camera, old_token)


def test_only_camera_managers_register_cameras(client_as, scene):
    for persona in ("lanhdao", "truongthon", "tinh"):
        client = client_as(persona)
        assert client.get(f"{ROOT}camera/them/").status_code == 404
        assert client.get(f"{ROOT}camera/").status_code == 200
        camera = scene["a"].camera
        if persona != "tinh":
            assert client.get(f"{ROOT}camera/{camera.public_id}/sua/").status_code == 404
            rotate = client.post(f"{ROOT}camera/{camera.public_id}/ma-ket-noi/")
            assert rotate.status_code == 404


def test_an_officer_adds_and_edits_a_rule(client_as, scene):
    client = client_as("congan")
    camera = scene["a"].camera
    body = {
        "name": "Xe đỗ sai",
        "category": "traffic_violation",
        "severity": "low",
        "label": "Car",
        "zone": "le-duong",
        "min_score": "0,7",
        "min_duration_seconds": "60",
        "hour_from": "22",
        "hour_to": "5",
        "min_count": "1",
        "window_minutes": "15",
        "is_active": "on",
    }
    assert client.post(f"{ROOT}camera/{camera.public_id}/quy-tac/them/", body).status_code == 302
    rule = Rule.objects.get(name="Xe đỗ sai")
    assert rule.label == "car" and rule.min_score == 0.7 and rule.hour_from == 22
    response = client.post(
        f"{ROOT}quy-tac/{rule.public_id}/sua/", {**body, "severity": "high", "is_active": ""}
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.severity == "high" and not rule.is_active
    bad = client.post(f"{ROOT}quy-tac/{rule.public_id}/sua/", {**body, "min_score": "2"})
    assert bad.status_code == 400
    assert "Xe đỗ sai" in _html(client.get(f"{ROOT}camera/{camera.public_id}/"))


def test_duty_shifts_are_listed_and_added_by_camera_managers(client_as, world):
    client = client_as("congan")
    body = {
        "user": "congan",
        "place": world.commune_a.code,
        "starts_at": "01/03/2026 07:00",
        "ends_at": "01/03/2026 19:00",
    }
    assert client.post(f"{ROOT}lich-truc/", body).status_code == 302
    shift = DutyShift.objects.get(user=world.users["congan"])
    assert timezone.localtime(shift.starts_at).hour == 7
    assert "07:00 01/03/2026" in _html(client.get(f"{ROOT}lich-truc/"))
    reversed_body = {**body, "ends_at": "01/03/2026 06:00"}
    assert client.post(f"{ROOT}lich-truc/", reversed_body).status_code == 400
    assert client.post(f"{ROOT}lich-truc/", {**body, "user": "motcua"}).status_code == 400
    assert client.post(f"{ROOT}lich-truc/", {**body, "starts_at": "mai"}).status_code == 400
    assert "07:00 01/03/2026" in _html(client_as("lanhdao").get(f"{ROOT}lich-truc/"))
    assert client_as("lanhdao").post(f"{ROOT}lich-truc/", body).status_code == 403
    assert "07:00 01/03/2026" not in _html(client_as("canbo_b").get(f"{ROOT}lich-truc/"))


# --- Statistics and exports ---------------------------------------------------------------------
def test_statistics_count_by_place_category_and_month_with_an_svg_chart(client_as, scene):
    html = _html(client_as("congan").get(f"{ROOT}thong-ke/"))
    assert "<svg" in html and "<rect" in html
    assert "An ninh trật tự" in html and "Tai nạn giao thông" in html
    assert "Thôn Đồng Tâm" in html and "Thôn Bên Kia" not in html
    assert "Ngã ba Đồng Tâm" in html  # the black-spot camera
    assert "<script" not in html.split("<main>")[1]


def test_a_bad_date_range_is_a_400(client_as, scene):
    client = client_as("congan")
    assert client.get(f"{ROOT}thong-ke/", {"since": "31/02/2026"}).status_code == 400
    response = client.get(f"{ROOT}thong-ke/", {"since": "10/03/2026", "until": "01/03/2026"})
    assert response.status_code == 400
    assert client.get(f"{ROOT}thong-ke/xuat.csv", {"until": "hôm qua"}).status_code == 400
    assert client.get(f"{ROOT}thong-ke/xuat.pdf").status_code == 404


def test_the_csv_export_reads_back_with_vietnamese_headers_and_is_audited(client_as, world, scene):
    response = client_as("congan").get(f"{ROOT}thong-ke/xuat.csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0][:4] == ["Mã vụ việc", "Ngày", "Giờ", "Loại"]
    ids = {row[0] for row in rows[1:]}
    assert ids == {scene["a"].public_id, scene["manual_a2"].public_id}
    row = next(row for row in rows if row[0] == scene["a"].public_id)
    opened = timezone.localtime(scene["a"].opened_at)
    assert row[1] == f"{opened:%d/%m/%Y}" and row[2] == f"{opened:%H:%M}"
    assert row[3] == "An ninh trật tự" and row[4] == "Cao" and row[9] == "Có"
    audit = AuditEntry.objects.get(verb="incidents.exported")
    assert audit.actor == world.users["congan"] and audit.place_path == world.commune_a.path
    assert audit.changes["rows"] == 2 and audit.changes["format"] == "csv"


def test_the_xlsx_export_opens_in_openpyxl_with_real_dates(client_as, world, scene):
    today = timezone.localdate()
    response = client_as("tinh").get(
        f"{ROOT}thong-ke/xuat.xlsx", {"since": f"{today:%d/%m/%Y}", "until": f"{today:%d/%m/%Y}"}
    )
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    values = list(sheet.values)
    assert values[0][0] == "Mã vụ việc" and values[0][1] == "Ngày"
    assert {row[0] for row in values[1:]} == {
        scene["a"].public_id,
        scene["b"].public_id,
        scene["manual_a2"].public_id,
    }
    assert sheet["B2"].number_format == "dd/mm/yyyy"
    assert sheet["B2"].value.date() == today
    assert AuditEntry.objects.get(verb="incidents.exported").changes["format"] == "xlsx"
    earlier = today - datetime.timedelta(days=40)
    empty = client_as("tinh").get(f"{ROOT}thong-ke/xuat.xlsx", {"until": f"{earlier:%d/%m/%Y}"})
    assert openpyxl.load_workbook(io.BytesIO(empty.content)).active.max_row == 1


def test_a_formula_in_a_description_stays_text_in_the_export(client_as, world):
    actions.incident_report(
        place=world.a1,
        category="other",
        title='=HYPERLINK("http://x")',
        description="+cmd",
        by=world.users["congan"],
    )
    response = client_as("congan").get(f"{ROOT}thong-ke/xuat.xlsx")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    titles = [row[6] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert '\'=HYPERLINK("http://x")' in titles


# --- Citizen reports ----------------------------------------------------------------------------
def _report(world, place, text="Đèn đường hỏng, tối om") -> CitizenReport:
    return CitizenReport.objects.create(place=place, service_code="other", description=text)


def test_officers_list_reports_of_their_places_and_open_an_incident_from_one(client_as, world):
    mine, foreign = _report(world, world.a1), _report(world, world.b1, "Ở xã B")
    client = client_as("congan")
    html = _html(client.get(f"{ROOT}phan-anh/"))
    assert mine.public_id in html and foreign.public_id not in html
    assert f"phan-anh/{mine.public_id}/mo-vu-viec/" in html
    response = client.post(
        f"{ROOT}phan-anh/{mine.public_id}/mo-vu-viec/", {"category": "other", "severity": "low"}
    )
    assert response.status_code == 302
    mine.refresh_from_db()
    assert mine.incident is not None
    assert response["Location"] == f"{ROOT}su-co/{mine.incident.public_id}/"
    assert client.post(f"{ROOT}phan-anh/{foreign.public_id}/mo-vu-viec/").status_code == 404


def test_a_report_is_linked_to_an_incident_and_closed(client_as, world, scene):
    report = _report(world, world.a1)
    client = client_as("congan")
    response = client.post(
        f"{ROOT}phan-anh/{report.public_id}/gan/", {"incident": scene["b"].public_id}
    )
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.incident is None  # a foreign incident is not found
    client.post(f"{ROOT}phan-anh/{report.public_id}/gan/", {"incident": scene["a"].public_id})
    report.refresh_from_db()
    assert report.incident == scene["a"]
    html = _html(client.get(f"{ROOT}su-co/{scene['a'].public_id}/"))
    assert report.public_id in html
    client.post(f"{ROOT}phan-anh/{report.public_id}/dong/", {"note": "Đã thay bóng đèn"})
    report.refresh_from_db()
    assert report.status == CitizenReport.Status.CLOSED
    assert report.status_notes == "Đã thay bóng đèn"


def test_a_village_head_reads_reports_but_cannot_handle_them(client_as, world):
    report = _report(world, world.a1)
    client = client_as("truongthon")
    html = _html(client.get(f"{ROOT}phan-anh/"))
    assert report.public_id in html and "mo-vu-viec" not in html
    assert client.post(f"{ROOT}phan-anh/{report.public_id}/dong/", {"note": "x"}).status_code == 403


# --- Query counts -------------------------------------------------------------------------------
def _many(world, count=30):
    camera = _camera(world, world.a1, name="Camera đếm")
    for index in range(count):
        actions.incident_report(
            place=world.a1 if index % 2 else world.a2,
            category="security",
            title=f"Vụ việc số {index}",
            latitude="21.1",
            longitude="107.1",
            by=world.users["congan"],
        )
        actions.camera_register(
            place=world.a1, values={"name": f"Camera {index}"}, by=world.users["admin"]
        )
        _report(world, world.a1, f"Phản ánh {index}")
        actions.duty_shift_add(
            user=world.users["congan"],
            place=world.commune_a,
            starts_at=timezone.now() + datetime.timedelta(days=index),
            ends_at=timezone.now() + datetime.timedelta(days=index, hours=8),
            by=world.users["admin"],
        )
    return camera


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        (ROOT, 9),
        (f"{ROOT}truc-tiep/?since=x", 7),
        (f"{ROOT}camera/", 7),
        (f"{ROOT}phan-anh/", 5),
        (f"{ROOT}lich-truc/", 8),
        (f"{ROOT}thong-ke/", 8),
    ],
)
def test_list_pages_have_a_fixed_number_of_queries(
    client_as, world, django_assert_num_queries, url, queries
):
    client = client_as("congan")
    _many(world)
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200


def test_an_unchanged_poll_costs_few_queries(client_as, world, django_assert_num_queries):
    client = client_as("congan")
    _many(world, 5)
    cursor = _cursor(_html(client.get(ROOT)))
    # Session, user, memberships and the two aggregates of the cursor.
    with django_assert_num_queries(5):
        assert client.get(f"{ROOT}truc-tiep/", {"since": cursor}).status_code == 204
