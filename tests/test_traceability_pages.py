"""The logged-in traceability pages: who sees which page, the main forms end to end through the
client (areas, the diary and its interval guard, products with a photo, lots, recalls, stamp
runs run by the real worker), and list pages pinned to a fixed number of queries."""

import csv
import datetime
import io
import json
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from PIL import Image

from tests.traceability_data import SQUARE, days_ago
from xaso.core.models import AuditEntry, Job
from xaso.places import actions as places_actions
from xaso.traceability import actions, public
from xaso.traceability.models import (
    DiaryEntry,
    GrowingArea,
    Lot,
    Producer,
    Product,
    StampActivation,
    StampRun,
)
from xaso.traceability.scan_journal import journal

ROOT = "/truy-xuat/"


def _run_worker() -> None:
    """Claim and run every queued task with the worker's own code (as tests/test_jobs.py)."""
    worker = Worker(
        queue_names=["*"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id="test-worker",
        excluded_queue_names=[],
    )
    while (task_result := DBTaskResult.objects.ready().get_locked()) is not None:
        task_result.claim(worker.worker_id)
        worker.run_task(task_result)


def _png(name: str = "na.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (11, 110, 79)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def _dmy(day: datetime.date) -> str:
    return f"{day:%d/%m/%Y}"


def _html(response) -> str:
    return response.content.decode()


# --- Who sees which page ------------------------------------------------------------------------
# fmt: off
PAGES = {
    # page:             url built from the trace data
    "dashboard":        lambda t: ROOT,
    "producers":        lambda t: f"{ROOT}co-so/",
    "producer A":       lambda t: f"{ROOT}co-so/{t.producer_a.public_id}/",
    "producer A2":      lambda t: f"{ROOT}co-so/{t.producer_a2.public_id}/",
    "producer B":       lambda t: f"{ROOT}co-so/{t.producer_b.public_id}/",
    "register":         lambda t: f"{ROOT}co-so/dang-ky/",
    "edit producer A":  lambda t: f"{ROOT}co-so/{t.producer_a.public_id}/sua/",
    "areas":            lambda t: f"{ROOT}vung-trong/",
    "area A":           lambda t: f"{ROOT}vung-trong/{t.area_a.public_id}/",
    "area A2":          lambda t: f"{ROOT}vung-trong/{t.area_a2.public_id}/",
    "area B":           lambda t: f"{ROOT}vung-trong/{t.area_b.public_id}/",
    "new area":         lambda t: f"{ROOT}vung-trong/them/",
    "edit area A":      lambda t: f"{ROOT}vung-trong/{t.area_a.public_id}/sua/",
    "products":         lambda t: f"{ROOT}san-pham/",
    "new product":      lambda t: f"{ROOT}san-pham/them/",
    "edit product A":   lambda t: f"{ROOT}san-pham/{t.product_a.public_id}/sua/",
    "lots":             lambda t: f"{ROOT}lo-hang/",
    "lot A":            lambda t: f"{ROOT}lo-hang/{t.lot_a.public_id}/",
    "lot B":            lambda t: f"{ROOT}lo-hang/{t.lot_b.public_id}/",
    "new lot":          lambda t: f"{ROOT}lo-hang/them/",
    "stamp runs":       lambda t: f"{ROOT}tem/",
    "order stamps":     lambda t: f"{ROOT}tem/dat-in/",
}
# The pages each persona gets (200); every other page of the table answers 404.
READ_A = {"dashboard", "producers", "areas", "products", "lots", "stamp runs"}
SEES = {
    "htx": READ_A | {"producer A", "edit producer A", "area A", "new area", "edit area A",
                     "new product", "edit product A", "lot A", "new lot", "order stamps"},
    "lanhdao": READ_A | {"producer A", "producer A2", "register", "area A", "area A2", "lot A"},
    "canbo_b": READ_A | {"producer B", "register", "area B", "lot B"},
    "tinh": READ_A | {"producer A", "producer A2", "producer B", "area A", "area A2", "area B",
                      "lot A", "lot B"},
    "nobody": set(),
}
# fmt: on


@pytest.mark.parametrize("persona", list(SEES))
def test_each_persona_gets_exactly_its_pages_and_a_404_for_the_others(client_as, trace, persona):
    client = client_as(persona)
    statuses = {page: client.get(url(trace)).status_code for page, url in PAGES.items()}
    expected = {page: 200 if page in SEES[persona] else 404 for page in PAGES}
    assert statuses == expected


def test_anonymous_visitors_are_sent_to_the_login_page(client, trace):
    for url in PAGES.values():
        response = client.get(url(trace))
        assert response.status_code == 302
        assert response["Location"].startswith("/login/")


def test_the_menu_shows_traceability_only_to_those_who_may_view_it(client_as, world):
    assert f'href="{ROOT}"' in _html(client_as("htx").get("/"))
    assert f'href="{ROOT}"' in _html(client_as("tinh").get("/"))
    assert f'href="{ROOT}"' not in _html(client_as("motcua").get("/"))
    assert f'href="{ROOT}"' not in _html(client_as("nobody").get("/"))


# --- Dashboard ----------------------------------------------------------------------------------
def test_the_dashboard_counts_what_each_persona_may_see(client_as, trace):
    producer_page = _html(client_as("htx").get(ROOT))
    assert "<b>1</b>cơ sở sản xuất" in producer_page
    assert "2,50 ha" in producer_page
    officer_page = _html(client_as("lanhdao").get(ROOT))
    assert "<b>2</b>cơ sở sản xuất" in officer_page
    assert "vùng trồng · 5 ha" in officer_page


def test_scans_by_province_are_drawn_as_css_bars(client_as, trace):
    for _ in range(3):
        public.scan_record(result="lot", province="22", lot=trace.lot_a, ip="10.0.0.1")
    public.scan_record(result="lot", province="01", lot=trace.lot_a, ip="10.0.0.2")
    journal().flush()
    html = _html(client_as("htx").get(ROOT))
    assert "Quảng Ninh" in html and "Hà Nội" in html
    assert 'style="width:100%"' in html  # the largest bar
    assert 'style="width:33%"' in html
    assert "<script" not in html.split("</head>")[1]  # no chart library
    assert "Quảng Ninh" not in _html(client_as("canbo_b").get(ROOT))


def test_a_certificate_expiring_within_30_days_is_flagged(client_as, world, trace):
    actions.certification_create(
        producer=trace.producer_a,
        scheme="vietgap",
        number="VG-SAP-HET",
        issuer="Trung tâm Chứng nhận",
        valid_from=days_ago(300),
        valid_until=days_ago(-10),
        by=world.users["admin"],
    )
    html = _html(client_as("htx").get(ROOT))
    assert '<tr class="warn">' in html and "VG-SAP-HET" in html
    assert "VG-SAP-HET" not in _html(client_as("canbo_b").get(ROOT))


def test_a_counterfeit_report_is_marked_handled_from_the_dashboard(client_as, trace):
    report = actions.counterfeit_report_create(
        stamp=None, lot=trace.lot_a, code_shown="ABCD", province="", message="Tem in mờ, nghi giả"
    )
    url = f"{ROOT}bao-hang-gia/{report.public_id}/xu-ly/"
    tinh = client_as("tinh")
    assert "Tem in mờ, nghi giả" in _html(tinh.get(ROOT))
    assert url not in _html(tinh.get(ROOT))  # read only: no button
    assert tinh.post(url).status_code == 404
    assert client_as("canbo_b").post(url).status_code == 404

    officer = client_as("lanhdao")
    assert url in _html(officer.get(ROOT))
    response = officer.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Đã xử lý" in _html(response)
    report.refresh_from_db()
    assert report.handled_at is not None
    assert "Tem in mờ, nghi giả" not in _html(officer.get(ROOT))
    again = officer.post(url, follow=True)
    assert "Báo cáo này đã được xử lý." in _html(again)


# --- Producers ----------------------------------------------------------------------------------
def test_an_officer_registers_an_organisation_of_the_commune_as_a_producer(client_as, world):
    admin = world.users["admin"]
    new_org = places_actions.organisation_create(
        place=world.commune_a, name="HTX Rau sạch Đồng Tâm", kind="cooperative", by=admin
    )
    foreign = places_actions.organisation_create(
        place=world.commune_b, name="HTX Xã Khác", kind="cooperative", by=admin
    )
    client = client_as("lanhdao")
    form = _html(client.get(f"{ROOT}co-so/dang-ky/"))
    assert "HTX Rau sạch Đồng Tâm" in form
    assert "HTX Xã Khác" not in form
    assert client.post(f"{ROOT}co-so/dang-ky/", {}).status_code == 400

    refused = client.post(
        f"{ROOT}co-so/dang-ky/",
        {
            "organisation": foreign.public_id,
            "kind": "cooperative",
            "public_name": "Lạ",
            "public_address": "Nơi khác",
        },
    )
    assert refused.status_code == 400
    assert "Hãy chọn một lựa chọn hợp lệ" in _html(refused)

    response = client.post(
        f"{ROOT}co-so/dang-ky/",
        {
            "organisation": new_org.public_id,
            "kind": "cooperative",
            "public_name": "HTX Rau sạch",
            "public_address": "Thôn Đồng Tâm, Quảng Tân",
        },
    )
    producer = Producer.objects.get(organisation=new_org)
    assert response["Location"] == f"{ROOT}co-so/{producer.public_id}/"
    assert "HTX Rau sạch" in _html(client.get(response["Location"]))


def test_a_producer_edits_its_public_details_and_adds_a_certificate(client_as, trace):
    client = client_as("htx")
    base = f"{ROOT}co-so/{trace.producer_a.public_id}/"
    response = client.post(
        f"{base}sua/",
        {
            "kind": "cooperative",
            "public_name": "HTX Nông sản Quảng Tân",
            "public_address": "Quảng Tân, Quảng Ninh",
            "gs1_company_prefix": "12",
        },
    )
    assert response.status_code == 400
    assert "Mã doanh nghiệp GS1 gồm 6 đến 12 chữ số." in _html(response)
    response = client.post(
        f"{base}sua/",
        {
            "kind": "cooperative",
            "public_name": "HTX Nông sản Quảng Tân",
            "public_address": "Quảng Tân, Quảng Ninh",
        },
    )
    assert response.status_code == 302
    trace.producer_a.refresh_from_db()
    assert trace.producer_a.public_name == "HTX Nông sản Quảng Tân"

    backwards = client.post(
        f"{base}chung-nhan/",
        {
            "scheme": "vietgap",
            "number": "VG-01",
            "issuer": "Trung tâm Chứng nhận",
            "valid_from": "01/06/2026",
            "valid_until": "01/01/2026",
        },
    )
    assert backwards.status_code == 400
    assert "Ngày kết thúc không được trước ngày bắt đầu." in _html(backwards)
    created = client.post(
        f"{base}chung-nhan/",
        {
            "scheme": "vietgap",
            "number": "VG-01",
            "issuer": "Trung tâm Chứng nhận",
            "valid_from": "01/01/2026",
            "valid_until": "31/12/2028",
            "area": trace.area_a.public_id,
        },
    )
    assert created.status_code == 302
    page = _html(client.get(base))
    assert "VG-01" in page and "01/01/2026 – 31/12/2028" in page
    assert client_as("lanhdao").post(f"{base}chung-nhan/", {}).status_code == 404


# --- Growing areas ------------------------------------------------------------------------------
def _area_form(world, **changes) -> dict:
    form = {
        "code": "vn-qn-a-009",
        "name": "Đồi Na Mới",
        "crop": "Na dai",
        "area_ha": "1,5",
        "village": world.a1.code,
        "planted_on": "15/02/2025",
        "status": "active",
        "boundary": json.dumps(SQUARE),
    }
    return {**form, **changes}


def test_a_producer_creates_an_area_and_sees_its_boundary_drawn(client_as, world, trace):
    client = client_as("htx")
    form_page = _html(client.get(f"{ROOT}vung-trong/them/"))
    assert 'name="producer"' not in form_page  # one producer: nothing to choose
    assert world.b1.code not in form_page

    response = client.post(f"{ROOT}vung-trong/them/", _area_form(world))
    area = GrowingArea.objects.get(code="VN-QN-A-009")
    assert response["Location"] == f"{ROOT}vung-trong/{area.public_id}/"
    assert area.producer == trace.producer_a and area.area_ha == Decimal("1.5")
    page = _html(client.get(response["Location"]))
    assert "1,50 ha" in page and "15/02/2025" in page
    assert '<svg class="preview"' in page and '<path d="M' in page and " Z" in page
    assert "leaflet" not in page.lower() and "tile" not in page.lower()

    edited = client.post(f"{ROOT}vung-trong/{area.public_id}/sua/", _area_form(world, name="Đồi B"))
    assert edited.status_code == 302
    area.refresh_from_db()
    assert area.name == "Đồi B"


def test_an_administrator_chooses_the_producer_of_a_new_area(client_as, world, trace):
    client = client_as("quantri")
    form_page = _html(client.get(f"{ROOT}vung-trong/them/"))
    assert 'name="producer"' in form_page
    assert trace.producer_b.public_id in form_page and world.b1.code in form_page
    mismatch = client.post(
        f"{ROOT}vung-trong/them/",
        _area_form(world, producer=trace.producer_a.public_id, village=world.b1.code),
    )
    assert mismatch.status_code == 400
    assert "Vùng trồng phải thuộc một thôn của xã." in _html(mismatch)
    response = client.post(
        f"{ROOT}vung-trong/them/",
        _area_form(world, producer=trace.producer_b.public_id, village=world.b1.code),
    )
    assert response.status_code == 302
    assert GrowingArea.objects.get(code="VN-QN-A-009").producer == trace.producer_b


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"boundary": "{không phải json"}, "Không đọc được GeoJSON"),
        ({"boundary": '{"type": "Point", "coordinates": [1, 2]}'}, "Polygon hoặc MultiPolygon"),
        ({"village": "B1-not-mine"}, "Hãy chọn một lựa chọn hợp lệ"),
        ({"code": "VN-QN-B-001"}, "Mã vùng trồng đã tồn tại."),
    ],
)
def test_a_wrong_area_form_is_refused_with_the_reason(client_as, world, trace, changes, message):
    if changes.get("village") == "B1-not-mine":
        changes = {"village": world.b1.code}
    response = client_as("htx").post(f"{ROOT}vung-trong/them/", _area_form(world, **changes))
    assert response.status_code == 400
    assert message in _html(response)


# --- The farm diary and the interval guard ------------------------------------------------------
def _diary(client, area, **fields):
    return client.post(f"{ROOT}vung-trong/{area.public_id}/nhat-ky/", fields)


def test_a_harvest_inside_the_interval_is_refused_then_allowed_by_an_officer(
    client_as, world, trace
):
    area = trace.area_a
    producer = client_as("htx")
    sprayed = _diary(
        producer,
        area,
        kind="spraying",
        status="done",
        occurred_on=_dmy(days_ago(3)),
        pesticide="Confidor 100SL",
        active_ingredient="Imidacloprid",
        dose="10 ml/bình",
        pre_harvest_interval_days="7",
    )
    assert sprayed.status_code == 302
    page = _html(producer.get(f"{ROOT}vung-trong/{area.public_id}/"))
    assert "Confidor 100SL" in page and f"thu hoạch an toàn từ {_dmy(days_ago(-4))}" in page
    assert "guard_override_reason" not in page  # the override is for officers only

    refused = _diary(
        producer,
        area,
        kind="harvest",
        status="done",
        occurred_on=_dmy(days_ago(0)),
        quantity="80",
        unit="kg",
        guard_override_reason="tự cho phép",  # not a field for a producer: ignored
    )
    assert refused.status_code == 400
    assert "Chưa được thu hoạch" in _html(refused)
    assert f"Ngày thu hoạch an toàn sớm nhất là {_dmy(days_ago(-4))}" in _html(refused)
    assert not DiaryEntry.objects.filter(area=area, occurred_on=days_ago(0)).exists()

    officer = client_as("lanhdao")
    form = _html(officer.get(f"{ROOT}vung-trong/{area.public_id}/"))
    assert 'name="guard_override_reason"' in form
    assert 'value="harvest"' in form and 'value="fertilising"' not in form  # confirms only
    fertilising = _diary(
        officer, area, kind="fertilising", status="done", occurred_on=_dmy(days_ago(0))
    )
    assert fertilising.status_code == 400
    without_reason = _diary(
        officer, area, kind="harvest", status="done", occurred_on=_dmy(days_ago(0))
    )
    assert without_reason.status_code == 400
    assert not DiaryEntry.objects.filter(area=area, occurred_on=days_ago(0)).exists()
    allowed = _diary(
        officer,
        area,
        kind="harvest",
        status="done",
        occurred_on=_dmy(days_ago(0)),
        quantity="80",
        unit="kg",
        guard_override_reason="Thu hoạch gấp trước bão số 3, đã kiểm tra dư lượng",
    )
    assert allowed.status_code == 302
    harvest = DiaryEntry.objects.get(area=area, kind="harvest", occurred_on=days_ago(0))
    assert harvest.guard_override_reason.startswith("Thu hoạch gấp trước bão")
    assert harvest.guard_override_by == world.users["lanhdao"]
    producer_page = _html(client_as("htx").get(f"{ROOT}vung-trong/{area.public_id}/"))
    assert "Thu hoạch gấp trước bão" in producer_page


def test_an_officer_countersigns_a_harvest_once(client_as, trace):
    harvest = DiaryEntry.objects.get(area=trace.area_a, kind="harvest")  # made with lot A
    url = f"{ROOT}nhat-ky/{harvest.public_id}/xac-nhan/"
    assert client_as("htx").post(url).status_code == 404
    assert client_as("canbo_b").post(url).status_code == 404
    assert client_as("tinh").post(url).status_code == 404

    officer = client_as("lanhdao")
    assert url in _html(officer.get(f"{ROOT}vung-trong/{trace.area_a.public_id}/"))
    response = officer.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "đã xác nhận" in _html(response) and "<html" not in _html(response)
    harvest.refresh_from_db()
    assert harvest.countersigned_by.username == "lanhdao"

    again = officer.post(url, headers={"HX-Request": "true"})
    assert "Công việc này đã được xác nhận." in _html(again)
    assert AuditEntry.objects.filter(verb="diary_entry.countersigned").count() == 1


def test_a_spraying_without_its_interval_and_a_diary_photo(client_as, trace):
    client = client_as("htx")
    missing = _diary(
        client,
        trace.area_a,
        kind="spraying",
        status="done",
        occurred_on=_dmy(days_ago(1)),
        pesticide="X",
    )
    assert missing.status_code == 400
    assert "Vui lòng nhập thời gian cách ly (ngày) của thuốc." in _html(missing)

    with_photo = client.post(
        f"{ROOT}vung-trong/{trace.area_a.public_id}/nhat-ky/",
        {
            "kind": "observation",
            "status": "done",
            "occurred_on": _dmy(days_ago(1)),
            "description": "Quả bắt đầu chín",
            "photo": _png("quan-sat.png"),
        },
    )
    assert with_photo.status_code == 302
    entry = DiaryEntry.objects.get(description="Quả bắt đầu chín")
    assert entry.photo.name.startswith("traceability/diary/")
    page = _html(client.get(f"{ROOT}vung-trong/{trace.area_a.public_id}/"))
    assert f"/anh/nhat-ky/{entry.public_id}" in page


def test_a_province_viewer_reads_the_diary_but_gets_no_form(client_as, trace):
    viewer = client_as("tinh")
    page = _html(viewer.get(f"{ROOT}vung-trong/{trace.area_a.public_id}/"))
    assert "Regent 800WG" in page
    assert 'name="kind"' not in page
    assert _diary(viewer, trace.area_a, kind="observation").status_code == 404


# --- Products -----------------------------------------------------------------------------------
def test_a_producer_adds_a_product_with_a_photo_and_sees_its_ocop_stars(client_as, trace):
    client = client_as("htx")
    wrong = client.post(
        f"{ROOT}san-pham/them/", {"name": "Mật ong", "gtin": "8931234567890", "unit": "hộp"}
    )
    assert wrong.status_code == 400
    assert "chữ số cuối phải là 7" in _html(wrong)
    not_an_image = client.post(
        f"{ROOT}san-pham/them/",
        {
            "name": "Mật ong",
            "unit": "hộp",
            "photo": SimpleUploadedFile("a.png", b"not a png", content_type="image/png"),
        },
    )
    assert not_an_image.status_code == 400

    response = client.post(
        f"{ROOT}san-pham/them/",
        {
            "name": "Mật ong rừng Quảng Tân",
            "gtin": "8930000000019",
            "ocop_points": "92",
            "shelf_life_days": "365",
            "unit": "hộp",
            "photo": _png(),
        },
    )
    assert response.status_code == 302
    product = Product.objects.get(name="Mật ong rừng Quảng Tân")
    assert product.producer == trace.producer_a
    assert product.gtin == "08930000000019"
    assert product.photo.name.startswith("traceability/products/")
    listing = _html(client.get(f"{ROOT}san-pham/"))
    assert "★★★★★" in listing  # 92 points: five stars
    assert "★★★★<" in listing  # product A, 75 points: four
    assert client.get(f"/anh/san-pham/{product.public_id}").status_code == 200

    edited = client.post(
        f"{ROOT}san-pham/{product.public_id}/sua/",
        {"name": "Mật ong rừng", "gtin": "8930000000019", "ocop_points": "60", "unit": "hộp"},
    )
    assert edited.status_code == 302
    product.refresh_from_db()
    assert (product.name, product.ocop_stars, bool(product.photo)) == ("Mật ong rừng", 3, True)


# --- Lots ---------------------------------------------------------------------------------------
def _lot_form(trace, **changes) -> dict:
    form = {
        "product": trace.product_a.public_id,
        "area": trace.area_a.public_id,
        "quantity": "95,5",
        "unit": "kg",
        "harvest_start": _dmy(days_ago(2)),
        "harvest_end": _dmy(days_ago(1)),
    }
    return {**form, **changes}


def test_a_producer_creates_a_lot_and_sees_its_link_qr_code_and_epcis(client_as, trace):
    client = client_as("htx")
    response = client.post(f"{ROOT}lo-hang/them/", _lot_form(trace, batch="NA-0601"))
    lot = Lot.objects.get(batch="NA-0601")
    assert response["Location"] == f"{ROOT}lo-hang/{lot.public_id}/"
    assert lot.quantity == Decimal("95.5")
    page = _html(client.get(response["Location"]))
    assert public.lot_link(lot) in page
    assert "/01/08931234567897/10/NA-0601" in public.lot_link(lot)
    assert f'href="{public.lot_page_url(lot)}"' in page
    assert f'href="/l/{lot.code}/epcis"' in page
    assert '<svg width="' in page and 'class="segno"' in page
    assert f"{_dmy(days_ago(2))} – {_dmy(days_ago(1))}" in page


def test_a_lot_inside_the_interval_is_refused_on_the_form(client_as, world, trace):
    actions.diary_entry_create(
        area=trace.area_a,
        kind="spraying",
        occurred_on=days_ago(4),
        pesticide="Confidor 100SL",
        pre_harvest_interval_days=7,
        by=world.users["admin"],
    )
    response = client_as("htx").post(f"{ROOT}lo-hang/them/", _lot_form(trace))
    assert response.status_code == 400
    assert f"Ngày thu hoạch an toàn sớm nhất là {_dmy(days_ago(-3))}" in _html(response)
    assert not Lot.objects.filter(harvest_start=days_ago(2)).exists()


def test_a_lot_made_from_a_harvest_an_officer_allowed_carries_the_reason(client_as, world, trace):
    admin = world.users["admin"]
    actions.diary_entry_create(
        area=trace.area_a,
        kind="spraying",
        occurred_on=days_ago(4),
        pesticide="Confidor 100SL",
        pre_harvest_interval_days=7,
        by=admin,
    )
    harvest = actions.diary_entry_create(
        area=trace.area_a,
        kind="harvest",
        occurred_on=days_ago(1),
        quantity="40",
        unit="kg",
        guard_override_reason="Đã xét nghiệm dư lượng đạt",
        by=world.users["lanhdao"],
    )
    client = client_as("htx")
    assert harvest.public_id in _html(client.get(f"{ROOT}lo-hang/them/"))
    response = client.post(
        f"{ROOT}lo-hang/them/",
        _lot_form(trace, harvest=harvest.public_id, batch="NA-DUOC-PHEP"),
    )
    assert response.status_code == 302
    lot = Lot.objects.get(batch="NA-DUOC-PHEP")
    assert lot.harvest == harvest
    assert lot.guard_override_reason == "Đã xét nghiệm dư lượng đạt"


def test_lots_are_searched_as_you_type(client_as, trace):
    client = client_as("lanhdao")
    fragment = client.get(
        f"{ROOT}lo-hang/", {"q": "NA2026"}, headers={"HX-Request": "true", "HX-Target": "results"}
    )
    html = _html(fragment)
    assert "NA2026A" in html and "<html" not in html
    assert "Không tìm thấy" in _html(client.get(f"{ROOT}lo-hang/", {"q": "khong-co"}))
    assert trace.lot_b.batch not in _html(client.get(f"{ROOT}lo-hang/"))


def test_a_lot_is_recalled_only_with_a_reason_and_a_confirmation(client_as, trace):
    url = f"{ROOT}lo-hang/{trace.lot_a.public_id}/thu-hoi/"
    assert client_as("lanhdao").post(url, {"reason": "x", "confirm": "on"}).status_code == 404
    client = client_as("htx")
    unconfirmed = client.post(url, {"reason": "Phát hiện dư lượng"})
    assert unconfirmed.status_code == 400
    trace.lot_a.refresh_from_db()
    assert trace.lot_a.status == Lot.Status.ACTIVE

    response = client.post(url, {"reason": "Phát hiện dư lượng", "confirm": "on"})
    assert response.status_code == 302
    trace.lot_a.refresh_from_db()
    assert (trace.lot_a.status, trace.lot_a.recall_reason) == ("recalled", "Phát hiện dư lượng")
    page = _html(client.get(response["Location"]))
    assert "Lô hàng đã bị thu hồi" in page and "Phát hiện dư lượng" in page
    assert url not in page  # nothing left to recall


# --- Stamp runs ---------------------------------------------------------------------------------
def test_ordering_stamps_redirects_to_the_job_progress_page(
    client_as, trace, django_capture_on_commit_callbacks
):
    client = client_as("htx")
    too_many = client.post(
        f"{ROOT}tem/dat-in/",
        {"product": trace.product_a.public_id, "count": "1000001", "layout": "65"},
    )
    assert too_many.status_code == 400
    foreign = client.post(
        f"{ROOT}tem/dat-in/", {"product": trace.product_b.public_id, "count": "5", "layout": "65"}
    )
    assert foreign.status_code == 400
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"{ROOT}tem/dat-in/",
            {"product": trace.product_a.public_id, "count": "12", "layout": "21"},
        )
    run = StampRun.objects.get(product=trace.product_a)
    assert (run.count, run.layout, run.status) == (12, "21", "generating")
    assert response["Location"] == f"/jobs/{run.job.public_id}/"
    assert client.get(response["Location"]).status_code == 200


@pytest.fixture
def issued_run(trace, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = actions.stamp_run_start(product=trace.product_a, count=10, by=world.users["htx"])
    _run_worker()
    run.refresh_from_db()
    assert run.status == StampRun.Status.ISSUED
    assert run.job.public_id and Job.objects.get(pk=run.job_id).status == Job.Status.DONE
    return run


def test_a_run_page_shows_its_manifest_and_serves_the_export_once_audited(client_as, issued_run):
    base = f"{ROOT}tem/{issued_run.public_id}/"
    client = client_as("htx")
    page = _html(client.get(base))
    assert issued_run.manifest["files"]["csv"]["sha256"] in page
    assert "1 – 10" in page and "htx" in page
    assert f"{base}tai/csv/" in page and f"{base}tai/pdf/" in page

    download = client.get(f"{base}tai/csv/")
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    rows = list(csv.reader(b"".join(download.streaming_content).decode().splitlines()))
    assert rows[0] == ["serial", "code", "url"] and len(rows) == 11
    downloads = AuditEntry.objects.filter(
        verb="stamp_run.export_downloaded", target_id=issued_run.public_id
    )
    assert list(downloads.values_list("actor__username", "changes")) == [("htx", {"file": "csv"})]
    assert client.get(f"{base}tai/pdf/")["Content-Type"] == "application/pdf"
    assert client.get(f"{base}tai/xml/").status_code == 404

    officer = client_as("lanhdao")
    assert officer.get(base).status_code == 200
    assert f"{base}tai/csv/" not in _html(officer.get(base))
    assert officer.get(f"{base}tai/csv/").status_code == 404
    assert client_as("canbo_b").get(base).status_code == 404


def test_stamps_are_activated_for_a_lot_then_printed_then_voided(
    client_as, trace, issued_run, django_capture_on_commit_callbacks
):
    base = f"{ROOT}tem/{issued_run.public_id}/"
    assert client_as("lanhdao").post(f"{base}kich-hoat/", {}).status_code == 404
    client = client_as("htx")
    overlapping = {"lot": trace.lot_a.public_id, "first_serial": "8", "last_serial": "3"}
    refused = client.post(f"{base}kich-hoat/", overlapping)
    assert refused.status_code == 400
    assert "Số cuối phải lớn hơn hoặc bằng số đầu." in _html(refused)

    response = client.post(
        f"{base}kich-hoat/", {"lot": trace.lot_a.public_id, "first_serial": "1", "last_serial": "6"}
    )
    assert response.status_code == 302
    activation = StampActivation.objects.get(run=issued_run)
    assert (activation.lot, activation.first_serial, activation.last_serial) == (trace.lot_a, 1, 6)
    assert issued_run.public_id in _html(client.get(f"{ROOT}lo-hang/{trace.lot_a.public_id}/"))

    with django_capture_on_commit_callbacks(execute=True):
        printed = client.post(f"{base}da-in/")
    assert printed.status_code == 302
    issued_run.refresh_from_db()
    assert (issued_run.status, issued_run.csv_file) == ("printed", "")
    assert client.get(f"{base}tai/csv/").status_code == 404
    assert f"{base}tai/csv/" not in _html(client.get(base))

    unconfirmed = client.post(f"{base}huy/", {"reason": "Tem in lỗi"})
    assert unconfirmed.status_code == 400
    voided = client.post(f"{base}huy/", {"reason": "Tem in lỗi", "confirm": "on"})
    assert voided.status_code == 302
    issued_run.refresh_from_db()
    assert (issued_run.status, issued_run.void_reason) == ("void", "Tem in lỗi")
    assert "Tem in lỗi" in _html(client.get(base))
    again = client.post(f"{base}da-in/", follow=True)
    assert "Chỉ đánh dấu đã in cho đợt tem đang chờ in." in _html(again)


# --- Fixed query counts on list pages -----------------------------------------------------------
def _more_rows(world, trace, capture_on_commit) -> None:
    """Thirty more of everything, all visible to the commune A officer: producers, areas with a
    certificate about to expire, products, lots, issued stamp runs with an activation, scans
    and counterfeit reports."""
    admin = world.users["admin"]
    with capture_on_commit(execute=True):
        for index in range(30):
            organisation = places_actions.organisation_create(
                place=world.commune_a, name=f"HTX Thêm {index}", kind="cooperative", by=admin
            )
            actions.producer_register(
                organisation=organisation,
                kind="cooperative",
                public_name=f"HTX Thêm {index}",
                public_address="Quảng Tân",
                by=admin,
            )
            area = actions.area_create(
                producer=trace.producer_a,
                village=world.a1,
                code=f"VN-QN-A-1{index:02d}",
                name=f"Vùng {index}",
                crop="Na",
                area_ha="1",
                by=admin,
            )
            actions.certification_create(
                producer=trace.producer_a,
                area=area,
                scheme="vietgap",
                number=f"VG-{index}",
                issuer="Trung tâm Chứng nhận",
                valid_from=days_ago(300),
                valid_until=days_ago(-5),
                by=admin,
            )
            product = actions.product_create(
                producer=trace.producer_a, name=f"Sản phẩm {index}", ocop_points=80, by=admin
            )
            lot = actions.lot_create(
                product=product,
                area=trace.area_a,
                harvest_start=days_ago(9),
                quantity="10",
                batch=f"THEM-{index}",
                by=admin,
            )
            actions.stamp_run_start(product=product, count=2, by=admin)
            public.scan_record(result="lot", province=f"{index % 34 + 1:02d}", lot=lot)
            actions.counterfeit_report_create(
                stamp=None, lot=lot, code_shown=f"X{index}", province="", message="?"
            )
    journal().flush()
    _run_worker()
    for run in StampRun.objects.filter(product__name__startswith="Sản phẩm "):
        lot = Lot.objects.get(product=run.product)
        actions.stamp_run_activate(run=run, lot=lot, by=admin)


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # session, user, then the page's own reads and the menu's membership lookups
        (ROOT, 16),  # a dozen figures; activated stamps summed by the database
        (f"{ROOT}co-so/", 6),
        (f"{ROOT}vung-trong/", 6),
        (f"{ROOT}san-pham/", 6),
        (f"{ROOT}lo-hang/", 6),
        (f"{ROOT}tem/", 6),
    ],
)
def test_list_pages_have_a_fixed_number_of_queries(
    client_as,
    world,
    trace,
    settings,
    django_assert_num_queries,
    django_capture_on_commit_callbacks,
    url,
    queries,
):
    settings.XASO_STAMP_PDF_MAX = 0  # CSV only: the runs are made quickly
    client = client_as("lanhdao")
    _more_rows(world, trace, django_capture_on_commit_callbacks)
    assert StampRun.objects.filter(status="issued").count() == 30
    with django_assert_num_queries(queries):
        response = client.get(url)
    assert response.status_code == 200
    if url != ROOT:
        assert "Trang 1/" in _html(response)  # more than a page of rows
