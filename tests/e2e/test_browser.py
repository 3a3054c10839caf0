"""The demo commune in a real browser: what each persona sees, and the pages that use HTMX."""

import csv
import re
import unicodedata

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browsing import log_in

pytestmark = pytest.mark.browser

FIRST_VILLAGE = "Thôn Đồng Tâm"
FIRST_VILLAGE_CODE = "06913-01"
SECOND_VILLAGE_CODE = "06913-02"
ROWS = "#results tbody tr"


def plain(text: str) -> str:
    """Lower case without Vietnamese diacritics: "Nguyễn Đức" -> "nguyen duc"."""
    decomposed = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    return "".join(c for c in decomposed if not unicodedata.combining(c)).lower()


def record_count(page: Page, unlike: int | None = None) -> int:
    """The total the pager shows under a list ("Trang 1/2 · 50 bản ghi"), once it is not
    `unlike` (the total before a search, while the results are being swapped)."""
    pager = page.locator("#results .pager")
    expect(pager).to_contain_text("bản ghi")
    if unlike is not None:
        expect(pager).not_to_contain_text(f" {unlike} bản ghi")
    return int(re.search(r"(\d+) bản ghi", pager.inner_text()).group(1))


def column(page: Page, index: int) -> list[str]:
    return page.locator(f"{ROWS} td:nth-child({index})").all_inner_texts()


def mark_document(page: Page) -> None:
    """Tag the loaded document; the tag survives HTMX swaps but not a full page load."""
    page.evaluate("window.xasoSameDocument = true")


def still_same_document(page: Page) -> bool:
    return page.evaluate("window.xasoSameDocument === true")


# --- A village head sees her village and nothing else -------------------------------------------
def test_a_village_head_who_logs_in_sees_only_her_village(browser_page, page_as):
    page = browser_page
    log_in(page, "truongthon")

    expect(page).to_have_url(re.compile(r"/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(FIRST_VILLAGE)
    households_card = page.locator(".card").filter(has_text="hộ gia đình")
    expect(households_card.locator("b")).to_have_text("50")
    expect(page.locator("main")).not_to_contain_text("Thôn Tân Hợp")  # the second village

    menu = page.get_by_role("navigation", name="Danh mục chính")
    menu.get_by_role("link", name="Hộ gia đình", exact=True).click()
    expect(page).to_have_url(re.compile(r"/households/$"))
    # One village: no village filter to choose another from.
    expect(page.get_by_role("combobox", name="Thôn")).to_have_count(0)
    assert record_count(page) == 50  # 400 households spread over 8 villages
    villages = column(page, 4)
    page.get_by_role("link", name="Sau ›").click()
    expect(page.locator(".pager")).to_contain_text("Trang 2/2")
    villages += column(page, 4)
    assert len(villages) == 50
    assert set(villages) == {FIRST_VILLAGE}

    own_household = page.locator(f"{ROWS} a").first.get_attribute("href")
    assert page.goto(own_household).status == 200

    officer = page_as("lanhdao")
    officer.goto(f"/households/?village={SECOND_VILLAGE_CODE}")
    other_household = officer.locator(f"{ROWS} a").first.get_attribute("href")
    assert officer.goto(other_household).status == 200  # the URL is real ...

    response = page.goto(other_household)  # ... but not for her
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Không tìm thấy")
    expect(page.locator("body")).not_to_contain_text("Thôn Tân Hợp")


# --- Search as you type --------------------------------------------------------------------------
def test_typing_a_name_without_diacritics_updates_the_results_in_place(page_as):
    page = page_as("lanhdao")
    page.goto("/residents/")
    everyone = record_count(page)
    mark_document(page)

    with page.expect_response(lambda r: "q=nguyen" in r.url) as searched:
        page.get_by_role("searchbox", name="Tìm nhân khẩu").press_sequentially("nguyen")
    assert searched.value.request.header_value("hx-request") == "true"
    found = record_count(page, unlike=everyone)
    expect(page).to_have_url(re.compile(r"/residents/\?q=nguyen"))
    expect(page.locator(ROWS).first).to_contain_text("Nguyễn")

    assert still_same_document(page), "the search reloaded the whole page"
    assert 0 < found < everyone
    names = column(page, 1)
    assert len(names) == 25
    assert all("nguyen" in plain(name) for name in names), names
    assert any("Nguyễn" in name for name in names)


# --- Revealing a CCCD is possible for the leader, and audited ------------------------------------
def test_revealing_a_cccd_shows_the_twelve_digits_and_is_audited(page_as):
    page = page_as("lanhdao")
    page.goto("/residents/")
    with_cccd = page.locator(ROWS).filter(has=page.locator("td.masked", has_text="•")).first
    name = with_cccd.locator("td").first.inner_text()
    with_cccd.get_by_role("link", name=name).click()

    cccd = page.locator("#cccd")
    expect(cccd).to_have_text(re.compile(r"^•{9}\d{3}$"))
    last_digits = cccd.inner_text()[-3:]
    dialogs = []

    def accept(dialog):
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.locator("dd", has=cccd).get_by_role("button", name="Hiện").click()

    expect(cccd).to_have_text(re.compile(rf"^\d{{9}}{last_digits}$"))
    assert "nhật ký" in dialogs[0]

    admin = page_as("admin")
    admin.goto("/admin/audit/")
    admin.get_by_label("Người thực hiện").fill("lanhdao")
    admin.get_by_label("Thao tác").fill("resident.cccd_revealed")
    admin.get_by_role("button", name="Lọc").click()
    entry = admin.locator("tbody tr").filter(has_text=name).first
    expect(entry).to_contain_text("lanhdao")
    expect(entry.locator("code")).to_have_text("resident.cccd_revealed")


# --- A long export runs as a job with a progress bar --------------------------------------------
def test_an_export_job_shows_progress_then_a_csv_of_every_household(page_as, demo_server):
    page = page_as("lanhdao")
    page.goto("/households/")
    page.get_by_role("button", name="Xuất danh sách (CSV)").click()

    expect(page).to_have_url(re.compile(r"/jobs/[^/]+/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Xuất danh sách")
    job = page.locator("#job")
    expect(job.locator("progress")).to_have_attribute("value", "0")
    expect(job).to_contain_text("Đang chờ")
    mark_document(page)

    demo_server.xaso("worker", "--batch", "--no-startup-delay")

    expect(job).to_contain_text("Hoàn thành")
    expect(job.locator("progress")).to_have_attribute("value", "100")
    assert still_same_document(page), "the progress bar reloaded the whole page"
    rows = download_csv(page)
    assert rows[0] == ["Mã hộ", "Chủ hộ", "Địa chỉ", "Thôn", "Mã thôn", "Số nhân khẩu"]
    assert len(rows) == 401
    assert len({row[4] for row in rows[1:]}) == 8
    assert sum(int(row[5]) for row in rows[1:]) > 1500


def test_exporting_after_a_search_exports_the_households_found(page_as, demo_server):
    page = page_as("lanhdao")
    page.goto("/households/")
    everyone = record_count(page)
    page.get_by_role("searchbox", name="Tìm hộ gia đình").press_sequentially("nguyen")
    found = record_count(page, unlike=everyone)
    assert 0 < found < everyone

    page.get_by_role("button", name="Xuất danh sách (CSV)").click()
    expect(page).to_have_url(re.compile(r"/jobs/[^/]+/$"))
    demo_server.xaso("worker", "--batch", "--no-startup-delay")
    expect(page.locator("#job")).to_contain_text("Hoàn thành")

    households = download_csv(page)[1:]
    exported = len(households)
    assert exported == found, "the export ignored the search typed into the list"
    assert all("nguyen" in plain(" ".join(row)) for row in households)


def download_csv(page: Page) -> list[list[str]]:
    with page.expect_download() as downloading:
        page.get_by_role("link", name="Tải tệp kết quả").click()
    with open(downloading.value.path(), encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


# --- Forms answer in Vietnamese -----------------------------------------------------------------
def test_an_empty_household_form_is_refused_in_vietnamese(page_as):
    page = page_as("lanhdao")
    page.goto("/households/new/")
    page.get_by_role("button", name="Lưu").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Thêm hộ gia đình")
    invalid = page.locator(".field.invalid")
    expect(invalid.locator("label")).to_have_text(["Thôn *", "Họ tên chủ hộ *"])
    expect(invalid.get_by_role("alert")).to_have_text(["Trường này là bắt buộc."] * 2)
    expect(page.locator("main")).not_to_contain_text("required")


def test_a_resident_with_a_three_digit_cccd_is_refused_in_vietnamese(page_as):
    page = page_as("lanhdao")
    page.goto(f"/households/?village={FIRST_VILLAGE_CODE}")
    page.locator(f"{ROWS} a").first.click()
    page.get_by_role("link", name="+ Thêm nhân khẩu").click()

    page.get_by_label("Họ và tên").fill("Nguyễn Văn Kiểm Thử")
    page.get_by_label("Số CCCD").fill("123")
    page.get_by_role("button", name="Lưu").click()

    cccd_field = page.locator(".field.invalid").filter(has_text="Số CCCD")
    expect(cccd_field.get_by_role("alert")).to_have_text("Số CCCD phải gồm đúng 12 chữ số.")
    page.get_by_role("link", name="Huỷ").click()
    expect(page.get_by_role("heading", level=2, name="Nhân khẩu")).to_be_visible()
    expect(page.locator("tbody")).not_to_contain_text("Nguyễn Văn Kiểm Thử")


def test_a_producer_draws_a_growing_area_on_the_map(page_as):
    """htx draws the boundary of a new area with three clicks and saves it as GeoJSON."""
    page = page_as("htx")
    page.goto("/truy-xuat/vung-trong/them/")
    page.get_by_label("Mã vùng trồng").fill("VN-QN-06913-VE01")
    page.get_by_label("Tên vùng").fill("Vườn vẽ trên bản đồ")
    page.get_by_label("Cây trồng").fill("Na dai")
    page.get_by_label("Diện tích (ha)").fill("1,5")
    page.get_by_label("Thôn").select_option(index=1)
    page.locator("#area-map").scroll_into_view_if_needed()
    page.locator("a.leaflet-draw-draw-polygon").click()
    box = page.locator("#area-map").bounding_box()  # after the scroll: screen coordinates
    for x, y in [(0.3, 0.3), (0.7, 0.3), (0.6, 0.7)]:
        page.mouse.move(box["x"] + box["width"] * x, box["y"] + box["height"] * y, steps=5)
        page.mouse.down()
        page.mouse.up()
    page.get_by_role("link", name="Xong").click()
    boundary = page.locator("textarea[name=boundary]")
    expect(boundary).to_have_value(re.compile(r'^\{"type":"Polygon","coordinates":\[\[\['))
    page.get_by_role("button", name="Lưu").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Vườn vẽ trên bản đồ")
