"""Open data: published indicators as CSV, JSON and a DCAT catalogue, small counts hidden."""

import csv
import datetime
import io
import re
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from xaso.indicators import compute, opendata
from xaso.indicators.models import FrozenValue, Indicator, ManualValue, PeriodClose
from xaso.lib import periods
from xaso.places import actions as places_actions
from xaso.places.models import Household, Place, Resident
from xaso.survey.models import HouseholdStatus, ResidentStatus
from xaso.survey.tallies import tallies_rebuild

NOVEMBER = "2026-11"  # 15/10/2026 – 14/11/2026
VISITED = datetime.date(2026, 10, 20)
PUBLIC_URL = "https://xaso.example.vn"


@pytest.fixture(autouse=True)
def fresh_cache(settings):
    """Cached rows and rate-limit counters live in the process cache: start each test clean."""
    settings.XASO_PUBLIC_URL = PUBLIC_URL
    cache.clear()
    yield
    cache.clear()


def _smartphones(*, published=True, code="smartphone") -> Indicator:
    return Indicator.objects.create(
        code=code,
        name="Người lớn có điện thoại thông minh",
        description="Tỷ lệ người từ 15 tuổi có điện thoại thông minh trong số người đã khảo sát.",
        method=Indicator.Method.RATIO,
        numerator={"source": "residents_surveyed", "filter": {"adult": True, "has": "smartphone"}},
        denominator={"source": "residents_surveyed", "filter": {"adult": True}},
        targets={"village": 90, "commune": 80},
        published=published,
    )


def _household_count(*, published=True) -> Indicator:
    return Indicator.objects.create(
        code="households",
        name="Số hộ",
        unit="hộ",
        method=Indicator.Method.COUNT,
        numerator={"source": "households"},
        published=published,
    )


def _survey(village: Place, adults: int, *, with_smartphone: int) -> None:
    """`adults` surveyed residents, each in a household of their own; `with_smartphone` with one."""
    households = Household.objects.bulk_create(
        Household(village=village, head_name=f"Chủ hộ {village.code} số {n}") for n in range(adults)
    )
    residents = Resident.objects.bulk_create(
        Resident(household=household, full_name=f"Cư dân {household.head_name}", gender="female")
        for household in households
    )
    HouseholdStatus.objects.bulk_create(
        HouseholdStatus(
            household=household,
            village=village,
            first_visited_on=VISITED,
            last_visited_on=VISITED,
        )
        for household in households
    )
    ResidentStatus.objects.bulk_create(
        ResidentStatus(
            resident=resident,
            household=resident.household,
            village=village,
            first_visited_on=VISITED,
            last_visited_on=VISITED,
            smartphone_on=VISITED if n < with_smartphone else None,
        )
        for n, resident in enumerate(residents)
    )
    tallies_rebuild(villages=[village])  # rows written by hand, not by visits


@pytest.fixture
def a3(world) -> Place:
    return places_actions.village_create(
        commune=world.commune_a, name="Thôn Hòa Bình", by=world.users["admin"]
    )


@pytest.fixture
def surveyed(world, a3):
    """A1: 12 adults, 9 with a smartphone; A2: 3 adults, 1; A3: 11 adults, 11."""
    _survey(world.a1, 12, with_smartphone=9)
    _survey(world.a2, 3, with_smartphone=1)
    _survey(a3, 11, with_smartphone=11)
    return world


def _csv_rows(response) -> list[dict]:
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf")  # the BOM Excel needs to read UTF-8
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))


def _by_place(rows: list[dict], period: str = NOVEMBER) -> dict[str, dict]:
    return {row["place_code"]: row for row in rows if row["period"] == period}


# --- The index and the catalogue -----------------------------------------------------------------


def test_the_index_lists_only_published_datasets_in_vietnamese(client, world):
    _smartphones()
    _household_count(published=False)

    response = client.get("/opendata/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Dữ liệu mở" in page and 'lang="vi"' in page
    assert "Người lớn có điện thoại thông minh" in page
    assert 'href="/opendata/smartphone.csv"' in page and 'href="/opendata/smartphone.json"' in page
    assert "Số hộ" not in page and "households.csv" not in page
    assert 'href="/opendata/catalog.json"' in page
    assert response["Cache-Control"].startswith("public, max-age=")
    assert not response.cookies


def test_the_catalogue_is_a_dcat_catalogue_in_json_ld(client, world, settings):
    settings.XASO_PERIOD_CLOSE_DAY = 14
    smartphones = _smartphones()
    _household_count(published=False)

    response = client.get("/opendata/catalog.json")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/ld+json")
    assert response["Access-Control-Allow-Origin"] == "*"
    catalog = response.json()
    assert catalog["@type"] == "dcat:Catalog"
    assert catalog["@id"] == f"{PUBLIC_URL}/opendata/catalog.json"
    assert catalog["dct:title"]["@language"] == "vi" and catalog["dct:title"]["@value"]
    assert catalog["dct:description"]["@value"]
    assert catalog["dct:publisher"]["@type"] == "foaf:Organization"
    assert catalog["dct:publisher"]["foaf:name"] == "UBND tỉnh Quảng Ninh"
    assert catalog["dct:language"]["@id"].endswith("/language/VIE")

    [dataset] = catalog["dcat:dataset"]  # the unpublished indicator is not there
    assert dataset["@type"] == "dcat:Dataset"
    assert dataset["dct:identifier"] == "smartphone"
    assert dataset["dct:title"]["@value"] == smartphones.name
    assert dataset["dct:description"]["@value"] == smartphones.description
    keywords = [keyword["@value"] for keyword in dataset["dcat:keyword"]]
    assert "chuyển đổi số" in keywords and "Nhân khẩu đã được khảo sát" in keywords
    assert dataset["dct:accrualPeriodicity"]["@id"].endswith("/frequency/MONTHLY")
    months = opendata.default_periods(smartphones, timezone.localdate())
    assert len(months) == 12
    temporal = dataset["dct:temporal"]
    assert temporal["@type"] == "dct:PeriodOfTime"
    assert temporal["dcat:startDate"] == {
        "@value": months[0].start.isoformat(),
        "@type": "xsd:date",
    }
    assert temporal["dcat:endDate"]["@value"] == months[-1].end.isoformat()
    [spatial] = dataset["dct:spatial"]
    assert spatial["@type"] == "dct:Location"
    assert spatial["skos:prefLabel"]["@value"] == "Tỉnh Quảng Ninh"
    assert dataset["dct:license"]["@id"] == "https://creativecommons.org/licenses/by/4.0/"

    distributions = {
        d["dcat:mediaType"]["@id"].rsplit("/", 1)[1]: d for d in dataset["dcat:distribution"]
    }
    assert set(distributions) == {"csv", "json"}
    for extension, distribution in distributions.items():
        url = f"{PUBLIC_URL}/opendata/smartphone.{extension}"
        assert distribution["@type"] == "dcat:Distribution"
        assert distribution["dcat:downloadURL"] == {"@id": url}
        assert distribution["dcat:accessURL"] == {"@id": url}
        assert distribution["dct:format"]["@id"].endswith(f"/file-type/{extension.upper()}")
        assert distribution["dct:license"]["@id"] == dataset["dct:license"]["@id"]


def _terms_and_ids(node, found_terms: set, found_ids: set) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "@id":
                found_ids.add(value)
            elif key == "@type":
                found_terms.update(value if isinstance(value, list) else [value])
            elif key == "@context":
                continue
            elif not key.startswith("@"):
                found_terms.add(key)
            _terms_and_ids(value, found_terms, found_ids)
    elif isinstance(node, list):
        for item in node:
            _terms_and_ids(item, found_terms, found_ids)


def test_every_term_of_the_catalogue_expands_to_an_iri(client, world):
    """What a JSON-LD processor (rdflib in ckanext-dcat) needs: every property and type is a
    prefix of the inline context or an absolute IRI, every @id an absolute IRI; a typo such as
    "dcat:downlodURL" would still expand, so the properties are also checked against DCAT-AP's."""
    _smartphones()
    catalog = client.get("/opendata/catalog.json").json()
    terms, ids = set(), set()
    _terms_and_ids(catalog, terms, ids)

    context = catalog["@context"]
    for term in terms:
        prefix, _colon, _rest = term.partition(":")
        assert prefix in context or term.startswith("http"), term
    assert all(re.match(r"^https?://", iri) for iri in ids), ids
    known = {
        "dcat:dataset", "dcat:distribution", "dcat:keyword", "dcat:landingPage",
        "dcat:contactPoint", "dcat:accessURL", "dcat:downloadURL", "dcat:mediaType",
        "dcat:startDate", "dcat:endDate", "dcat:Catalog", "dcat:Dataset", "dcat:Distribution",
        "dct:title", "dct:description", "dct:publisher", "dct:language", "dct:license",
        "dct:modified", "dct:issued", "dct:identifier", "dct:accrualPeriodicity",
        "dct:temporal", "dct:spatial", "dct:format", "dct:PeriodOfTime", "dct:Location",
        "dct:LicenseDocument", "foaf:name", "foaf:homepage", "foaf:Organization",
        "vcard:Organization", "vcard:fn", "skos:prefLabel", "schema:startDate",
        "schema:endDate", "xsd:date",
    }  # fmt: skip
    assert terms - {"dcat:centroid"} <= known, terms - known


# --- The datasets ---------------------------------------------------------------------------------


def test_csv_rows_are_the_engines_values_for_each_level(client, surveyed, settings, a3):
    settings.XASO_OPENDATA_MIN_COUNT = 1
    world = surveyed
    indicator = _smartphones()

    response = client.get(f"/opendata/smartphone.csv?period={NOVEMBER}")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="smartphone.csv"' in response["Content-Disposition"]
    assert response["Cache-Control"].startswith("public, max-age=")
    rows = _csv_rows(response)
    assert list(rows[0]) == opendata.COLUMNS
    by_place = _by_place(rows)
    period = periods.parse(NOVEMBER)
    for place, parent in [
        (world.province, ""),
        (world.commune_a, world.province.code),
        (world.a1, world.commune_a.code),
        (world.a2, world.commune_a.code),
        (a3, world.commune_a.code),
    ]:
        [value] = compute.values_for_place([indicator], place, period)
        row = by_place[place.code]
        assert row["place_name"] == place.name and row["place_kind"] == place.kind
        assert row["parent_code"] == parent
        assert (row["period_start"], row["period_end"]) == ("2026-10-15", "2026-11-14")
        assert float(row["value"]) == float(value.value)
        assert row["numerator"] == str(int(value.numerator))
        assert row["denominator"] == str(int(value.denominator))
        assert row["suppressed"] == "false" and row["unit"] == "%"
    assert by_place[world.a1.code]["value"] == "75" and by_place[world.a1.code]["target"] == "90"
    assert by_place[world.commune_a.code]["value"] == "80.8"  # 21 of 26
    assert by_place[world.province.code]["denominator"] == "26"
    assert "Thôn Hòa Bình" in response.content.decode("utf-8-sig")


def test_json_has_the_same_rows_over_the_last_twelve_months(client, surveyed, settings):
    settings.XASO_OPENDATA_MIN_COUNT = 1
    indicator = _smartphones()

    document = client.get("/opendata/smartphone.json").json()
    csv_rows = _csv_rows(client.get("/opendata/smartphone.csv"))

    assert document["dataset"] == "smartphone" and document["columns"] == opendata.COLUMNS
    assert document["license"] == "https://creativecommons.org/licenses/by/4.0/"
    expected = [p.key for p in opendata.default_periods(indicator, timezone.localdate())]
    assert sorted({row["period"] for row in document["rows"]}) == expected
    assert len(document["rows"]) == len(csv_rows)
    for row, csv_row in zip(document["rows"], csv_rows, strict=True):
        assert {key: opendata._cell(value) for key, value in row.items()} == csv_row
    first = document["rows"][0]
    assert first["place_kind"] == "province" and isinstance(first["suppressed"], bool)


def test_small_counts_are_blank_and_a_sibling_hides_them_from_subtraction(client, surveyed, a3):
    world = surveyed  # min count 10: A1 has 12 adults, A2 3 (too few), A3 11
    _smartphones()

    rows = _by_place(client.get(f"/opendata/smartphone.json?period={NOVEMBER}").json()["rows"])

    a2 = rows[world.a2.code]
    assert a2["suppressed"] is True
    assert a2["value"] is None and a2["numerator"] is None and a2["denominator"] is None
    # A2 alone hidden would be commune minus A1 minus A3: the smallest sibling goes too.
    assert rows[a3.code]["suppressed"] is True and rows[a3.code]["value"] is None
    assert rows[world.a1.code]["suppressed"] is False and rows[world.a1.code]["denominator"] == 12
    assert rows[world.commune_a.code]["denominator"] == 26
    # Communes with nobody counted are blank too; the target stays (it is no count).
    empty = rows[world.commune_b.code]
    assert empty["suppressed"] is True and empty["value"] is None and empty["target"] == 80


def test_a_count_indicator_hides_small_counts_up_the_tree(client, world, settings):
    settings.XASO_OPENDATA_MIN_COUNT = 3
    _household_count()

    rows = client.get("/opendata/households.json").json()["rows"]
    latest = _by_place(rows, rows[-1]["period"])

    # A1 has 2 households, A2 1, B1 1: every village is too small.
    for village in (world.a1, world.a2, world.b1):
        assert latest[village.code]["suppressed"] is True
        assert latest[village.code]["value"] is None
    # Commune A (3) would give commune B (1) away as province (4) minus A: it is hidden too.
    assert latest[world.commune_b.code]["suppressed"] is True
    assert latest[world.commune_a.code]["suppressed"] is True
    assert latest[world.province.code]["value"] == 4


def test_no_personal_data_is_published_anywhere(client, surveyed):
    _smartphones()
    _household_count()
    bodies = [
        client.get(url).content.decode("utf-8-sig")
        for url in [
            "/opendata/",
            "/opendata/catalog.json",
            "/opendata/smartphone.csv",
            "/opendata/smartphone.json",
            "/opendata/households.csv",
            f"/opendata/households.json?period={NOVEMBER}",
        ]
    ]
    personal = [
        *Household.objects.values_list("head_name", flat=True),
        *Household.objects.values_list("public_id", flat=True),
        *Resident.objects.values_list("full_name", flat=True),
        *Resident.objects.values_list("public_id", flat=True),
        "0912345678",
        "022088000111",
        "Xóm 1",
    ]
    assert len(personal) > 50
    for body in bodies:
        assert "Nguyễn Văn An" not in body
        leaked = [text for text in personal if text and text in body]
        assert not leaked, leaked[:5]


def test_a_closed_period_is_published_as_final(client, world, settings):
    settings.XASO_OPENDATA_MIN_COUNT = 1
    indicator = _smartphones()
    close = PeriodClose.objects.create(
        place=world.commune_a, period=NOVEMBER, closed_by=world.users["lanhdao"], values_sha256="x"
    )
    FrozenValue.objects.create(
        close=close, indicator=indicator, place=world.a1, period=NOVEMBER,
        numerator=45, denominator=50, value=90, target=90,
    )  # fmt: skip

    rows = _by_place(client.get(f"/opendata/smartphone.json?period={NOVEMBER}").json()["rows"])

    assert rows[world.a1.code]["final"] is True and rows[world.a1.code]["value"] == 90
    assert rows[world.a2.code]["final"] is False


# --- Refusals -------------------------------------------------------------------------------------


def test_an_unknown_or_unpublished_dataset_is_not_found(client, world):
    _smartphones(published=False, code="hidden")

    for code in ["nowhere", "hidden"]:
        as_json = client.get(f"/opendata/{code}.json")
        as_csv = client.get(f"/opendata/{code}.csv")

        assert (
            as_json.status_code == 404 and "không có bộ dữ liệu" in as_json.json()["detail"].lower()
        )
        assert as_csv.status_code == 404 and as_csv["Content-Type"].startswith("text/html")
        assert "Không có bộ dữ liệu" in as_csv.content.decode()


@pytest.mark.parametrize("period", ["2026-13", "tháng 11", "2999-01"])
def test_a_bad_or_future_period_is_refused_with_the_reason(client, world, period):
    _smartphones()

    as_json = client.get("/opendata/smartphone.json", {"period": period})
    as_csv = client.get("/opendata/smartphone.csv", {"period": period})

    assert as_json.status_code == 422 and as_json.json()["detail"]
    assert as_csv.status_code == 422 and "Kỳ" in as_csv.content.decode()


def test_too_many_requests_from_one_client_are_refused_for_a_minute(client, world, settings):
    settings.XASO_OPENDATA_PER_MINUTE = 2
    _smartphones()

    answers = [client.get(url) for url in ["/opendata/", "/opendata/catalog.json"] * 2]

    assert [answer.status_code for answer in answers] == [200, 200, 429, 429]
    assert answers[3]["Retry-After"] == "60" and answers[3].json()["detail"]


def test_a_post_is_not_allowed(client, world):
    _smartphones()
    assert client.post("/opendata/smartphone.json").status_code == 405


# --- Cost -----------------------------------------------------------------------------------------


def _queries(client, url: str) -> int:
    cache.clear()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_number_of_queries_does_not_grow_with_the_places(client, surveyed, settings):
    world = surveyed
    _smartphones()
    _household_count()
    before = {
        url: _queries(client, url)
        for url in ["/opendata/smartphone.csv", "/opendata/households.json"]
    }

    for n in range(15):
        village = places_actions.village_create(
            commune=world.commune_b, name=f"Thôn mới {n}", by=world.users["admin"]
        )
        _survey(village, 2, with_smartphone=1)

    for url, count in before.items():
        assert _queries(client, url) == count, url
    # Twelve periods, three levels, one source: a few queries per level and period.
    assert before["/opendata/smartphone.csv"] <= 12 * 3 * 3 + 10


def test_cached_periods_cost_no_count_query(client, surveyed):
    _smartphones()
    client.get("/opendata/smartphone.csv")  # the last twelve months, November among them

    with CaptureQueriesContext(connection) as captured:
        as_json = client.get("/opendata/smartphone.json")
        one_month = client.get(f"/opendata/smartphone.json?period={NOVEMBER}")

    assert as_json.status_code == one_month.status_code == 200
    assert not [q for q in captured if "survey_residentstatus" in q["sql"]]
    assert {row["period"] for row in one_month.json()["rows"]} == {NOVEMBER}


def test_one_count_at_a_time_the_others_are_asked_to_come_back(client, surveyed):
    _smartphones()
    client.get(f"/opendata/smartphone.json?period={NOVEMBER}")
    cache.add(opendata.BUSY_KEY, 1)  # another request is counting

    refused = client.get("/opendata/smartphone.json?period=2026-10")
    refused_csv = client.get("/opendata/smartphone.csv?period=2026-10")
    cached = client.get(f"/opendata/smartphone.csv?period={NOVEMBER}")

    assert refused.status_code == refused_csv.status_code == 503
    assert refused["Retry-After"] == "15" and refused.json()["detail"]
    assert cached.status_code == 200  # what is counted already is served all the same
    cache.delete(opendata.BUSY_KEY)
    assert client.get("/opendata/smartphone.json?period=2026-10").status_code == 200


# --- The engine's grouped levels, which open data relies on ---------------------------------------


def test_every_village_of_a_province_comes_from_one_query_per_source(surveyed, a3):
    world = surveyed
    indicator = _smartphones()
    period = periods.parse(NOVEMBER)

    with CaptureQueriesContext(connection) as captured:
        villages = compute.values_for_descendants([indicator], world.province, "village", period)

    assert len(captured) == 3  # the villages, frozen values, one grouped count
    values = {place.code: row[0] for place, row in villages.items()}
    assert set(values) == {world.a1.code, world.a2.code, a3.code, world.b1.code}
    assert (values[world.a1.code].numerator, values[world.a1.code].denominator) == (9, 12)
    assert values[world.b1.code].denominator == 0  # a village with nothing counts zero


def test_cameras_group_by_commune_without_a_query_per_commune(world):
    from xaso.safety import actions as safety_actions

    admin = world.users["admin"]
    for place, name in [(world.a1, "Ngã tư"), (world.commune_a, "Cổng UBND"), (world.b1, "Chợ")]:
        safety_actions.camera_register(place=place, values={"name": name}, by=admin)
    indicator = Indicator.objects.create(
        code="cameras", name="Camera", unit="cái", method=Indicator.Method.COUNT,
        numerator={"source": "cameras"},
    )  # fmt: skip
    period = periods.containing(timezone.localdate())

    with CaptureQueriesContext(connection) as captured:
        communes = compute.values_for_children([indicator], world.province, period)
    villages = compute.values_for_children([indicator], world.commune_a, period)

    assert len(captured) == 3
    counts = {place.code: row[0].value for place, row in communes.items()}
    assert counts[world.commune_a.code] == 2 and counts[world.commune_b.code] == 1
    assert {place.code: row[0].value for place, row in villages.items()} == {
        world.a1.code: 1,
        world.a2.code: 0,
    }


def test_manual_values_of_a_level_are_read_in_one_query(world):
    indicator = Indicator.objects.create(
        code="broadband", name="Thuê bao băng rộng", method=Indicator.Method.MANUAL
    )
    for village, numerator in [(world.a1, 30), (world.a2, 10), (world.b1, 5)]:
        ManualValue.objects.create(
            indicator=indicator, place=village, period=NOVEMBER, numerator=numerator,
            denominator=40, value=numerator * 100 / 40, source="VNPT",
            entered_by=world.users["lanhdao"],
        )  # fmt: skip
    period = periods.parse(NOVEMBER)

    with CaptureQueriesContext(connection) as captured:
        communes = compute.values_for_children([indicator], world.province, period)

    assert len(captured) == 3  # children, frozen values, manual values
    by_code = {place.code: row[0] for place, row in communes.items()}
    commune_a = by_code[world.commune_a.code]
    assert (commune_a.numerator, commune_a.denominator, commune_a.value) == (40, 80, 50)
    assert by_code[world.commune_b.code].value == Decimal("12.5")


def test_a_province_counts_only_its_villages_when_the_site_serves_two(surveyed, settings):
    world = surveyed
    settings.XASO_OPENDATA_MIN_COUNT = 1
    indicator = _smartphones()
    other_commune = Place.objects.filter(kind="commune").exclude(path__startswith="/22/").first()
    elsewhere = places_actions.village_create(
        commune=other_commune, name="Thôn Xa", by=world.users["admin"]
    )
    _survey(elsewhere, 40, with_smartphone=40)
    period = periods.parse(NOVEMBER)

    [province] = compute.values_for_place([indicator], world.province, period)
    [other] = compute.values_for_place([indicator], other_commune.parent, period)
    communes = compute.values_for_children([indicator], world.province, period)

    assert (province.numerator, province.denominator) == (21, 26)
    assert (other.numerator, other.denominator) == (40, 40)
    assert sum(row[0].denominator for row in communes.values()) == 26
    assert sorted(p.code for p in opendata.served_provinces()) == sorted(
        [world.province.code, other_commune.parent.code]
    )


def test_a_record_counts_by_its_local_date_at_the_edges_of_a_period(world):
    indicator = _household_count()
    period = periods.parse(NOVEMBER)  # ends on 14/11/2026, Asia/Ho_Chi_Minh
    late_evening = timezone.make_aware(datetime.datetime(2026, 11, 14, 23, 30))
    next_morning = timezone.make_aware(datetime.datetime(2026, 11, 15, 0, 30))
    [before] = compute.values_for_place([indicator], world.a1, period)
    for head, created in [("Hộ tối 14", late_evening), ("Hộ sáng 15", next_morning)]:
        household = places_actions.household_create(
            village=world.a1, head_name=head, by=world.users["admin"]
        )
        Household.objects.filter(pk=household.pk).update(created_at=created)

    [after] = compute.values_for_place([indicator], world.a1, period)

    # 00:30 on the 15th here is 17:30 UTC on the 14th: not in the period all the same.
    assert after.value == before.value + 1
