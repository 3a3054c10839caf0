"""The commune police officer watches the command centre: a camera event opens an incident on
the server and it appears on her screen without a reload; then she opens it on a phone.

The incident is made the way a camera makes it: a camera with a rule is registered and an
event is ingested through xaso.safety.actions, in `xaso shell` against the demo server's own
database (a separate process from the browser and the server).
"""

import re
import secrets
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.test_page_weight import LIMIT_BYTES, LOCAL_HOSTS, MEASURE, _is_image
from tests.e2e.test_traceability_browser import (
    PHONE,
    assert_fits_the_phone_and_stays_local,
    shell_json,
)

pytestmark = pytest.mark.browser

# Run inside `xaso shell -c` with NAME set: a camera in the officer's commune, a rule that fires
# on people, and one event with a small JPEG snapshot. Sets `result` to the incident.
CAMERA_EVENT = """
import datetime
import cv2
import numpy as np
from django.utils import timezone
from xaso.accounts.models import Membership
from xaso.safety import actions
membership = Membership.objects.select_related("place", "user").get(user__username="congan")
officer, commune = membership.user, membership.place
village = commune.children.order_by("code").first() or commune
camera, _token = actions.camera_register(
    place=village, values={"name": NAME, "latitude": "21.1", "longitude": "107.2",
    "is_black_spot": True}, by=officer)
actions.rule_create(camera=camera, values={"label": "person", "min_score": 0.5,
    "category": "security", "severity": "critical"}, by=officer)
ok, jpeg = cv2.imencode(".jpg", np.full((90, 160, 3), 90, dtype=np.uint8))
event, _created = actions.event_ingest(camera=camera, source="webhook", source_id=NAME,
    label="person", score=0.93, zones=["cong"], started_at=timezone.now(),
    snapshot=jpeg.tobytes())
event.refresh_from_db()
result = {"id": event.incident.public_id, "title": event.incident.title}
"""


def _new_incident(demo_server) -> dict:
    name = f"Camera thử {secrets.token_hex(3)}"
    return shell_json(demo_server, f"NAME = {name!r}\n{CAMERA_EVENT}")


def test_a_new_incident_appears_on_the_command_centre_without_a_reload(page_as, demo_server):
    page = page_as("congan")
    page.goto("/an-ninh/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Trung tâm chỉ huy an ninh")
    expect(page.locator("#safety-map .leaflet-map-pane")).to_have_count(1)  # the map is drawn
    # A mark on the window: a reload or a navigation would wipe it.
    page.evaluate("window.__same_page = true")

    incident = _new_incident(demo_server)

    row = page.locator(f'#live li[data-incident="{incident["id"]}"]')
    expect(row).to_be_visible()  # polled in within a few seconds (expect retries, no sleep)
    expect(row).to_contain_text(incident["title"])
    expect(row.locator(".sev")).to_have_text("Khẩn cấp")
    assert page.evaluate("window.__same_page") is True
    expect(page.locator("#live li").first).to_have_attribute("data-incident", incident["id"])
    expect(page.locator(".incident-marker")).not_to_have_count(0)  # and on the map

    row.get_by_role("link").click()
    expect(page).to_have_url(re.compile(f"/an-ninh/su-co/{incident['id']}/$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text(incident["title"])


def test_the_incident_page_works_on_a_phone_and_the_officer_acknowledges_it(
    browser, page_as, demo_server
):
    incident = _new_incident(demo_server)
    page = page_as("congan")
    page.set_viewport_size(PHONE)
    page.requested = []
    page.on("request", lambda request: page.requested.append(request.url))

    response = page.goto(f"/an-ninh/su-co/{incident['id']}/")

    assert response.status == 200
    expect(page.get_by_role("heading", level=1)).to_contain_text(incident["title"])
    checks = page.locator("table").first
    expect(checks).to_contain_text("Đối tượng")
    expect(checks.locator(".ok")).to_have_count(3)
    thumbnail = page.locator("img.thumb")
    expect(thumbnail).to_have_count(1)
    assert thumbnail.evaluate("img => img.complete && img.naturalWidth") == 160
    assert_fits_the_phone_and_stays_local(page)

    page.get_by_role("button", name="Tiếp nhận", exact=True).click()
    expect(page.locator(".flash")).to_contain_text("tiếp nhận")
    expect(page.locator(".facts")).to_contain_text("Đã tiếp nhận")
    assert_fits_the_phone_and_stays_local(page)


@pytest.mark.parametrize("path", ["/an-ninh/", "/an-ninh/camera/", "/an-ninh/thong-ke/"])
def test_the_safety_pages_weigh_under_100_kb_with_the_map(page_as, demo_server, path):
    page = page_as("congan")  # a new context: nothing cached
    requested = []
    page.on("request", lambda request: requested.append(request.url))

    response = page.goto(path)

    assert response.status == 200
    page.wait_for_load_state("load")
    entries = [e for e in page.evaluate(MEASURE) if not _is_image(e)]
    assert all(e["transfer"] > 0 for e in entries), "served from a cache: nothing measured"
    total = sum(e["transfer"] for e in entries)
    print(f"\npage weight  {path:<22} {total / 1000:6.1f} KB")
    assert total < LIMIT_BYTES
    elsewhere = [url for url in requested if urlparse(url).hostname not in LOCAL_HOSTS]
    assert not elsewhere, f"requests to other hosts: {elsewhere}"
