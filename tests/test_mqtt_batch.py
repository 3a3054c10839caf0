"""Batched ingestion (decision 0013): `actions.events_ingest` stores a batch of camera events
with a few statements and gives the same events, incidents and alerts as one by one; the
alerts of a batch are written together by `alerts.incidents_opened`; the MQTT listener in
worker mode hands them to its alert thread."""

import datetime
import time
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests import safety_data
from tests.test_mqtt import BROKER_HOST, BROKER_PORT, Publisher
from xaso.notify import actions as notify
from xaso.notify.models import Delivery, Message
from xaso.safety import actions, alerts, mqtt
from xaso.safety.models import CameraEvent, Incident

MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def safety(world):
    return safety_data.build(world)


def item(camera, event_id, at, *, label="person", score=0.8, ended_at=None, zones=()):
    fields = {
        "source": "frigate",
        "source_id": event_id,
        "label": label,
        "score": score,
        "zones": list(zones),
        "started_at": at,
        "ended_at": ended_at,
    }
    return actions.IncomingEvent(camera, fields)


def camera_with_rule(world, name, **rule):
    admin = world.users["admin"]
    camera, _token = actions.camera_register(
        place=world.a1, values={"name": name, "frigate_name": name}, by=admin
    )
    actions.rule_create(
        camera=camera,
        values={"label": "person", "category": "security", "window_minutes": 5, **rule},
        by=admin,
    )
    return camera


def grouping(camera) -> dict[str, int | None]:
    """Each event's incident as its rank among the camera's incidents (by opening)."""
    rank = {
        pk: index
        for index, pk in enumerate(
            Incident.objects.filter(camera=camera).order_by("id").values_list("pk", flat=True)
        )
    }
    return {
        event.source_id: rank.get(event.incident_id)
        for event in CameraEvent.objects.filter(camera=camera)
    }


def test_a_batch_stores_each_event_once_with_what_its_deliveries_say_together(safety):
    camera, now = safety.crossroad, timezone.now()
    results = actions.events_ingest(
        items=[
            item(camera, "a", now, score=0.7, zones=["cong"]),
            item(camera, "b", now),
            item(camera, "a", now, score=0.9, ended_at=now + MINUTE, zones=["cho"]),
            item(camera, "a", now, score=0.5),
        ]
    )
    assert [created for _event, created in results] == [True, True, False, False]
    assert CameraEvent.objects.count() == 2
    a = CameraEvent.objects.get(source_id="a")
    assert (a.score, a.ended_at, a.zones) == (0.9, now + MINUTE, ["cho", "cong"])
    again = actions.events_ingest(items=[item(camera, "a", now), item(camera, "b", now)])
    assert [created for _event, created in again] == [False, False]
    assert CameraEvent.objects.count() == 2
    assert Incident.objects.get().events.count() == 2


def test_a_batch_groups_events_into_incidents_as_one_by_one_does(world):
    one_by_one = camera_with_rule(world, "mot_mot")
    batched = camera_with_rule(world, "ca_lo")
    start = timezone.now()
    # inside the window, past it, a car (no rule), and one arriving late (earlier start)
    plan = [("e0", 0, "person"), ("e1", 1, "person"), ("e2", 3, "person"), ("e3", 9, "person")]
    plan += [("e4", 10, "car"), ("e5", 30, "person"), ("e6", 7, "person"), ("e7", 31, "person")]
    for event_id, minutes, label in plan:
        fields = item(one_by_one, event_id, start + minutes * MINUTE, label=label).fields
        actions.event_ingest(camera=one_by_one, **fields)
    actions.events_ingest(
        items=[
            item(batched, event_id, start + minutes * MINUTE, label=label)
            for event_id, minutes, label in plan
        ]
    )
    expected = grouping(one_by_one)
    assert expected["e4"] is None and len(set(expected.values())) == 4  # 3 incidents and None
    assert grouping(batched) == expected
    assert [
        [
            last - start
            for last in camera.incidents.order_by("id").values_list("last_event_at", flat=True)
        ]
        for camera in (one_by_one, batched)
    ] == [[3 * MINUTE, 9 * MINUTE, 31 * MINUTE]] * 2


def test_a_crowding_rule_counts_in_a_batch_only_the_events_before_each_one(world):
    camera = camera_with_rule(world, "dong_nguoi", min_count=3, category="crowding")
    now = timezone.now()
    actions.events_ingest(
        items=[
            item(camera, f"p{index}", now + index * datetime.timedelta(seconds=1))
            for index in range(4)
        ]
    )
    assert grouping(camera) == {"p0": None, "p1": None, "p2": 0, "p3": 0}


def test_a_batch_runs_the_same_statements_for_10_events_as_for_60(world):
    camera = camera_with_rule(world, "dem_cau")
    now = timezone.now()
    actions.events_ingest(items=[item(camera, "first", now)])  # the incident they all join
    counts = []
    for size in (10, 60):
        with CaptureQueriesContext(connection) as queries:
            actions.events_ingest(
                items=[item(camera, f"n{size}-{index}", now) for index in range(size)]
            )
        counts.append(len(queries))
    assert counts[0] == counts[1] <= 12, counts
    assert Incident.objects.get().events.count() == 71


def test_the_alerts_of_a_batch_go_after_its_commit_to_the_callback_given(
    safety, django_capture_on_commit_callbacks
):
    camera, now = safety.crossroad, timezone.now()
    called = []
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        actions.events_ingest(
            items=[item(camera, "x", now), item(camera, "y", now + 20 * MINUTE)],
            alert=called.append,
        )
    assert called == [] and Message.objects.count() == 0
    for callback in callbacks:
        callback()
    assert [[incident.pk for incident in batch] for batch in called] == [
        list(Incident.objects.order_by("id").values_list("pk", flat=True))
    ]
    assert Message.objects.count() == 0  # the callback given replaced the default alerts


def test_incidents_opened_writes_one_message_per_recipient_with_statements_not_growing(
    world, safety, settings, django_capture_on_commit_callbacks
):
    settings.XASO_NOTIFY_DISPATCH = "worker"
    police = world.users["congan"]
    notify.channel_create(
        user=police, kind="ntfy", label="", config={"topic": "xaso-canh-bao"}, by=police
    )
    now = timezone.now()
    with django_capture_on_commit_callbacks(execute=False):
        actions.events_ingest(
            items=[
                item(safety.crossroad, f"i{index}", now + index * 20 * MINUTE) for index in range(8)
            ],
            alert=lambda incidents: None,
        )
    incidents = list(Incident.objects.select_related("place", "camera").order_by("id"))
    assert len(incidents) == 8
    counts = []
    for batch in (incidents[:2], incidents[2:]):
        with CaptureQueriesContext(connection) as queries:
            assert alerts.incidents_opened(batch) == len(batch)
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    assert set(Message.objects.values_list("key", flat=True)) == {
        f"incident:{incident.public_id}:level0:user{police.pk}" for incident in incidents
    }
    assert Delivery.objects.filter(recipient=police, kind="ntfy").count() == 8
    assert alerts.incidents_opened(incidents[:3]) == 3  # again: the keys send nothing twice
    assert Delivery.objects.count() == 8


@pytest.mark.skipif(
    connection.vendor == "sqlite",
    reason="worker threads need a database server; the SQLite test database is in memory",
)
def test_in_worker_mode_the_alert_thread_writes_the_alert_of_an_incident_opened_over_mqtt(
    world_rebuilt_afterwards, transactional_db, world, safety
):
    prefix = f"xaso-test-{uuid.uuid4().hex[:10]}/frigate"
    config = mqtt.Config(
        host=BROKER_HOST,
        port=BROKER_PORT,
        client_id=f"xaso-test-{uuid.uuid4().hex[:10]}",
        prefix=prefix,
        session_expiry=60,
        workers=2,
    )
    listener = mqtt.Listener(config)
    listener.start()
    publisher = Publisher(prefix)
    try:
        assert listener.subscribed.wait(10)
        publisher.event("new", "qua-mqtt", camera="nga_tu")
        publisher.event("end", "qua-mqtt", camera="nga_tu", end_time=time.time())
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
            listener.stats["alerted"] < 1 or listener.stats["stored"] < 2
        ):
            time.sleep(0.05)  # polling the threads' counter, not synchronising
    finally:
        publisher.close()
        listener.stop()
    assert listener.stats["alerted"] == 1
    incident = Incident.objects.get()
    assert incident.events.get().ended_at is not None
    assert Message.objects.filter(key__startswith=f"incident:{incident.public_id}:").exists()
