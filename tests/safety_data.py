"""Cameras and rules for safety tests, made through the actions.

Commune A (Xã Quảng Tân) gets a commune camera at a black spot in village A1 with a Frigate
name, and a household camera in A2 (with consent); commune B a camera of its own.
"""

import datetime
from dataclasses import dataclass

import cv2
import numpy as np
from django.utils import timezone

from xaso.safety import actions
from xaso.safety.models import Camera, Rule


def jpeg(width: int = 64, height: int = 48) -> bytes:
    """A small real JPEG (decodable), grey with a white square."""
    image = np.full((height, width, 3), 90, dtype=np.uint8)
    image[10:30, 10:30] = 255
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


@dataclass
class SafetyData:
    crossroad: Camera  # commune A, village A1, Frigate "nga_tu", black spot
    household_camera: Camera  # commune A, village A2, owned by a household
    camera_b: Camera  # commune B
    person_rule: Rule  # crossroad: person ≥ 0.6 → security, high
    tokens: dict[str, str]


def build(world) -> SafetyData:
    admin = world.users["admin"]
    crossroad, crossroad_token = actions.camera_register(
        place=world.a1,
        values={
            "name": "Ngã tư chợ Quảng Tân",
            "frigate_name": "nga_tu",
            "latitude": "21.0301",
            "longitude": "106.6402",
            "is_black_spot": True,
            "stream_url": "rtsp://admin:matkhau@10.0.0.5/stream1",
        },
        by=admin,
    )
    household_camera, household_token = actions.camera_register(
        place=world.a2,
        values={
            "name": "Camera nhà ông Cường",
            "owner_kind": Camera.OwnerKind.HOUSEHOLD,
            "owner_household": world.household("Lê Văn Cường"),
            "consent_given_by": "Lê Văn Cường",
            "consent_given_on": datetime.date(2026, 10, 1),
            "has_signage": True,
            "frigate_name": "nha_cuong",
        },
        by=admin,
    )
    camera_b, token_b = actions.camera_register(
        place=world.b1, values={"name": "Cổng xã B", "frigate_name": "cong_b"}, by=admin
    )
    person_rule = actions.rule_create(
        camera=crossroad,
        values={"label": "person", "min_score": 0.6, "category": "security", "severity": "high"},
        by=admin,
    )
    return SafetyData(
        crossroad=crossroad,
        household_camera=household_camera,
        camera_b=camera_b,
        person_rule=person_rule,
        tokens={"crossroad": crossroad_token, "household": household_token, "b": token_b},
    )


def frigate_event(camera: Camera, event_id: str, *, label="person", score=0.8, **extra):
    """Ingest one event as the Frigate listener would."""
    started = extra.pop("started_at", None) or timezone.now()
    return actions.event_ingest(
        camera=camera,
        source="frigate",
        source_id=event_id,
        label=label,
        score=score,
        started_at=started,
        **extra,
    )
