"""The indicators API: definitions, values for a place or its children, hand-entered values,
scoped by place (a village head sees her village, a province viewer her province)."""

import datetime
import json

import pytest
from django.utils import timezone

from tests.test_indicator_compute import _smartphone_share, _surveyed
from xaso.indicators.models import Indicator, ManualValue, PeriodClose
from xaso.lib import periods

CONTRACT_FIELDS = {
    "code",
    "name",
    "unit",
    "method",
    "period_kind",
    "targets",
    "higher_is_better",
    "source_note",
    "description",
    "published",
}
VALUE_FIELDS = {
    "indicator",
    "place",
    "period",
    "value",
    "numerator",
    "denominator",
    "target",
    "meets_target",
    "frozen",
}


@pytest.fixture
def smartphone(world):
    for head, visited, phone in [
        ("Nguyễn Văn An", datetime.date(2026, 10, 1), None),
        ("Trần Thị Bình", datetime.date(2026, 10, 1), datetime.date(2026, 11, 2)),
        ("Lê Văn Cường", datetime.date(2026, 11, 3), datetime.date(2026, 11, 3)),
        ("Phạm Thị Dung", datetime.date(2026, 11, 3), datetime.date(2026, 11, 3)),
    ]:
        _surveyed(world, head, visited=visited, smartphone=phone)
    indicator = _smartphone_share()
    indicator.published = True
    indicator.save(update_fields=["published"])
    return indicator


@pytest.fixture
def broadband(world):
    return Indicator.objects.create(
        code="broadband",
        name="Thuê bao băng rộng cố định",
        unit="thuê bao",
        method=Indicator.Method.MANUAL,
        source_note="Báo cáo của doanh nghiệp viễn thông",
    )


def _current() -> periods.Period:
    return periods.containing(timezone.localdate())


# --- Definitions ------------------------------------------------------------------------------
def test_the_list_has_the_contract_fields(api_as, smartphone):
    response = api_as("tocns").get("/indicators")

    assert response.status_code == 200
    [row] = response.json()
    assert set(row) == CONTRACT_FIELDS
    assert row["code"] == "smartphone" and row["targets"] == {"village": 90, "commune": 80}
    assert row["published"] is True


def test_someone_without_indicators_is_refused(api_as, smartphone):
    assert api_as("nobody").get("/indicators").status_code == 403
    assert api_as("htx").get("/indicators/smartphone/values", place="06913").status_code == 403


# --- Values for a place -----------------------------------------------------------------------
def test_a_place_value_follows_the_contract(api_as, world, smartphone):
    response = api_as("lanhdao").get(
        "/indicators/smartphone/values", place=world.a1.code, period="2026-11"
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == VALUE_FIELDS
    assert body == {
        "indicator": "smartphone",
        "place": world.a1.code,
        "period": "2026-11",
        "value": 50,
        "numerator": 1,
        "denominator": 2,
        "target": 90,
        "meets_target": False,
        "frozen": False,
    }


@pytest.mark.parametrize(
    ("period", "numerator", "denominator"),
    [("2026-10", 0, 2), ("2026-Q4", 2, 3), ("2026", 2, 3), ("2026-q4", 2, 3)],
)
def test_months_quarters_and_years(api_as, world, smartphone, period, numerator, denominator):
    body = (
        api_as("lanhdao")
        .get("/indicators/smartphone/values", place=world.commune_a.code, period=period)
        .json()
    )

    assert body["period"] == period.upper()
    assert (body["numerator"], body["denominator"]) == (numerator, denominator)


def test_the_period_defaults_to_the_current_month(api_as, world, smartphone):
    body = api_as("lanhdao").get("/indicators/smartphone/values", place=world.a1.code).json()

    assert body["period"] == _current().key


@pytest.mark.parametrize("period", ["2026-13", "2026-Q5", "26", "tháng 11", "2026-11-01"])
def test_a_bad_period_is_refused_in_vietnamese(api_as, world, smartphone, period):
    response = api_as("lanhdao").get(
        "/indicators/smartphone/values", place=world.a1.code, period=period
    )

    assert response.status_code == 422
    assert "Kỳ báo cáo" in response.json()["detail"]


def test_place_and_parent_exactly_one(api_as, world, smartphone):
    api = api_as("lanhdao")
    neither = api.get("/indicators/smartphone/values")
    both = api.get(
        "/indicators/smartphone/values", place=world.a1.code, parent=world.commune_a.code
    )

    assert neither.status_code == both.status_code == 422
    assert "place" in neither.json()["detail"]


def test_unknown_place_or_indicator_is_404(api_as, world, smartphone):
    api = api_as("lanhdao")

    assert api.get("/indicators/smartphone/values", place="99999").status_code == 404
    assert api.get("/indicators/nothing/values", place=world.a1.code).status_code == 404
    assert api.get("/indicators/smartphone/values", place="0\x00").status_code == 404


def test_a_village_head_sees_only_her_village(api_as, world, smartphone):
    api = api_as("truongthon")

    assert api.get("/indicators/smartphone/values", place=world.a1.code).status_code == 200
    assert api.get("/indicators/smartphone/values", place=world.a2.code).status_code == 404
    assert api.get("/indicators/smartphone/values", place=world.commune_a.code).status_code == 403
    children = api.get("/indicators/smartphone/values", parent=world.commune_a.code)
    assert children.status_code == 403


def test_a_commune_leader_sees_nothing_of_another_commune(api_as, world, smartphone):
    api = api_as("canbo_b")

    assert api.get("/indicators/smartphone/values", place=world.commune_b.code).status_code == 200
    assert api.get("/indicators/smartphone/values", place=world.commune_a.code).status_code == 403
    assert api.get("/indicators/smartphone/values", place=world.a1.code).status_code == 404
    assert api.get("/indicators/smartphone/values", place=world.province.code).status_code == 403


def test_the_province_viewer_sees_the_province_and_its_communes(api_as, world, smartphone):
    api = api_as("tinh")

    province = api.get(
        "/indicators/smartphone/values", place=world.province.code, period="2026-11"
    ).json()
    assert (province["numerator"], province["denominator"]) == (3, 4)
    communes = api.get(
        "/indicators/smartphone/values", parent=world.province.code, period="2026-11"
    ).json()
    by_code = {row["place"]: row for row in communes["values"]}
    assert by_code[world.commune_b.code]["denominator"] == 1
    assert by_code[world.commune_a.code]["place_name"] == world.commune_a.name


# --- Values for the children of a place -------------------------------------------------------
def test_children_values_follow_the_contract(api_as, world, smartphone):
    response = api_as("lanhdao").get(
        "/indicators/smartphone/values", parent=world.commune_a.code, period="2026-11"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["parent"], body["period"]) == (world.commune_a.code, "2026-11")
    rows = {row["place"]: row for row in body["values"]}
    assert set(rows) == {world.a1.code, world.a2.code}
    assert set(rows[world.a1.code]) == VALUE_FIELDS | {"place_name"}
    assert rows[world.a1.code]["place_name"] == world.a1.name
    assert (rows[world.a1.code]["numerator"], rows[world.a1.code]["denominator"]) == (1, 2)
    assert rows[world.a2.code]["meets_target"] is True


def test_children_cost_a_fixed_number_of_queries(
    api_as, world, smartphone, broadband, django_assert_max_num_queries
):
    """Manual entries for both villages and cameras: still no query per child."""
    for village in (world.a1, world.a2):
        ManualValue.objects.create(
            indicator=broadband,
            place=village,
            period=_current().key,
            value=10,
            source="VNPT",
            entered_by=world.users["lanhdao"],
        )
    api = api_as("tinh")
    for code in ("smartphone", "broadband"):
        # auth (token, user, memberships), indicator, place, children, frozen, counts, manual
        with django_assert_max_num_queries(9):
            response = api.get(f"/indicators/{code}/values", parent=world.province.code)
        assert response.status_code == 200
        with django_assert_max_num_queries(9):
            response = api.get(f"/indicators/{code}/values", parent=world.commune_a.code)
        assert response.status_code == 200
    values = {row["place"]: row["value"] for row in response.json()["values"]}
    assert values == {world.a1.code: 10, world.a2.code: 10}


# --- Writing definitions ----------------------------------------------------------------------
NEW = {
    "code": "vneid",
    "name": "Người lớn đã kích hoạt VNeID mức 2",
    "method": "ratio",
    "numerator": {"source": "residents_surveyed", "filter": {"adult": True, "has": "vneid_level2"}},
    "denominator": {"source": "residents_surveyed", "filter": {"adult": True}},
    "targets": {"village": 80, "commune": 80},
    "published": True,
}


@pytest.mark.parametrize("persona", ["lanhdao", "tinh", "truongthon", "nobody"])
def test_only_administrators_write_definitions(api_as, world, persona, smartphone):
    api = api_as(persona)

    assert api.post("/indicators", NEW).status_code == 403
    response = _put(api, "/indicators/smartphone", NEW)
    assert response.status_code in (403, 404) and response.status_code != 200
    assert api.post("/indicators/import", [NEW]).status_code == 403
    assert not Indicator.objects.filter(code="vneid").exists()
    assert Indicator.objects.get(code="smartphone").targets == {"village": 90, "commune": 80}


def test_an_administrator_creates_and_updates_an_indicator(api_as, world):
    api = api_as("quantri")

    created = api.post("/indicators", NEW)
    assert created.status_code == 201, created.content
    assert created.json()["code"] == "vneid"
    updated = _put(api, "/indicators/vneid", NEW | {"code": "ignored", "targets": {"village": 95}})
    assert updated.status_code == 200, updated.content
    indicator = Indicator.objects.get(code="vneid")
    assert indicator.targets == {"village": 95}
    assert indicator.numerator["filter"]["has"] == "vneid_level2"
    assert api.post("/indicators", NEW).json()["detail"] == "Mã chỉ tiêu đã tồn tại."


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"numerator": {"source": "nowhere"}}, "numerator", "Nguồn dữ liệu"),
        ({"numerator": {"source": "residents", "filter": {"has": "tivi"}}}, "numerator", "bộ lọc"),
        (
            {"numerator": {"source": "residents_surveyed", "filter": {"has": "tivi"}}},
            "numerator",
            "phiếu khảo sát",
        ),
        ({"numerator": {"source": ["residents"]}}, "numerator", "Nguồn dữ liệu"),
        (
            {"numerator": {"source": "dossiers", "filter": {"channel": ["online"]}}},
            "numerator",
            "true/false",
        ),
        ({"denominator": {}}, "denominator", "mẫu số"),
        ({"targets": {"district": 50}}, "targets", "Cấp"),
        ({"targets": {"village": "chín mươi"}}, "targets", "số"),
        ({"targets": {"village": 120}}, "targets", "0 đến 100"),
        ({"targets": [90]}, "targets", "đối tượng"),
        ({"method": "magic"}, "method", "không hợp lệ"),
        ({"code": "Có Dấu"}, "code", "chữ thường"),
        ({"code": "catalog"}, "code", "dành riêng"),  # /opendata/catalog.json is taken
        ({"name": " "}, "name", "tên"),
        ({"period_kind": "week"}, "period_kind", "không hợp lệ"),
    ],
)
def test_a_bad_definition_is_refused_with_the_reason(api_as, world, change, field, words):
    response = api_as("quantri").post("/indicators", NEW | change)

    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert words.lower() in response.json()["detail"].lower()
    assert not Indicator.objects.filter(code=NEW["code"]).exists()


def test_a_manual_indicator_needs_no_source_and_a_count_no_denominator(api_as, world):
    api = api_as("quantri")

    manual = api.post("/indicators", {"code": "bb", "name": "Thuê bao", "method": "manual"})
    count = api.post(
        "/indicators",
        {"code": "cams", "name": "Camera", "method": "count", "numerator": {"source": "cameras"}},
    )

    assert manual.status_code == count.status_code == 201
    assert Indicator.objects.get(code="bb").numerator == {}
    assert Indicator.objects.get(code="cams").denominator == {}


def test_definitions_export_and_import_round_trip(api_as, world, smartphone):
    api = api_as("quantri")
    exported = api.get("/indicators/export").json()
    assert exported[0]["numerator"]["source"] == "residents_surveyed"

    renamed = [row | {"code": "smartphone-copy"} for row in exported]
    result = api.post("/indicators/import", [*renamed, NEW])

    assert result.json() == {"created": 2, "updated": 0}
    again = api.post("/indicators/import", exported)
    assert again.json() == {"created": 0, "updated": 1}
    bad = api.post("/indicators/import", [NEW | {"code": "x2"}, {"code": "x3", "method": "?"}])
    assert bad.status_code == 422 and bad.json()["detail"].startswith("Chỉ tiêu thứ 2:")
    assert not Indicator.objects.filter(code="x2").exists()
    assert api.post("/indicators/import", raw="{not json").status_code == 422
    assert api.post("/indicators/import", raw="[" * 100_000 + "]" * 100_000).status_code == 422


# --- Hand-entered values ----------------------------------------------------------------------
def _entry(world, **change):
    return {
        "place": world.a1.code,
        "period": _current().key,
        "value": 42,
        "source": "VNPT",
    } | change


def test_a_leader_enters_a_manual_value_with_its_source(api_as, world, broadband):
    api = api_as("lanhdao")

    response = api.post("/indicators/broadband/entries", _entry(world, numerator=42))
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "VNPT" and response.json()["value"] == 42
    corrected = api.post("/indicators/broadband/entries", _entry(world, value="43,5"))
    assert corrected.status_code == 201
    entry = ManualValue.objects.get(indicator=broadband, place=world.a1)
    assert entry.value == 43.5
    value = api.get("/indicators/broadband/values", place=world.a1.code).json()
    assert value["value"] == 43.5


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"source": ""}, "source"),
        ({"value": None}, "value"),
        ({"value": "nhiều"}, "value"),
        ({"value": -1}, "value"),
        ({"value": 1e20}, "value"),
        ({"denominator": 0}, "denominator"),
        ({"period": "2026-Q4"}, "period"),
        ({"period": "2099-01"}, "period"),
        ({"period": "2026-00"}, "period"),
    ],
)
def test_a_bad_entry_is_refused(api_as, world, broadband, change, field):
    response = api_as("lanhdao").post("/indicators/broadband/entries", _entry(world, **change))

    assert response.status_code == 422, response.content
    assert response.json()["field"] == field
    assert not ManualValue.objects.exists()


def test_an_entry_into_a_closed_period_is_refused(api_as, world, broadband):
    PeriodClose.objects.create(
        place=world.commune_a,
        period=_current().key,
        closed_by=world.users["lanhdao"],
        values_sha256="0" * 64,
    )

    response = api_as("lanhdao").post("/indicators/broadband/entries", _entry(world))

    assert response.status_code == 409
    assert "đã chốt" in response.json()["detail"]
    assert not ManualValue.objects.exists()


def test_a_computed_indicator_takes_no_entry(api_as, world, smartphone):
    response = api_as("lanhdao").post("/indicators/smartphone/entries", _entry(world))

    assert response.status_code == 409
    assert "không nhập tay" in response.json()["detail"]


def test_entries_only_where_the_user_may_enter(api_as, world, broadband):
    assert (
        api_as("truongthon").post("/indicators/broadband/entries", _entry(world)).status_code == 403
    )
    assert api_as("tinh").post("/indicators/broadband/entries", _entry(world)).status_code == 403
    outside = api_as("canbo_b").post("/indicators/broadband/entries", _entry(world))
    assert outside.status_code == 404
    assert not ManualValue.objects.exists()


def _put(api, path: str, body):
    return api.client.put(
        f"/api/v1{path}",
        json.dumps(body),
        content_type="application/json",
        headers=api.headers,
    )
