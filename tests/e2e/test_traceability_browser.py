"""A shopper scans a stamp of the demo commune with a phone: no login, one screen, no other host.

The demo (xaso/demo/traceability.py) binds one stamp run to lot NA-2026-02 of "Na dai Quảng
Tân" and recalls lot VA-2026-01. Stamp codes live only in the run's print export; they are read
back through `xaso shell`, as an operator would, from the demo server's own database.
"""

import json
import re
from collections.abc import Iterator
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PRODUCT = "Na dai Quảng Tân"
PRODUCER = "HTX Nông nghiệp Quảng Tân"
AREA_CODE = "VN-QN-06913-NA01"
OCOP_STARS = 4  # 72 points: 4★ is 70–89
DEMO_GTIN = "8931234567897"
RECALLED_BATCH = "VA-2026-01"
UNKNOWN_CODE = "7Q4M-XK2P-9RZT-3VWB-8C1D"  # well-formed, but printed on no stamp

# Run inside `xaso shell -c`: the facts the pages must show.
DEMO_FACTS = f"""
from xaso.demo.traceability import demo_stamp_codes
from xaso.traceability.models import Lot
from xaso.traceability.public import activated_lot, lot_diary_entries
from xaso.traceability.stamps import stamp_find
codes = demo_stamp_codes(2)
lot = activated_lot(stamp_find(codes[0]))
recalled = Lot.objects.get(batch={RECALLED_BATCH!r})
result = {{
    "codes": codes,
    "batch": lot.batch,
    "harvest_start": lot.harvest_start.strftime("%d/%m/%Y"),
    "harvest_end": lot.harvest_end.strftime("%d/%m/%Y"),
    "diary_entries": lot_diary_entries(lot).count(),
    "recalled_code": recalled.code,
    "recall_reason": recalled.recall_reason,
}}
"""


def shell_json(demo_server, code: str):
    """Run Python that sets `result` in `xaso shell`, against the demo server's database."""
    printed = demo_server.xaso(
        "shell", "-v", "0", "-c", f"{code}\nimport json\nprint(json.dumps(result))"
    )
    return json.loads(printed.stdout.strip().splitlines()[-1])


def scan_count(demo_server, code: str) -> int:
    lookup = f"from xaso.traceability.stamps import stamp_find\nstamp = stamp_find({code!r})"
    return shell_json(demo_server, f"{lookup}\nresult = stamp.scan_count")


def qr_path(code: str) -> str:
    """The path a QR scanner opens: the printed link is in capitals, without dashes."""
    return "/S/" + code.replace("-", "").upper()


@pytest.fixture(scope="module")
def demo(demo_server) -> dict:
    facts = shell_json(demo_server, DEMO_FACTS)
    assert len(facts["codes"]) == 2 and facts["batch"] == "NA-2026-02", facts
    return facts


@pytest.fixture
def phone(browser, demo_server) -> Iterator[Page]:
    """An anonymous phone: small touch screen, Vietnamese, every request it makes recorded."""
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


def assert_fits_the_phone_and_stays_local(page: Page) -> None:
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    elsewhere = [url for url in page.requested if urlparse(url).hostname not in LOCAL_HOSTS]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def first_screen(page: Page, locator) -> None:
    """The locator is visible without scrolling: wholly inside the phone's first screen."""
    expect(locator).to_be_visible()
    expect(locator).to_be_in_viewport(ratio=1)


def test_a_genuine_stamp_shows_the_lot_on_the_first_screen_of_a_phone(
    phone, demo_server, demo, tmp_path
):
    code = demo["codes"][0]
    scans_before = scan_count(demo_server, code)

    response = phone.goto(qr_path(code))

    assert response.status == 200
    verdict = phone.get_by_role("status")
    expect(verdict).to_have_text(re.compile("Tem chính hãng"))
    first_screen(phone, verdict)
    first_screen(phone, phone.get_by_role("heading", level=1, name=PRODUCT))
    first_screen(phone, phone.locator("dd strong").get_by_text(PRODUCER, exact=True))
    first_screen(phone, phone.locator(".code").get_by_text(AREA_CODE, exact=True))
    stars = phone.get_by_label(f"{OCOP_STARS} sao OCOP")
    expect(stars).to_have_text("★" * OCOP_STARS)
    first_screen(phone, stars)
    harvest = phone.locator("dt:has-text('Thu hoạch') + dd")
    expect(harvest).to_contain_text(f"{demo['harvest_start']} – {demo['harvest_end']}")
    first_screen(phone, harvest)
    scans = phone.locator("dt:has-text('Số lần quét') + dd")
    expect(scans).to_have_text(str(scans_before + 1))  # this visit is counted
    first_screen(phone, scans)

    diary = phone.locator("ol.timeline > li")
    expect(diary).to_have_count(demo["diary_entries"])
    expect(phone.get_by_text(f"Nhật ký sản xuất ({demo['diary_entries']})")).to_be_visible()
    last_spraying = diary.filter(has_text="Phun thuốc BVTV").last
    expect(last_spraying).to_contain_text("Movento 150OD (Spirotetramat)")
    expect(last_spraying).to_contain_text("cách ly 7 ngày")
    expect(diary.filter(has_text="xác nhận bởi cán bộ xã").first).to_be_visible()

    assert_fits_the_phone_and_stays_local(phone)
    screenshot = phone.screenshot(path=tmp_path / "tem-chinh-hang-dien-thoai.png")
    assert screenshot.startswith(b"\x89PNG")


def test_the_gs1_link_of_a_lot_shows_the_area_in_hectares_written_the_vietnamese_way(phone, demo):
    response = phone.goto(f"/01/0{DEMO_GTIN}/10/{demo['batch']}")

    assert response.status == 200
    expect(phone.get_by_role("heading", level=1)).to_have_text(PRODUCT)
    # 4.2 ha as the officers' pages write it; "4.200 ha" reads as four thousand two hundred.
    area = phone.locator("dt:has-text('Vùng trồng') + dd")
    expect(area).to_contain_text("Na dai, 4,2 ha")
    assert_fits_the_phone_and_stays_local(phone)


def test_a_recalled_lot_shows_the_red_recall_banner(phone, demo):
    response = phone.goto(f"/L/{demo['recalled_code']}")

    assert response.status == 200
    banner = phone.get_by_role("alert")
    expect(banner).to_contain_text("LÔ HÀNG ĐÃ BỊ THU HỒI — không sử dụng sản phẩm này.")
    expect(banner).to_contain_text(demo["recall_reason"])
    expect(banner).to_have_css("background-color", "rgb(198, 40, 40)")
    expect(banner).to_have_css("color", "rgb(255, 255, 255)")
    first_screen(phone, banner)
    expect(phone.get_by_role("heading", level=1)).to_have_text("Vải thiều Quảng Tân")
    assert_fits_the_phone_and_stays_local(phone)


def test_an_unknown_code_is_a_404_that_says_the_stamp_does_not_exist(phone):
    response = phone.goto(qr_path(UNKNOWN_CODE))

    assert response.status == 404
    verdict = phone.get_by_role("status")
    expect(verdict).to_contain_text("Mã tem không tồn tại")
    expect(verdict).to_have_css("background-color", "rgb(198, 40, 40)")
    first_screen(phone, verdict)
    expect(phone.get_by_text("Báo hàng giả")).to_have_count(0)  # nothing to report against
    assert_fits_the_phone_and_stays_local(phone)


def test_a_shopper_reports_a_fake_from_the_stamp_page_and_is_thanked(phone, demo_server, demo):
    code = demo["codes"][1]
    message = "Tem dán lệch, giấy mỏng hơn tem mua lần trước."
    phone.goto(qr_path(code))

    phone.get_by_text("Báo hàng giả").tap()
    phone.get_by_label("Bạn thấy điều gì bất thường?").fill(message)
    phone.get_by_label("Nơi mua").fill("Chợ Hạ Long 1")
    with phone.expect_navigation() as sent:
        phone.get_by_role("button", name="Gửi báo cáo cho cơ sở và UBND xã").tap()

    assert sent.value.status == 201
    expect(phone.get_by_role("heading", level=1)).to_have_text("Cảm ơn bạn")
    expect(phone.locator("main")).to_contain_text(
        "Báo cáo đã được gửi tới cơ sở sản xuất và cán bộ UBND xã."
    )
    assert_fits_the_phone_and_stays_local(phone)
    stored = shell_json(
        demo_server,
        "from xaso.traceability.models import CounterfeitReport\n"
        f"report = CounterfeitReport.objects.filter(message={message!r}).get()\n"
        "result = [report.where_bought, report.lot.batch, report.producer.public_name]",
    )
    assert stored == ["Chợ Hạ Long 1", demo["batch"], PRODUCER]
