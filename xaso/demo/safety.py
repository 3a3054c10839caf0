"""The demo commune's cameras, rules and incidents, made through the safety actions.

Nine cameras (five of the commune at crossroads and black spots, three volunteered by
households with their consent, one at the school), three rules, and incidents in several
states with events that carry Frigate-style ids. Loaded once: if the first camera exists,
nothing is done.
"""

import datetime

from django.utils import timezone

from xaso.places.models import Household, Organisation, Place
from xaso.safety import actions
from xaso.safety.models import Camera, CameraEvent, CitizenReport, Incident, Rule

# name, village index, frigate name, latitude, longitude, black spot, owner
CAMERAS = [
    ("Ngã tư chợ Quảng Tân", 0, "nga_tu_cho", "21.030100", "106.640200", True, "commune"),
    ("Cổng UBND xã", 0, "cong_ubnd", "21.031500", "106.641100", False, "commune"),
    ("Cầu Khe Sâu", 2, "cau_khe_sau", "21.024800", "106.633900", True, "commune"),
    ("Dốc Đồng Bông", 3, "doc_dong_bong", "21.027300", "106.649800", True, "commune"),
    ("Bến đò Tân Hợp", 1, "ben_do", "21.035900", "106.637400", False, "commune"),
    ("Camera nhà ông Vinh (QL18)", 4, "nha_ong_vinh", "21.028600", "106.644700", True, "household"),
    ("Camera nhà bà Thoa", 5, "nha_ba_thoa", "21.022100", "106.646300", False, "household"),
    (
        "Camera hiệu tạp hoá Minh Châu",
        6,
        "tap_hoa_minh_chau",
        "21.033400",
        "106.652000",
        False,
        "household",
    ),
    (
        "Cổng trường THCS Quảng Tân",
        0,
        "cong_truong",
        "21.030900",
        "106.638800",
        False,
        "organisation",
    ),
]

# camera frigate name, values
RULES = [
    (
        "nga_tu_cho",
        {
            "name": "Người đi bộ qua ngã tư ban đêm",
            "label": "person",
            "min_score": 0.6,
            "hour_from": 22,
            "hour_to": 5,
            "category": "security",
            "severity": "high",
        },
    ),
    (
        "doc_dong_bong",
        {
            "name": "Xe dừng đỗ trên dốc",
            "label": "car",
            "min_score": 0.7,
            "min_duration_seconds": 120,
            "category": "traffic_violation",
            "severity": "medium",
        },
    ),
    (
        "cong_truong",
        {
            "name": "Tụ tập trước cổng trường",
            "label": "person",
            "min_score": 0.5,
            "min_count": 8,
            "window_minutes": 10,
            "category": "crowding",
            "severity": "medium",
        },
    ),
]


def safety_demo_load(*, commune: Place, villages: list[Place], admin) -> dict[str, int]:
    if not Camera.objects.filter(place__path__startswith=commune.path).exists():
        cameras = _cameras(commune, villages, admin)
        _rules(cameras, admin)
        _incidents(cameras, villages, admin)
    in_commune = {"place__path__startswith": commune.path}
    return {
        "cameras": Camera.objects.filter(**in_commune).count(),
        "rules": Rule.objects.filter(camera__place__path__startswith=commune.path).count(),
        "incidents": Incident.objects.filter(**in_commune).count(),
    }


def safety_demo_delete(commune: Place) -> None:
    CitizenReport.objects.filter(place__path__startswith=commune.path).delete()
    CameraEvent.objects.filter(camera__place__path__startswith=commune.path).delete()
    Incident.objects.filter(place__path__startswith=commune.path).delete()
    Camera.objects.filter(place__path__startswith=commune.path).delete()


def _cameras(commune, villages, admin) -> dict[str, Camera]:
    households = list(
        Household.objects.filter(village__path__startswith=commune.path).order_by("id")[:3]
    )
    organisations = Organisation.objects.filter(place__path__startswith=commune.path)
    school = organisations.filter(name="Trường THCS Quảng Tân").first() or organisations.first()
    cameras = {}
    for name, village, frigate, lat, lon, black_spot, owner in CAMERAS:
        values = {
            "name": name,
            "frigate_name": frigate,
            "latitude": lat,
            "longitude": lon,
            "is_black_spot": black_spot,
            "owner_kind": owner,
            "stream_url": f"rtsp://10.10.0.{len(cameras) + 11}:554/Streaming/Channels/102",
        }
        place = villages[village % len(villages)]
        if owner == "household":
            household = households.pop(0)
            place = household.village
            values.update(
                owner_household=household,
                consent_given_by=household.head_name,
                consent_given_on=timezone.localdate() - datetime.timedelta(days=40),
                has_signage=True,
                privacy_notes="Chỉ hướng ra đường, không ghi hình vào nhà hàng xóm.",
            )
        elif owner == "organisation":
            values["owner_organisation"] = school
        camera, _token = actions.camera_register(place=place, values=values, by=admin)
        cameras[frigate] = camera
    return cameras


def _rules(cameras: dict[str, Camera], admin) -> None:
    for frigate, values in RULES:
        actions.rule_create(camera=cameras[frigate], values=values, by=admin)


def _incidents(cameras: dict[str, Camera], villages: list[Place], admin) -> None:
    now = timezone.now()
    night = timezone.localtime(now).replace(hour=23, minute=10) - datetime.timedelta(days=2)
    # A person at the crossroads at night: opened by the rule, acknowledged and dispatched.
    event, _created = actions.event_ingest(
        camera=cameras["nga_tu_cho"],
        source="frigate",
        source_id=f"{night.timestamp():.6f}-demo01",
        label="person",
        score=0.82,
        zones=["via_he"],
        started_at=night,
        ended_at=night + datetime.timedelta(seconds=40),
    )
    event.refresh_from_db()
    actions.incident_transition(incident=event.incident, action="acknowledge", by=admin)
    actions.incident_transition(incident=event.incident, action="dispatch", by=admin)
    # A car stopped on the slope for 3 minutes: resolved.
    parked = now - datetime.timedelta(days=5)
    event, _created = actions.event_ingest(
        camera=cameras["doc_dong_bong"],
        source="frigate",
        source_id=f"{parked.timestamp():.6f}-demo02",
        label="car",
        score=0.91,
        started_at=parked,
        ended_at=parked + datetime.timedelta(minutes=3),
    )
    event.refresh_from_db()
    actions.incident_transition(
        incident=event.incident, action="resolve", by=admin, note="Đã nhắc chủ xe di chuyển."
    )
    # Reported by hand: a traffic accident, still new; and a flooded road, closed.
    actions.incident_report(
        place=villages[4],
        category="traffic_accident",
        severity="high",
        title="Va chạm xe máy trên QL18 gần nhà ông Vinh",
        latitude="21.028700",
        longitude="106.644900",
        by=admin,
    )
    flood = actions.incident_report(
        place=villages[1],
        category="flooding",
        severity="medium",
        title="Ngập đường vào bến đò sau mưa lớn",
        by=admin,
    )
    actions.incident_transition(incident=flood, action="resolve", by=admin, note="Nước đã rút.")
    actions.incident_transition(incident=flood, action="close", by=admin)
    for camera in cameras.values():
        actions.camera_heartbeat(camera=camera)
