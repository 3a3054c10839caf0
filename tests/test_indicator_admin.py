"""The indicator and criteria pages: definitions for administrators, values and facts for
those who enter them, and the assessment page with the evidence behind each verdict."""

import re

import pytest
from django.utils import timezone

from tests import criteria_data
from tests.criteria_data import PERIOD
from xaso.indicators.models import (
    CriteriaSet,
    Criterion,
    CriterionFact,
    Indicator,
    ManualValue,
    PeriodClose,
)
from xaso.lib import periods


@pytest.fixture
def sets(world):
    return criteria_data.build(world)


def _indicator_form(**change) -> dict:
    return {
        "code": "vneid",
        "name": "Người lớn đã kích hoạt VNeID mức 2",
        "unit": "%",
        "method": "ratio",
        "numerator": "residents_surveyed",
        "numerator_filter": ["adult:1", "has:vneid_level2"],
        "denominator": "residents_surveyed",
        "denominator_filter": ["adult:1"],
        "period_kind": "month",
        "target_village": "80",
        "target_commune": "75,5",
        "higher_is_better": "on",
        "published": "on",
    } | change


# --- Definitions ------------------------------------------------------------------------------
def test_an_administrator_defines_an_indicator_on_the_page(client_as, world):
    client = client_as("quantri")

    assert client.get("/chi-tieu/them/").status_code == 200
    response = client.post("/chi-tieu/them/", _indicator_form(target_commune="75.5"))

    assert response.status_code == 302, response.content.decode()[:2000]
    indicator = Indicator.objects.get(code="vneid")
    assert indicator.numerator == {
        "source": "residents_surveyed",
        "filter": {"adult": True, "has": "vneid_level2"},
    }
    assert indicator.targets == {"village": 80, "commune": 75.5}
    listing = client.get("/chi-tieu/")
    assert "Người lớn đã kích hoạt VNeID mức 2" in listing.content.decode()


def test_editing_keeps_the_code_and_shows_the_filters(client_as, world):
    client = client_as("quantri")
    client.post("/chi-tieu/them/", _indicator_form(target_commune="75.5"))

    page = client.get("/chi-tieu/vneid/sua/").content.decode()
    checked = re.findall(r'<input type="checkbox" name="(\w+)" value="([^"]+)"[^>]*checked', page)
    assert sorted(checked) == [
        ("denominator_filter", "adult:1"),
        ("numerator_filter", "adult:1"),
        ("numerator_filter", "has:vneid_level2"),
    ]
    assert 'value="75,5"' in page
    response = client.post(
        "/chi-tieu/vneid/sua/",
        _indicator_form(code="renamed", target_village="", target_commune="", name="Đổi tên"),
    )

    assert response.status_code == 302
    indicator = Indicator.objects.get(code="vneid")
    assert indicator.name == "Đổi tên" and indicator.targets == {}
    assert not Indicator.objects.filter(code="renamed").exists()


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"numerator": "dossiers", "numerator_filter": ["adult:1"]}, "không có bộ lọc"),
        ({"numerator_filter": ["has:fibre_broadband"]}, "phiếu khảo sát"),
        ({"numerator_filter": ["has:smartphone", "has:vssid"]}, "một giá trị"),
        ({"denominator": ""}, "mẫu số"),
        ({"target_village": "150"}, "0 đến 100"),
    ],
)
def test_a_bad_definition_is_shown_on_the_form(client_as, world, change, words):
    response = client_as("quantri").post("/chi-tieu/them/", _indicator_form(**change))

    assert response.status_code == 400
    assert words in response.content.decode()
    assert not Indicator.objects.filter(code="vneid").exists()


@pytest.mark.parametrize("persona", ["lanhdao", "tinh", "truongthon"])
def test_definitions_are_for_administrators_only(client_as, world, persona):
    client = client_as(persona)

    assert client.get("/chi-tieu/").status_code == 403
    assert client.post("/chi-tieu/them/", _indicator_form()).status_code == 403
    assert not Indicator.objects.filter(code="vneid").exists()


# --- Values and facts -------------------------------------------------------------------------
def _fact(village_set, place, evidence: str) -> dict:
    criterion = f"{village_set.code}/wifi"
    return {
        "form": "fact",
        "criterion": criterion,
        "place": place,
        "met": "1",
        "evidence": evidence,
    }


def _value(place, value: str, source: str) -> dict:
    return {
        "form": "value",
        "indicator": "thue-bao-bang-rong-co-dinh",
        "place": place,
        "period": periods.containing(timezone.localdate()).key,
        "value": value,
        "source": source,
    }


def test_a_leader_records_a_fact_and_a_value(client_as, world, sets):
    client = client_as("lanhdao")
    page = client.get("/chi-tieu/nhap-so-lieu/")
    assert page.status_code == 200
    village_set, _commune_set = sets

    fact = client.post(
        "/chi-tieu/nhap-so-lieu/",
        _fact(village_set, world.a1.code, "Ảnh chụp bộ phát Wi-Fi"),
    )
    assert fact.status_code == 302, fact.content.decode()[:3000]
    recorded = CriterionFact.objects.get(place=world.a1, criterion__code="wifi")
    assert recorded.met is True and recorded.evidence == "Ảnh chụp bộ phát Wi-Fi"

    value = client.post(
        "/chi-tieu/nhap-so-lieu/",
        _value(world.commune_a.code, "1231", "Báo cáo của VNPT"),
    )
    assert value.status_code == 302, value.content.decode()[:3000]
    entry = ManualValue.objects.get(place=world.commune_a)
    assert entry.value == 1231 and entry.source == "Báo cáo của VNPT"
    recent = client.get("/chi-tieu/nhap-so-lieu/").content.decode()
    assert "Ảnh chụp bộ phát Wi-Fi" in recent and "Báo cáo của VNPT" in recent


def test_a_fact_without_evidence_or_a_value_in_a_closed_period_is_refused(client_as, world, sets):
    client = client_as("lanhdao")
    village_set, _commune_set = sets
    current = periods.containing(timezone.localdate())
    PeriodClose.objects.create(
        place=world.commune_a,
        period=current.key,
        closed_by=world.users["lanhdao"],
        values_sha256="0" * 64,
    )

    fact = client.post(
        "/chi-tieu/nhap-so-lieu/",
        _fact(village_set, world.a1.code, " "),
    )
    value = client.post(
        "/chi-tieu/nhap-so-lieu/",
        _value(world.a1.code, "10", "VNPT"),
    )

    assert fact.status_code == 400 and value.status_code == 400
    assert "đã chốt số liệu" in value.content.decode()
    assert not CriterionFact.objects.filter(place=world.a1).exists()
    assert not ManualValue.objects.exists()


def test_a_place_outside_the_scope_is_not_offered(client_as, world, sets):
    village_set, _commune_set = sets
    response = client_as("canbo_b").post(
        "/chi-tieu/nhap-so-lieu/",
        _fact(village_set, world.a1.code, "Ảnh"),
    )

    assert response.status_code == 400
    assert not CriterionFact.objects.filter(place=world.a1).exists()


@pytest.mark.parametrize("persona", ["truongthon", "tocns", "tinh", "nobody"])
def test_only_those_who_enter_values_open_the_page(client_as, world, persona):
    assert client_as(persona).get("/chi-tieu/nhap-so-lieu/").status_code == 403


# --- Criteria sets ----------------------------------------------------------------------------
def test_an_administrator_builds_a_criteria_set(client_as, world, sets):
    client = client_as("quantri")

    created = client.post(
        "/tieu-chi/",
        {
            "code": "thu-nghiem",
            "name": "Bộ thử nghiệm",
            "place_kind": "village",
            "province": world.province.code,
            "legal_basis": "Thử",
        },
    )
    assert created.status_code == 302
    criteria_set = CriteriaSet.objects.get(code="thu-nghiem")
    assert criteria_set.province == world.province

    added = client.post(
        "/tieu-chi/thu-nghiem/sua/",
        {
            "form": "criterion",
            "code": "dien-thoai",
            "name": "Điện thoại",
            "kind": "indicator",
            "indicator": "nguoi-lon-co-smartphone",
            "threshold": "80",
        },
    )
    assert added.status_code == 302, added.content.decode()[:3000]
    criterion = Criterion.objects.get(criteria_set=criteria_set, code="dien-thoai")
    assert criterion.threshold == 80

    bad = client.post(
        "/tieu-chi/thu-nghiem/sua/",
        {
            "form": "criterion",
            "code": "thon",
            "name": "Thôn đạt",
            "kind": "children",
            "child_set": criteria_set.code,
        },
    )
    assert bad.status_code == 400 and "cấp xã" in bad.content.decode()

    edited = client.post(
        "/tieu-chi/thu-nghiem/tieu-chi/dien-thoai/",
        {
            "code": "dien-thoai",
            "name": "Điện thoại thông minh",
            "kind": "indicator",
            "indicator": "nguoi-lon-co-smartphone",
            "threshold": "85",
        },
    )
    assert edited.status_code == 302
    criterion.refresh_from_db()
    assert (criterion.name, criterion.threshold) == ("Điện thoại thông minh", 85)

    deleted = client.post("/tieu-chi/thu-nghiem/tieu-chi/dien-thoai/", {"form": "delete"})
    assert deleted.status_code == 302
    assert not Criterion.objects.filter(criteria_set=criteria_set).exists()


def test_viewers_see_the_sets_but_cannot_change_them(client_as, world, sets):
    village_set, _commune_set = sets
    client = client_as("tocns")

    listing = client.get("/tieu-chi/")
    assert listing.status_code == 200 and village_set.name in listing.content.decode()
    assert (
        client.post("/tieu-chi/", {"code": "x", "name": "x", "place_kind": "village"}).status_code
        == 403
    )
    assert client.get(f"/tieu-chi/{village_set.code}/sua/").status_code == 403
    assert not CriteriaSet.objects.filter(code="x").exists()


# --- Assessment page --------------------------------------------------------------------------
def test_the_assessment_page_shows_verdicts_and_evidence(client_as, world, sets):
    village_set, _commune_set = sets

    response = client_as("lanhdao").get(
        f"/tieu-chi/{village_set.code}/", {"place": world.commune_a.code, "period": PERIOD}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert world.a1.name in page and world.a2.name in page
    assert "50 % (1/2) &lt; 90 %" in page
    assert "Biên bản kiểm tra số 12/BB (wifi)" in page
    assert "chưa có minh chứng" in page


def test_the_assessment_page_starts_at_the_users_place(client_as, world, sets):
    village_set, _commune_set = sets

    page = client_as("truongthon").get(f"/tieu-chi/{village_set.code}/").content.decode()

    assert world.a1.name in page and world.a2.name not in page


def test_the_assessment_page_refuses_what_it_cannot_show(client_as, world, sets):
    village_set, commune_set = sets
    head = client_as("truongthon")

    assert (
        head.get(f"/tieu-chi/{village_set.code}/", {"place": world.commune_a.code}).status_code
        == 403
    )
    bad_period = head.get(f"/tieu-chi/{village_set.code}/", {"period": "2026-13"})
    assert bad_period.status_code == 400 and "Kỳ báo cáo" in bad_period.content.decode()
    wrong_level = head.get(f"/tieu-chi/{commune_set.code}/", {"place": world.a1.code})
    assert wrong_level.status_code == 400
    assert head.get("/tieu-chi/khong-co/").status_code == 404
    assert client_as("htx").get(f"/tieu-chi/{village_set.code}/").status_code == 403


def test_the_assessment_page_costs_the_same_for_more_villages(client_as, world, sets):
    village_set, _commune_set = sets
    client = client_as("lanhdao")
    url = f"/tieu-chi/{village_set.code}/"
    params = {"place": world.commune_a.code, "period": PERIOD}
    client.get(url, params)  # sessions, caches

    def run():
        assert client.get(url, params).status_code == 200

    before, after = criteria_data.queries_with_more_villages(world, world.commune_a, run)
    assert after == before
    assert before <= 20


def test_the_menu_offers_the_criteria(client_as, world, sets):
    page = client_as("tocns").get("/tieu-chi/").content.decode()

    assert 'href="/tieu-chi/"' in page
    assert 'href="/chi-tieu/nhap-so-lieu/"' not in page  # a team member enters no values
    leader = client_as("lanhdao").get("/tieu-chi/").content.decode()
    assert 'href="/chi-tieu/nhap-so-lieu/"' in leader and 'href="/chi-tieu/"' not in leader
