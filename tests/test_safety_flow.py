"""Cameras, rules, events and incidents through the actions and the API (issue 5)."""

import datetime
import threading

import pytest
from django.db import connection
from django.utils import timezone

from tests import safety_data
from tests.safety_data import frigate_event, jpeg
from xaso.core import clock
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.models import AuditEntry
from xaso.safety import actions, alerts
from xaso.safety.models import Camera, CameraEvent, DutyShift, Incident, IncidentStep


@pytest.fixture
def safety(world):
    return safety_data.build(world)


# --- Cameras ----------------------------------------------------------------------------------
def test_a_stream_url_is_stored_encrypted_and_read_back_only_by_the_detector(safety):
    stored = Camera.objects.get(pk=safety.crossroad.pk).stream_url_encrypted
    assert "matkhau" not in stored
    assert actions.camera_stream_url(safety.crossroad) == "rtsp://admin:matkhau@10.0.0.5/stream1"


def test_a_household_camera_without_consent_is_refused(world):
    with pytest.raises(InvalidInput) as refused:
        actions.camera_register(
            place=world.a2,
            values={
                "name": "Camera nhà bà Bình",
                "owner_kind": "household",
                "owner_household": world.household("Lê Văn Cường"),
            },
            by=world.users["congan"],
        )
    assert refused.value.field == "consent_given_by"
    assert not Camera.objects.filter(name="Camera nhà bà Bình").exists()


def test_a_police_officer_cannot_register_a_camera_in_another_commune(world):
    with pytest.raises(InvalidInput, match="ngoài phạm vi"):
        actions.camera_register(place=world.b1, values={"name": "X"}, by=world.users["congan"])


def test_two_cameras_cannot_share_a_frigate_name(world, safety):
    with pytest.raises(InvalidInput, match="đã được dùng"):
        actions.camera_register(
            place=world.a1,
            values={"name": "Khác", "frigate_name": "nga_tu"},
            by=world.users["admin"],
        )


def test_zones_outside_the_frame_are_refused(world):
    with pytest.raises(InvalidInput, match="tỉ lệ"):
        actions.camera_register(
            place=world.a1,
            values={"name": "Z", "zones": [{"name": "a", "polygon": [[0, 0], [2, 0], [1, 1]]}]},
            by=world.users["admin"],
        )


def test_the_camera_token_matches_only_its_camera(safety):
    assert actions.camera_token_matches(safety.crossroad, safety.tokens["crossroad"])
    assert not actions.camera_token_matches(safety.crossroad, safety.tokens["b"])
    assert not actions.camera_token_matches(safety.crossroad, "")


# --- Events and rules -------------------------------------------------------------------------
def test_an_event_delivered_three_times_is_stored_once_with_its_end_and_best_score(safety):
    start = timezone.now()
    frigate_event(safety.crossroad, "1700000000.1-abc", score=0.7, started_at=start)
    frigate_event(safety.crossroad, "1700000000.1-abc", score=0.9, started_at=start)
    event, created = frigate_event(
        safety.crossroad,
        "1700000000.1-abc",
        score=0.8,
        started_at=start,
        ended_at=start + datetime.timedelta(seconds=12),
        snapshot=jpeg(),
    )
    assert not created
    assert CameraEvent.objects.filter(source_id="1700000000.1-abc").count() == 1
    event.refresh_from_db()
    assert event.score == 0.9
    assert event.duration_seconds == 12
    assert event.snapshot.read().startswith(b"\xff\xd8")


def test_a_matching_event_opens_an_incident_that_says_which_rule_fired_on_what(safety):
    event, _created = frigate_event(safety.crossroad, "ev-1", score=0.75, zones=["via_he"])
    event.refresh_from_db()
    incident = event.incident
    assert incident.category == "security" and incident.severity == "high"
    assert incident.rule == safety.person_rule
    assert incident.place == safety.crossroad.place
    checks = {check["name"]: check for check in incident.explanation["checks"]}
    assert checks["label"]["actual"] == "person" and checks["label"]["ok"]
    assert checks["min_score"] == {
        "name": "min_score",
        "expected": "0.60",
        "actual": "0.75",
        "ok": True,
    }
    assert incident.explanation["event"]["source_id"] == "ev-1"


def test_an_event_below_the_score_or_of_another_label_opens_nothing(safety):
    frigate_event(safety.crossroad, "weak", score=0.4)
    frigate_event(safety.crossroad, "car", label="car", score=0.95)
    assert not Incident.objects.exists()
    assert CameraEvent.objects.filter(incident__isnull=True).count() == 2


def test_repeated_events_inside_the_window_join_the_same_incident(safety):
    now = timezone.now()
    frigate_event(safety.crossroad, "a", started_at=now)
    frigate_event(safety.crossroad, "b", started_at=now + datetime.timedelta(minutes=3))
    frigate_event(safety.crossroad, "c", started_at=now + datetime.timedelta(minutes=20))
    incidents = list(Incident.objects.order_by("opened_at"))
    assert len(incidents) == 2
    assert sorted(incidents[0].events.values_list("source_id", flat=True)) == ["a", "b"]
    assert list(incidents[1].events.values_list("source_id", flat=True)) == ["c"]


def test_a_minimum_duration_fires_only_once_the_event_has_lasted(world, safety):
    actions.rule_create(
        camera=safety.household_camera,
        values={"label": "car", "min_duration_seconds": 60, "category": "traffic_violation"},
        by=world.users["admin"],
    )
    start = timezone.now() - datetime.timedelta(seconds=5)
    frigate_event(safety.household_camera, "park", label="car", started_at=start)
    assert not Incident.objects.exists()
    frigate_event(
        safety.household_camera,
        "park",
        label="car",
        started_at=start,
        ended_at=start + datetime.timedelta(seconds=90),
    )
    assert Incident.objects.get().category == "traffic_violation"


def test_hours_of_day_wrap_past_midnight(world, safety):
    actions.rule_create(
        camera=safety.household_camera,
        values={"label": "person", "hour_from": 22, "hour_to": 5, "category": "security"},
        by=world.users["admin"],
    )
    local = timezone.get_current_timezone()
    noon = datetime.datetime(2026, 11, 20, 12, 0, tzinfo=local)
    night = datetime.datetime(2026, 11, 20, 23, 30, tzinfo=local)
    frigate_event(safety.household_camera, "day", started_at=noon)
    assert not Incident.objects.exists()
    frigate_event(safety.household_camera, "night", started_at=night)
    incident = Incident.objects.get()
    hours = next(c for c in incident.explanation["checks"] if c["name"] == "hours")
    assert hours["expected"] == "22h–05h" and hours["actual"] == "23h"


def test_crowding_needs_the_count_threshold_inside_the_window(world, safety):
    actions.rule_create(
        camera=safety.household_camera,
        values={"label": "person", "min_count": 3, "window_minutes": 5, "category": "crowding"},
        by=world.users["admin"],
    )
    now = timezone.now()
    for index in range(2):
        frigate_event(
            safety.household_camera, f"p{index}", started_at=now + datetime.timedelta(seconds=index)
        )
    assert not Incident.objects.exists()
    frigate_event(safety.household_camera, "p2", started_at=now + datetime.timedelta(seconds=9))
    assert Incident.objects.get().category == "crowding"


def test_an_event_without_an_id_or_with_a_bad_snapshot_is_refused_and_nothing_is_written(safety):
    with pytest.raises(InvalidInput):
        frigate_event(safety.crossroad, "  ")
    with pytest.raises(InvalidInput, match="JPEG"):
        frigate_event(safety.crossroad, "x", snapshot=b"GIF89a not a jpeg")
    with pytest.raises(InvalidInput):
        frigate_event(safety.crossroad, "y", score=7)
    assert not CameraEvent.objects.exists()


def test_an_event_marks_the_camera_online(safety):
    frigate_event(safety.crossroad, "seen", score=0.1)
    safety.crossroad.refresh_from_db()
    assert safety.crossroad.status == Camera.Status.ONLINE
    assert safety.crossroad.last_seen_at is not None


# --- Heartbeats, escalation, retention ------------------------------------------------------
def test_a_camera_silent_past_its_heartbeat_becomes_a_camera_fault_once(safety):
    actions.camera_heartbeat(camera=safety.crossroad)
    later = timezone.now() + datetime.timedelta(seconds=301)
    assert actions.cameras_check_heartbeats(now=later) == 1
    assert actions.cameras_check_heartbeats(now=later) == 0
    safety.crossroad.refresh_from_db()
    assert safety.crossroad.status == Camera.Status.OFFLINE
    fault = Incident.objects.get(category="camera_fault")
    assert fault.camera == safety.crossroad and fault.status == "new"


def test_a_camera_reported_offline_twice_opens_one_fault(safety):
    actions.camera_status_report(camera=safety.crossroad, online=False)
    actions.camera_status_report(camera=safety.crossroad, online=False)
    assert Incident.objects.filter(category="camera_fault").count() == 1
    actions.camera_status_report(camera=safety.crossroad, online=True)
    safety.crossroad.refresh_from_db()
    assert safety.crossroad.status == Camera.Status.ONLINE


def test_an_unacknowledged_incident_escalates_to_the_leader_then_the_province(safety, settings):
    settings.XASO_ESCALATION_MINUTES = "high:10"
    frigate_event(safety.crossroad, "esc")
    incident = Incident.objects.get()
    assert actions.incidents_escalate(now=incident.opened_at + datetime.timedelta(minutes=9)) == 0
    assert actions.incidents_escalate(now=incident.opened_at + datetime.timedelta(minutes=11)) == 1
    assert actions.incidents_escalate(now=incident.opened_at + datetime.timedelta(minutes=15)) == 0
    assert actions.incidents_escalate(now=incident.opened_at + datetime.timedelta(minutes=21)) == 1
    incident.refresh_from_db()
    assert incident.escalation_level == 2
    assert incident.steps.filter(action="escalated").count() == 2


def test_an_acknowledged_incident_does_not_escalate(world, safety, settings):
    settings.XASO_ESCALATION_MINUTES = "high:10"
    frigate_event(safety.crossroad, "ack")
    incident = Incident.objects.get()
    actions.incident_transition(incident=incident, action="acknowledge", by=world.users["congan"])
    assert actions.incidents_escalate(now=timezone.now() + datetime.timedelta(hours=1)) == 0


def test_old_snapshots_are_deleted_unless_their_incident_is_on_hold(world, safety):
    old = timezone.now() - datetime.timedelta(days=31)
    kept, _ = frigate_event(safety.crossroad, "kept", started_at=old, snapshot=jpeg())
    gone, _ = frigate_event(safety.crossroad, "gone", label="car", started_at=old, snapshot=jpeg())
    kept.refresh_from_db()
    actions.incident_hold(incident=kept.incident, hold=True, by=world.users["congan"])
    gone_path = gone.snapshot.path
    assert actions.snapshots_purge() == 1
    gone.refresh_from_db()
    kept.refresh_from_db()
    assert not gone.snapshot and gone.snapshot_deleted_at is not None
    assert kept.snapshot
    import os

    assert not os.path.exists(gone_path)


# --- Workflow ----------------------------------------------------------------------------------
def test_the_workflow_runs_new_acknowledged_dispatched_resolved_closed(world, safety):
    frigate_event(safety.crossroad, "wf")
    incident = Incident.objects.get()
    police = world.users["congan"]
    actions.incident_transition(incident=incident, action="acknowledge", by=police)
    actions.incident_transition(incident=incident, action="dispatch", by=police, assignee=police)
    with pytest.raises(InvalidInput):
        actions.incident_transition(incident=incident, action="resolve", by=police)
    actions.incident_transition(incident=incident, action="resolve", by=police, note="Đã giải tán")
    actions.incident_transition(incident=incident, action="close", by=world.users["lanhdao"])
    incident.refresh_from_db()
    assert incident.status == "closed" and incident.assignee == police
    assert list(incident.steps.values_list("action", flat=True)) == [
        "opened",
        "acknowledge",
        "dispatch",
        "resolve",
        "close",
    ]
    verbs = set(
        AuditEntry.objects.filter(target_id=incident.public_id).values_list("verb", flat=True)
    )
    assert {"incident.acknowledge", "incident.close"} <= verbs


def test_a_closed_incident_cannot_be_acknowledged(world, safety):
    frigate_event(safety.crossroad, "c1")
    incident = Incident.objects.get()
    police = world.users["congan"]
    actions.incident_transition(incident=incident, action="reject", by=police, note="Báo nhầm")
    with pytest.raises(DomainError, match="Không thể"):
        actions.incident_transition(incident=incident, action="acknowledge", by=police)


def test_a_village_head_sees_incidents_but_cannot_handle_them(world, safety):
    frigate_event(safety.crossroad, "vh")
    incident = Incident.objects.get()
    with pytest.raises(DomainError, match="quyền"):
        actions.incident_transition(
            incident=incident, action="acknowledge", by=world.users["truongthon"]
        )
    assert incident.steps.count() == 1


# --- Alerts -----------------------------------------------------------------------------------
def test_level_0_goes_to_the_police_of_the_commune_and_level_1_to_its_leader(world, safety):
    frigate_event(safety.crossroad, "who")
    incident = Incident.objects.get()
    assert {user.username for user in alerts.recipients(incident, 0)} == {"congan"}
    assert {user.username for user in alerts.recipients(incident, 1)} == {"lanhdao"}
    assert {user.username for user in alerts.recipients(incident, 2)} == {"tinh", "quantri"}


def test_with_a_duty_shift_only_the_officer_on_duty_is_alerted(world, safety):
    other = world.users["nobody"]
    from xaso.accounts.actions import membership_grant
    from xaso.accounts.roles import Role

    membership_grant(
        user=other, place=world.commune_a, role=Role.POLICE_OFFICER, by=world.users["admin"]
    )
    now = timezone.now()
    DutyShift.objects.create(
        user=other,
        place=world.commune_a,
        starts_at=now - datetime.timedelta(hours=1),
        ends_at=now + datetime.timedelta(hours=7),
    )
    frigate_event(safety.crossroad, "duty")
    incident = Incident.objects.get()
    assert {user.username for user in alerts.recipients(incident, 0)} == {"nobody"}


def test_an_acknowledge_link_names_its_incident_and_user_and_cannot_be_forged(world, safety):
    frigate_event(safety.crossroad, "tok")
    incident = Incident.objects.get()
    token = alerts.ack_token(incident, world.users["congan"])
    assert alerts.ack_token_read(token) == (incident.public_id, world.users["congan"].pk)
    assert alerts.ack_token_read(token[:-2] + "xx") is None


# --- Clock --------------------------------------------------------------------------------------
def test_the_clock_finds_the_safety_jobs_and_one_failure_does_not_stop_the_others():
    names = {job.name for job in clock.periodic_jobs()}
    assert {"cameras.check_heartbeats", "incidents.escalate", "snapshots.purge"} <= names
    ran = []

    def broken():
        raise RuntimeError("boom")

    jobs = [clock.Periodic("broken", 60, broken), clock.Periodic("fine", 60, lambda: ran.append(1))]
    due: dict[str, float] = {}
    clock.run_due(jobs, due, now=100.0)
    clock.run_due(jobs, due, now=120.0)  # not due again yet
    assert ran == [1]
    assert due == {"broken": 160.0, "fine": 160.0}


def test_the_clock_stops_when_told(db):
    stop = threading.Event()
    stop.set()
    clock.run_forever(stop)  # returns at once instead of looping


# --- API ----------------------------------------------------------------------------------------
def test_a_camera_is_registered_over_the_api_and_its_secrets_never_come_back(api_as, world):
    api = api_as("congan")
    response = api.post(
        "/safety/cameras",
        {
            "name": "Cầu Đồng Tâm",
            "village": world.a1.code,
            "frigate_name": "cau_dong_tam",
            "stream_url": "rtsp://u:secretpw@10.1.1.1/1",
            "latitude": 21.03,
            "longitude": 106.64,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["frigate_name"] == "cau_dong_tam" and body["village"] == world.a1.code
    assert body["owner_kind"] == "commune" and body["status"] == "unknown"
    assert len(body["token"]) > 20
    assert "secretpw" not in response.content.decode()
    listed = api.get("/safety/cameras").json()
    assert "secretpw" not in str(listed) and "token" not in listed["items"][0]


def test_a_rule_is_created_with_the_contract_body(api_as, safety):
    response = api_as("congan").post(
        "/safety/rules",
        {
            "camera": safety.crossroad.public_id,
            "label": "person",
            "min_score": 0.5,
            "category": "security",
            "severity": "high",
        },
    )
    assert response.status_code == 201, response.content
    assert response.json()["camera"] == safety.crossroad.public_id


@pytest.mark.parametrize(
    "body, field",
    [
        ({"category": "nope"}, "category"),
        ({"category": "security", "min_score": 3}, "min_score"),
        ({"category": "security", "hour_from": 25}, "hour_from"),
    ],
)
def test_a_bad_rule_is_a_422_naming_the_field(api_as, safety, body, field):
    response = api_as("congan").post(
        "/safety/rules", {"camera": safety.crossroad.public_id, **body}
    )
    assert response.status_code == 422
    assert response.json()["field"] == field


def test_an_incident_detail_lists_its_events_with_their_source_ids_and_timeline(api_as, safety):
    frigate_event(safety.crossroad, "1700000001.5-xyz")
    incident = Incident.objects.get()
    body = api_as("congan").get(f"/safety/incidents/{incident.public_id}").json()
    assert [event["source_id"] for event in body["events"]] == ["1700000001.5-xyz"]
    assert [step["action"] for step in body["timeline"]] == ["opened"]
    assert body["explanation"]["rule"] == safety.person_rule.public_id


def test_incidents_are_filtered_by_status_and_since(api_as, safety):
    frigate_event(safety.crossroad, "s1")
    incident = Incident.objects.get()
    api = api_as("congan")
    assert api.get("/safety/incidents", status="new").json()["count"] == 1
    assert api.get("/safety/incidents", status="closed").json()["count"] == 0
    future = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    assert api.get("/safety/incidents", since=future).json()["count"] == 0
    assert api.get("/safety/incidents").json()["items"][0]["id"] == incident.public_id


def test_the_transitions_answer_over_the_api_and_a_wrong_one_is_a_409(api_as, safety):
    frigate_event(safety.crossroad, "t1")
    incident = Incident.objects.get()
    api = api_as("congan")
    url = f"/safety/incidents/{incident.public_id}"
    assert api.post(f"{url}/acknowledge").json()["status"] == "acknowledged"
    assert api.post(f"{url}/dispatch", {"assignee": "congan"}).json()["assignee"] == "congan"
    assert api.post(f"{url}/close").status_code == 409
    assert api.post(f"{url}/resolve", {"note": "Xong"}).json()["status"] == "resolved"
    assert api.post(f"{url}/close").json()["status"] == "closed"


def test_commune_b_sees_nothing_of_commune_a_and_a_foreign_id_is_unknown(api_as, safety):
    frigate_event(safety.crossroad, "scope")
    incident = Incident.objects.get()
    api = api_as("canbo_b")
    assert api.get("/safety/incidents").json()["count"] == 0
    assert [c["name"] for c in api.get("/safety/cameras").json()["items"]] == ["Cổng xã B"]
    assert api.get(f"/safety/incidents/{incident.public_id}").status_code == 404
    assert api.get("/safety/incidents/unknown-id").status_code == 404
    assert api.post(f"/safety/incidents/{incident.public_id}/acknowledge").status_code == 404
    assert api.get(f"/safety/cameras/{safety.crossroad.public_id}").status_code == 404


def test_a_village_head_sees_only_her_village_and_cannot_register_cameras(api_as, world, safety):
    api = api_as("truongthon")
    assert [c["name"] for c in api.get("/safety/cameras").json()["items"]] == [
        "Ngã tư chợ Quảng Tân"
    ]
    response = api.post("/safety/cameras", {"name": "X", "village": world.a1.code})
    assert response.status_code == 422
    assert not Camera.objects.filter(name="X").exists()


def test_an_officer_opens_an_incident_by_hand(api_as, world):
    response = api_as("congan").post(
        "/safety/incidents",
        {"place": world.a1.code, "category": "fire", "title": "Cháy rơm", "severity": "critical"},
    )
    assert response.status_code == 201, response.content
    assert response.json()["timeline"][0]["action"] == "opened"


def test_the_incident_list_runs_a_fixed_number_of_queries(
    api_as, safety, django_assert_max_num_queries
):
    for index in range(30):
        frigate_event(
            safety.crossroad,
            f"q{index}",
            started_at=timezone.now() + datetime.timedelta(minutes=15 * index),
        )
    api = api_as("congan")
    with django_assert_max_num_queries(8):
        response = api.get("/safety/incidents", limit=50)
    assert response.json()["count"] == 30
    assert connection.vendor in {"sqlite", "postgresql"}
    assert IncidentStep.objects.filter(action="opened").count() == 30


# --- Alerts through the outbox, end to end ------------------------------------------------------
def test_a_new_incident_reaches_the_officers_webhook_with_a_working_acknowledge_link(
    world, safety, settings, client, django_capture_on_commit_callbacks
):
    from tests.test_notify import Receiver
    from xaso.notify import actions as notify

    settings.XASO_NOTIFY_ALLOW_PRIVATE_URLS = True
    settings.XASO_NOTIFY_DISPATCH = "inline"
    receiver = Receiver()
    receiver.thread.start()
    try:
        police = world.users["congan"]
        notify.channel_create(
            user=police, kind="webhook", label="", config={"url": receiver.url}, by=police
        )
        with django_capture_on_commit_callbacks(execute=True):
            frigate_event(safety.crossroad, "alert-1")
        assert len(receiver.requests) == 1
        body = receiver.json()
        incident = Incident.objects.get()
        assert incident.title in body["subject"]
        ack = next(action for action in body["actions"] if action["label"] == "Xác nhận")
        path = ack["url"].split("://", 1)[1].split("/", 1)[1]
        response = client.post(f"/{path}")
        assert response.status_code in (200, 302)
        incident.refresh_from_db()
        assert incident.status == "acknowledged"
        assert incident.steps.get(action="acknowledge").actor == police
    finally:
        receiver.server.shutdown()
        receiver.server.server_close()
