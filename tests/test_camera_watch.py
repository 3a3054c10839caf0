"""`xaso camera-watch`: video files → motion episodes → camera events stored once."""

import datetime
import logging
import os

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from tests import processes
from tests.test_motion import BOTTOM_HALF, TOP_HALF, write_video
from xaso.lib import motion
from xaso.safety import watch
from xaso.safety.actions import camera_register
from xaso.safety.models import Camera, CameraEvent


@pytest.fixture
def add_camera(world):
    def add(name: str, stream_url: str, *, zones=(), active: bool = True) -> Camera:
        camera, _token = camera_register(
            place=world.a1,
            values={"name": name, "stream_url": stream_url, "zones": list(zones)},
            by=world.users["congan"],
        )
        if not active:
            Camera.objects.filter(pk=camera.pk).update(is_active=False)
        return camera

    return add


def run(cameras: list[Camera], *, processes: int = 0, **settings) -> watch.WatchSummary:
    template = motion.StreamJob(
        key="", url="", zones=[], settings=motion.MotionSettings(**settings), once=True
    )
    return watch.run_watch(
        public_ids=[camera.public_id for camera in cameras], template=template, processes=processes
    )


def at(seconds: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(seconds, tz=datetime.UTC)


def test_a_crossing_becomes_one_motion_event_with_times_zone_and_a_jpeg(tmp_path, add_camera):
    video = write_video(tmp_path / "cong.avi", lane="top")
    camera = add_camera("Cổng trường", str(video), zones=TOP_HALF + BOTTOM_HALF)

    summary = run([camera])

    [event] = CameraEvent.objects.filter(camera=camera)
    origin = os.path.getmtime(video)
    assert event.source == CameraEvent.Source.MOTION and event.label == "motion"
    assert event.source_id == f"{camera.public_id}-{round(event.started_at.timestamp() * 1000)}"
    assert abs(event.started_at - at(origin + 2.0)) <= datetime.timedelta(seconds=0.41)
    assert abs(event.ended_at - at(origin + 5.0)) <= datetime.timedelta(seconds=0.41)
    assert event.zones == ["tren"]
    assert 0.01 <= event.score < 0.5 and event.raw["motion_score"] == event.score
    with event.snapshot.open("rb") as handle:
        image = cv2.imdecode(np.frombuffer(handle.read(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (180, 320, 3)
    assert (summary.episodes, summary.created, summary.errors) == (1, 1, [])
    assert summary.frames == 50


def test_the_watcher_marks_the_camera_as_seen(tmp_path, add_camera):
    camera = add_camera("Cầu", str(write_video(tmp_path / "cau.avi", moves=())))
    assert camera.last_seen_at is None

    run([camera])

    camera.refresh_from_db()
    assert camera.status == Camera.Status.ONLINE and camera.last_seen_at is not None
    assert not camera.events.exists()


def test_running_twice_stores_each_episode_once(tmp_path, add_camera):
    camera = add_camera("Chợ", str(write_video(tmp_path / "cho.avi")))

    first, second = run([camera]), run([camera])

    assert CameraEvent.objects.filter(camera=camera).count() == 1
    assert (first.created, second.episodes, second.created) == (1, 1, 0)


def test_motion_outside_the_zone_makes_no_event(tmp_path, add_camera):
    camera = add_camera(
        "Ngõ", str(write_video(tmp_path / "ngo.avi", lane="top")), zones=BOTTOM_HALF
    )

    summary = run([camera])

    assert not CameraEvent.objects.filter(camera=camera).exists()
    assert summary.frames == 50 and summary.episodes == 0


def test_a_missing_or_corrupt_file_is_logged_and_the_others_are_processed(
    tmp_path, add_camera, caplog
):
    corrupt = tmp_path / "hong.avi"
    corrupt.write_bytes(b"\x00garbage" * 500)
    missing = add_camera("Mất", str(tmp_path / "khong-co.avi"))
    broken = add_camera("Hỏng", str(corrupt))
    good = add_camera("Tốt", str(write_video(tmp_path / "tot.avi")))

    with caplog.at_level(logging.WARNING, logger="xaso.safety.watch"):
        summary = run([missing, broken, good])

    assert CameraEvent.objects.filter(camera=good).count() == 1
    assert not CameraEvent.objects.filter(camera__in=[missing, broken]).exists()
    assert len(summary.errors) == 2
    logged = caplog.text
    assert missing.public_id in logged and broken.public_id in logged
    assert "cannot open stream" in logged


def test_worker_processes_store_the_same_events_as_threads(tmp_path, add_camera):
    cameras = [
        add_camera(f"Camera {index}", str(write_video(tmp_path / f"{index}.avi", lane=lane)))
        for index, lane in enumerate(["top", "bottom", "top"])
    ]

    summary = run(cameras, processes=2)

    assert (summary.streams, summary.episodes, summary.created) == (3, 3, 3)
    assert summary.frames == 150
    for camera in cameras:
        assert camera.events.count() == 1


def test_by_default_every_active_camera_with_a_stream_is_watched(tmp_path, add_camera):
    video = str(write_video(tmp_path / "v.avi", seconds=1, moves=()))
    active = add_camera("Đang dùng", video)
    inactive = add_camera("Ngừng", video, active=False)
    no_stream = add_camera("Không luồng", "")

    chosen = {camera.pk for camera in watch.cameras_for_watch()}

    assert active.pk in chosen
    assert inactive.pk not in chosen and no_stream.pk not in chosen


def test_the_command_watches_the_named_camera_and_reports(tmp_path, add_camera, capsys):
    camera = add_camera("Ngã ba", str(write_video(tmp_path / "nga-ba.avi")))

    call_command("camera_watch", "--camera", camera.public_id, "--once", "--method", "diff")

    assert "1 episodes (1 new), 0 errors" in capsys.readouterr().out
    [event] = camera.events.all()
    assert event.raw["method"] == "diff"


def test_xaso_camera_watch_runs_the_command_in_its_own_process():
    with processes.fresh_database_env() as env:
        assert processes.run(["migrate", "--no-input"], env, timeout=300).returncode == 0

        done = processes.run(["camera-watch", "--once"], env)
        unknown = processes.run(["camera-watch", "--camera", "khongco", "--once"], env)

    assert done.returncode == 0, done.stderr
    assert "0 streams, 0 frames, 0 episodes (0 new), 0 errors" in done.stdout
    assert unknown.returncode == 1 and "unknown camera or no stream URL: khongco" in unknown.stderr


def test_an_unknown_camera_or_a_missing_model_is_a_clear_error(tmp_path, add_camera):
    camera = add_camera("Bến", str(write_video(tmp_path / "ben.avi", seconds=1, moves=())))

    with pytest.raises(CommandError, match="unknown camera"):
        call_command("camera_watch", "--camera", "khongco", "--once")
    with pytest.raises(CommandError, match="ONNX model file not found"):
        call_command(
            "camera_watch", "--camera", camera.public_id, "--once", "--model", "/khong/co.onnx"
        )
    assert not camera.events.exists()
