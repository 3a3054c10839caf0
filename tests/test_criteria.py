"""Criteria sets: the default catalogue, assessments with the evidence behind each criterion
(indicator thresholds, yes/no facts, villages meeting a village set), and facts recorded."""

import pytest

from tests import criteria_data
from tests.criteria_data import PERIOD
from xaso.core.models import AuditEntry
from xaso.indicators import assess, catalogue
from xaso.indicators.models import Criterion, CriterionFact, Indicator
from xaso.lib import periods


@pytest.fixture
def sets(world):
    return criteria_data.build(world)


def _by_code(assessment: assess.Assessment) -> dict[str, assess.CriterionResult]:
    return {result.criterion.code: result for result in assessment.results}


# --- The catalogue ----------------------------------------------------------------------------
def test_the_catalogue_loads_once_and_keeps_the_administrators_edits(world):
    admin = world.users["admin"]
    first = catalogue.catalogue_load(province=world.province, by=admin)
    audits = AuditEntry.objects.count()

    assert first["created"] == 11 + 2 + 7 + 4
    assert Indicator.objects.count() == 11
    assert Indicator.objects.filter(published=True).count() == 9
    online = Indicator.objects.get(code="ho-so-truc-tuyen")
    assert online.targets == {"commune": 60, "province": 95}
    manual = Indicator.objects.get(code="thue-bao-bang-rong-co-dinh")
    assert manual.method == Indicator.Method.MANUAL and manual.source_note

    Indicator.objects.filter(pk=online.pk).update(targets={"commune": 70})
    second = catalogue.catalogue_load(province=world.province, by=admin)
    assert second["created"] == 0 and AuditEntry.objects.count() == audits
    assert Indicator.objects.get(pk=online.pk).targets == {"commune": 70}

    catalogue.catalogue_load(province=world.province, by=admin, overwrite=True)
    assert Indicator.objects.get(pk=online.pk).targets == {"commune": 60, "province": 95}


def test_every_catalogue_definition_passes_the_checks():
    from xaso.indicators.actions import indicator_values

    for row in catalogue.INDICATORS:
        assert indicator_values(row)["code"] == row["code"]


# --- Assessing --------------------------------------------------------------------------------
def test_villages_are_assessed_with_evidence_for_each_kind(world, sets):
    village_set, _commune_set = sets

    a1, a2 = assess.assess(village_set, [world.a1, world.a2], periods.parse(PERIOD))

    assert a2.met is True
    results = _by_code(a2)
    assert results["smartphone"].evidence == "100 % (1/1) ≥ 90 %"
    assert results["camera"].evidence == "1 camera ≥ 1 camera"
    assert results["camera"].value == 1 and results["camera"].threshold == 1
    assert results["wifi"].evidence == "Biên bản kiểm tra số 12/BB (wifi)"

    assert a1.met is False
    results = _by_code(a1)
    assert results["smartphone"].met is False
    assert results["smartphone"].evidence == "50 % (1/2) < 90 %"
    assert results["thanh-toan"].met is False and results["thanh-toan"].evidence.startswith("50 %")
    assert results["wifi"].met is None and results["wifi"].evidence == "chưa có minh chứng"
    assert results["camera"].met is False and results["camera"].evidence == "0 camera < 1 camera"


def test_no_data_leaves_the_verdict_open(world, sets):
    village_set, _commune_set = sets
    for criterion in village_set.criteria.filter(kind=Criterion.Kind.FACT):
        CriterionFact.objects.create(
            criterion=criterion,
            place=world.b1,
            met=True,
            evidence="Ảnh chụp",
            recorded_by=world.users["canbo_b"],
        )

    [b1] = assess.assess(village_set, [world.b1], periods.parse(PERIOD))

    results = _by_code(b1)
    assert results["smartphone"].met is None
    assert results["smartphone"].evidence == "chưa có số liệu"
    assert results["camera"].met is False  # a count of zero is a figure, not missing data
    assert b1.met is False


def test_verdict_rules():
    assert assess.verdict([True, True]) is True
    assert assess.verdict([True, None]) is None
    assert assess.verdict([None, False, True]) is False
    assert assess.verdict([]) is None


def test_a_commune_counts_its_smart_villages(world, sets):
    _village_set, commune_set = sets

    [commune] = assess.assess(commune_set, [world.commune_a], periods.parse(PERIOD))

    results = _by_code(commune)
    villages = results["thon-thong-minh"]
    assert villages.met is True
    assert villages.evidence == f"1/2 thôn đạt: {world.a2.name}"
    assert (villages.value, villages.threshold) == (1, 1)
    assert results["ho-so-truc-tuyen"].met is None
    assert results["ho-so-truc-tuyen"].evidence == "chưa có số liệu"
    assert commune.met is None


def test_a_commune_whose_villages_are_undecided_is_not_yet_judged(world, sets):
    _village_set, commune_set = sets
    CriterionFact.objects.filter(place=world.a2, criterion__code="wifi").delete()

    [commune] = assess.assess(commune_set, [world.commune_a], periods.parse(PERIOD))
    [commune_b] = assess.assess(commune_set, [world.commune_b], periods.parse(PERIOD))

    villages = _by_code(commune)["thon-thong-minh"]
    assert villages.met is None
    assert villages.evidence == "0/2 thôn đạt; 1 thôn chưa đủ căn cứ đánh giá"
    # Commune B's only village has no camera: it cannot become smart, so the commune fails.
    other = _by_code(commune_b)["thon-thong-minh"]
    assert (other.met, other.evidence) == (False, "0/1 thôn đạt")


def test_assessing_all_villages_does_not_query_per_village(world, sets):
    village_set, _commune_set = sets
    period = periods.parse(PERIOD)

    def run():
        villages = assess.places_to_assess(village_set, world.commune_a)
        assess.assess(village_set, villages, period)

    two_villages, more = criteria_data.queries_with_more_villages(world, world.commune_a, run)
    assert more == two_villages
    # criteria, children, frozen, one grouped count per source (2 + cameras), manual, facts
    assert two_villages <= 8


# --- The API ----------------------------------------------------------------------------------
def test_assessments_follow_the_contract(api_as, world, sets):
    village_set, _commune_set = sets

    response = api_as("lanhdao").get(
        f"/criteria/{village_set.code}/assessments", place=world.commune_a.code, period=PERIOD
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["set"], body["period"]) == (village_set.code, PERIOD)
    places = {row["place"]: row for row in body["assessments"]}
    assert set(places) == {world.a1.code, world.a2.code}
    a1 = places[world.a1.code]
    assert set(a1) == {"place", "place_name", "met", "criteria"}
    assert a1["met"] is False and a1["place_name"] == world.a1.name
    smartphone = next(row for row in a1["criteria"] if row["code"] == "smartphone")
    assert smartphone == {
        "code": "smartphone",
        "name": "Từ 90 % người từ 15 tuổi trở lên có điện thoại thông minh",
        "kind": "indicator",
        "met": False,
        "evidence": "50 % (1/2) < 90 %",
        "value": 50,
        "threshold": 90,
    }
    assert places[world.a2.code]["met"] is True


def test_a_place_of_the_sets_kind_is_assessed_alone(api_as, world, sets):
    village_set, _commune_set = sets
    api = api_as("truongthon")

    mine = api.get(f"/criteria/{village_set.code}/assessments", place=world.a1.code)
    assert [row["place"] for row in mine.json()["assessments"]] == [world.a1.code]
    assert (
        api.get(f"/criteria/{village_set.code}/assessments", place=world.commune_a.code).status_code
        == 403
    )
    assert (
        api.get(f"/criteria/{village_set.code}/assessments", place=world.a2.code).status_code == 404
    )


def test_the_province_sees_every_commune_and_village(api_as, world, sets):
    village_set, commune_set = sets
    api = api_as("tinh")

    villages = api.get(
        f"/criteria/{village_set.code}/assessments", place=world.province.code, period=PERIOD
    ).json()["assessments"]
    communes = api.get(
        f"/criteria/{commune_set.code}/assessments", place=world.province.code, period=PERIOD
    ).json()["assessments"]

    assert {row["place"] for row in villages} == {world.a1.code, world.a2.code, world.b1.code}
    by_code = {row["place"]: row for row in communes}
    assert world.commune_a.code in by_code and world.commune_b.code in by_code
    smart = by_code[world.commune_a.code]["criteria"][0]
    assert (smart["code"], smart["met"], smart["value"]) == ("thon-thong-minh", True, 1)


def test_bad_assessment_requests_are_refused(api_as, world, sets):
    village_set, commune_set = sets
    api = api_as("lanhdao")

    assert api.get("/criteria/none/assessments", place=world.a1.code).status_code == 404
    wrong_level = api.get(f"/criteria/{commune_set.code}/assessments", place=world.a1.code)
    assert wrong_level.status_code == 422 and "cấp xã" in wrong_level.json()["detail"]
    bad_period = api.get(
        f"/criteria/{village_set.code}/assessments", place=world.a1.code, period="2026-Q9"
    )
    assert bad_period.status_code == 422 and "Kỳ báo cáo" in bad_period.json()["detail"]
    assert api.get(f"/criteria/{village_set.code}/assessments").status_code == 422
    assert api_as("nobody").get("/criteria").status_code == 403


def test_the_sets_are_listed_with_their_criteria(api_as, world, sets):
    body = api_as("tocns").get("/criteria").json()

    by_code = {row["code"]: row for row in body}
    commune = by_code[catalogue.model_commune_code(world.province)]
    assert commune["place_kind"] == "commune" and commune["province"] == world.province.code
    first = commune["criteria"][0]
    assert (first["kind"], first["child_set"], first["threshold"]) == (
        "children",
        catalogue.smart_village_code(world.province),
        1,
    )


# --- Recording facts --------------------------------------------------------------------------
def _fact(world, **change) -> dict:
    return {
        "criterion": "wifi",
        "place": world.a1.code,
        "met": True,
        "evidence": "Ảnh chụp bộ phát Wi-Fi ngày 20/11/2026",
    } | change


def test_a_leader_records_a_fact_with_evidence(api_as, world, sets):
    village_set, _commune_set = sets
    api = api_as("lanhdao")

    response = api.post(f"/criteria/{village_set.code}/facts", _fact(world))

    assert response.status_code == 201, response.content
    assert response.json() == _fact(world)
    again = api.post(
        f"/criteria/{village_set.code}/facts", _fact(world, met=False, evidence="Hỏng")
    )
    assert again.status_code == 201
    fact = CriterionFact.objects.get(place=world.a1, criterion__code="wifi")
    assert (fact.met, fact.evidence) == (False, "Hỏng")
    [a1] = assess.assess(village_set, [world.a1], periods.parse(PERIOD))
    assert _by_code(a1)["wifi"].evidence == "Hỏng"


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        ({"evidence": "  "}, 422, "evidence"),
        ({"criterion": "smartphone"}, 409, "criterion"),
        ({"criterion": "nothing"}, 422, "criterion"),
    ],
)
def test_a_bad_fact_is_refused(api_as, world, sets, change, status, field):
    village_set, _commune_set = sets

    response = api_as("lanhdao").post(f"/criteria/{village_set.code}/facts", _fact(world, **change))

    assert response.status_code == status, response.content
    assert response.json()["detail"]
    assert not CriterionFact.objects.filter(place=world.a1).exists()


def test_a_fact_for_the_wrong_level_is_refused(api_as, world, sets):
    village_set, _commune_set = sets

    response = api_as("lanhdao").post(
        f"/criteria/{village_set.code}/facts", _fact(world, place=world.commune_a.code)
    )

    assert response.status_code == 422 and response.json()["field"] == "place"


def test_facts_only_where_the_user_may_enter(api_as, world, sets):
    village_set, _commune_set = sets
    path = f"/criteria/{village_set.code}/facts"

    assert api_as("truongthon").post(path, _fact(world)).status_code == 403
    assert api_as("tinh").post(path, _fact(world)).status_code == 403
    assert api_as("canbo_b").post(path, _fact(world)).status_code == 404
    assert not CriterionFact.objects.filter(place=world.a1).exists()


def test_a_province_assesses_its_villages_in_one_batch(world, sets):
    village_set, _commune_set = sets
    period = periods.parse(PERIOD)

    def run():
        villages = assess.places_to_assess(village_set, world.province)
        results = assess.assess(village_set, villages, period)
        assert {item.place.code for item in results} >= {world.a1.code, world.b1.code}

    before, after = criteria_data.queries_with_more_villages(world, world.commune_b, run)
    assert after == before
