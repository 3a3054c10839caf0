"""`xaso camera-watch` on 2 cores: how many 5-fps streams does motion detection at 320×180 keep
up with, and what does it cost over bare decoding of the same streams?

    make bench
    .venv/bin/python bench/camera_watch.py                     # 16 files of 60 s, 640×360
    .venv/bin/python bench/camera_watch.py --streams 32 --source-fps 25

It writes N synthetic video files (MPEG-4 part 2, a textured still scene with sensor noise and
a square crossing it twice a minute), then times, alternating round by round:

- the baseline: bare decoding of every stream (grab + retrieve of the frames the watcher
  analyses, the same frame skipping), in threads of one process and in 2 worker processes;
- the watcher: `xaso.safety.watch.Watcher` exactly as `xaso camera-watch --once` runs it
  (decode, shrink to 320×180, MOG2, zones, debounce, JPEG snapshot, event_ingest into a
  throwaway SQLite database), in threads (--processes 0) and in 2 worker processes.

Figures: analysed frames per second, the 5-fps streams that rate sustains, and the ratio of
the watcher's time to the bare decoding's. Nothing is asserted.
"""

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from xaso.lib import motion

TARGET_FPS = 5.0


# --- Synthetic streams ----------------------------------------------------------------------------
def write_stream(path: Path, *, seconds: int, fps: int, size: tuple[int, int], seed: int) -> None:
    width, height = size
    rng = np.random.default_rng(seed)
    scene = rng.integers(40, 160, (height // 8, width // 8, 3), dtype=np.uint8)
    scene = cv2.resize(scene, size, interpolation=cv2.INTER_CUBIC)  # soft texture, compresses
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), fps, size)
    box = width // 8
    for index in range(seconds * fps):
        at = index / fps
        frame = scene.copy()
        phase = (at + seed) % 30  # a square crosses for 4 s every 30 s
        if phase < 4:
            x = int(phase / 4 * (width - box))
            y = height // 2
            cv2.rectangle(frame, (x, y), (x + box, y + box), (235, 235, 235), -1)
        frame = cv2.add(frame, rng.integers(0, 4, frame.shape, dtype=np.uint8))
        writer.write(frame)
    writer.release()


# --- Baseline: bare decoding ----------------------------------------------------------------------
def decode_one(path: str, fps: float, counts: list) -> None:
    capture = cv2.VideoCapture(path, cv2.CAP_FFMPEG)
    counts.append(sum(1 for _ in motion.frames(capture, fps=fps, live=False)))
    capture.release()


def decode_threads(paths: list[str], fps: float) -> int:
    cv2.setNumThreads(1)
    counts: list[int] = []
    threads = [threading.Thread(target=decode_one, args=(path, fps, counts)) for path in paths]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts)


def decode_processes(paths: list[str], fps: float, processes: int) -> int:
    context = multiprocessing.get_context("spawn")
    shares = [(paths[index::processes], fps) for index in range(processes)]
    with context.Pool(processes) as pool:
        return sum(pool.starmap(decode_threads, shares))


# --- The watcher ----------------------------------------------------------------------------------
def setup_django(data_dir: str) -> list:
    """A throwaway SQLite database in `data_dir`, migrated, with one camera per stream."""
    os.environ.pop("DATABASE_URL", None)
    os.environ["XASO_DATA_DIR"] = data_dir
    os.environ.setdefault("XASO_SECRET_KEY", "bench-secret")
    os.environ.setdefault("XASO_FIELD_KEY", "bench-field-key")
    os.environ["DJANGO_SETTINGS_MODULE"] = "xaso.config.settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)


def make_cameras(paths: list[str]) -> list:
    from xaso.accounts.models import User
    from xaso.places.loader import official_places_load
    from xaso.places.models import Place
    from xaso.safety.actions import camera_register

    official_places_load()
    admin = User.objects.create_superuser("bench-admin", password=None)
    commune = Place.objects.filter(kind=Place.Kind.COMMUNE).order_by("code").first()
    zones = [{"name": "duong", "polygon": [[0, 0.3], [1, 0.3], [1, 1], [0, 1]]}]
    return [
        camera_register(
            place=commune,
            values={"name": f"Bench {index}", "stream_url": path, "zones": zones},
            by=admin,
        )[0]
        for index, path in enumerate(paths)
    ]


def watch_files(cameras: list, processes: int, settings: motion.MotionSettings):
    from xaso.safety import watch

    template = motion.StreamJob(key="", url="", zones=[], settings=settings, once=True)
    jobs = watch.stream_jobs(cameras, template)
    return watch.Watcher(jobs, processes=processes).run()


# --- Timing ---------------------------------------------------------------------------------------
def timed(work) -> tuple[float, object]:
    start = time.perf_counter()
    outcome = work()
    return time.perf_counter() - start, outcome


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--source-fps", type=int, default=5)
    parser.add_argument("--size", default="640x360", help="source frame size, WxH")
    parser.add_argument("--method", choices=motion.METHODS, default="mog2")
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    size = tuple(int(part) for part in options.size.split("x"))
    settings = motion.MotionSettings(method=options.method, fps=TARGET_FPS)
    started = time.perf_counter()

    with tempfile.TemporaryDirectory(prefix="xaso-bench-watch-") as data_dir:
        videos = Path(data_dir) / "videos"
        videos.mkdir()
        paths = []
        for index in range(options.streams):
            path = videos / f"cam{index:02d}.mp4"
            write_stream(
                path, seconds=options.seconds, fps=options.source_fps, size=size, seed=index
            )
            paths.append(str(path))
        setup_django(data_dir)
        cameras = make_cameras(paths)
        print(
            f"camera-watch benchmark: {options.streams} files of {options.seconds} s, "
            f"{size[0]}×{size[1]} mp4v at {options.source_fps} fps, analysed at "
            f"{settings.width}×{settings.height}, {settings.method}, {TARGET_FPS:g} fps"
        )
        print(
            f"Set up in {time.perf_counter() - started:.0f} s. {os.cpu_count()} CPUs, "
            f"load average before: {os.getloadavg()[0]:.1f}"
        )
        cases = {
            "bare decode, threads": lambda: decode_threads(paths, TARGET_FPS),
            "bare decode, 2 processes": lambda: decode_processes(paths, TARGET_FPS, 2),
            "watcher, threads": lambda: watch_files(cameras, 0, settings),
            "watcher, 2 processes": lambda: watch_files(cameras, 2, settings),
        }
        seconds: dict[str, list[float]] = {label: [] for label in cases}
        frames: dict[str, int] = {}
        episodes = 0
        for _round in range(options.rounds):
            for label, work in cases.items():
                elapsed, outcome = timed(work)
                seconds[label].append(elapsed)
                if isinstance(outcome, int):
                    frames[label] = outcome
                else:
                    frames[label], episodes = outcome.frames, outcome.episodes
                    assert not outcome.errors, outcome.errors

        from xaso.safety.models import CameraEvent

        stored = CameraEvent.objects.count()
        print(f"Load average after: {os.getloadavg()[0]:.1f}\n")
        header = (
            f"{'case':<26} {'frames':>7} {'median s':>9} {'frames/s':>9} "
            f"{'5-fps streams':>13} {'× decode':>9}"
        )
        print(header)
        print("-" * len(header))
        for label in cases:
            median = statistics.median(seconds[label])
            mode = label.split(", ")[1]
            base = statistics.median(seconds[f"bare decode, {mode}"])
            rate = frames[label] / median
            print(
                f"{label:<26} {frames[label]:>7} {median:>9.2f} {rate:>9.0f} "
                f"{rate / TARGET_FPS:>13.0f} {median / base:>9.2f}"
            )
        print(
            f"\nEpisodes per watcher run: {episodes}; events stored (once each): {stored}. "
            f"Ran in {time.perf_counter() - started:.0f} s."
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
