"""The MQTT listener behind `xaso mqtt`: Frigate's messages become camera events.

One paho-mqtt (v2) client with a fixed client id and a persistent MQTT 5 session subscribes
with QoS 1 to `<prefix>/events`, `<prefix>/reviews`, `<prefix>/+/status` and
`<prefix>/available`. Acknowledgements are manual: a message is acknowledged only once what it
carries is committed (or once it is known to be unusable), so a crash or a database outage
loses nothing: the broker delivers again what was not acknowledged, and `event_ingest` stores
each event once however often it arrives.

Messages are parsed in paho's network thread and handed to a few worker threads, always the
same worker for one camera, so one camera's messages keep their order and two workers never
race to open the same incident. See docs/decisions/0013-camera-event-ingestion.md.
"""

import collections
import logging
import queue
import socket
import threading
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import paho.mqtt.client as paho
from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection, transaction
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from xaso.core.errors import DomainError
from xaso.safety import actions, alerts, ingest, selectors

logger = logging.getLogger(__name__)

SNAPSHOT_TIMEOUT_SECONDS = 3
CAMERA_CACHE_SECONDS = 30
RETRY_MAX_SECONDS = 30
_STOP = object()


@dataclass
class Config:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str | None = None
    password: str | None = None
    tls: bool = False
    client_id: str = ""
    prefix: str = "frigate"
    session_expiry: int = 7 * 24 * 3600  # seconds the broker keeps our queue while we are away
    workers: int = 1  # threads storing events; 0: the caller stores them with pump()
    keepalive: int = 30


def config_from_url(url: str, **overrides) -> Config:
    """mqtt://[user:pass@]host[:port] (mqtts:// for TLS) → Config."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts", "tcp", "ssl"} or not parts.hostname:
        raise ValueError(f"XASO_MQTT_URL must look like mqtt://host:1883, not {url!r}")
    tls = parts.scheme in {"mqtts", "ssl"}
    config = Config(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        tls=tls,
        client_id=f"xaso-{socket.gethostname()}"[:64],
        workers=1 if connection.vendor == "sqlite" else 4,
    )
    for name, value in overrides.items():
        if value not in (None, ""):
            setattr(config, name, value)
    return config


class _WorkerState:
    """What one worker remembers: cameras by Frigate name, events whose snapshot it fetched."""

    def __init__(self):
        self.cameras: dict[str, tuple[float, object]] = {}
        self.fetched: collections.OrderedDict[str, None] = collections.OrderedDict()

    def remember_snapshot(self, event_id: str) -> None:
        self.fetched[event_id] = None
        while len(self.fetched) > 10_000:
            self.fetched.popitem(last=False)


@dataclass
class Work:
    mid: int
    qos: int
    generation: int
    topic: str
    kind: str  # event, status
    camera_name: str
    item: object  # ingest.FrigateEvent, or bool (online) for a status


class Listener:
    """Connects, subscribes, and stores what arrives until `stop()` is called."""

    def __init__(self, config: Config):
        self.config = config
        self.prefix = config.prefix.strip("/")
        self.queues = [queue.Queue() for _ in range(max(1, config.workers))]
        self.threads: list[threading.Thread] = []
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.subscribed = threading.Event()  # the broker confirmed the subscriptions
        self.generation = 0  # a new connection: acknowledgements of older ones are not sent
        self.lock = threading.Lock()
        self.stats = collections.Counter()
        self.inline_state = _WorkerState()
        # Alerts of the incidents a batch opened, queued after its commit: one thread finds
        # the recipients and writes the notify outbox, so neither paho's network thread nor a
        # storing worker waits on it. Inline mode (workers=0) alerts in the caller's thread.
        self.alert_queue: queue.Queue = queue.Queue()
        self.alert_thread: threading.Thread | None = None
        self.client = self._client()

    # --- connection ---------------------------------------------------------------------------
    def _client(self) -> paho.Client:
        client = paho.Client(
            paho.CallbackAPIVersion.VERSION2,
            client_id=self.config.client_id,
            protocol=paho.MQTTv5,
            manual_ack=True,
        )
        if self.config.username:
            client.username_pw_set(self.config.username, self.config.password)
        if self.config.tls:
            client.tls_set()
        client.reconnect_delay_set(min_delay=1, max_delay=RETRY_MAX_SECONDS)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = lambda *args: self.subscribed.set()
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            logger.error("mqtt: broker refused the connection: %s", reason_code)
            return
        with self.lock:
            self.generation += 1
        names = ("events", "reviews", "+/status", "available")
        topics = [f"{self.prefix}/{name}" for name in names]
        client.subscribe([(topic, 1) for topic in topics])
        logger.info(
            "mqtt: connected to %s:%s as %s (session present: %s), subscribed to %s",
            self.config.host,
            self.config.port,
            self.config.client_id,
            flags.session_present,
            ", ".join(topics),
        )
        self.connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self.connected.clear()
        self.subscribed.clear()
        with self.lock:
            self.generation += 1
        if not self.stopping.is_set():
            logger.warning("mqtt: disconnected (%s); reconnecting", reason_code)

    def start(self) -> None:
        for index, work_queue in enumerate(self.queues if self.config.workers else []):
            thread = threading.Thread(
                target=self._worker, args=(work_queue,), name=f"xaso-mqtt-{index}", daemon=True
            )
            thread.start()
            self.threads.append(thread)
        if self.config.workers:
            self.alert_thread = threading.Thread(
                target=self._alerter, name="xaso-mqtt-alerts", daemon=True
            )
            self.alert_thread.start()
        properties = Properties(PacketTypes.CONNECT)
        properties.SessionExpiryInterval = self.config.session_expiry
        properties.ReceiveMaximum = 200
        self.client.connect_async(
            self.config.host,
            self.config.port,
            keepalive=self.config.keepalive,
            clean_start=False,
            properties=properties,
        )
        self.client.loop_start()

    def stop(self, timeout: float = 10) -> None:
        """Disconnect first (nothing new arrives), then let the workers finish what they hold."""
        self.stopping.set()
        self.client.disconnect()
        self.client.loop_stop()
        for work_queue in self.queues:
            work_queue.put(_STOP)
        for thread in self.threads:
            thread.join(timeout)
        if self.alert_thread is not None:
            self.alert_queue.put(_STOP)
            self.alert_thread.join(timeout)

    def run_forever(self, stop_event: threading.Event) -> None:
        self.start()
        try:
            while not stop_event.wait(1):
                if self.threads and not any(thread.is_alive() for thread in self.threads):
                    raise RuntimeError("mqtt: every worker thread died")
        finally:
            self.stop()

    # --- receiving (paho's network thread) ----------------------------------------------------
    def _ack(self, mid: int, qos: int, generation: int) -> None:
        with self.lock:
            current = generation == self.generation
        if current and qos:
            self.client.ack(mid, qos)

    def _on_message(self, client, userdata, message) -> None:
        generation = self.generation
        self.stats["received"] += 1
        try:
            work = self._parse(message, generation)
        except ingest.BadPayload as bad:
            logger.warning("mqtt: dropped a message on %s: %s", message.topic, bad.message)
            self.stats["dropped"] += 1
            work = None
        except Exception:  # never let one message stop the network loop
            logger.exception("mqtt: dropped a message on %s", message.topic)
            self.stats["dropped"] += 1
            work = None
        if work is None:
            self._ack(message.mid, message.qos, generation)
            return
        index = zlib.crc32(work.camera_name.encode()) % len(self.queues)
        self.queues[index].put(work)

    def _parse(self, message, generation: int) -> Work | None:
        topic = message.topic
        base = Work(message.mid, message.qos, generation, topic, "", "", None)
        if topic == f"{self.prefix}/events":
            event = ingest.frigate_event(message.payload)
            base.kind, base.camera_name, base.item = "event", event.camera_name, event
            return base
        if topic == f"{self.prefix}/reviews":
            camera_name, review_id = ingest.frigate_review(message.payload)
            logger.debug("mqtt: review %s of %s not stored (decision 0013)", review_id, camera_name)
            self.stats["reviews"] += 1
            return None
        if topic == f"{self.prefix}/available":
            online = ingest.frigate_status(message.payload)
            logger.info("mqtt: Frigate itself is %s", "online" if online else "offline")
            return None
        parts = topic.split("/")
        if len(parts) == len(self.prefix.split("/")) + 2 and parts[-1] == "status":
            online = ingest.frigate_status(message.payload)
            base.kind, base.camera_name, base.item = "status", parts[-2], online
            return base
        logger.warning("mqtt: dropped a message on unexpected topic %s", topic)
        return None

    # --- storing (worker threads, or the caller with pump()) -----------------------------------
    def _worker(self, work_queue: queue.Queue) -> None:
        state = _WorkerState()
        try:
            while True:
                batch, stop = _drain(work_queue, wait=None)
                if batch:
                    self._handle_batch(batch, state)
                if stop:
                    return
        finally:
            connection.close()

    def alert(self, incidents: list) -> None:
        """After a batch commits: its new incidents go to the alert thread."""
        self.alert_queue.put(incidents)

    def _alerter(self) -> None:
        """Alerts of committed batches; what queued up meanwhile goes in one transaction."""
        try:
            stop = False
            while not stop:
                incidents = []
                item = self.alert_queue.get()
                while True:
                    if item is _STOP:
                        stop = True
                        break
                    incidents += item
                    try:
                        item = self.alert_queue.get_nowait()
                    except queue.Empty:
                        break
                if incidents:
                    alerts.incidents_opened(incidents)  # logs, never raises
                    self.stats["alerted"] += len(incidents)
                connection.close_if_unusable_or_obsolete()
        finally:
            connection.close()

    def pump(self, timeout: float = 0.0) -> int:
        """Inline mode (`workers=0`): store what has arrived, in the calling thread.

        Waits up to `timeout` seconds for the first message; returns how many were handled.
        """
        handled = 0
        while True:
            batch, stop = _drain(self.queues[0], wait=timeout if not handled else 0)
            if batch:
                self._handle_batch(batch, self.inline_state)
                handled += len(batch)
            if stop or not batch:
                return handled

    def _handle_batch(self, batch: list[Work], state: "_WorkerState") -> None:
        """Store a batch in one transaction, then acknowledge every message of it.

        Messages of one Frigate event in the batch (new, update…, end) are merged first; the
        events go to `actions.events_ingest` together (a few statements for the whole batch,
        decision 0013). If the database is away, nothing is acknowledged and the batch is
        tried again; any other failure sends the batch through again one message group at a
        time, each in its own transaction, so only the guilty group is dropped.
        """
        groups = _coalesce(batch)
        snapshots = {id(works): self._snapshot(work, state) for works, work in groups}
        delay = 1.0
        while True:
            try:
                try:
                    with transaction.atomic():
                        counts = self._store_groups(groups, state, snapshots)
                except (OperationalError, InterfaceError):
                    raise
                except Exception as error:  # each group alone finds the guilty one
                    logger.info("mqtt: batch refused (%s); storing it message by message", error)
                    state.cameras.clear()
                    counts = collections.Counter()
                    for group in groups:
                        counts += self._store_alone(group, state, snapshots)
                break
            except (OperationalError, InterfaceError) as error:
                # The database is away: keep the messages unacknowledged and try again.
                logger.error("mqtt: database unavailable (%s); retrying in %.0f s", error, delay)
                self.stats["db_errors"] += 1
                state.cameras.clear()
                connection.close()
                if self.stopping.wait(delay):
                    return  # left unacknowledged: the broker delivers them again
                delay = min(delay * 2, RETRY_MAX_SECONDS)
        self.stats.update(counts)
        for works, work in groups:
            if snapshots[id(works)] is not None and isinstance(work.item, ingest.FrigateEvent):
                state.remember_snapshot(work.item.event_id)
            for each in works:
                self._ack(each.mid, each.qos, each.generation)

    def _store_groups(self, groups, state, snapshots) -> collections.Counter:
        """Store the groups in the caller's transaction: runs of events through one
        `events_ingest` each, a camera status in its place between them."""
        counts = collections.Counter()
        run: list[actions.IncomingEvent] = []
        for works, work in groups:
            camera = self._camera(work.camera_name, state.cameras)
            if camera is None:
                logger.warning("mqtt: dropped a message for unknown camera %r", work.camera_name)
                counts["unknown_camera"] += 1
                continue
            if work.kind == "event":
                run.append(actions.IncomingEvent(camera, work.item.fields, snapshots[id(works)]))
                counts["stored"] += len(works)
                continue
            self._events_store(run)
            run = []
            actions.camera_status_report(camera=camera, online=work.item)
            counts["status"] += 1
        self._events_store(run)
        return counts

    def _events_store(self, run: list) -> None:
        if run:
            actions.events_ingest(items=run, alert=self.alert if self.alert_thread else None)

    def _store_alone(self, group, state, snapshots) -> collections.Counter:
        works, work = group
        try:
            with transaction.atomic():
                return self._store_groups([group], state, snapshots)
        except (OperationalError, InterfaceError):
            raise
        except DatabaseError as error:
            logger.warning("mqtt: dropped a message on %s: %s", work.topic, error)
        except DomainError as error:
            logger.warning("mqtt: dropped a message on %s: %s", work.topic, error.message)
        except Exception:  # a bug must not stop the listener: log it, drop the message
            logger.exception("mqtt: dropped a message on %s", work.topic)
        return collections.Counter(dropped=len(works))

    def _snapshot(self, work: Work, state: "_WorkerState") -> bytes | None:
        """Frigate's snapshot, fetched before the transaction opens, once per event."""
        event = work.item
        if (
            work.kind != "event"
            or not event.has_snapshot
            or not settings.XASO_FRIGATE_URL
            or event.event_id in state.fetched
        ):
            return None
        return fetch_snapshot(event.event_id)

    def _camera(self, name: str, cameras: dict):
        now = time.monotonic()
        cached = cameras.get(name)
        if cached is not None and cached[0] > now:
            return cached[1]
        camera = selectors.camera_for_frigate_name(name)
        cameras[name] = (now + CAMERA_CACHE_SECONDS, camera)
        return camera


BATCH_MAX = 100


def _drain(work_queue: queue.Queue, *, wait: float | None) -> tuple[list[Work], bool]:
    """Up to BATCH_MAX messages: the first waited for (`wait` None: forever; 0: not at all),
    the rest only if already queued. Also says whether the stop marker was met."""
    batch: list[Work] = []
    try:
        first = work_queue.get(timeout=wait) if wait else work_queue.get(block=wait is None)
    except queue.Empty:
        return batch, False
    item = first
    while True:
        if item is _STOP:
            return batch, True
        batch.append(item)
        if len(batch) >= BATCH_MAX:
            return batch, False
        try:
            item = work_queue.get_nowait()
        except queue.Empty:
            return batch, False


def _coalesce(batch: list[Work]) -> list[tuple[list[Work], Work]]:
    """Group the messages of one Frigate event; each group with one Work saying it all."""
    groups: dict[tuple, tuple[list[Work], Work]] = {}
    for work in batch:
        if work.kind != "event":
            groups[("status", id(work))] = ([work], work)
            continue
        key = ("event", work.camera_name, work.item.event_id)
        if key not in groups:
            groups[key] = ([work], work)
            continue
        works, merged = groups[key]
        works.append(work)
        groups[key] = (works, _merge(merged, work))
    return list(groups.values())


def _merge(earlier: Work, later: Work) -> Work:
    """What two messages of one event say together: the best score, every zone, the end."""
    first, second = earlier.item.fields, later.item.fields
    scores = [score for score in (first["score"], second["score"]) if score is not None]
    fields = {
        **second,
        "label": first["label"] or second["label"],
        "score": max(scores) if scores else None,
        "zones": sorted(set(first["zones"]) | set(second["zones"])),
        "started_at": first["started_at"],
        "ended_at": second["ended_at"] or first["ended_at"],
    }
    event = ingest.FrigateEvent(
        camera_name=later.item.camera_name,
        event_id=later.item.event_id,
        kind=later.item.kind,
        has_snapshot=earlier.item.has_snapshot or later.item.has_snapshot,
        fields=fields,
    )
    return Work(
        later.mid, later.qos, later.generation, later.topic, "event", later.camera_name, event
    )


def fetch_snapshot(event_id: str) -> bytes | None:
    """Frigate's snapshot of an event; None (and a log line) when it cannot be had."""
    url = ingest.snapshot_url(urllib.request.quote(event_id, safe=""))
    limit = settings.XASO_SNAPSHOT_MAX_BYTES
    try:
        with urllib.request.urlopen(url, timeout=SNAPSHOT_TIMEOUT_SECONDS) as response:
            data = response.read(limit + 1)
    except (OSError, urllib.error.URLError, ValueError) as error:
        logger.warning("mqtt: snapshot of event %s not fetched: %s", event_id, error)
        return None
    if len(data) > limit or not data.startswith(ingest.JPEG_MAGIC):
        logger.warning("mqtt: snapshot of event %s is not a JPEG within the limit", event_id)
        return None
    return data
