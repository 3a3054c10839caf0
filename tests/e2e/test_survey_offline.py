"""A community digital team member records a household visit with the network off.

The phone (Chromium, network switched off: `context.set_offline`, and the app's API requests
dropped, see go_offline) has the app shell from the survey's service worker and the village's
households in localStorage; the visit waits in the local queue, survives a reload with no
network, and is sent once the network returns. The database of the demo server (read through
`xaso shell`) then holds exactly one visit with that content, however many times the phone
syncs; a response lost mid-sync is sent again and answered as a replay, not stored twice.
"""

import contextlib
import json
import re
import secrets
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browsing import log_in, new_context
from tests.e2e.test_page_weight import LIMIT_BYTES, LOCAL_HOSTS, MEASURE, _is_image
from tests.e2e.test_traceability_browser import shell_json

pytestmark = pytest.mark.browser

APP = "/khao-sat/"

# Run in `xaso shell` with NOTES set: the visits carrying that note.
VISITS_WITH_NOTES = """
from xaso.survey.models import Visit
result = [
    {"household": v.household.public_id, "member": v.member.username, "answers": v.answers,
     "visited_on": v.visited_on.isoformat(), "follow_up_on": v.follow_up_on and
     v.follow_up_on.isoformat(), "base_version": v.base_version, "key": v.idempotency_key}
    for v in Visit.objects.filter(notes=NOTES).select_related("household", "member")
]
"""

# A household of the cached list that has residents and no visit waiting on this phone.
PICK_HOUSEHOLD = """() => {
    const key = Object.keys(localStorage).find(k => k.includes('.households.'));
    const queued = Object.keys(localStorage).filter(k => k.endsWith('.queue'))
        .flatMap(k => JSON.parse(localStorage.getItem(k))).map(item => item.payload.household);
    return JSON.parse(localStorage.getItem(key)).households
        .find(h => h.residents.length > 0 && !queued.includes(h.id));
}"""


def visits_with_notes(demo_server, notes: str) -> list[dict]:
    return shell_json(demo_server, f"NOTES = {notes!r}\n{VISITS_WITH_NOTES}")


def open_app_with_households_cached(page: Page) -> None:
    page.goto(APP)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thăm hộ gia đình")
    # The service worker is active (its install cached the shell) and the list is on the phone.
    expect(page.locator("html[data-offline-ready='1']")).to_have_count(1)
    expect(page.locator("#list-status")).to_contain_text("hộ, lưu trên máy lúc")


def record_visit(page: Page, household: dict, notes: str) -> None:
    """Tick the first resident's smartphone, "helped today" with VNeID, fibre for the home."""
    page.get_by_label("Tìm hộ").fill(household["head_name"])
    page.locator(f'#household-list button[data-household="{household["id"]}"]').click()
    expect(page.locator("#visit-household")).to_contain_text(household["head_name"])
    resident = household["residents"][0]
    form = page.locator("#visit-form")
    smartphone = form.get_by_label(f"{resident['full_name']}: Có điện thoại thông minh", exact=True)
    smartphone.check()
    helped = form.get_by_label(
        f"Hôm nay đã giúp {resident['full_name']}: Đã kích hoạt VNeID mức 2", exact=True
    )
    helped.check()
    expect(
        form.get_by_label(f"{resident['full_name']}: Đã kích hoạt VNeID mức 2", exact=True)
    ).to_be_checked()
    form.get_by_label("Có Internet cáp quang tại nhà").check()
    form.get_by_label("Ghi chú").fill(notes)
    form.get_by_role("button", name="Lưu lượt thăm").click()
    expect(form).to_be_hidden()


# What the app asks of the server: the household list, and visits.
SURVEY_API = "**/api/v1/survey/**"


def go_offline(page: Page) -> None:
    """Switch the phone's network off. Chromium's offline emulation can lag behind a reload:
    the new document may start out online and its first requests reach the server, which a
    phone with no network never does. So the page's requests to the app's API are also
    dropped, as a dead network drops them."""
    page.context.set_offline(True)
    page.route(SURVEY_API, lambda route: route.abort("internetdisconnected"))


def go_online(page: Page) -> None:
    page.unroute(SURVEY_API)
    page.context.set_offline(False)  # the `online` event sends the queue


def queued_item(page: Page, household: dict):
    return page.locator("#queue li").filter(has_text=household["head_name"])


def test_a_visit_recorded_offline_is_kept_through_a_reload_and_synced_once(page_as, demo_server):
    page = page_as("tocns")
    context = page.context
    open_app_with_households_cached(page)
    household = page.evaluate(PICK_HOUSEHOLD)
    assert household, "the demo village has a household with residents"
    notes = f"Thăm thử ngoại tuyến {secrets.token_hex(4)}"

    go_offline(page)
    expect(page.locator("#net-status")).to_contain_text("Mất mạng")
    record_visit(page, household, notes)
    expect(page.locator("#queue-count")).to_have_text("1 lượt thăm chờ gửi")
    expect(queued_item(page, household).locator(".state")).to_have_text("chờ gửi")

    # Reload with no network: the page comes from the service worker's cache (its own fetch to
    # the server fails: the phone really is offline), the queue from localStorage.
    page.reload()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thăm hộ gia đình")
    worker = context.service_workers[0]
    assert worker.url.endswith("/khao-sat/sw.js")
    assert worker.evaluate("fetch('/healthz').then(() => 'reached', () => 'offline')") == "offline"
    expect(page.locator("#queue-count")).to_have_text("1 lượt thăm chờ gửi")
    expect(queued_item(page, household).locator(".state")).to_have_text("chờ gửi")
    assert visits_with_notes(demo_server, notes) == []  # nothing has left the phone

    go_online(page)
    expect(page.locator("#queue-count")).to_have_text("0 lượt thăm chờ gửi")
    sent = page.locator("#sent li").filter(has_text=household["head_name"]).first
    expect(sent.locator(".state")).to_have_text("đã gửi")

    stored = visits_with_notes(demo_server, notes)
    assert len(stored) == 1
    visit = stored[0]
    resident = household["residents"][0]["id"]
    assert visit["household"] == household["id"] and visit["member"] == "tocns"
    assert visit["base_version"] == household["version"]
    assert visit["answers"]["household"] == {"fibre_broadband": True}
    answers = visit["answers"]["residents"][resident]
    assert answers["smartphone"] is True and answers["vneid_level2"] is True
    assert answers["helped"] == ["vneid_level2"]

    # Sync again and reload: nothing more is sent, nothing is stored twice.
    page.get_by_role("button", name="Gửi ngay").click()
    page.reload()
    expect(page.locator("#queue-count")).to_have_text("0 lượt thăm chờ gửi")
    expect(page.locator("html[data-offline-ready='1']")).to_have_count(1)
    assert len(visits_with_notes(demo_server, notes)) == 1
    # The refreshed household list carries the visit: the next one starts from the new version.
    refreshed = page.evaluate(
        """(id) => { const key = Object.keys(localStorage).find(k => k.includes('.households.'));
        return JSON.parse(localStorage.getItem(key)).households.find(h => h.id === id); }""",
        household["id"],
    )
    assert refreshed["version"] > household["version"]
    assert refreshed["household_status"]["fibre_broadband"] is True


def test_a_response_lost_mid_sync_keeps_the_visit_and_the_retry_stores_it_once(
    page_as, demo_server
):
    page = page_as("tocns")
    open_app_with_households_cached(page)
    household = page.evaluate(PICK_HOUSEHOLD)
    notes = f"Mất mạng giữa chừng {secrets.token_hex(4)}"
    answered = []

    def lose_the_answer(route):
        answered.append(route.fetch().status)  # the server receives and stores the visit…
        route.abort("internetdisconnected")  # …and the phone never hears back

    page.route("**/api/v1/survey/visits/batch", lose_the_answer)
    record_visit(page, household, notes)
    expect(page.locator("#sync-status")).to_contain_text("Mất mạng khi đang gửi")
    expect(page.locator("#queue-count")).to_have_text("1 lượt thăm chờ gửi")
    assert answered == [200]
    first = visits_with_notes(demo_server, notes)
    assert len(first) == 1  # on the server, and still queued on the phone

    page.unroute("**/api/v1/survey/visits/batch")
    with page.expect_response("**/api/v1/survey/visits/batch") as reply:
        page.get_by_role("button", name="Gửi ngay").click()
    expect(page.locator("#queue-count")).to_have_text("0 lượt thăm chờ gửi")
    expect(page.locator("#sent li").filter(has_text=household["head_name"]).first).to_contain_text(
        "đã gửi"
    )
    assert [result["status"] for result in reply.value.json()["results"]] == [200]  # a replay
    again = visits_with_notes(demo_server, notes)
    assert len(again) == 1 and again[0]["key"] == first[0]["key"]
    assert json.dumps(again) == json.dumps(first)


def test_the_visit_app_weighs_under_100_kb_and_loads_nothing_from_elsewhere(page_as):
    page = page_as("tocns")  # a new context: nothing cached, no service worker yet
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    open_app_with_households_cached(page)
    entries = [e for e in page.evaluate(MEASURE) if not _is_image(e)]
    shell = [e for e in entries if e["kind"] != "fetch"]  # the household list is data
    kinds = {e["kind"] for e in shell}
    assert {"navigation", "link", "script"} <= kinds, kinds
    assert all(e["transfer"] > 0 for e in shell), "served from a cache: nothing measured"
    total = sum(e["transfer"] for e in shell)
    print(f"\nvisit app shell {total / 1000:.1f} KB")
    assert total < LIMIT_BYTES
    elsewhere = [url for url in requested if urlparse(url).hostname not in LOCAL_HOSTS]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"


def test_a_signed_out_phone_is_sent_to_the_login_page_not_the_kept_copy(browser, demo_server):
    # Its own login: signing out ends the session, which page_as shares with other tests.
    with contextlib.closing(new_context(browser, demo_server.url)) as context:
        page = context.new_page()
        log_in(page, "tocns")
        open_app_with_households_cached(page)
        page.get_by_role("button", name="Đăng xuất").click()
        expect(page).to_have_url(re.compile(r"/login/"))
        page.goto(APP)  # through the service worker, which has the page in its cache
        expect(page).to_have_url(re.compile(r"/login/\?next=/khao-sat/"))
        expect(page.get_by_label("Tên đăng nhập")).to_be_visible()


# This phone's offline copies of the user's work: localStorage keys and cached app pages.
LEFT_ON_THE_PHONE = """async (prefix) => ({
    keys: Object.keys(localStorage).filter(key => key.startsWith(prefix)),
    caches: (await caches.keys()).filter(name => name.startsWith('xaso-survey-')),
})"""


def test_signing_out_of_a_shared_phone_takes_the_users_data_off_it_after_asking(
    browser, demo_server
):
    # Its own login: signing out ends the session, which page_as shares with other tests.
    with contextlib.closing(new_context(browser, demo_server.url)) as context:
        page = context.new_page()
        log_in(page, "tocns")
        open_app_with_households_cached(page)
        prefix = f"xaso.survey.{page.locator('form.logout').get_attribute('data-user')}."
        household = page.evaluate(PICK_HOUSEHOLD)
        page.route("**/api/v1/survey/visits/batch", lambda route: route.abort("failed"))
        record_visit(page, household, f"Chưa gửi {secrets.token_hex(4)}")
        expect(page.locator("#queue-count")).to_have_text("1 lượt thăm chờ gửi")
        kept = page.evaluate(LEFT_ON_THE_PHONE, prefix)
        assert f"{prefix}queue" in kept["keys"] and kept["caches"]

        # An unsent visit: the phone asks, and "cancel" keeps the user signed in with it.
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        page.get_by_role("button", name="Đăng xuất").click()
        expect(page.locator("#queue-count")).to_have_text("1 lượt thăm chờ gửi")
        assert asked == [
            "Còn 1 lượt thăm hộ chưa gửi trên máy này. Đăng xuất sẽ xóa chúng khỏi máy. "
            "Vẫn đăng xuất?"
        ]
        assert page.evaluate(LEFT_ON_THE_PHONE, prefix) == kept

        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Đăng xuất").click()
        expect(page).to_have_url(re.compile(r"/login/"))
        assert page.evaluate(LEFT_ON_THE_PHONE, prefix) == {"keys": [], "caches": []}
