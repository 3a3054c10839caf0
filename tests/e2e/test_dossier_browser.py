"""A dossier of the demo commune from a citizen's phone to the returned result, in Chromium.

A citizen submits a birth registration online on a phone (real PDF files), the one-stop
officer (motcua) receives and assigns it to the specialist (tuphap), who appraises it; the
leader (lanhdao) approves; the specialist issues the result with a file; the officer returns
it online. The citizen then looks it up with the code and the secret shown at submission,
sees "Đã trả kết quả", downloads the signed result and rates the service.
"""

import re
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect
from reportlab.pdfgen import canvas

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PROCEDURE = "Đăng ký khai sinh"


def _pdf(path, text: str):
    page = canvas.Canvas(str(path))
    page.drawString(72, 760, text)
    page.save()
    return path


@pytest.fixture
def phone(browser, demo_server) -> Iterator[Page]:
    context = browser.new_context(
        base_url=demo_server.url,
        viewport=PHONE,
        device_scale_factor=3,
        is_mobile=True,
        has_touch=True,
        locale="vi-VN",
        timezone_id="Asia/Ho_Chi_Minh",
    )
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))
    yield page
    context.close()


def _fits_the_phone_and_stays_local(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    elsewhere = [url for url in page.requested if urlparse(url).hostname not in LOCAL_HOSTS]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def _step(page: Page, label: str, fill=None) -> None:
    """Open the action's form on the dossier page, fill it, and submit it."""
    summary = page.locator("summary", has_text=re.compile(f"^{re.escape(label)}$"))
    box = page.locator("details").filter(has=summary)
    if box.count():
        box.locator("summary").click()
        if fill:
            fill(box)
        box.get_by_role("button", name=label, exact=True).click()
    else:
        page.get_by_role("button", name=label, exact=True).click()
    expect(page.get_by_role("status").first).to_contain_text(f"Đã cập nhật hồ sơ: {label}")


def _open(page_as, username: str, code: str) -> Page:
    page = page_as(username)
    page.goto(f"/mot-cua/ho-so/{code}/")
    expect(page.get_by_role("heading", level=1)).to_contain_text(code)
    return page


def test_an_online_dossier_goes_from_the_phone_to_the_returned_result_and_is_rated(
    phone, page_as, tmp_path
):
    # The citizen, on a phone, without an account.
    phone.goto("/nop-ho-so/")
    phone.get_by_role("link", name=re.compile(f"^{PROCEDURE}")).first.click()
    expect(phone.get_by_role("heading", level=1)).to_have_text(PROCEDURE)
    phone.get_by_label("Họ và tên người nộp").fill("Hoàng Thị Thu")
    phone.get_by_label("Số điện thoại").fill("0912 555 777")
    phone.get_by_label("Tờ khai đăng ký khai sinh").set_input_files(
        _pdf(tmp_path / "to-khai.pdf", "To khai dang ky khai sinh")
    )
    phone.get_by_label("Giấy chứng sinh").set_input_files(
        _pdf(tmp_path / "chung-sinh.pdf", "Giay chung sinh")
    )
    _fits_the_phone_and_stays_local(phone)
    phone.get_by_role("button", name="Nộp hồ sơ").click()
    expect(phone.get_by_role("heading", level=1)).to_have_text("Đã nộp hồ sơ")
    code = phone.locator("#dossier-code").inner_text().strip()
    secret = phone.locator("#secret").inner_text().strip()
    assert re.fullmatch(r".+-\d{6}-\d{4}", code) and re.fullmatch(r"[0-9A-Z]{8}", secret)
    _fits_the_phone_and_stays_local(phone)

    # The one-stop officer finds it in her queue, receives it and assigns the specialist.
    officer = page_as("motcua")
    officer.goto("/mot-cua/")
    officer.get_by_role("link", name=code).click()
    expect(officer.locator("#status")).to_have_text("Mới nộp")
    _step(officer, "Tiếp nhận")
    expect(officer.locator("#status")).to_have_text("Đã tiếp nhận")
    _step(
        officer,
        "Phân công",
        lambda box: box.get_by_label("Cán bộ xử lý").select_option("tuphap"),
    )
    expect(officer.locator("#status")).to_have_text("Đã phân công")

    specialist = _open(page_as, "tuphap", code)
    _step(specialist, "Thẩm định", lambda box: box.get_by_label("Ý kiến thẩm định").fill("Đủ"))
    leader = _open(page_as, "lanhdao", code)
    _step(leader, "Phê duyệt, ký")
    specialist.reload()
    result = _pdf(tmp_path / "giay-khai-sinh.pdf", "Giay khai sinh")
    _step(
        specialist,
        "Có kết quả",
        lambda box: box.get_by_label("Tệp kết quả (PDF, JPEG, PNG)").set_input_files(result),
    )
    officer.reload()
    _step(
        officer,
        "Trả kết quả",
        lambda box: box.get_by_label("Hình thức trả kết quả").select_option("online"),
    )
    expect(officer.locator("#status")).to_have_text("Đã trả kết quả")
    expect(officer.get_by_text("Chuỗi chữ ký: nguyên vẹn ✓")).to_be_visible()

    # The citizen looks it up with the code and the secret, and rates the service.
    phone.goto(f"/tra-cuu-ho-so/?ma={code}")
    expect(phone.get_by_label("Mã hồ sơ")).to_have_value(code)
    phone.get_by_label("Mã tra cứu").fill(secret)
    phone.get_by_role("button", name="Tra cứu").click()
    expect(phone.locator("#status")).to_have_text("Đã trả kết quả")
    expect(phone.locator("ol.tl > li")).to_have_count(7)
    expect(phone.get_by_text("tuphap")).to_have_count(0)  # no officer names
    with phone.expect_download() as download:
        phone.get_by_role("button", name="Tải kết quả (PDF có chữ ký số)").click()
    saved = tmp_path / "ket-qua.pdf"
    download.value.save_as(saved)
    assert saved.read_bytes().startswith(b"%PDF") and b"/ByteRange" in saved.read_bytes()
    phone.get_by_label("5 – Rất hài lòng").check()
    phone.get_by_label("Góp ý").fill("Nhanh, không phải đi lại")
    phone.get_by_role("button", name="Gửi đánh giá").click()
    expect(phone.get_by_text("Cảm ơn ông/bà đã đánh giá.")).to_be_visible()
    expect(phone.get_by_text("Ông/bà đã đánh giá 5/5.")).to_be_visible()
    _fits_the_phone_and_stays_local(phone)

    # The rating reaches the officers' page.
    officer.reload()
    expect(officer.locator("dd", has_text="5/5")).to_contain_text("Nhanh, không phải đi lại")


def test_a_wrong_secret_on_the_phone_finds_nothing(phone):
    phone.goto("/tra-cuu-ho-so/")
    phone.get_by_label("Mã hồ sơ").fill("KHONG-000000-0000")
    phone.get_by_label("Mã tra cứu").fill("ABCD2345")
    phone.get_by_role("button", name="Tra cứu").click()
    expect(phone.get_by_role("alert")).to_have_text(
        "Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này."
    )
    _fits_the_phone_and_stays_local(phone)
