"""The producer's path through the API: areas, diary, the interval guard, a lot, its page."""

import pytest

from tests.traceability_data import GTIN, days_ago
from xaso.core.models import AuditEntry
from xaso.traceability.models import DiaryEntry, GrowingArea, Lot


def test_the_public_lot_page_answers_by_gtin_and_batch(client, trace):
    response = client.get(f"/01/0{GTIN}/10/NA2026A")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Na dai Quảng Tân" in page
    assert "VN-QN-A-001" in page


def test_a_harvest_inside_the_interval_is_refused_with_the_first_safe_day(api_as, trace):
    api = api_as("htx")
    sprayed = days_ago(3)
    created = api.post(
        "/traceability/diary-entries",
        {
            "area": trace.area_a.public_id,
            "kind": "spraying",
            "occurred_on": sprayed,
            "pesticide": "Confidor 100SL",
            "pre_harvest_interval_days": 7,
        },
    )
    assert created.status_code == 201, created.json()
    refused = api.post(
        "/traceability/diary-entries",
        {"area": trace.area_a.public_id, "kind": "harvest", "occurred_on": days_ago(0)},
    )
    assert refused.status_code == 409
    detail = refused.json()["detail"]
    assert "Confidor 100SL" in detail
    assert f"{days_ago(-4):%d/%m/%Y}" in detail


def _area_body(trace, **changes):
    body = {
        "producer": trace.producer_a.public_id,
        "village": "06913-01",
        "code": "VN-QN-A-009",
        "name": "Đồi mới",
        "crop": "Na",
        "area_ha": "1.2",
    }
    return {**body, **changes}


def test_an_area_with_a_drawn_boundary_is_created(api_as, trace, world):
    body = _area_body(
        trace,
        village=world.a1.code,
        boundary={
            "type": "Feature",
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[107, 21], [107.01, 21], [107, 21.01], [107, 21]]],
            },
        },
    )
    response = api_as("htx").post("/traceability/growing-areas", body)
    assert response.status_code == 201, response.json()
    assert response.json()["boundary"]["type"] == "Polygon"


@pytest.mark.parametrize(
    "boundary, words",
    [
        ({"type": "Point", "coordinates": [107, 21]}, "Polygon"),
        ({"type": "Polygon", "coordinates": [[[107, 21], [107.1, 21], [107, 21.1]]]}, "4 điểm"),
        (
            {"type": "Polygon", "coordinates": [[[21, 107], [21, 108], [22, 108], [21, 107]]]},
            "kinh độ",
        ),
        ("not geojson", "GeoJSON"),
    ],
)
def test_bad_geojson_is_refused_with_a_reason_and_nothing_is_written(
    api_as, trace, world, boundary, words
):
    response = api_as("htx").post(
        "/traceability/growing-areas", _area_body(trace, village=world.a1.code, boundary=boundary)
    )
    assert response.status_code == 422
    assert response.json()["field"] == "boundary"
    assert words in response.json()["detail"]
    assert not GrowingArea.objects.filter(code="VN-QN-A-009").exists()


def test_a_gtin_with_a_wrong_check_digit_is_refused(api_as, trace):
    response = api_as("htx").post(
        "/traceability/products",
        {"producer": trace.producer_a.public_id, "name": "Na sấy", "gtin": "8931234567890"},
    )
    assert response.status_code == 422
    assert "chữ số cuối phải là 7" in response.json()["detail"]
    assert response.json()["field"] == "gtin"


def test_ocop_points_give_stars(api_as, trace):
    response = api_as("htx").post(
        "/traceability/products",
        {"producer": trace.producer_a.public_id, "name": "Na sấy", "ocop_points": 91},
    )
    assert response.json()["ocop_stars"] == 5


def test_overlapping_certificates_and_reversed_dates_are_refused(api_as, trace):
    api = api_as("htx")
    body = {
        "producer": trace.producer_a.public_id,
        "area": trace.area_a.public_id,
        "scheme": "vietgap",
        "number": "VG-1",
        "issuer": "QUACERT",
        "valid_from": days_ago(100),
        "valid_until": days_ago(-200),
    }
    assert api.post("/traceability/certifications", body).status_code == 201
    overlapping = api.post("/traceability/certifications", {**body, "number": "VG-2"})
    assert overlapping.status_code == 422
    assert "VG-1" in overlapping.json()["detail"]
    reversed_dates = api.post(
        "/traceability/certifications",
        {**body, "scheme": "organic", "valid_from": days_ago(0), "valid_until": days_ago(5)},
    )
    assert reversed_dates.status_code == 422


def test_a_lot_inside_the_interval_is_refused_unless_an_officer_writes_why(api_as, trace, client):
    api_as("htx").post(
        "/traceability/diary-entries",
        {
            "area": trace.area_a.public_id,
            "kind": "spraying",
            "occurred_on": days_ago(2),
            "pesticide": "Confidor 100SL",
            "pre_harvest_interval_days": 10,
        },
    )
    lot = {
        "product": trace.product_a.public_id,
        "area": trace.area_a.public_id,
        "harvest_start": days_ago(1),
        "quantity": "40",
    }
    assert api_as("htx").post("/traceability/lots", lot).status_code == 409
    producer_override = api_as("htx").post(
        "/traceability/lots", {**lot, "guard_override_reason": "Tự cho phép"}
    )
    assert producer_override.status_code == 409
    assert Lot.objects.count() == 2  # nothing half-written: no lot, no harvest entry
    assert not DiaryEntry.objects.filter(kind="harvest", occurred_on=days_ago(1)).exists()
    reason = "Mẫu kiểm nghiệm ngày 20/11 không phát hiện dư lượng"
    created = api_as("admin").post("/traceability/lots", {**lot, "guard_override_reason": reason})
    assert created.status_code == 201, created.json()
    assert AuditEntry.objects.filter(verb="harvest_guard.overridden").exists()
    page = client.get(f"/l/{created.json()['code']}").content.decode()
    assert reason in page


def test_a_countersigned_harvest_shows_on_the_public_page(api_as, trace, client):
    harvest = trace.lot_a.harvest
    response = api_as("lanhdao").post(
        f"/traceability/diary-entries/{harvest.public_id}/countersign"
    )
    assert response.status_code == 200
    assert response.json()["countersigned"] is True
    assert "xác nhận bởi cán bộ xã" in client.get(f"/l/{trace.lot_a.code}").content.decode()
    again = api_as("lanhdao").post(f"/traceability/diary-entries/{harvest.public_id}/countersign")
    assert again.status_code == 409


def test_a_recall_shows_a_red_banner_on_the_public_page_at_once(api_as, trace, client):
    client.get(f"/l/{trace.lot_a.code}")  # cached facts must not hide the recall
    response = api_as("htx").post(
        f"/traceability/lots/{trace.lot_a.public_id}/recall", {"reason": "Nhiễm nấm mốc"}
    )
    assert response.json()["status"] == "recalled"
    page = client.get(f"/l/{trace.lot_a.code}").content.decode()
    assert "LÔ HÀNG ĐÃ BỊ THU HỒI" in page and "Nhiễm nấm mốc" in page


def test_lots_in_the_api_carry_the_contract_fields_and_resolve(api_as, trace, client):
    lot = api_as("htx").get(f"/traceability/lots/{trace.lot_a.public_id}").json()
    assert {"id", "code", "gtin", "batch", "product", "status"} <= set(lot)
    assert client.get(f"/01/{lot['gtin']}/10/{lot['batch']}").status_code == 200
    assert client.get(f"/l/{lot['code']}").status_code == 200
