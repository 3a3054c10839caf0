"""xaso camera-watch [--camera ID ...] [--fps 5] [--width 320] [--method mog2|diff] [--once]

The built-in motion detector: reads the cameras' streams (RTSP or video files), stores one
CameraEvent (source "motion") per motion episode with a snapshot at its peak. See
docs/operations.md (camera-watch) and xaso/lib/motion.py.
"""

import os
import signal
import threading

from django.core.management.base import BaseCommand, CommandError

from xaso.lib import motion
from xaso.safety import watch


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name) or default)
    except ValueError as error:
        raise CommandError(f"{name} phải là một số / must be a number") from error


class Command(BaseCommand):
    help = "Phát hiện chuyển động trên luồng camera / motion detection on camera streams"

    def add_arguments(self, parser):
        parser.add_argument(
            "--camera",
            action="append",
            dest="cameras",
            metavar="ID",
            help="public id of a camera (repeatable); default: every active camera with a stream",
        )
        parser.add_argument("--fps", type=float, default=5.0, help="frames analysed per second")
        parser.add_argument("--width", type=int, default=320, help="analysis width in pixels")
        parser.add_argument("--height", type=int, default=0, help="default: width × 9/16")
        parser.add_argument("--method", choices=motion.METHODS, default="mog2")
        parser.add_argument(
            "--min-area", type=float, default=0.01, help="share of a zone that must change"
        )
        parser.add_argument(
            "--min-frames", type=int, default=3, help="motion frames before an episode opens"
        )
        parser.add_argument(
            "--quiet-frames", type=int, default=10, help="still frames that close an episode"
        )
        parser.add_argument(
            "--max-episode", type=float, default=60.0, help="seconds before a long episode is cut"
        )
        parser.add_argument(
            "--processes",
            type=int,
            default=0,
            help="worker processes, each with its share of the streams in threads; default 0: "
            "every stream in a thread of this process (faster on 2 cores, see bench/README.md)",
        )
        parser.add_argument(
            "--once", action="store_true", help="read each stream to its end (files), then exit"
        )
        parser.add_argument(
            "--model",
            default=os.environ.get("XASO_ONNX_MODEL", ""),
            help="ONNX object detector run on motion frames (default $XASO_ONNX_MODEL)",
        )
        parser.add_argument(
            "--model-labels",
            default=os.environ.get("XASO_ONNX_LABELS", ""),
            help="text file, one class name per line (default: the 80 COCO classes)",
        )

    def handle(self, *args, **options):
        try:
            settings = motion.MotionSettings(
                width=options["width"],
                height=options["height"] or round(options["width"] * 9 / 16),
                method=options["method"],
                fps=options["fps"],
                min_area=options["min_area"],
                min_frames=options["min_frames"],
                quiet_frames=options["quiet_frames"],
                max_episode_seconds=options["max_episode"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        template = motion.StreamJob(
            key="", url="", zones=[], settings=settings, once=options["once"]
        )
        if options["model"]:
            template = self._with_model(template, options)
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGINT, signal.SIGTERM):
                signal.signal(signum, lambda *_: stop.set())
        try:
            summary = watch.run_watch(
                public_ids=options["cameras"],
                template=template,
                processes=options["processes"],
                stop=stop,
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(
            f"Đã xem {summary.streams} luồng, {summary.frames} khung hình, {summary.episodes} "
            f"lần chuyển động ({summary.created} mới), {len(summary.errors)} lỗi. / "
            f"{summary.streams} streams, {summary.frames} frames, {summary.episodes} episodes "
            f"({summary.created} new), {len(summary.errors)} errors."
        )

    def _with_model(self, template: motion.StreamJob, options) -> motion.StreamJob:
        """Load the model once here so a wrong path fails before any stream is opened."""
        labels: tuple[str, ...] = ()
        if options["model_labels"]:
            try:
                with open(options["model_labels"], encoding="utf-8") as handle:
                    labels = tuple(line.strip() for line in handle if line.strip())
            except OSError as error:
                raise CommandError(f"XASO_ONNX_LABELS: {error}") from error
        threshold = _env_float("XASO_ONNX_THRESHOLD", 0.5)
        size = int(_env_float("XASO_ONNX_SIZE", 320))
        try:
            motion.ObjectDetector(
                options["model"], labels=list(labels) or None, size=size, threshold=threshold
            )
        except motion.ModelError as error:
            raise CommandError(str(error)) from error
        return motion.StreamJob(
            key="",
            url="",
            zones=[],
            settings=template.settings,
            once=template.once,
            model=options["model"],
            model_labels=labels,
            model_size=size,
            model_threshold=threshold,
        )
