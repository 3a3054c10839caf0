"""`xaso camera-watch`: run the built-in motion detector (xaso.lib.motion) on cameras' streams and
store each motion episode as a CameraEvent through `event_ingest`.

Streams are read by workers that touch no database: threads of this process, or threads of
`processes` child processes (spawned, so no database connection or lock crosses a fork). They
send plain dicts to one queue; this process alone writes: events through `event_ingest`
(idempotent per camera + episode start, so a restart or a second pass never duplicates) and
heartbeats through `camera_heartbeat`. A stream that fails is logged and retried with backoff;
it never stops the others.
"""

import datetime
import logging
import multiprocessing
import queue
import threading
import time
from dataclasses import dataclass, field, replace

from django.db import connection

from xaso.lib import motion
from xaso.safety.actions import camera_heartbeat, camera_stream_url, event_ingest
from xaso.safety.models import Camera, CameraEvent

log = logging.getLogger(__name__)


@dataclass
class WatchSummary:
    streams: int = 0
    frames: int = 0
    episodes: int = 0
    created: int = 0  # new CameraEvent rows
    errors: list[str] = field(default_factory=list)


def cameras_for_watch(*, public_ids: list[str] | None = None) -> list[Camera]:
    """The cameras named, or every active camera with a stream address."""
    cameras = Camera.objects.exclude(stream_url_encrypted="").select_related("place")
    if public_ids:
        found = list(cameras.filter(public_id__in=public_ids))
        missing = sorted(set(public_ids) - {camera.public_id for camera in found})
        if missing:
            raise ValueError(
                "Không có camera (hoặc camera chưa có địa chỉ luồng) / unknown camera or no "
                f"stream URL: {', '.join(missing)}"
            )
        return found
    return list(cameras.filter(is_active=True))


def stream_jobs(cameras: list[Camera], template: motion.StreamJob) -> list[motion.StreamJob]:
    """One job per camera; a camera whose address cannot be read is logged and left out."""
    jobs = []
    for camera in cameras:
        try:
            url = camera_stream_url(camera)
        except Exception as error:  # a key change makes old ciphertext unreadable
            log.error(
                "camera %s: không đọc được địa chỉ luồng / cannot read stream URL: %s",
                camera.public_id,
                error,
            )
            continue
        heartbeat = max(5.0, min(template.heartbeat_every, camera.heartbeat_seconds / 3))
        jobs.append(
            replace(
                template,
                key=camera.public_id,
                url=url,
                zones=list(camera.zones or []),
                heartbeat_every=heartbeat,
            )
        )
    return jobs


def source_id(camera: Camera, started_at: float) -> str:
    """Deterministic per camera and episode start: a second delivery updates, never duplicates."""
    return f"{camera.public_id}-{round(started_at * 1000)}"


def _moment(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def episode_store(*, camera: Camera, message: dict) -> tuple[CameraEvent, bool]:
    """One finished episode (a message from xaso.lib.motion) → event_ingest."""
    labelled = message["label"] != "motion" and message["label_score"] is not None
    return event_ingest(
        camera=camera,
        source=CameraEvent.Source.MOTION,
        source_id=source_id(camera, message["started_at"]),
        label=message["label"],
        score=message["label_score"] if labelled else min(1.0, message["score"]),
        zones=message["zones"],
        started_at=_moment(message["started_at"]),
        ended_at=_moment(message["ended_at"]),
        snapshot=message["snapshot"],
        raw={
            "detector": "xaso-motion",
            "method": message["method"],
            "motion_score": message["score"],
            "label_score": message["label_score"],
            "peak_at": _moment(message["peak_at"]).isoformat(),
            "frames": message["frames"],
        },
    )


class Watcher:
    """Start the workers, store what they send, until every stream is done or `stop()`."""

    def __init__(self, jobs: list[motion.StreamJob], *, processes: int = 0, store=episode_store):
        self.jobs = jobs
        self.processes = max(0, min(processes, len(jobs)))
        self.store = store
        self.cameras = {
            camera.public_id: camera
            for camera in Camera.objects.filter(public_id__in=[job.key for job in jobs])
        }
        self.summary = WatchSummary(streams=len(jobs))
        self.once = all(job.once for job in jobs)
        self._last_heartbeat: dict[str, float] = {}

    def run(self, stop: threading.Event | None = None) -> WatchSummary:
        stop = stop or threading.Event()
        if not self.jobs:
            return self.summary
        if self.processes:
            context = multiprocessing.get_context("spawn")
            messages, child_stop = context.Queue(), context.Event()
            workers = self._start_processes(context, messages, child_stop)
        else:
            messages, child_stop = queue.Queue(), stop
            workers = self._start_threads(messages, stop)
        done: set[str] = set()
        try:
            while len(done) < len(self.jobs):
                if stop.is_set() and child_stop is not stop:
                    child_stop.set()
                try:
                    message = messages.get(timeout=0.5)
                except queue.Empty:
                    if self.processes:
                        self._check_processes(workers, done, messages, context, child_stop)
                    continue
                self._handle(message, done)
        finally:
            child_stop.set()
            for worker in workers:  # threads, or the processes (keys of the dict)
                worker.join(timeout=10)
        return self.summary

    def _start_threads(self, messages, stop) -> list[threading.Thread]:
        thread = threading.Thread(
            target=motion.run_streams,
            args=(self.jobs, messages.put, stop.is_set),
            name="camera-watch",
            daemon=True,
        )
        thread.start()
        return [thread]

    def _start_processes(self, context, messages, stop) -> dict:
        shares = [self.jobs[index :: self.processes] for index in range(self.processes)]
        workers = {}
        for share in shares:
            workers[self._spawn(context, share, messages, stop)] = share
        return workers

    def _spawn(self, context, share, messages, stop):
        process = context.Process(
            target=motion.run_worker_process,
            args=(share, messages, stop),
            name="camera-watch-worker",
            daemon=True,
        )
        process.start()
        return process

    def _check_processes(self, workers, done: set[str], messages, context, stop) -> None:
        """A child that died (a crash in a decoder) takes only its own streams with it; they
        are started again in a new process, or, with --once, reported as failed."""
        if not isinstance(workers, dict):
            return
        for process, share in list(workers.items()):
            if process.is_alive() or process.exitcode in (0, None):
                continue
            del workers[process]
            keys = ", ".join(job.key for job in share)
            log.error(
                "camera-watch: tiến trình con dừng đột ngột / worker process died (exit %s): %s",
                process.exitcode,
                keys,
            )
            if self.once or stop.is_set():
                for job in share:
                    if job.key not in done:
                        self.summary.errors.append(f"camera {job.key}: worker process died")
                        done.add(job.key)
                continue
            time.sleep(1)  # a crash loop must not spin
            workers[self._spawn(context, share, messages, stop)] = share

    def _handle(self, message: dict, done: set[str]) -> None:
        key, kind = message["camera"], message["kind"]
        camera = self.cameras.get(key)
        if camera is None:
            return
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()  # a long-running command, as a worker
        try:
            if kind == "event":
                event, created = self.store(camera=camera, message=message)
                self.summary.episodes += 1
                self.summary.created += int(created)
                log.info(
                    "camera %s: %s %s → %s (%.1f s, score %.3f, zones %s)",
                    key,
                    "sự kiện mới / new event" if created else "đã có / already stored",
                    event.label,
                    event.source_id,
                    message["ended_at"] - message["started_at"],
                    message["score"],
                    ",".join(message["zones"]) or "-",
                )
            elif kind == "alive":
                if message["at"] - self._last_heartbeat.get(key, 0) >= 5:
                    self._last_heartbeat[key] = message["at"]
                    camera_heartbeat(camera=camera)
            elif kind == "error":
                text = f"camera {key}: {message['message']}"
                self.summary.errors.append(text)
                log.warning(
                    "camera %s (%s): lỗi luồng / stream problem: %s",
                    key,
                    camera.name,
                    message["message"],
                )
            elif kind == "done":
                done.add(key)
                self.summary.frames += message["frames"]
                log.info(
                    "camera %s: xong / done, %s frames, %s episodes",
                    key,
                    message["frames"],
                    message["episodes"],
                )
        except Exception:  # a bad event or a database hiccup: log it, keep watching
            log.exception("camera %s: không lưu được / could not store %s", key, kind)
            self.summary.errors.append(f"camera {key}: could not store {kind}")


def run_watch(
    *,
    public_ids: list[str] | None,
    template: motion.StreamJob,
    processes: int = 0,
    stop: threading.Event | None = None,
) -> WatchSummary:
    jobs = stream_jobs(cameras_for_watch(public_ids=public_ids), template)
    started = time.monotonic()
    log.info(
        "camera-watch: %s luồng / streams, %s tiến trình / processes, %s %s fps %sx%s",
        len(jobs),
        processes or "0 (threads)",
        template.settings.method,
        template.settings.fps,
        template.settings.width,
        template.settings.height,
    )
    summary = Watcher(jobs, processes=processes).run(stop)
    log.info(
        "camera-watch: %s frames, %s episodes (%s new) in %.1f s",
        summary.frames,
        summary.episodes,
        summary.created,
        time.monotonic() - started,
    )
    return summary
