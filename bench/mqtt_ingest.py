"""Camera events over MQTT: does `xaso mqtt` keep up with Frigate, alert fast, and lose nothing?

    make bench                                # all benchmarks
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/xaso .venv/bin/python bench/mqtt_ingest.py
    .venv/bin/python bench/mqtt_ingest.py --events 2000 --latency-seconds 5   # a quick look

Figures (issue 5), printed, never asserted:
1. Throughput: N Frigate events (a "new" and an "end" message each) published as fast as the
   broker takes them; messages stored per second by the real `xaso mqtt` (a subprocess, 2 CPUs,
   PostgreSQL). Target ≥ 500/s. Baseline, in the same run: a bare paho subscriber that does
   nothing with the same messages. The ratio is printed.
2. Alert latency at 50 events/s: each event opens an incident whose alert goes out through a
   notify webhook channel to a receiver in this process; publish → receive, p50/p99 (target
   p99 < 1 s). Baseline: publish → receive of the bare subscriber at the same rate.
3. Nothing lost: events published at a steady rate while `xaso mqtt` is killed with SIGKILL
   and restarted, then the broker is restarted; every event must be stored exactly once, with
   its end.

The script builds its own database `xaso_bench_mqtt` on the server of DATABASE_URL (default
postgres://postgres@127.0.0.1:5432), dropped at the end, and runs its own Mosquitto (same
binary, a free port, persistence in a temporary directory, no queue limit) so that restarting
the broker disturbs nobody else's tests on the shared one at :1883.
"""

import argparse
import contextlib
import http.server
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import paho.mqtt.client as paho

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "xaso_bench_mqtt"
DEFAULT_SERVER = "postgres://postgres@127.0.0.1:5432"
PREFIX = "bench/frigate"
CAMERAS = 4
EVENTS = 10_000  # × 2 messages
LATENCY_RATE = 50  # events per second
LATENCY_SECONDS = 20
LOSS_EVENTS = 3_000  # × 2 messages, published at LOSS_RATE messages per second
LOSS_RATE = 600
THROUGHPUT_TARGET = 500
P99_TARGET_MS = 1000
START = 1751331600.0


# --- Broker, database, listener ---------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Broker:
    """A Mosquitto of our own: persistent sessions, no queue limit, restartable."""

    def __init__(self, work_dir: Path):
        self.port = free_port()
        self.dir = work_dir / "mosquitto"
        self.dir.mkdir()
        self.dir.chmod(0o777)  # mosquitto started as root drops to its own user
        self.config = self.dir / "mosquitto.conf"
        self.config.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence true\n"
            f"persistence_location {self.dir}/\nmax_queued_messages 0\n"
            f"max_inflight_messages 200\nlog_dest file {self.dir}/mosquitto.log\n"
        )
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(["mosquitto", "-c", str(self.config)])
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port)):
                return
            time.sleep(0.05)
        raise SystemExit("mosquitto did not start")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()  # SIGTERM: mosquitto writes its persistence file
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@contextlib.contextmanager
def postgres_database(server: str, name: str) -> Iterator[str]:
    import psycopg
    from psycopg import sql

    maintenance = f"{server}/postgres"
    identifier = sql.Identifier(name)
    with psycopg.connect(maintenance, autocommit=True) as admin:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(identifier))
    try:
        yield f"{server}/{name}"
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(maintenance, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(identifier))


def server_url() -> str:
    return urlsplit(os.environ.get("DATABASE_URL") or DEFAULT_SERVER)._replace(path="").geturl()


class Listener:
    """The real `xaso mqtt` as a subprocess."""

    def __init__(self, env: dict[str, str], log: Path, args: list[str]):
        self.env, self.log, self.args = env, log, args
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "xaso.cli", "mqtt", *self.args],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # its log line once it has subscribed
            with self.log.open("rb") as log:
                log.seek(offset)
                if b"subscribed to" in log.read():
                    return
            if self.process.poll() is not None:
                raise SystemExit(f"xaso mqtt exited:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.1)
        raise SystemExit("xaso mqtt did not subscribe within 60 s")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.kill()


# --- Data -------------------------------------------------------------------------------------
def build_data(env: dict[str, str], webhook_url: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "xaso.cli", "migrate", "--no-input"],
        env=env,
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    os.environ.update(env)
    os.environ["DJANGO_SETTINGS_MODULE"] = "xaso.config.settings"
    import django

    django.setup()
    from xaso.accounts.actions import membership_grant
    from xaso.accounts.models import User
    from xaso.accounts.roles import Role
    from xaso.notify.actions import channel_create
    from xaso.places.loader import official_places_load
    from xaso.places.models import Place
    from xaso.safety import actions

    official_places_load()
    admin = User.objects.create_superuser("admin", password="bench-password-not-real")
    commune = Place.objects.get(code="06913")
    officer = User.objects.create_user("congan", password="bench-password-not-real")
    membership_grant(user=officer, place=commune, role=Role.POLICE_OFFICER, by=admin)
    channel_create(
        user=officer, kind="webhook", label="bench", config={"url": webhook_url}, by=admin
    )
    for number in range(CAMERAS):
        camera, _token = actions.camera_register(
            place=commune,
            values={"name": f"Camera {number}", "frigate_name": f"cam{number}"},
            by=admin,
        )
        actions.rule_create(
            camera=camera,
            values={"label": "person", "category": "security", "window_minutes": 1},
            by=admin,
        )


def stored(pattern: str) -> tuple[int, int, int]:
    """(rows, distinct ids, rows with an end) of Frigate events whose id matches `pattern`."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*), COUNT(DISTINCT source_id), COUNT(ended_at) FROM safety_cameraevent "
            "WHERE source = 'frigate' AND source_id LIKE %s",
            [pattern],
        )
        return cursor.fetchone()


def wait_stored(pattern: str, ended: int, timeout_s: float) -> float | None:
    """Poll until `ended` events matching `pattern` have their end; the moment, or None."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if stored(pattern)[2] >= ended:
            return time.monotonic()
        time.sleep(0.1)
    return None


# --- MQTT helpers -----------------------------------------------------------------------------
def message(kind: str, event_id: str, camera: int, start: float, end: float | None) -> bytes:
    after = {
        "id": event_id,
        "camera": f"cam{camera}",
        "label": "person",
        "score": 0.8,
        "top_score": 0.86,
        "start_time": start,
        "end_time": end,
        "current_zones": ["cong"],
        "entered_zones": ["cong"],
        "has_snapshot": False,
        "false_positive": False,
    }
    return json.dumps({"type": kind, "before": after, "after": after}).encode()


def event_messages(tag: str, count: int, spacing: float = 0.0) -> list[bytes]:
    """`count` events, a "new" then an "end" each; with `spacing`, starts that far apart."""
    out = []
    for number in range(count):
        start = START + number * spacing
        out.append(message("new", f"{tag}-{number}", number % CAMERAS, start, None))
        out.append(message("end", f"{tag}-{number}", number % CAMERAS, start, start + 3))
    return out


class Publisher:
    def __init__(self, port: int, *, persistent: bool = False):
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=f"bench-pub-{uuid.uuid4().hex[:8]}",
            clean_session=not persistent,
        )
        self.client.max_inflight_messages_set(1000)
        self.client.max_queued_messages_set(0)
        self.client.reconnect_delay_set(0.2, 2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def publish(self, topic: str, payload: bytes):
        return self.client.publish(topic, payload, qos=1)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class BareSubscriber:
    """The baseline: receives and acknowledges, nothing else; notes when each message came."""

    def __init__(self, port: int, prefix: str):
        self.received: list[tuple[float, bytes]] = []
        self.ready = threading.Event()
        self.client = paho.Client(
            paho.CallbackAPIVersion.VERSION2, client_id=f"bench-bare-{uuid.uuid4().hex[:8]}"
        )
        self.client.on_connect = lambda c, *a: c.subscribe(f"{prefix}/events", qos=1)
        self.client.on_subscribe = lambda *a: self.ready.set()
        self.client.on_message = lambda c, u, m: self.received.append((time.monotonic(), m.payload))
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.ready.wait(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def publish_all(publisher: Publisher, topic: str, payloads: list[bytes]) -> float:
    """As fast as the broker takes them (QoS 1, up to 1,000 in flight); the start moment."""
    started = time.monotonic()
    infos = [publisher.publish(topic, payload) for payload in payloads]
    for info in infos:
        info.wait_for_publish(60)
    return started


# --- 1. Throughput ----------------------------------------------------------------------------
def throughput(broker: Broker, events: int) -> dict:
    payloads = event_messages("tp", events)
    base_prefix = f"bench-bare-{uuid.uuid4().hex[:6]}/frigate"
    bare = BareSubscriber(broker.port, base_prefix)
    publisher = Publisher(broker.port)
    started = publish_all(publisher, f"{base_prefix}/events", payloads)
    deadline = time.monotonic() + 120
    while len(bare.received) < len(payloads) and time.monotonic() < deadline:
        time.sleep(0.02)
    bare_seconds = bare.received[-1][0] - started
    bare_count = len(bare.received)
    bare.close()

    started = publish_all(publisher, f"{PREFIX}/events", payloads)
    published = time.monotonic()
    done = wait_stored("tp-%", events, timeout_s=600)
    publisher.close()
    rows, distinct, ended = stored("tp-%")
    seconds = (done or time.monotonic()) - started
    return {
        "messages": len(payloads),
        "bare_rate": bare_count / bare_seconds,
        "bare_count": bare_count,
        "publish_seconds": published - started,
        "seconds": seconds,
        "rate": len(payloads) / seconds if done else 0.0,
        "events_rate": events / seconds if done else 0.0,
        "rows": rows,
        "distinct": distinct,
        "ended": ended,
    }


# --- 2. Alert latency -------------------------------------------------------------------------
class Receiver:
    """The alert webhook: notes the moment each message arrives and the incident it names."""

    def __init__(self):
        self.arrivals: list[tuple[float, str]] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                at = time.monotonic()
                url = json.loads(body).get("url", "")
                receiver.arrivals.append((at, url.rstrip("/").rsplit("/", 1)[-1]))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alert"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def paced(publisher: Publisher, topic: str, payloads: list[bytes], rate: float) -> list[float]:
    """Publish at `rate` messages per second; the monotonic moment of each publish."""
    moments, started = [], time.monotonic()
    for number, payload in enumerate(payloads):
        pause = started + number / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        moments.append(time.monotonic())
        publisher.publish(topic, payload)
    return moments


def latency(broker: Broker, receiver: Receiver, rate: int, seconds: int) -> dict:
    from xaso.safety.models import CameraEvent

    count = rate * seconds
    # "new" messages only, each event two minutes after the previous one of its camera: every
    # event opens an incident of its own (the rule's window is one minute), so every event
    # sends an alert.
    payloads = [
        message("new", f"lat-{n}", n % CAMERAS, START + 86_400 + n * 120, None)
        for n in range(count)
    ]
    base_prefix = f"bench-bare-{uuid.uuid4().hex[:6]}/frigate"
    bare = BareSubscriber(broker.port, base_prefix)
    publisher = Publisher(broker.port)
    sent = paced(publisher, f"{base_prefix}/events", payloads, rate)
    deadline = time.monotonic() + 30
    while len(bare.received) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    bare_ms = [(at - sent[n]) * 1000 for n, (at, _payload) in enumerate(bare.received)]
    bare.close()

    receiver.arrivals.clear()
    sent = paced(publisher, f"{PREFIX}/events", payloads, rate)
    deadline = time.monotonic() + 60
    while len(receiver.arrivals) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    publisher.close()
    incident_event = dict(
        CameraEvent.objects.filter(source_id__startswith="lat-", incident__isnull=False)
        .values_list("incident__public_id", "source_id")
        .iterator()
    )
    alert_ms = []
    for at, incident in receiver.arrivals:
        source_id = incident_event.get(incident)
        if source_id is not None:
            alert_ms.append((at - sent[int(source_id.split("-")[1])]) * 1000)
    return {"count": count, "bare_ms": bare_ms, "alert_ms": alert_ms}


# --- 3. Nothing lost --------------------------------------------------------------------------
def nothing_lost(
    broker: Broker, listener: Listener, events: int, rate: int, settle_s: float
) -> dict:
    payloads = event_messages("loss", events)
    publisher = Publisher(broker.port, persistent=True)
    infos, moments = [], {}
    total = len(payloads)

    def publish():
        started = time.monotonic()
        for number, payload in enumerate(payloads):
            pause = started + number / rate - time.monotonic()
            if pause > 0:
                time.sleep(pause)
            infos.append(publisher.publish(f"{PREFIX}/events", payload))

    thread = threading.Thread(target=publish)
    thread.start()
    while len(infos) < total * 0.3:
        time.sleep(0.01)
    listener.kill()
    moments["listener killed"] = len(infos)
    time.sleep(1)
    listener.start()
    while len(infos) < total * 0.6:
        time.sleep(0.01)
    moments["broker restarted"] = len(infos)
    broker.restart()
    thread.join()
    # Anything the broker never acknowledged (in flight while it restarted) goes again: a
    # retry, as a real publisher would; duplicates must still be stored once.
    republished = 0
    deadline = time.monotonic() + 30
    for number, info in enumerate(infos):
        if not info.is_published():
            remaining = max(0.1, deadline - time.monotonic())
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(remaining)
        if not info.is_published():
            publisher.publish(f"{PREFIX}/events", payloads[number]).wait_for_publish(10)
            republished += 1
    done = wait_stored("loss-%", events, timeout_s=settle_s)
    publisher.close()
    rows, distinct, ended = stored("loss-%")
    return {
        "events": events,
        "messages": total,
        "moments": moments,
        "republished": republished,
        "settled": done is not None,
        "rows": rows,
        "distinct": distinct,
        "ended": ended,
    }


# --- Report -----------------------------------------------------------------------------------
def report(tp: dict, lat: dict, loss: dict) -> None:
    print("\n1. Throughput (messages stored per second; one event = a 'new' and an 'end')")
    print(
        f"   bare paho subscriber:   {tp['bare_rate']:>8,.0f} msg/s "
        f"({tp['bare_count']:,} of {tp['messages']:,} received)"
    )
    print(
        f"   xaso mqtt → PostgreSQL: {tp['rate']:>8,.0f} msg/s "
        f"({tp['events_rate']:,.0f} events/s; {tp['seconds']:.1f} s for {tp['messages']:,} "
        f"messages, published in {tp['publish_seconds']:.1f} s)"
    )
    ratio = tp["rate"] / tp["bare_rate"] if tp["bare_rate"] else 0
    print(
        f"   ratio to baseline: {ratio:.3f}; ≥ {THROUGHPUT_TARGET} msg/s? "
        f"{'yes' if tp['rate'] >= THROUGHPUT_TARGET else 'NO'}; rows {tp['rows']:,}, "
        f"distinct {tp['distinct']:,}, ended {tp['ended']:,}"
    )
    print(
        f"\n2. Alert latency at {LATENCY_RATE} events/s ({lat['count']:,} events, one alert each)"
    )
    for label, values in (
        ("bare subscriber (publish → message)", lat["bare_ms"]),
        ("xaso (publish → alert webhook)", lat["alert_ms"]),
    ):
        if values:
            print(
                f"   {label:<36} n={len(values):>5,}  p50 {statistics.median(values):7.1f} ms  "
                f"p99 {percentile(values, 0.99):7.1f} ms  max {max(values):7.1f} ms"
            )
        else:
            print(f"   {label:<36} nothing received")
    if lat["alert_ms"] and lat["bare_ms"]:
        p99 = percentile(lat["alert_ms"], 0.99)
        print(
            f"   p99 ratio to baseline: {p99 / max(percentile(lat['bare_ms'], 0.99), 0.001):.0f}×;"
            f" p99 < {P99_TARGET_MS} ms? {'yes' if p99 < P99_TARGET_MS else 'NO'}; "
            f"alerts received for {len(lat['alert_ms']):,} of {lat['count']:,} events"
        )
    print(f"\n3. Nothing lost ({loss['events']:,} events, {loss['messages']:,} messages)")
    for what, at in loss["moments"].items():
        print(f"   {what} after {at:,} messages published")
    print(f"   republished after the broker restart (never acknowledged): {loss['republished']}")
    exact = loss["rows"] == loss["distinct"] == loss["ended"] == loss["events"]
    if not loss["settled"]:
        print("   (the listener had not caught up when the wait ended: counts are a floor)")
    print(
        f"   stored rows {loss['rows']:,}, distinct events {loss['distinct']:,}, with their end "
        f"{loss['ended']:,}: every event exactly once? {'yes' if exact else 'NO'}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS, help="throughput events (× 2)")
    parser.add_argument("--latency-seconds", type=int, default=LATENCY_SECONDS)
    parser.add_argument("--loss-events", type=int, default=LOSS_EVENTS)
    parser.add_argument("--workers", type=int, default=None, help="xaso mqtt --workers")
    options = parser.parse_args()
    if shutil.which("mosquitto") is None:
        raise SystemExit("mosquitto is missing (Debian package mosquitto)")
    began = time.perf_counter()
    receiver = Receiver()
    with (
        tempfile.TemporaryDirectory(prefix="xaso-bench-mqtt-") as work_dir,
        postgres_database(server_url(), DATABASE) as database_url,
    ):
        Path(work_dir).chmod(0o711)  # mosquitto (its own user) writes its files in there
        broker = Broker(Path(work_dir))
        broker.start()
        env = {key: value for key, value in os.environ.items() if not key.startswith("XASO_")}
        env.pop("DJANGO_SETTINGS_MODULE", None)
        env.update(
            DATABASE_URL=database_url,
            XASO_DATA_DIR=work_dir,
            XASO_SECRET_KEY="bench-secret-key-not-for-production",
            XASO_FIELD_KEY="bench-field-key-not-for-production",
            XASO_MQTT_URL=f"mqtt://127.0.0.1:{broker.port}",
            XASO_MQTT_TOPIC_PREFIX=PREFIX,
            XASO_MQTT_CLIENT_ID=f"xaso-bench-{uuid.uuid4().hex[:6]}",
            XASO_NOTIFY_ALLOW_PRIVATE_URLS="1",
            XASO_NOTIFY_DISPATCH="thread",
            XASO_LOG_LEVEL="INFO",
            XASO_ESCALATION_MINUTES="low:0",
        )
        build_data(env, receiver.url)
        args = ["--workers", str(options.workers)] if options.workers else []
        listener = Listener(env, Path(work_dir) / "xaso-mqtt.log", args)
        listener.start()
        print(
            f"MQTT ingestion benchmark: PostgreSQL ({DATABASE}), own Mosquitto on "
            f":{broker.port}, {CAMERAS} cameras with a rule, {os.cpu_count()} CPUs, "
            f"load before {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        try:
            tp = throughput(broker, options.events)
            lat = latency(broker, receiver, LATENCY_RATE, options.latency_seconds)
            settle = max(300, 3 * options.loss_events * 2 / max(tp["rate"], 1))
            loss = nothing_lost(broker, listener, options.loss_events, LOSS_RATE, settle)
        finally:
            listener.stop()
            broker.stop()
            receiver.close()
        report(tp, lat, loss)
        errors = [
            line
            for line in (Path(work_dir) / "xaso-mqtt.log").read_text(errors="replace").splitlines()
            if "Traceback" in line or "ERROR" in line
        ]
        print(f"\nxaso mqtt logged {len(errors)} error line(s){': ' + errors[0] if errors else ''}")
    print(
        f"Load after {os.getloadavg()[0]:.1f}; benchmark ran in {time.perf_counter() - began:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
