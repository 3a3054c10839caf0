"""The indicator dashboard and its XLSX and PDF reports, for each persona and its scope."""

import io
import json
import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook
from pypdf import PdfReader

from tests import indicator_data
from xaso.indicators import compute
from xaso.indicators.catalogue import catalogue_load
from xaso.indicators.models import Criterion, CriterionFact
from xaso.lib import periods
from xaso.places import actions as places_actions

URL = "/chi-so/"


@pytest.fixture
def data(world):
    return indicator_data.build(world)


def _text(response) -> str:
    return response.content.decode()


def _pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def _row_of(sheet, name: str) -> list:
    for row in sheet.iter_rows(values_only=True):
        if name in row:
            return list(row)
    raise AssertionError(f"{name} not in the sheet")


# --- who sees what ------------------------------------------------------------------------------


def test_the_commune_leader_sees_her_commune_its_villages_and_their_ranking(client_as, data):
    response = client_as("lanhdao").get(URL)

    page = _text(response)
    assert response.status_code == 200
    assert "Xã Quảng Tân" in page and "66,7 %" in page  # 2 of 3 adults
    assert "2 / 3" in page
    assert data.current.label() in page  # the current monthly period by default
    assert "Thôn Đồng Tâm" in page and "Thôn Tân Hợp" in page
    ranking = page[page.index("<tbody", page.index('id="xep-hang"')) :]
    assert ranking.index("100 %") < ranking.index("50 %")  # A2 before A1
    assert "Thôn Bên Kia" not in page


def test_a_village_head_sees_only_her_village(client_as, world, data):
    client = client_as("truongthon")

    own = client.get(URL)
    assert own.status_code == 200
    page = _text(own)
    assert "Thôn Đồng Tâm" in page and "50 %" in page
    assert "Chưa đạt" in page  # 50 % against a village target of 90 %
    options = re.findall(r'<option value="([^"]+)"', page.split('name="period"')[0])
    assert options == [world.a1.code]
    # Communes and provinces are public units (403); another village is as if unknown (404).
    assert client.get(URL, {"place": world.commune_a.code}).status_code == 403
    assert client.get(URL, {"place": world.a2.code}).status_code == 404
    assert client.get(URL, {"place": world.province.code}).status_code == 403


def test_the_digital_team_member_sees_her_village(client_as, world, data):
    response = client_as("tocns").get(URL)

    assert response.status_code == 200 and "50 %" in _text(response)


def test_a_leader_of_commune_b_cannot_see_commune_a(client_as, world, data):
    client = client_as("canbo_b")

    assert client.get(URL, {"place": world.commune_a.code}).status_code == 403
    assert client.get(URL, {"place": world.a1.code}).status_code == 404
    own = client.get(URL)
    assert own.status_code == 200
    page = _text(own)
    assert world.commune_b.name in page and "Thôn Bên Kia" in page
    assert "Quảng Tân" not in page and "Thôn Đồng Tâm" not in page
    report = client.get("/chi-so/bao-cao.xlsx", {"place": world.commune_a.code})
    assert report.status_code == 403
    assert client.get("/chi-so/bao-cao.pdf", {"place": world.a1.code}).status_code == 404


def test_the_province_viewer_sees_the_province_and_every_commune(client_as, world, data):
    client = client_as("tinh")

    response = client.get(URL)

    page = _text(response)
    assert response.status_code == 200
    assert world.province.name in page and "75 %" in page  # 3 of 4 adults
    assert "Xã Quảng Tân" in page and world.commune_b.name in page
    assert "tổng hợp trực tiếp" in page and "0/" in page  # no commune closed yet
    assert client.get(URL, {"place": world.commune_a.code}).status_code == 200
    assert client.get(URL, {"place": world.a1.code}).status_code == 200
    assert len(response.content) < 100_000


def test_someone_without_indicators_is_refused(client_as, data):
    assert client_as("nobody").get(URL).status_code == 403
    assert client_as("motcua").get(URL).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client, data):
    response = client.get(URL)

    assert response.status_code == 302 and "login" in response["Location"]


def test_a_bad_period_is_a_bad_request_and_an_unknown_place_not_found(client_as, data):
    client = client_as("lanhdao")

    assert client.get(URL, {"period": "2026-13"}).status_code == 400
    assert client.get("/chi-so/bao-cao.xlsx", {"period": "13"}).status_code == 400
    assert client.get(URL, {"place": "no-such"}).status_code == 404


# --- what the page shows ------------------------------------------------------------------------


def test_a_past_period_is_chosen_with_its_dates(client_as, world, data):
    response = client_as("lanhdao").get(URL, {"period": data.last.key})

    page = _text(response)
    assert data.last.label() in page
    assert f"{data.last.start:%d/%m/%Y}" in page and f"{data.last.end:%d/%m/%Y}" in page
    assert "Chưa chốt kỳ" in page or "chưa chốt kỳ" in page


def test_the_dossier_share_says_not_applicable_for_a_village(client_as, world, data):
    page = _text(client_as("truongthon").get(URL))

    assert "Hồ sơ trực tuyến" in page and "Không áp dụng" in page


def test_the_map_shows_the_children_with_a_point_and_the_ranking_all(client_as, world, data):
    page = _text(client_as("lanhdao").get(URL))

    assert 'id="indicator-map"' in page and "leaflet/leaflet.js" in page
    points = re.search(r'<script id="map-data" type="application/json">(.*?)</script>', page)
    assert [point["name"] for point in json.loads(points.group(1))] == ["Thôn Đồng Tâm"]


def test_without_coordinates_there_is_no_map_but_the_ranking_stays(client_as, world, data):
    world.a1.latitude = world.a1.longitude = None
    world.a1.save(update_fields=["latitude", "longitude"])

    page = _text(client_as("lanhdao").get(URL))

    assert 'id="indicator-map"' not in page and "leaflet.js" not in page
    assert "Xếp hạng các thôn" in page and "Thôn Tân Hợp" in page


def test_the_trend_has_twelve_periods_and_the_chosen_indicator(client_as, world, data):
    response = client_as("lanhdao").get(URL, {"indicator": "visits"})

    page = _text(response)
    svg = page[page.index('<svg class="trend"') : page.index("</svg>")]
    assert svg.count('class="tick" x=') - 2 == 12  # twelve period labels, besides 0 and top
    assert "Lượt thăm hộ của tổ CNS" in page
    assert f"{data.last.label()}: 3 lượt" in svg  # A1 two visits, A2 one


def test_the_trend_reads_each_source_once_for_twelve_periods(
    world, data, django_assert_max_num_queries
):
    span = periods.previous(data.current, 12)
    with django_assert_max_num_queries(2):  # the frozen rows, one aggregate of residents
        values = compute.values_over_periods(data.smartphone, world.commune_a, span)

    by_key = {value.period.key: value for value in values}
    assert [value.period.key for value in values] == [period.key for period in span]
    assert by_key[data.last.key].value == Decimal("66.7")
    assert by_key[data.current.key].value == Decimal("66.7")
    assert by_key[span[0].key].value is None and by_key[span[0].key].denominator == 0


def test_a_superuser_starts_at_a_province_with_villages(client_as, world, data):
    response = client_as("admin").get(URL)

    page = _text(response)
    assert response.status_code == 200
    assert f"Chỉ tiêu chuyển đổi số — {world.province.name}" in page
    assert "75 %" in page


def test_a_page_with_no_indicator_defined_still_renders(client_as, world):
    response = client_as("lanhdao").get(URL)

    assert response.status_code == 200
    assert "Chưa có chỉ tiêu nào được định nghĩa" in _text(response)


def test_query_count_does_not_grow_with_villages_or_households(client_as, world, data):
    client = client_as("lanhdao")
    client.get(URL)  # warm the session and the menu
    with CaptureQueriesContext(connection) as before:
        client.get(URL)
    admin = world.users["admin"]
    for n in range(4):
        village = places_actions.village_create(
            commune=world.commune_a, name=f"Thôn Mới {n}", by=admin
        )
        places_actions.household_create(village=village, head_name=f"Hộ {n}", by=admin)
    with CaptureQueriesContext(connection) as after:
        response = client.get(URL)

    assert "Thôn Mới 3" in _text(response)
    assert len(after) == len(before)
    assert len(after) <= 30


# --- reports ------------------------------------------------------------------------------------


def test_the_xlsx_report_holds_every_indicator_and_the_villages(client_as, world, data):
    response = client_as("lanhdao").get(
        "/chi-so/bao-cao.xlsx", {"place": world.commune_a.code, "period": data.last.key}
    )

    assert response.status_code == 200
    assert "bao-cao-chuyen-doi-so-06913" in response["Content-Disposition"]
    workbook = load_workbook(io.BytesIO(response.content))
    sheet = workbook.worksheets[0]
    assert sheet["A4"].value == "BÁO CÁO KẾT QUẢ CHUYỂN ĐỔI SỐ XÃ QUẢNG TÂN"
    assert data.last.label() in sheet["A5"].value
    assert f"{data.last.start:%d/%m/%Y}" in sheet["A5"].value
    header = _row_of(sheet, "STT")
    assert header[:8] == [
        "STT",
        "Chỉ tiêu",
        "Đơn vị",
        "Tử số",
        "Mẫu số",
        "Kết quả",
        "Chỉ tiêu giao",
        "Đánh giá",
    ]
    assert _row_of(sheet, "Người lớn có điện thoại thông minh")[:8] == [
        1,
        "Người lớn có điện thoại thông minh",
        "%",
        2,
        3,
        66.7,
        60,
        "Đạt",
    ]
    assert _row_of(sheet, "Lượt thăm hộ của tổ CNS")[3] == 3
    cells = [c for row in sheet.iter_rows(values_only=True) for c in row if c]
    assert "Số liệu tạm tính, chưa chốt kỳ" in cells
    villages = workbook.worksheets[1]
    assert _row_of(villages, "Thôn Đồng Tâm")[1:4] == ["Thôn Đồng Tâm", 50, 2]
    assert _row_of(villages, "Thôn Tân Hợp")[1:4] == ["Thôn Tân Hợp", 100, 1]


def test_the_pdf_report_reads_as_a_filed_report(client_as, world, data):
    response = client_as("lanhdao").get(
        "/chi-so/bao-cao.pdf", {"place": world.commune_a.code, "period": data.last.key}
    )

    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = _pdf_text(response.content)
    assert "BÁO CÁO KẾT QUẢ CHUYỂN ĐỔI SỐ XÃ QUẢNG TÂN" in text
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert data.last.label() in text and f"{data.last.end:%d/%m/%Y}" in text
    assert "Người lớn có điện thoại thông minh" in text and "66,7" in text
    assert "Thôn Đồng Tâm" in text and "Thôn Tân Hợp" in text
    assert "Số liệu tạm tính, chưa chốt kỳ" in text


def test_the_province_report_lists_every_commune(client_as, world, data):
    response = client_as("tinh").get("/chi-so/bao-cao.xlsx", {"period": data.last.key})

    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.worksheets[0]["A4"].value.endswith(world.province.name.upper())
    communes = workbook.worksheets[1]
    assert _row_of(communes, "Xã Quảng Tân")[2] == 66.7
    assert _row_of(communes, world.commune_b.name)[2] == 100


# --- criteria -----------------------------------------------------------------------------------


@pytest.fixture
def catalogue(world):
    catalogue_load(province=world.province, by=world.users["admin"])
    indicator_data.survey_last_period(world)
    for code in ("to-cns", "kenh-mxh", "wifi", "dia-chi-so"):
        CriterionFact.objects.create(
            criterion=Criterion.objects.get(code=code, criteria_set__place_kind="village"),
            place=world.a2,
            met=True,
            evidence="Biên bản kiểm tra",
            recorded_by=world.users["lanhdao"],
        )
    return world


def test_the_commune_sees_its_own_verdict_and_each_village(client_as, catalogue):
    world = catalogue
    page = _text(client_as("lanhdao").get(URL, {"indicator": "nguoi-lon-co-smartphone"}))

    criteria = page[page.index("Đánh giá theo bộ tiêu chí") :]
    assert "Xã nông thôn mới kiểu mẫu" in criteria and "Thôn thông minh" in criteria
    assert "Có ít nhất một thôn thông minh" in criteria
    assert "Thôn Đồng Tâm" in criteria and "Thôn Tân Hợp" in criteria
    assert "/tieu-chi/thon-thong-minh-22/" in criteria
    village = _text(client_as("truongthon").get(URL))
    own = village[village.index("Đánh giá theo bộ tiêu chí") :]
    assert "Thôn thông minh" in own and "Có Wi-Fi miễn phí" in own
    assert "chưa có minh chứng" in own  # nothing recorded for A1
    assert "Xã nông thôn mới kiểu mẫu" not in own
    assert world.a1.name in village


def test_the_report_carries_the_criteria_verdicts(client_as, catalogue):
    world = catalogue
    response = client_as("truongthon").get("/chi-so/bao-cao.xlsx", {"place": world.a1.code})

    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    title = next(
        c
        for row in sheet.iter_rows(values_only=True)
        for c in row
        if isinstance(c, str) and c.startswith("Thôn thông minh")
    )
    assert title.endswith(("Chưa đạt", "Chưa đủ căn cứ"))
    assert _row_of(sheet, "Có Wi-Fi miễn phí tại nhà văn hoá thôn")[2:4] == [
        "Chưa đủ căn cứ",
        "chưa có minh chứng",
    ]
    pdf = client_as("lanhdao").get("/chi-so/bao-cao.pdf").content
    text = _pdf_text(pdf)
    assert "Có ít nhất một thôn thông minh" in text and "tiêu chí đạt" in text
