"""The built-in motion detector: frames in, motion episodes out. OpenCV and numpy, no Django.

A camera's frames are shrunk to a small grey image (320×180 by default), a foreground mask is
computed (MOG2 background subtraction, or the difference with the previous frame), and the
share of changed pixels is measured inside each configured zone (polygons as fractions 0–1 of
the frame; no zone = the whole frame). Motion that lasts `min_frames` processed frames opens an
episode; `quiet_frames` frames without motion close it. One episode = one event, reported with
the frame at its peak (the highest changed share).

`watch_stream` reads one stream (an RTSP/HTTP URL or a video file) with this detector, holds the
target frame rate by skipping frames, reconnects a live stream with backoff, and hands every
finished episode to a callback as plain, picklable data. The Django side (xaso.safety.watch)
stores them.
"""

import logging
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

log = logging.getLogger("xaso.motion")

METHODS = ("mog2", "diff")
LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://", "udp://", "tcp://")


@dataclass(frozen=True)
class MotionSettings:
    width: int = 320
    height: int = 180
    method: str = "mog2"  # "mog2" (background subtraction) or "diff" (previous frame)
    fps: float = 5.0  # frames processed per second of video; the others are skipped
    min_area: float = 0.01  # share of a zone's pixels that must change to count as motion
    max_area: float = 0.9  # above this share of the frame: a light change, ignored
    min_frames: int = 3  # consecutive motion frames before an episode opens (debounce)
    quiet_frames: int = 10  # consecutive quiet frames that close it
    max_episode_seconds: float = 300.0  # a longer episode is reported and a new one begins
    warmup_frames: int = 5  # frames that only teach the background model
    diff_threshold: int = 25  # grey-level change that counts (frame differencing)
    mog2_var_threshold: float = 16.0
    mog2_history: int = 100
    snapshot_width: int = 640  # snapshots wider than this are shrunk
    snapshot_quality: int = 80

    def __post_init__(self):
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {METHODS}, not {self.method!r}")
        if self.width < 16 or self.height < 16:
            raise ValueError("width and height must be at least 16 pixels")
        if self.fps <= 0:
            raise ValueError("fps must be positive")
        if not 0 < self.min_area < 1:
            raise ValueError("min_area must be between 0 and 1")
        if self.min_frames < 1 or self.quiet_frames < 1:
            raise ValueError("min_frames and quiet_frames must be at least 1")


@dataclass(frozen=True)
class Zone:
    name: str
    polygon: tuple[tuple[float, float], ...]


def zones_from_config(raw: Iterable[dict] | None) -> list[Zone]:
    """Camera.zones (`[{"name": "cong", "polygon": [[x, y], …]}]`) checked and made immutable."""
    zones = []
    for index, item in enumerate(raw or []):
        if not isinstance(item, dict):
            raise ValueError(f"zone {index}: expected an object with name and polygon")
        name = str(item.get("name") or f"zone-{index + 1}")
        points = item.get("polygon") or []
        try:
            polygon = tuple((float(x), float(y)) for x, y in points)
        except (TypeError, ValueError) as error:
            raise ValueError(f"zone {name!r}: polygon must be a list of [x, y] pairs") from error
        if len(polygon) < 3:
            raise ValueError(f"zone {name!r}: a polygon needs at least 3 points")
        if not all(0 <= x <= 1 and 0 <= y <= 1 for x, y in polygon):
            raise ValueError(f"zone {name!r}: points are fractions of the frame, 0 to 1")
        zones.append(Zone(name, polygon))
    return zones


@dataclass
class Episode:
    """One motion episode. Times are on the caller's clock (seconds)."""

    started_at: float
    ended_at: float
    score: float  # peak share of changed pixels in the most-moved zone
    peak_at: float
    zones: list[str]  # names of the zones that moved (empty without zones)
    frames: int  # processed frames with motion
    snapshot: np.ndarray = field(repr=False)  # BGR frame at the peak
    label: str = "motion"
    label_score: float | None = None


class MotionDetector:
    """Feed frames in time order; `feed` returns an Episode when one ends."""

    def __init__(self, settings: MotionSettings, zones: list[Zone] | None = None):
        self.settings = settings
        self.zones = list(zones or [])
        self._masks = self._zone_masks()
        self._kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
        self._subtractor = None
        if settings.method == "mog2":
            self._subtractor = cv2.createBackgroundSubtractorMOG2(
                history=settings.mog2_history,
                varThreshold=settings.mog2_var_threshold,
                detectShadows=False,
            )
        self._previous = None
        self._seen = 0
        self._run: list[tuple[float, float, set[str], np.ndarray]] = []  # pending motion frames
        self._episode: dict | None = None
        self._quiet = 0

    def _zone_masks(self) -> list[tuple[str, np.ndarray, int]]:
        width, height = self.settings.width, self.settings.height
        masks = []
        for zone in self.zones:
            mask = np.zeros((height, width), np.uint8)
            points = np.array(
                [[round(x * (width - 1)), round(y * (height - 1))] for x, y in zone.polygon],
                np.int32,
            )
            cv2.fillPoly(mask, [points], 255)
            area = int(cv2.countNonZero(mask))
            if area:
                masks.append((zone.name, mask, area))
        return masks

    @property
    def in_episode(self) -> bool:
        return self._episode is not None

    def measure(self, frame: np.ndarray) -> tuple[float, list[str]] | None:
        """Changed share of the most-moved zone and the zones above min_area; None = ignore."""
        s = self.settings
        small = cv2.resize(frame, (s.width, s.height), interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY) if small.ndim == 3 else small
        grey = cv2.GaussianBlur(grey, (5, 5), 0)
        if self._subtractor is not None:
            foreground = self._subtractor.apply(grey)
        else:
            previous, self._previous = self._previous, grey
            if previous is None:
                foreground = np.zeros_like(grey)
            else:
                _, foreground = cv2.threshold(
                    cv2.absdiff(grey, previous), s.diff_threshold, 255, cv2.THRESH_BINARY
                )
        foreground = cv2.morphologyEx(foreground, cv2.MORPH_OPEN, self._kernel)
        self._seen += 1
        if self._seen <= s.warmup_frames:
            return None
        changed = cv2.countNonZero(foreground)
        if changed > s.max_area * s.width * s.height:
            return None  # the whole picture changed: light switched, camera moved, IR mode
        if not self._masks:
            share = changed / (s.width * s.height)
            return share, []
        best, moved = 0.0, []
        for name, mask, area in self._masks:
            share = cv2.countNonZero(cv2.bitwise_and(foreground, mask)) / area
            best = max(best, share)
            if share >= s.min_area:
                moved.append(name)
        return best, moved

    def feed(self, frame: np.ndarray, at: float) -> Episode | None:
        measured = self.measure(frame)
        if measured is None:
            return None
        share, moved = measured
        if share >= self.settings.min_area:
            return self._motion(frame, at, share, moved)
        return self._still(at)

    def _motion(self, frame, at, share, moved) -> Episode | None:
        finished = None
        self._quiet = 0
        episode = self._episode
        if episode is not None and at - episode["started_at"] >= self.settings.max_episode_seconds:
            finished = self._close()
            episode = None
        if episode is None:
            self._run.append((at, share, set(moved), frame))
            if len(self._run) < self.settings.min_frames:
                return finished
            start, *_ = self._run[0]
            peak = max(self._run, key=lambda item: item[1])
            self._episode = {
                "started_at": start,
                "last_motion_at": at,
                "score": peak[1],
                "peak_at": peak[0],
                "snapshot": peak[3].copy(),
                "zones": set().union(*(item[2] for item in self._run)),
                "frames": len(self._run),
            }
            self._run = []
            return finished
        episode["last_motion_at"] = at
        episode["frames"] += 1
        episode["zones"].update(moved)
        if share > episode["score"]:
            episode["score"], episode["peak_at"] = share, at
            episode["snapshot"] = frame.copy()
        return finished

    def _still(self, at) -> Episode | None:
        self._run = []
        if self._episode is None:
            return None
        self._quiet += 1
        if self._quiet >= self.settings.quiet_frames:
            return self._close()
        return None

    def _close(self) -> Episode | None:
        episode, self._episode, self._quiet = self._episode, None, 0
        if episode is None:
            return None
        zone_order = [zone.name for zone in self.zones]
        return Episode(
            started_at=episode["started_at"],
            ended_at=episode["last_motion_at"],
            score=round(float(episode["score"]), 4),
            peak_at=episode["peak_at"],
            zones=[name for name in zone_order if name in episode["zones"]],
            frames=episode["frames"],
            snapshot=episode["snapshot"],
        )

    def flush(self) -> Episode | None:
        """The stream ended: close an open episode at its last motion frame."""
        self._run = []
        return self._close()


def encode_jpeg(frame: np.ndarray, *, max_width: int = 640, quality: int = 80) -> bytes:
    height, width = frame.shape[:2]
    if width > max_width:
        frame = cv2.resize(
            frame, (max_width, round(height * max_width / width)), interpolation=cv2.INTER_AREA
        )
    ok, data = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise ValueError("could not encode the snapshot as JPEG")
    return data.tobytes()


# --- Optional object detector (ONNX, YOLO-style output) -----------------------------------------
_COCO_NAMES = """
person bicycle car motorcycle airplane bus train truck boat traffic_light fire_hydrant
stop_sign parking_meter bench bird cat dog horse sheep cow elephant bear zebra giraffe
backpack umbrella handbag tie suitcase frisbee skis snowboard sports_ball kite
baseball_bat baseball_glove skateboard surfboard tennis_racket bottle wine_glass cup
fork knife spoon bowl banana apple sandwich orange broccoli carrot hot_dog pizza donut
cake chair couch potted_plant bed dining_table toilet tv laptop mouse remote keyboard
cell_phone microwave oven toaster sink refrigerator book clock vase scissors teddy_bear
hair_drier toothbrush
"""
COCO_LABELS = tuple(_COCO_NAMES.split())


class ModelError(Exception):
    """The object detector's model cannot be used."""


class ObjectDetector:
    """An ONNX detector (YOLOv5/v8-style export) run on motion frames. Nothing ships with XãSố:
    the operator supplies the model file, and only then is this class used."""

    def __init__(
        self,
        model_path: str,
        *,
        labels: list[str] | None = None,
        size: int = 320,
        threshold: float = 0.5,
    ):
        if not model_path or not os.path.isfile(model_path):
            raise ModelError(
                f"Không tìm thấy tệp mô hình ONNX / ONNX model file not found: {model_path!r}"
            )
        try:
            self.net = cv2.dnn.readNetFromONNX(model_path)
        except cv2.error as error:
            raise ModelError(
                f"Không đọc được mô hình ONNX / cannot read ONNX model {model_path!r}: {error}"
            ) from error
        self.labels = list(labels or COCO_LABELS)
        self.size = size
        self.threshold = threshold

    def detect(self, frame: np.ndarray) -> tuple[str, float] | None:
        blob = cv2.dnn.blobFromImage(
            frame, 1 / 255.0, (self.size, self.size), swapRB=True, crop=False
        )
        self.net.setInput(blob)
        return best_detection(self.net.forward(), self.labels, self.threshold)


def best_detection(output, labels: list[str], threshold: float) -> tuple[str, float] | None:
    """The most confident (label, score) in a YOLO output above `threshold`, else None.

    Accepts (1, N, 5 + classes) (v5: box, objectness, class scores) and (1, 4 + classes, N)
    (v8: box, class scores, transposed)."""
    rows = np.asarray(output, dtype=np.float32)
    rows = rows.reshape(rows.shape[-2], rows.shape[-1]) if rows.ndim == 3 else rows
    classes = len(labels)
    if rows.shape[0] in (4 + classes, 5 + classes) and rows.shape[1] not in (
        4 + classes,
        5 + classes,
    ):
        rows = rows.T
    if rows.shape[1] == 5 + classes:
        scores = rows[:, 5:] * rows[:, 4:5]
    elif rows.shape[1] == 4 + classes:
        scores = rows[:, 4:]
    else:
        raise ModelError(
            f"Unexpected detector output {tuple(np.shape(output))} for {classes} labels"
        )
    if scores.size == 0:
        return None
    row, column = np.unravel_index(int(np.argmax(scores)), scores.shape)
    score = float(scores[row, column])
    if score < threshold:
        return None
    return labels[column], round(score, 4)


# --- Reading a stream -------------------------------------------------------------------------
def is_live(url: str) -> bool:
    return url.lower().startswith(LIVE_SCHEMES)


def open_capture(url: str) -> cv2.VideoCapture | None:
    if url.lower().startswith("file://"):
        url = url[len("file://") :]
    if not is_live(url) and not os.path.isfile(url):
        return None
    # A camera that stops answering must not hang its thread: 10 s to open, 10 s per read.
    timeouts = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, 10_000, cv2.CAP_PROP_READ_TIMEOUT_MSEC, 10_000]
    capture = cv2.VideoCapture(url, cv2.CAP_FFMPEG, timeouts if is_live(url) else [])
    if not capture.isOpened():
        capture.release()
        return None
    return capture


def file_clock_origin(url: str) -> float:
    """A file's frames are timed from its modification time, so a second pass over the same
    file finds the same episode times (and event ids)."""
    path = url[len("file://") :] if url.lower().startswith("file://") else url
    return os.path.getmtime(path)


def frames(
    capture: cv2.VideoCapture,
    *,
    fps: float,
    live: bool,
    origin: float = 0.0,
    stop: Callable[[], bool] = lambda: False,
    clock: Callable[[], float] = time.time,
) -> Iterator[tuple[float, np.ndarray]]:
    """(time, frame) at no more than `fps`: the frames in between are grabbed, not decoded into
    images. A file is timed by its own timestamps from `origin`, a live stream by the clock."""
    period = 1.0 / fps
    due = None
    index = -1
    source_fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    while not stop():
        if not capture.grab():
            return
        index += 1
        if live:
            at = clock()
        else:
            position = capture.get(cv2.CAP_PROP_POS_MSEC)
            if position <= 0 and index > 0 and source_fps > 0:
                position = index * 1000.0 / source_fps  # containers without timestamps
            at = origin + position / 1000.0
        if due is not None and at < due - period * 0.05:
            continue
        due = at + period if due is None or at - due > period else due + period
        ok, frame = capture.retrieve()
        if not ok or frame is None:
            return
        yield at, frame


@dataclass(frozen=True)
class StreamJob:
    """What a worker needs to watch one camera: plain data, so it can cross to a process."""

    key: str  # the camera's public id
    url: str
    zones: list[dict]
    settings: MotionSettings
    once: bool = False
    model: str = ""  # ONNX model path; empty: motion only
    model_labels: tuple[str, ...] = ()
    model_size: int = 320
    model_threshold: float = 0.5
    detect_every: float = 1.0  # seconds of video between two detector runs in an episode
    heartbeat_every: float = 30.0
    backoff_max: float = 60.0


def episode_message(job: StreamJob, episode: Episode) -> dict:
    """The episode as plain data (snapshot as JPEG bytes) for the storing side."""
    return {
        "kind": "event",
        "camera": job.key,
        "started_at": episode.started_at,
        "ended_at": episode.ended_at,
        "peak_at": episode.peak_at,
        "score": episode.score,
        "label": episode.label,
        "label_score": episode.label_score,
        "zones": episode.zones,
        "frames": episode.frames,
        "snapshot": encode_jpeg(
            episode.snapshot,
            max_width=job.settings.snapshot_width,
            quality=job.settings.snapshot_quality,
        ),
        "method": job.settings.method,
    }


def watch_stream(
    job: StreamJob,
    emit: Callable[[dict], None],
    stop: Callable[[], bool],
    sleep: Callable[[float], object] = time.sleep,
) -> None:
    """Watch one stream until `stop()` (or, for a file or with `job.once`, until it ends).

    Sends dicts to `emit`: {"kind": "event", …}, {"kind": "alive", "camera", "at"} while frames
    arrive, {"kind": "error", "camera", "message"} when the stream cannot be read, and
    {"kind": "done", "camera", "frames", "episodes"} once at the end. Never raises.
    """
    frames_done = episodes = 0
    try:
        zones = zones_from_config(job.zones)
        detector_model = None
        if job.model:
            detector_model = ObjectDetector(
                job.model,
                labels=list(job.model_labels) or None,
                size=job.model_size,
                threshold=job.model_threshold,
            )
        live = is_live(job.url)
        backoff = 1.0
        while not stop():
            capture = open_capture(job.url)
            if capture is None:
                emit({"kind": "error", "camera": job.key, "message": "cannot open stream"})
                if job.once or not live:
                    break
                sleep_until_stopped(backoff, stop, sleep)
                backoff = min(backoff * 2, job.backoff_max)
                continue
            count, found = _watch_capture(job, capture, live, zones, detector_model, emit, stop)
            frames_done += count
            episodes += found
            if count:
                backoff = 1.0
            if job.once or not live:
                break
            emit({"kind": "error", "camera": job.key, "message": "stream ended, reconnecting"})
            sleep_until_stopped(backoff, stop, sleep)
            backoff = min(backoff * 2, job.backoff_max)
    except Exception as error:  # one bad stream must never stop the others
        log.exception("camera %s: watcher failed", job.key)
        emit({"kind": "error", "camera": job.key, "message": f"{type(error).__name__}: {error}"})
    emit({"kind": "done", "camera": job.key, "frames": frames_done, "episodes": episodes})


def sleep_until_stopped(seconds: float, stop: Callable[[], bool], sleep) -> None:
    deadline = time.monotonic() + seconds
    while not stop() and time.monotonic() < deadline:
        sleep(min(0.2, max(0.0, deadline - time.monotonic())))


def _watch_capture(job, capture, live, zones, model, emit, stop) -> tuple[int, int]:
    detector = MotionDetector(job.settings, zones)
    origin = 0.0 if live else file_clock_origin(job.url)
    count = found = 0
    last_alive = -math.inf
    next_detection = -math.inf
    best: tuple[str, float] | None = None

    def finish(episode: Episode | None) -> None:
        nonlocal found, best
        if episode is None:
            return
        if best is not None:
            episode.label, episode.label_score = best
        best = None
        found += 1
        emit(episode_message(job, episode))

    try:
        for at, frame in frames(capture, fps=job.settings.fps, live=live, origin=origin, stop=stop):
            count += 1
            finish(detector.feed(frame, at))
            if model is not None and detector.in_episode and at >= next_detection:
                next_detection = at + job.detect_every
                detected = model.detect(frame)
                if detected is not None and (best is None or detected[1] > best[1]):
                    best = detected
            now = time.monotonic()
            if now - last_alive >= job.heartbeat_every:
                last_alive = now
                emit({"kind": "alive", "camera": job.key, "at": time.time()})
        finish(detector.flush())
    finally:
        capture.release()
    return count, found


def run_streams(
    jobs: list[StreamJob], emit: Callable[[dict], None], stop: Callable[[], bool]
) -> None:
    """Watch several streams, one thread each (OpenCV releases the GIL while it decodes and
    filters), until all are done. Used inside each worker process of the watcher."""
    import threading

    cv2.setNumThreads(1)  # one stream per thread already; OpenCV's own pool would oversubscribe
    threads = [
        threading.Thread(target=watch_stream, args=(job, emit, stop), name=f"camera-{job.key}")
        for job in jobs
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def run_worker_process(jobs: list[StreamJob], out, stop) -> None:
    """Body of a watcher's child process: its streams in threads, messages to the parent's
    queue. Lives here, not in the Django side, so a spawned child never imports Django."""
    import signal

    for signum in (signal.SIGINT, signal.SIGTERM):  # the parent decides when to stop, so
        signal.signal(signum, signal.SIG_IGN)  # open episodes are still reported
    parent = os.getppid()
    run_streams(jobs, out.put, lambda: stop.is_set() or os.getppid() != parent)  # orphaned: stop
