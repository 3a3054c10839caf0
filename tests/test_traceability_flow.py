"""The producer's path through the API: areas, diary, the interval guard, a lot, its page."""

from tests.traceability_data import GTIN, days_ago


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
