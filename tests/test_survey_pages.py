"""The community digital team's pages: the offline visit app (/khao-sat/) and its service
worker for the members, the progress page with conflicts to resolve for the team leader; who
sees which, and pages pinned to a bounded number of queries. Visits are made through
xaso.survey.actions, as the API makes them."""

import datetime
import json
import re
import uuid
from pathlib import Path

import pytest
from django.contrib.staticfiles import finders

from xaso.survey import actions
from xaso.survey.actions import local_today
from xaso.survey.models import HouseholdStatus, Visit

APP = "/khao-sat/"
SW = "/khao-sat/sw.js"
PROGRESS = "/khao-sat/tien-do/"
PAGE_BUDGET = 100_000  # bytes before images, uncompressed (the browser gets them gzipped)


def _html(response) -> str:
    return response.content.decode()


def _config(response) -> dict:
    match = re.search(
        r'<script id="survey-config" type="application/json">(.*?)</script>', _html(response)
    )
    assert match, "the page carries its configuration for visits.js"
    return json.loads(match.group(1))


def _visit(world, member, household, *, yes=(), base_version=None, follow_up_on=None, **extra):
    resident = household.residents.get()
    answers = {
        "household": {"fibre_broadband": "fibre_broadband" in yes},
        "residents": {
            resident.public_id: {
                "smartphone": "smartphone" in yes,
                "vneid_level2": "vneid_level2" in yes,
                "helped": [item for item in yes if item != "fibre_broadband"],
            }
        },
    }
    visit, created = actions.visit_record(
        member=world.users[member],
        household=household,
        visited_on=extra.pop("visited_on", local_today()),
        notes=extra.pop("notes", ""),
        answers=answers,
        idempotency_key=str(uuid.uuid4()),
        follow_up_on=follow_up_on,
        base_version=base_version,
    )
    assert created
    return visit


# --- The visit app ------------------------------------------------------------------------------
def test_the_team_member_gets_the_visit_app_for_her_village(client_as, world):
    response = client_as("tocns").get(APP)
    assert response.status_code == 200
    config = _config(response)
    assert config["villages"] == [{"code": world.a1.code, "name": world.a1.name}]
    assert dict(config["residentItems"])["vneid_level2"] == "Đã kích hoạt VNeID mức 2"
    assert dict(config["householdItems"]) == {"fibre_broadband": "Có Internet cáp quang tại nhà"}
    assert config["households"] == "/api/v1/survey/households"
    assert config["batch"] == "/api/v1/survey/visits/batch"
    assert config["serviceWorker"] == SW and config["scope"] == APP
    html = _html(response)
    assert "/static/survey/visits.js" in html
    assert "0 lượt thăm chờ gửi" in html
    assert "Có Internet cáp quang tại nhà" in html  # the household item, server-rendered


def test_the_village_head_and_a_superuser_record_visits_too(client_as, world):
    head = _config(client_as("truongthon").get(APP))
    assert [v["code"] for v in head["villages"]] == [world.a1.code]
    admin = _config(client_as("admin").get(APP))
    codes = {v["code"] for v in admin["villages"]}
    assert {world.a1.code, world.a2.code, world.b1.code} <= codes


@pytest.mark.parametrize("persona", ["lanhdao", "canbo_b", "motcua", "tinh", "nobody"])
def test_those_who_do_not_visit_households_are_refused_the_visit_app(client_as, persona):
    assert client_as(persona).get(APP).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    response = client.get(APP)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_visit_app_weighs_under_100_kb_with_its_script_and_styles(client_as):
    html = client_as("tocns").get(APP).content
    files = ["survey/visits.js", "core/xaso.css", "django_htmx/htmx-2.min.js"]
    total = len(html) + sum(Path(finders.find(name)).stat().st_size for name in files)
    assert total < PAGE_BUDGET, total


def test_the_visit_app_takes_a_fixed_number_of_queries(client_as, django_assert_max_num_queries):
    client = client_as("tocns")
    with django_assert_max_num_queries(6):  # session, user, memberships, villages, menu checks
        assert client.get(APP).status_code == 200


# --- The service worker -------------------------------------------------------------------------
def test_the_service_worker_lists_the_app_shell_and_never_handles_posts(client):
    response = client.get(SW)  # fetched by the browser without a session cookie, too
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert "no-cache" in response["Cache-Control"]
    source = _html(response)
    shell = json.loads(re.search(r"var SHELL = (\[.*?\]);", source).group(1))
    assert shell[0] == APP
    assert "/static/survey/visits.js" in shell and "/static/core/xaso.css" in shell
    assert "__" not in re.search(r'var VERSION = "(.*?)";', source).group(1)
    assert 'var STATIC_URL = "/static/";' in source
    assert 'if (request.method !== "GET") return;' in source


def test_the_service_worker_version_follows_the_files_it_keeps(client, settings, tmp_path):
    first = re.search(r'var VERSION = "(.*?)";', _html(client.get(SW))).group(1)
    assert first == re.search(r'var VERSION = "(.*?)";', _html(client.get(SW))).group(1)
    settings.STATIC_URL = "/assets/"  # other file addresses: phones must install a new shell
    second = _html(client.get(SW))
    assert re.search(r'var VERSION = "(.*?)";', second).group(1) != first
    assert "/assets/survey/visits.js" in second


# --- Navigation ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "visits", "progress"),
    [
        ("tocns", True, False),
        ("truongthon", True, True),
        ("lanhdao", False, True),
        ("motcua", False, False),
    ],
)
def test_the_menu_shows_each_persona_the_survey_pages_she_may_open(
    client_as, persona, visits, progress
):
    html = _html(client_as(persona).get("/"))
    assert (f'href="{APP}"' in html) is visits
    assert (f'href="{PROGRESS}"' in html) is progress


# --- The team leader's progress -----------------------------------------------------------------
def test_the_team_leader_sees_her_village_progress(client_as, world):
    first, second = world.household("Nguyễn Văn An"), world.household("Trần Thị Bình")
    soon = local_today() + datetime.timedelta(days=3)
    _visit(world, "tocns", first, yes=("smartphone", "fibre_broadband"), follow_up_on=soon)
    _visit(world, "tocns", first, yes=("smartphone", "vneid_level2", "fibre_broadband"))
    _visit(world, "tocns", second, follow_up_on=soon)

    response = client_as("truongthon").get(PROGRESS)
    assert response.status_code == 200
    html = _html(response)
    assert world.a1.name in html
    assert "<b>2/2</b>hộ đã được thăm" in html
    assert "<b>3</b>lượt thăm" in html
    follow_ups = html[html.index('id="follow-ups"') :]
    assert "Trần Thị Bình" in follow_ups and soon.strftime("%d/%m/%Y") in follow_ups
    assert "Nguyễn Văn An" not in follow_ups.split("</table>")[0]  # the later visit set none
    shares = html[html.index('id="shares"') : html.index("</table>", html.index('id="shares"'))]
    this_week = re.search(r"Có Internet cáp quang tại nhà</th>(.*?)</tr>", shares).group(1)
    assert re.findall(r'<td class="num share">(\d+)<', this_week)[-1] == "50"  # 1 of 2 homes
    assert 'id="village"' not in html  # one village: no picker
    assert "Không có xung đột nào." in html


def test_the_commune_leader_picks_among_her_villages(client_as, world):
    client = client_as("lanhdao")
    html = _html(client.get(PROGRESS))
    assert f'<option value="{world.a1.code}"' in html and f'<option value="{world.a2.code}"' in html
    second = _html(client.get(PROGRESS, {"village": world.a2.code}))
    assert f"<h2>{world.a2.name}</h2>" in second
    assert "<b>0/1</b>hộ đã được thăm" in second


@pytest.mark.parametrize(
    ("persona", "village"),
    [("tocns", "a1"), ("motcua", "a1"), ("nobody", "a1"), ("lanhdao", "b1"), ("canbo_b", "a1")],
)
def test_the_progress_page_is_refused_outside_the_leaders_villages(
    client_as, world, persona, village
):
    response = client_as(persona).get(PROGRESS, {"village": getattr(world, village).code})
    assert response.status_code == 403


def _conflict(world) -> Visit:
    """tocns and the village head both visit from version 0; the head's answers differ."""
    household = world.household("Nguyễn Văn An")
    _visit(world, "tocns", household, yes=("smartphone",), base_version=0)
    visit = _visit(world, "truongthon", household, yes=(), base_version=0)
    assert visit.has_open_conflicts
    return visit


def test_a_conflict_is_shown_and_the_leader_applies_the_recorded_answers(client_as, world):
    visit = _conflict(world)
    client = client_as("truongthon")
    html = _html(client.get(PROGRESS))
    row = html[html.index(f'data-visit="{visit.public_id}"') :].split("</li>")[0]
    assert "Có điện thoại thông minh" in row and "Nguyễn Văn An" in row
    assert "Áp dụng câu trả lời của lượt thăm" in row and "Giữ nguyên hiện tại" in row
    resident_status = world.resident("Nguyễn Văn An").adoption
    assert resident_status.smartphone_on is not None  # held back: still tocns's "yes"

    response = client.post(f"/khao-sat/luot-tham/{visit.public_id}/xung-dot/", {"apply": "1"})
    assert response.status_code == 302
    assert response["Location"] == f"{PROGRESS}?village={world.a1.code}"
    resident_status.refresh_from_db()
    assert resident_status.smartphone_on is None  # the recorded "no" now stands
    visit.refresh_from_db()
    assert visit.conflicts_resolved_by == world.users["truongthon"]
    html = _html(client.get(PROGRESS))
    assert "Đã áp dụng câu trả lời của lượt thăm." in html
    assert f'data-visit="{visit.public_id}"' not in html


def test_the_leader_keeps_the_current_answers_and_a_second_decision_is_refused(client_as, world):
    visit = _conflict(world)
    client = client_as("lanhdao")
    url = f"/khao-sat/luot-tham/{visit.public_id}/xung-dot/"
    client.post(url, {"apply": "0"})
    assert world.resident("Nguyễn Văn An").adoption.smartphone_on is not None
    assert HouseholdStatus.objects.get(household=visit.household).version == 2
    response = client.post(url, {"apply": "1"}, follow=True)
    assert "không có xung đột nào cần giải quyết" in _html(response)
    assert world.resident("Nguyễn Văn An").adoption.smartphone_on is not None


@pytest.mark.parametrize("persona", ["tocns", "canbo_b"])
def test_only_a_leader_of_the_village_resolves_its_conflicts(client_as, world, persona):
    visit = _conflict(world)
    response = client_as(persona).post(
        f"/khao-sat/luot-tham/{visit.public_id}/xung-dot/", {"apply": "1"}
    )
    assert response.status_code == 404
    visit.refresh_from_db()
    assert visit.has_open_conflicts


def test_resolving_takes_a_post(client_as, world):
    visit = _conflict(world)
    url = f"/khao-sat/luot-tham/{visit.public_id}/xung-dot/"
    assert client_as("truongthon").get(url).status_code == 405


def test_the_progress_page_takes_the_same_queries_for_one_conflict_or_many(
    client_as, world, django_assert_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    _conflict(world)
    client = client_as("truongthon")
    with CaptureQueriesContext(connection) as one:
        assert client.get(PROGRESS).status_code == 200
    second = world.household("Trần Thị Bình")
    for member in ("tocns", "truongthon", "tocns", "truongthon"):
        _visit(
            world, member, second, yes=("smartphone",) if member == "tocns" else (), base_version=0
        )
    assert (
        Visit.objects.filter(conflicts_resolved_at__isnull=True).exclude(conflicts=[]).count() > 2
    )
    with django_assert_num_queries(len(one)):
        assert client.get(PROGRESS).status_code == 200
    assert len(one) <= 16  # session, user, memberships, two places, 9 counts, conflicts, names
