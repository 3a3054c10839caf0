"""The motion detector (xaso.lib.motion) on small video files written at test time."""

import os
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from xaso.lib import motion

WIDTH, HEIGHT = 320, 180


def write_video(
    path: Path,
    *,
    fps: int = 5,
    seconds: float = 10,
    moves: tuple[tuple[float, float], ...] = ((2.0, 5.0),),
    lane: str = "top",
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> Path:
    """MJPG .avi: a still scene with light sensor noise; during each (start, end) of `moves` a
    bright 40×40 square crosses it left to right in the top or bottom band."""
    width, height = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    rng = np.random.default_rng(7)
    background = np.full((height, width, 3), 90, np.uint8)
    cv2.rectangle(background, (width * 5 // 8, height // 9), (width * 15 // 16, height * 4 // 9),
                  (30, 120, 60), -1)  # fmt: skip
    y = height // 8 if lane == "top" else height * 5 // 8
    box = width // 8
    for index in range(round(seconds * fps)):
        at = index / fps
        frame = background.copy()
        for start, end in moves:
            if start <= at < end:
                x = int((at - start) / (end - start) * (width - box))
                cv2.rectangle(frame, (x, y), (x + box, y + box), (240, 240, 240), -1)
        frame = cv2.add(frame, rng.integers(0, 6, frame.shape, dtype=np.uint8))
        writer.write(frame)
    writer.release()
    return path


TOP_HALF = [{"name": "tren", "polygon": [[0, 0], [1, 0], [1, 0.5], [0, 0.5]]}]
BOTTOM_HALF = [{"name": "duoi", "polygon": [[0, 0.5], [1, 0.5], [1, 1], [0, 1]]}]


def watch(path: Path, *, zones=(), **settings) -> list[dict]:
    job = motion.StreamJob(
        key="cam",
        url=str(path),
        zones=list(zones),
        settings=motion.MotionSettings(**settings),
        once=True,
    )
    messages = []
    motion.watch_stream(job, messages.append, lambda: False)
    return messages


def events(messages: list[dict]) -> list[dict]:
    return [message for message in messages if message["kind"] == "event"]


@pytest.mark.parametrize("method", ["mog2", "diff"])
def test_a_square_crossing_the_scene_is_one_episode_with_its_times_and_a_jpeg(tmp_path, method):
    video = write_video(tmp_path / "cross.avi")
    origin = os.path.getmtime(video)

    [event] = events(watch(video, method=method))

    assert event["started_at"] - origin == pytest.approx(2.0, abs=0.41)
    assert event["ended_at"] - origin == pytest.approx(5.0, abs=0.41)
    assert event["started_at"] <= event["peak_at"] <= event["ended_at"]
    assert 0.01 <= event["score"] < 0.2  # the square is 1/8 × 2/9 of the frame, plus its trail
    assert event["label"] == "motion" and event["zones"] == []
    image = cv2.imdecode(np.frombuffer(event["snapshot"], np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (HEIGHT, WIDTH, 3)


def test_the_snapshot_is_the_frame_with_the_square_in_it(tmp_path):
    [event] = events(watch(write_video(tmp_path / "cross.avi")))

    image = cv2.imdecode(np.frombuffer(event["snapshot"], np.uint8), cv2.IMREAD_GRAYSCALE)
    band = image[HEIGHT // 8 : HEIGHT // 8 + WIDTH // 8]
    assert (band > 200).sum() > 500  # the white square is in the picture


def test_motion_outside_every_zone_is_no_episode(tmp_path):
    video = write_video(tmp_path / "top.avi", lane="top")

    assert events(watch(video, zones=BOTTOM_HALF)) == []
    [event] = events(watch(video, zones=TOP_HALF))
    assert event["zones"] == ["tren"]


def test_only_the_zones_that_moved_are_named(tmp_path):
    video = write_video(tmp_path / "bottom.avi", lane="bottom")

    [event] = events(watch(video, zones=TOP_HALF + BOTTOM_HALF))

    assert event["zones"] == ["duoi"]


def test_a_blip_shorter_than_the_debounce_is_ignored(tmp_path):
    video = write_video(tmp_path / "blip.avi", moves=((3.0, 3.4),))  # two frames at 5 fps

    assert events(watch(video, min_frames=3)) == []
    assert len(events(watch(video, min_frames=1))) == 1


def test_two_movements_apart_are_two_episodes_and_close_ones_are_one(tmp_path):
    apart = write_video(tmp_path / "apart.avi", seconds=14, moves=((1.5, 3.5), (8.0, 10.0)))
    close = write_video(tmp_path / "close.avi", seconds=14, moves=((1.5, 3.5), (4.0, 6.0)))

    assert len(events(watch(apart, quiet_frames=10))) == 2
    [joined] = events(watch(close, quiet_frames=10))
    assert joined["ended_at"] - joined["started_at"] == pytest.approx(4.5, abs=0.61)


def test_a_fast_source_is_read_at_the_target_rate(tmp_path):
    video = write_video(tmp_path / "fast.avi", fps=25, seconds=6, moves=((2.0, 4.0),))

    messages = watch(video, fps=5)

    [done] = [message for message in messages if message["kind"] == "done"]
    assert done["frames"] == 30  # 150 frames in the file, one in five analysed
    assert len(events(messages)) == 1


def test_a_big_frame_is_analysed_small_and_snapshotted_at_most_640_wide(tmp_path):
    video = write_video(tmp_path / "big.avi", size=(1280, 720), seconds=8)

    [event] = events(watch(video))

    image = cv2.imdecode(np.frombuffer(event["snapshot"], np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (360, 640, 3)


def test_a_still_video_has_no_episode(tmp_path):
    assert events(watch(write_video(tmp_path / "still.avi", moves=()))) == []


def test_a_missing_or_corrupt_file_reports_an_error_and_ends(tmp_path):
    corrupt = tmp_path / "corrupt.avi"
    corrupt.write_bytes(b"not a video" * 100)

    for path in (tmp_path / "missing.avi", corrupt):
        messages = watch(path)
        assert [message["kind"] for message in messages] == ["error", "done"]


def test_zones_must_be_polygons_inside_the_frame():
    assert motion.zones_from_config(TOP_HALF)[0].name == "tren"
    with pytest.raises(ValueError, match="0 to 1"):
        motion.zones_from_config([{"name": "x", "polygon": [[0, 0], [2, 0], [1, 1]]}])
    with pytest.raises(ValueError, match="3 points"):
        motion.zones_from_config([{"name": "x", "polygon": [[0, 0], [1, 1]]}])


def test_settings_refuse_an_unknown_method():
    with pytest.raises(ValueError, match="method"):
        motion.MotionSettings(method="hog")


def test_a_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(motion.ModelError, match="not found"):
        motion.ObjectDetector(str(tmp_path / "yolo.onnx"))
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"not a model")
    with pytest.raises(motion.ModelError, match="cannot read"):
        motion.ObjectDetector(str(broken))


def test_a_stream_with_a_missing_model_reports_the_error(tmp_path):
    job = motion.StreamJob(
        key="cam",
        url=str(write_video(tmp_path / "v.avi", seconds=2)),
        zones=[],
        settings=motion.MotionSettings(),
        once=True,
        model=str(tmp_path / "none.onnx"),
    )
    messages = []
    motion.watch_stream(job, messages.append, lambda: False)
    assert messages[0]["kind"] == "error" and "not found" in messages[0]["message"]


def test_detector_output_is_read_in_yolov5_and_yolov8_layouts():
    labels = ["person", "car"]
    v5 = np.zeros((1, 3, 7), np.float32)  # box(4), objectness, 2 class scores
    v5[0, 1, 4:] = [0.9, 0.1, 0.8]  # a car, 0.9 × 0.8
    assert motion.best_detection(v5, labels, 0.5) == ("car", pytest.approx(0.72))
    v8 = np.zeros((1, 6, 5), np.float32)  # box(4) + 2 class scores, transposed
    v8[0, 4, 2] = 0.66
    assert motion.best_detection(v8, labels, 0.5) == ("person", pytest.approx(0.66))
    assert motion.best_detection(v8, labels, 0.7) is None


def test_a_live_stream_that_cannot_be_reached_is_retried_with_growing_backoff():
    job = motion.StreamJob(
        key="cam",
        url="rtsp://127.0.0.1:9/khong-co",  # the discard port: refused at once
        zones=[],
        settings=motion.MotionSettings(),
    )
    errors: list[float] = []

    def emit(message):
        if message["kind"] == "error":
            errors.append(time.monotonic())

    motion.watch_stream(job, emit, stop=lambda: len(errors) >= 3)

    assert len(errors) == 3
    assert errors[1] - errors[0] >= 0.9 and errors[2] - errors[1] >= 1.9  # 1 s, then 2 s


def test_stopping_in_the_middle_of_an_episode_still_reports_it(tmp_path):
    video = write_video(tmp_path / "stop.avi")
    job = motion.StreamJob(key="cam", url=str(video), zones=[], settings=motion.MotionSettings())
    calls = []

    def stop() -> bool:  # asked once per frame: stop after 4 s of video (the square moves 2–5 s)
        calls.append(None)
        return len(calls) > 21

    messages = []
    motion.watch_stream(job, messages.append, stop)

    [event] = events(messages)
    origin = os.path.getmtime(video)
    assert event["started_at"] - origin == pytest.approx(2.0, abs=0.41)
    assert event["ended_at"] - origin == pytest.approx(4.0, abs=0.41)
    assert messages[-1] == {"kind": "done", "camera": "cam", "frames": 20, "episodes": 1}
