"""Closing a period: the commune leader freezes and signs off her commune's values; later
records no longer move them, and the sign-off shows (and verifies) on the pages and reports."""

import datetime
import hashlib
import io

import pytest
from django.core.exceptions import PermissionDenied
from openpyxl import load_workbook
from pypdf import PdfReader

from tests import indicator_data
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.models import AuditEntry
from xaso.dossiers.models import SigningKey
from xaso.dossiers.signing import signature_valid
from xaso.indicators import closing, compute
from xaso.indicators.models import FrozenValue, Indicator, PeriodClose
from xaso.places import actions as places_actions
from xaso.places.models import Household

URL = "/chi-so/"
CLOSE_URL = "/chi-so/chot-ky/"


@pytest.fixture
def data(world):
    return indicator_data.build(world)


def _close(world, data, username="lanhdao"):
    return closing.period_close(
        commune=world.commune_a, period_key=data.last.key, by=world.users[username]
    )


def _value(indicator, place, period):
    [value] = compute.values_for_place([indicator], place, period)
    return value


# --- the action ---------------------------------------------------------------------------------


def test_closing_freezes_the_commune_and_each_village_and_signs_the_hash(world, data):
    close = _close(world, data)

    frozen = {
        (row.indicator.code, row.place.code): row
        for row in FrozenValue.objects.filter(close=close).select_related("indicator", "place")
    }
    commune, a1, a2 = world.commune_a.code, world.a1.code, world.a2.code
    assert (
        frozen[("smartphone", commune)].numerator,
        frozen[("smartphone", commune)].denominator,
    ) == (2, 3)
    assert frozen[("smartphone", a1)].value == 50 and frozen[("smartphone", a2)].value == 100
    assert frozen[("visits", a1)].value == 2
    assert frozen[("online-dossiers", commune)].denominator == 0
    assert {place for _code, place in frozen} == {commune, a1, a2}
    key = SigningKey.objects.get(commune=world.commune_a, is_active=True)
    assert signature_valid(key.certificate_pem, close.values_sha256, close.signature)
    sign_off = closing.period_close_verify(close)
    assert sign_off.valid and sign_off.hash_matches
    entry = AuditEntry.objects.get(verb="period.closed")
    assert entry.actor == world.users["lanhdao"] and entry.place_path == world.commune_a.path
    assert entry.changes["sha256"] == close.values_sha256


def test_the_signed_hash_is_that_of_the_canonical_values(world, data):
    close = _close(world, data)

    canonical = closing._canonical(
        commune_code=world.commune_a.code,
        period_key=data.last.key,
        closed_by="lanhdao",
        rows=close.values.values_list(
            "indicator__code", "place__code", "value", "numerator", "denominator", "target"
        ),
    )
    assert hashlib.sha256(canonical).hexdigest() == close.values_sha256
    assert b'"value":"66.70"' in canonical and b'"place":"06913"' in canonical


def test_frozen_values_survive_records_added_afterwards(world, data):
    _close(world, data)
    day = data.last.start + datetime.timedelta(days=5)
    before_province = _value(data.visits, world.province, data.last).value

    # A visit synced late and a household imported with its real date, both inside the period.
    indicator_data.visit(world, "Nguyễn Văn An", day, key="late-sync")
    household = places_actions.household_create(
        village=world.a2, head_name="Hộ nhập muộn", by=world.users["admin"]
    )
    Household.objects.filter(pk=household.pk).update(
        created_at=datetime.datetime.combine(day, datetime.time(9), tzinfo=datetime.UTC)
    )
    households = Indicator.objects.create(
        code="households",
        name="Số hộ",
        unit="hộ",
        method="count",
        numerator={"source": "households"},
    )

    commune = _value(data.visits, world.commune_a, data.last)
    village = _value(data.visits, world.a1, data.last)
    assert commune.frozen and commune.value == 3
    assert village.frozen and village.value == 2
    # The province is a live roll-up: it counts the late visit.
    assert _value(data.visits, world.province, data.last).value == before_province + 1
    # An indicator defined after the close is counted live, and sees the late household.
    assert _value(households, world.a2, data.last).value == 1


def test_the_dashboard_shows_the_frozen_value_and_the_sign_off(client_as, world, data):
    _close(world, data)
    indicator_data.visit(world, "Nguyễn Văn An", data.last.end, key="late-sync")

    response = client_as("lanhdao").get(URL, {"period": data.last.key, "indicator": "visits"})

    page = response.content.decode()
    assert "Đã chốt số liệu" in page and "chữ ký số hợp lệ" in page and "✓" in page
    assert "đã chốt" in page
    values = page[page.index('<table class="values">') : page.index("</table>")]
    assert "3 lượt" in values and "4 lượt" not in values
    assert "Chốt số liệu kỳ" not in page  # closed already
    trend = page[page.index('<svg class="trend"') :]
    assert trend.count('class="frozen"') == 1 and "Chấm lớn: kỳ đã chốt" in page
    village = client_as("truongthon").get(URL, {"period": data.last.key}).content.decode()
    assert "Đã chốt số liệu" in village and "cùng Xã Quảng Tân" in village


def test_the_api_answers_the_frozen_values(api_as, world, data):
    _close(world, data)
    indicator_data.visit(world, "Lê Văn Cường", data.last.end, key="late-sync")
    api = api_as("lanhdao")

    own = api.get("/indicators/visits/values", place=world.commune_a.code, period=data.last.key)
    children = api.get(
        "/indicators/visits/values", parent=world.commune_a.code, period=data.last.key
    )

    assert own.status_code == 200
    assert own.json()["value"] == 3 and own.json()["frozen"] is True
    by_place = {row["place"]: row for row in children.json()["values"]}
    assert by_place[world.a2.code]["value"] == 1 and by_place[world.a2.code]["frozen"] is True


def test_a_changed_frozen_row_breaks_the_sign_off(client_as, world, data):
    close = _close(world, data)
    FrozenValue.objects.filter(close=close, place=world.a1, indicator=data.visits).update(value=9)

    assert not closing.period_close_verify(close).valid
    page = client_as("lanhdao").get(URL, {"period": data.last.key}).content.decode()
    assert "KHÔNG hợp lệ" in page


# --- refusals -----------------------------------------------------------------------------------


def test_a_period_not_yet_ended_is_refused(world, data):
    with pytest.raises(DomainError) as refused:
        closing.period_close(
            commune=world.commune_a, period_key=data.current.key, by=world.users["lanhdao"]
        )
    assert "chưa kết thúc" in refused.value.message
    assert f"{data.current.end:%d/%m/%Y}" in refused.value.message
    assert not PeriodClose.objects.exists()


def test_a_period_closed_twice_is_refused(world, data):
    _close(world, data)

    with pytest.raises(DomainError) as refused:
        _close(world, data, "quantri")
    assert "đã được chốt" in refused.value.message
    assert PeriodClose.objects.count() == 1


def test_a_village_or_a_province_cannot_be_closed(world, data):
    for place in (world.a1, world.province):
        with pytest.raises(DomainError) as refused:
            closing.period_close(commune=place, period_key=data.last.key, by=world.users["quantri"])
        assert "cấp xã" in refused.value.message
    assert not PeriodClose.objects.exists()


@pytest.mark.parametrize("username", ["tinh", "truongthon", "tocns", "canbo_b", "nobody"])
def test_someone_without_close_periods_there_is_refused(world, data, username):
    with pytest.raises(PermissionDenied) as refused:
        _close(world, data, username)
    assert "không có quyền chốt" in str(refused.value)
    assert not PeriodClose.objects.exists()


def test_a_bad_period_key_is_refused(world, data):
    with pytest.raises(InvalidInput):
        closing.period_close(
            commune=world.commune_a, period_key="2026-13", by=world.users["lanhdao"]
        )


def test_the_administrator_may_close(world, data):
    close = _close(world, data, "quantri")

    assert close.closed_by == world.users["quantri"]


# --- the pages ----------------------------------------------------------------------------------


def test_the_leader_closes_from_the_dashboard_with_a_confirmation(client_as, world, data):
    client = client_as("lanhdao")
    query = {"place": world.commune_a.code, "period": data.last.key}

    dashboard = client.get(URL, {"period": data.last.key}).content.decode()
    assert f"Chốt số liệu kỳ {data.last.label()}" in dashboard
    confirm = client.get(CLOSE_URL, query)
    assert confirm.status_code == 200 and 'name="confirm"' in confirm.content.decode()
    unconfirmed = client.post(CLOSE_URL, query)
    assert unconfirmed.status_code == 400 and not PeriodClose.objects.exists()

    done = client.post(CLOSE_URL, {**query, "confirm": "1"}, follow=True)

    assert PeriodClose.objects.filter(place=world.commune_a, period=data.last.key).exists()
    page = done.content.decode()
    assert "Đã chốt và ký số" in page and "chữ ký số hợp lệ" in page


def test_the_current_period_offers_no_close_and_the_page_says_why(client_as, world, data):
    client = client_as("lanhdao")

    dashboard = client.get(URL).content.decode()
    assert "Chốt số liệu kỳ" not in dashboard
    query = {"place": world.commune_a.code, "period": data.current.key, "confirm": "1"}
    refused = client.post(CLOSE_URL, query)
    assert refused.status_code == 409 and "chưa kết thúc" in refused.content.decode()
    assert not PeriodClose.objects.exists()


def test_others_get_no_close_button_and_are_refused(client_as, world, data):
    query = {"place": world.commune_a.code, "period": data.last.key, "confirm": "1"}

    tinh = client_as("tinh")
    assert "Chốt số liệu kỳ" not in tinh.get(URL, {**query}).content.decode()
    assert tinh.post(CLOSE_URL, query).status_code == 403
    assert client_as("canbo_b").post(CLOSE_URL, query).status_code == 403
    village = {"place": world.a1.code, "period": data.last.key, "confirm": "1"}
    assert client_as("lanhdao").post(CLOSE_URL, village).status_code == 409
    assert not PeriodClose.objects.exists()


def test_the_reports_carry_the_sign_off(client_as, world, data):
    _close(world, data)
    client = client_as("lanhdao")
    query = {"place": world.commune_a.code, "period": data.last.key}

    workbook = load_workbook(io.BytesIO(client.get("/chi-so/bao-cao.xlsx", query).content))
    cells = [c for row in workbook.worksheets[0].iter_rows(values_only=True) for c in row if c]
    line = next(c for c in cells if isinstance(c, str) and c.startswith("Số liệu đã chốt kỳ"))
    assert "lanhdao" in line and "hợp lệ ✓" in line
    assert "Số liệu tạm tính, chưa chốt kỳ" not in cells
    pdf = client.get("/chi-so/bao-cao.pdf", query).content
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages).split())
    assert "Số liệu đã chốt kỳ" in text and "hợp lệ ✓" in text
    assert PeriodClose.objects.get().values_sha256 in text.replace(" ", "")


def test_the_province_page_counts_the_closed_communes(client_as, world, data):
    _close(world, data)

    page = client_as("tinh").get(URL, {"period": data.last.key}).content.decode()

    assert "1/" in page and "tổng hợp trực tiếp" in page


def test_the_demo_closes_the_last_ended_period_once(world, data):
    closes = closing.demo_periods_close(commune=world.commune_a, by=world.users["lanhdao"])
    again = closing.demo_periods_close(commune=world.commune_a, by=world.users["lanhdao"])

    assert [close.period for close in closes] == [data.last.key] and again == []
