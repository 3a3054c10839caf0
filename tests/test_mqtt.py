"""The MQTT listener against the real local Mosquitto (127.0.0.1:1883), no broker mocks.

Each test uses its own topic prefix and client id, so suites running side by side never see
each other's messages. In-process listeners run with `workers=0`: paho receives and parses in
its own thread, and the test's thread stores with `pump()` inside the test's transaction. The
last test runs the real `xaso mqtt` command against a fresh database and kills it mid-stream.
"""

import contextlib
import http.server
import json
import os
import signal
import subprocess
import threading
import time
import uuid

import cv2
import numpy
import paho.mqtt.client as paho
import pytest

from tests import processes
from xaso.safety import actions, mqtt
from xaso.safety.models import Camera, CameraEvent, Incident

BROKER_HOST, BROKER_PORT = "127.0.0.1", 1883
START = 1751331600.25  # 01/07/2025 08:00 in Hà Nội


def wait_for(condition, *, deadline: float = 15, pump=None, what: str = "condition"):
    """Poll `condition` until it holds or the deadline passes (pumping the listener, if any)."""
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if pump is not None:
            pump.pump(timeout=0.1)
        if condition():
            return
        if pump is None:
            time.sleep(0.05)  # polling, not synchronising
    raise AssertionError(f"timed out waiting for {what}")


class Publisher:
    def __init__(self, prefix: str):
        self.prefix = prefix
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:10]}"
        )
        self.client.connect(BROKER_HOST, BROKER_PORT)
        self.client.loop_start()

    def send(self, topic: str, payload) -> None:
        if isinstance(payload, dict):
            payload = json.dumps(payload)
        info = self.client.publish(f"{self.prefix}/{topic}", payload, qos=1)
        info.wait_for_publish(timeout=10)
        assert info.is_published()

    def event(self, kind: str, event_id: str, camera: str = "cong_cho", **after) -> None:
        body = {
            "id": event_id,
            "camera": camera,
            "label": "person",
            "score": 0.6,
            "top_score": 0.6,
            "start_time": START,
            "end_time": None,
            "entered_zones": [],
            "current_zones": [],
            "has_snapshot": False,
            **after,
        }
        self.send("events", {"type": kind, "before": body, "after": body})

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def prefix():
    return f"xaso-test-{uuid.uuid4().hex[:10]}/frigate"


@pytest.fixture
def publisher(prefix):
    publisher = Publisher(prefix)
    yield publisher
    publisher.close()


@contextlib.contextmanager
def listening(prefix: str, client_id: str | None = None):
    config = mqtt.Config(
        host=BROKER_HOST,
        port=BROKER_PORT,
        client_id=client_id or f"xaso-test-{uuid.uuid4().hex[:10]}",
        prefix=prefix,
        session_expiry=120,
        workers=0,
    )
    listener = mqtt.Listener(config)
    listener.start()
    try:
        assert listener.subscribed.wait(10), "the broker did not confirm the subscription"
        yield listener
    finally:
        listener.stop()


@pytest.fixture
def listener(prefix):
    with listening(prefix) as listener:
        yield listener


@pytest.fixture
def camera(world):
    camera, _token = actions.camera_register(
        place=world.a1,
        values={"name": "Cổng chợ", "frigate_name": "cong_cho"},
        by=world.users["admin"],
    )
    return camera


def test_new_update_and_end_of_one_frigate_event_make_one_event_with_its_end_and_best_score(
    camera, listener, publisher
):
    publisher.event("new", "e1", score=0.62, top_score=0.62, current_zones=["cong"])
    publisher.event("update", "e1", score=0.7, top_score=0.91, entered_zones=["cong", "duong"])
    publisher.event("end", "e1", score=0.5, top_score=0.91, end_time=START + 12.5)
    wait_for(
        lambda: CameraEvent.objects.filter(camera=camera, ended_at__isnull=False).exists(),
        pump=listener,
        what="the end of the event",
    )
    event = CameraEvent.objects.get(camera=camera)
    assert (event.source, event.source_id, event.label) == ("frigate", "e1", "person")
    assert event.score == 0.91
    assert event.zones == ["cong", "duong"]
    assert event.duration_seconds == 12.5
    assert event.raw["type"] == "end"
    camera.refresh_from_db()
    assert camera.status == Camera.Status.ONLINE


def test_a_message_delivered_twice_is_stored_once(camera, listener, publisher):
    for _ in range(2):
        publisher.event("end", "twice", end_time=START + 3)
    wait_for(lambda: listener.stats["stored"] >= 2, pump=listener, what="both deliveries")
    assert CameraEvent.objects.filter(camera=camera, source_id="twice").count() == 1


def test_bad_messages_are_logged_and_dropped_and_the_next_good_one_is_stored(
    camera, listener, publisher, caplog
):
    publisher.send("events", "{not json")
    publisher.send("events", {"type": "new", "after": {"id": 5, "camera": "cong_cho"}})
    publisher.send("events", {"type": "new", "after": "nothing"})
    publisher.event("new", "wrong-score", top_score="rất cao", score=None)
    publisher.event("new", "nobody-knows", camera="camera_la")
    publisher.send("reviews", {"type": "new", "after": {"id": "r1", "camera": "cong_cho"}})
    publisher.send("cong_cho/status", "maybe")
    publisher.event("new", "good")
    wait_for(
        lambda: CameraEvent.objects.filter(source_id="good").exists(),
        pump=listener,
        what="the good message",
    )
    assert list(CameraEvent.objects.values_list("source_id", flat=True)) == ["good"]
    assert listener.stats["dropped"] == 5
    assert listener.stats["unknown_camera"] == 1
    assert listener.stats["reviews"] == 1
    logged = caplog.text
    assert "Nội dung không phải JSON hợp lệ." in logged
    assert "Thiếu trường start_time." in logged
    assert "Trường score phải là một số." in logged
    assert "unknown camera 'camera_la'" in logged
    assert "Trạng thái camera không hợp lệ." in logged


def test_a_camera_reported_offline_goes_offline_with_a_camera_fault_incident(
    camera, listener, publisher
):
    publisher.send("cong_cho/status", "online")
    wait_for(lambda: listener.stats["status"] == 1, pump=listener, what="online")
    camera.refresh_from_db()
    assert camera.status == Camera.Status.ONLINE
    publisher.send("cong_cho/status", "offline")
    wait_for(lambda: listener.stats["status"] == 2, pump=listener, what="offline")
    camera.refresh_from_db()
    assert camera.status == Camera.Status.OFFLINE
    incident = Incident.objects.get(camera=camera)
    assert incident.category == Incident.Category.CAMERA_FAULT
    assert incident.is_open


def test_the_persistent_session_keeps_messages_published_while_the_listener_is_away(
    camera, prefix, publisher
):
    client_id = f"xaso-test-{uuid.uuid4().hex[:10]}"
    with listening(prefix, client_id):
        pass  # subscribed once: the broker now keeps the session for this client id
    for number in range(3):
        publisher.event("end", f"away-{number}", end_time=START + 1)
    with listening(prefix, client_id) as listener:
        wait_for(
            lambda: CameraEvent.objects.filter(camera=camera).count() == 3,
            pump=listener,
            what="the three queued events",
        )
        assert listener.stats["received"] == 3
    assert sorted(CameraEvent.objects.values_list("source_id", flat=True)) == [
        "away-0",
        "away-1",
        "away-2",
    ]


def test_a_message_received_but_not_stored_is_delivered_again_after_a_restart(
    camera, prefix, publisher
):
    client_id = f"xaso-test-{uuid.uuid4().hex[:10]}"
    with listening(prefix, client_id) as first:
        publisher.event("end", "unstored", end_time=START + 2)
        wait_for(lambda: first.stats["received"] == 1, what="the first delivery")
        # Stop without pumping: the message was received, never stored, never acknowledged.
    assert not CameraEvent.objects.exists()
    with listening(prefix, client_id) as second:
        wait_for(
            lambda: CameraEvent.objects.filter(source_id="unstored").exists(),
            pump=second,
            what="the second delivery",
        )
    assert CameraEvent.objects.count() == 1


# --- Snapshots from Frigate's HTTP API ----------------------------------------------------------
def jpeg_bytes() -> bytes:
    ok, encoded = cv2.imencode(".jpg", numpy.full((9, 16, 3), 120, dtype=numpy.uint8))
    assert ok
    return encoded.tobytes()


@contextlib.contextmanager
def frigate_http(snapshots: dict[str, bytes]):
    """A local HTTP server answering /api/events/<id>/snapshot.jpg as Frigate does."""
    requested = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            event_id = self.path.removeprefix("/api/events/").removesuffix("/snapshot.jpg")
            body = snapshots.get(event_id)
            if body is None:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requested
    finally:
        server.shutdown()
        server.server_close()


def test_an_event_with_a_snapshot_gets_frigates_jpeg(camera, listener, publisher, settings):
    image = jpeg_bytes()
    with frigate_http({"1751331600.25-snap": image}) as (url, requested):
        settings.XASO_FRIGATE_URL = url
        publisher.event("new", "1751331600.25-snap", has_snapshot=True)
        publisher.event("end", "1751331600.25-snap", has_snapshot=True, end_time=START + 4)
        wait_for(lambda: listener.stats["stored"] == 2, pump=listener, what="both messages")
    event = CameraEvent.objects.get(camera=camera)
    with event.snapshot.open("rb") as stored:
        assert stored.read() == image
    assert requested == ["/api/events/1751331600.25-snap/snapshot.jpg"]  # fetched once


def test_an_event_whose_snapshot_cannot_be_fetched_is_stored_without_it(
    camera, listener, publisher, settings, caplog
):
    with frigate_http({}) as (url, _requested):
        settings.XASO_FRIGATE_URL = url
        publisher.event("new", "no-snap", has_snapshot=True)
        wait_for(lambda: listener.stats["stored"] == 1, pump=listener, what="the event")
    event = CameraEvent.objects.get(camera=camera)
    assert not event.snapshot
    assert "snapshot of event no-snap not fetched" in caplog.text


# --- The real command, killed mid-stream ------------------------------------------------------
SETUP = """
from xaso.accounts.models import User
from xaso.places.models import Place
from xaso.safety.actions import camera_register
admin = User.objects.create_superuser("admin", password="x-very-long-pass")
commune = Place.objects.create(kind="commune", code="99999", name="Xã Thử", path="/99999/")
camera_register(place=commune, values={"name": "Cổng", "frigate_name": "cong_cho"}, by=admin)
"""
COUNT = (
    "SELECT COUNT(*), COUNT(ended_at) FROM safety_cameraevent "
    "WHERE source = 'frigate' AND source_id LIKE 'k-%'"
)


def stored_counts(env: dict[str, str]) -> tuple[int, int]:
    """Events stored by the subprocess, read straight from its database (no Django startup)."""
    if env.get("DATABASE_URL"):
        import psycopg

        with psycopg.connect(env["DATABASE_URL"]) as connection:
            return connection.execute(COUNT).fetchone()
    import sqlite3

    with contextlib.closing(sqlite3.connect(f"{env['XASO_DATA_DIR']}/xaso.sqlite3")) as db:
        return db.execute(COUNT).fetchone()


def test_xaso_mqtt_killed_mid_stream_loses_nothing_and_stores_each_event_once(prefix):
    client_id = f"xaso-test-{uuid.uuid4().hex[:10]}"
    with processes.fresh_database_env() as env:
        env.update(XASO_MQTT_URL=f"mqtt://{BROKER_HOST}:{BROKER_PORT}")
        env.update(XASO_MQTT_TOPIC_PREFIX=prefix, XASO_MQTT_CLIENT_ID=client_id)
        for args in (["migrate", "--no-input"], ["shell", "-c", SETUP]):
            result = processes.run(args, env, timeout=300)
            assert result.returncode == 0, result.stderr

        def counts() -> tuple[int, int]:
            return tuple(stored_counts(env))

        def start() -> subprocess.Popen:
            return subprocess.Popen(
                [*processes.XASO, "mqtt", "--session-expiry", "300"],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )

        publisher = Publisher(prefix)
        first = start()
        try:
            assert "xaso mqtt:" in first.stdout.readline()
            for number in range(200):
                publisher.event("new", f"k-{number}")
            wait_for(lambda: counts()[0] > 0, what="the first events stored")
            os.kill(first.pid, signal.SIGKILL)  # mid-stream: no clean shutdown, no last acks
            first.wait(10)
            for number in range(200):
                publisher.event("end", f"k-{number}", end_time=START + 5)
            second = start()
            try:
                wait_for(lambda: counts() == (200, 200), deadline=60, what="all 200 ended")
            finally:
                second.send_signal(signal.SIGTERM)
                output, _ = second.communicate(timeout=20)
            assert second.returncode == 0, output
            assert "Traceback" not in output
        finally:
            if first.poll() is None:
                first.kill()
            publisher.close()
