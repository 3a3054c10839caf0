"""The persona × endpoint permission matrix, over the JSON API and the HTML pages.

"A village head sees and edits only her own village; an official of another commune sees nothing
of this one. This holds on every page and every API endpoint." And: an unknown or foreign id is
a 404, the same answer whether the record exists elsewhere or not.

The tables below are the expectations; every test reads them. Villages: A1 and A2 in commune A
(Xã Quảng Tân), B1 in commune B. One household (with a resident of the same name) per village is
used for record endpoints.
"""

import pytest

from tests.persona_matrix import (
    ANONYMOUS,
    FORGED,
    audit_rows,
    detail,
    fill,
    json_sender,
    page_opener,
    scope_in,
    shown,
)
from xaso.lib.ids import new_public_id
from xaso.places import actions
from xaso.places.models import Household, Resident

VILLAGES = ["A1", "A2", "B1"]
COLUMNS = ["people", "reveal", "requests", "places"]

# fmt: off
# The villages in which each persona may ...
#                 see & edit people  reveal CCCD/phone  export/erase data  see the village place
SCOPE = {
    "admin":      ("A1 A2 B1",       "A1 A2 B1",        "A1 A2 B1",        "A1 A2 B1"),
    "quantri":    ("A1 A2 B1",       "A1 A2 B1",        "A1 A2 B1",        "A1 A2 B1"),
    "lanhdao":    ("A1 A2",          "A1 A2",           "A1 A2",           "A1 A2"),
    "motcua":     ("A1 A2",          "A1 A2",           "A1 A2",           "A1 A2"),
    "congan":     ("A1 A2",          "A1 A2",           "",                "A1 A2"),
    "htx":        ("",               "",                "",                "A1 A2"),
    "truongthon": ("A1",             "A1",              "",                "A1"),
    "tocns":      ("A1",             "",                "",                "A1"),
    "tinh":       ("",               "",                "",                "A1 A2 B1"),
    "canbo_b":    ("B1",             "B1",              "B1",              "B1"),
    "nobody":     ("",               "",                "",                ""),
}

AN, BINH, CUONG, DUNG = "Nguyễn Văn An", "Trần Thị Bình", "Lê Văn Cường", "Phạm Thị Dung"
# Households (and residents: each household has one resident of the head's name) in the lists.
HOUSEHOLDS = {
    "admin": {AN, BINH, CUONG, DUNG}, "quantri": {AN, BINH, CUONG, DUNG},
    "lanhdao": {AN, BINH, CUONG}, "motcua": {AN, BINH, CUONG}, "congan": {AN, BINH, CUONG},
    "htx": set(), "truongthon": {AN, BINH}, "tocns": {AN, BINH}, "tinh": set(),
    "canbo_b": {DUNG}, "nobody": set(),
}
ORG_A, ORG_B = "HTX Nông nghiệp Quảng Tân", "HTX Bên Kia"
# Organisations are registered at commune level: a village head's scope does not reach them.
ORGANISATIONS = {
    "admin": {ORG_A, ORG_B}, "quantri": {ORG_A, ORG_B},
    "lanhdao": {ORG_A}, "motcua": {ORG_A}, "congan": {ORG_A},
    "htx": set(), "truongthon": set(), "tocns": set(), "tinh": set(),
    "canbo_b": {ORG_B}, "nobody": set(),
}
# fmt: on
PERSONAS = list(SCOPE)
ADMINISTRATORS = {"admin", "quantri"}  # place tree, role grants, audit log
COMMUNE_A_DASHBOARD = {"admin", "quantri", "lanhdao", "motcua", "congan", "htx", "tinh"}
JOB_OWNER = "lanhdao"  # a job she started is visible to her and to the superuser only
HEAD_OF = {"A1": AN, "A2": CUONG, "B1": DUNG}  # the household (and resident) used per village
HEADS_IN = {"A1": {AN, BINH}, "A2": {CUONG}, "B1": {DUNG}}
CCCD = {"A1": "022088000111", "A2": "022090000333", "B1": "022192000444"}
VILLAGE_NAME = {"A1": "Thôn Đồng Tâm", "A2": "Thôn Tân Hợp", "B1": "Thôn Bên Kia"}
NOT_FOUND = {"detail": "Không tìm thấy."}

CONSENT = {"purpose": "contact", "given": True, "method": "paper"}
ERASE = {"reason": "Theo đơn yêu cầu ngày 01/03/2025"}
NEW_HOUSEHOLD = {"village": "{village}", "head_name": "Hộ Mới"}
EDIT_RESIDENT = {"relation_to_head": "Con"}
NEW_RESIDENT = {"household": "{household}", "full_name": "Bé Mới", "gender": "female"}
# fmt: off
# API endpoints acting on one record of a village, and the answers when allowed / refused.
# Creating under a village or household one may not edit is refused as "not found" (422).
#                               method   path                              body
RECORD_API = {
    "read a household":          ("GET",   "/households/{household}",         None),
    "edit a household":          ("PATCH", "/households/{household}",         {"notes": "Sửa"}),
    "add a household":           ("POST",  "/households",                     NEW_HOUSEHOLD),
    "read a resident":           ("GET",   "/residents/{resident}",           None),
    "edit a resident":           ("PATCH", "/residents/{resident}",           EDIT_RESIDENT),
    "add a resident":            ("POST",  "/residents",                      NEW_RESIDENT),
    "list consents":             ("GET",   "/residents/{resident}/consents",  None),
    "record a consent":          ("POST",  "/residents/{resident}/consents",  CONSENT),
    "reveal a CCCD":             ("POST",  "/residents/{resident}/reveal",    {"field": "cccd"}),
    "export a resident":         ("GET",   "/residents/{resident}/export",    None),
    "erase a resident":          ("POST",  "/residents/{resident}/erase",     ERASE),
    "read a village":            ("GET",   "/places/{village}",               None),
    "list a village's children": ("GET",   "/places/{village}/children",      None),
}
#                               capability  allowed  refused
RECORD_API_RULES = {
    "read a household":          ("people",   200,     404),
    "edit a household":          ("people",   200,     404),
    "add a household":           ("people",   201,     422),
    "read a resident":           ("people",   200,     404),
    "edit a resident":           ("people",   200,     404),
    "add a resident":            ("people",   201,     422),
    "list consents":             ("people",   200,     404),
    "record a consent":          ("people",   201,     404),
    "reveal a CCCD":             ("reveal",   200,     404),
    "export a resident":         ("requests", 200,     404),
    "erase a resident":          ("requests", 200,     404),
    "read a village":            ("places",   200,     404),
    "list a village's children": ("places",   200,     404),
}
# fmt: on
# HTML pages acting on one record: method, url, capability column.
RECORD_PAGES = {
    "household page": ("GET", "/households/{household}/", "people"),
    "household form": ("GET", "/households/{household}/edit/", "people"),
    "resident page": ("GET", "/residents/{resident}/", "people"),
    "resident form": ("GET", "/residents/{resident}/edit/", "people"),
    "reveal a CCCD": ("POST", "/residents/{resident}/reveal/cccd/", "reveal"),
    "export a resident": ("GET", "/residents/{resident}/export/", "requests"),
    "erase form": ("GET", "/residents/{resident}/erase/", "requests"),
}


def scope(persona: str, column: str) -> set[str]:
    return scope_in(SCOPE, COLUMNS, persona, column)


def foreign_village(persona: str, column: str) -> str | None:
    """A village whose records exist but lie outside the persona's scope, if there is one."""
    return next((v for v in VILLAGES if v not in scope(persona, column)), None)


def ids_in(world, village: str) -> dict[str, str]:
    return {
        "household": world.household(HEAD_OF[village]).public_id,
        "resident": world.resident(HEAD_OF[village]).public_id,
        "village": getattr(world, village.lower()).code,
    }


def unknown_ids(world) -> dict[str, str]:
    village = f"{world.commune_a.code}-99"
    return {"household": new_public_id(), "resident": new_public_id(), "village": village}


def names(response, key: str) -> set[str]:
    assert response.status_code == 200, response.content
    return {item[key] for item in response.json()["items"]}


def allowed_in(persona: str, column: str, allowed: int, refused: int) -> dict[str, int]:
    return {v: allowed if v in scope(persona, column) else refused for v in VILLAGES}


@pytest.fixture
def api(api_as, client):
    return json_sender(api_as, client)


@pytest.fixture
def page(client_as, client):
    return page_opener(client_as, client)


@pytest.fixture
def someone_elses_job(world):
    return actions.households_export_start(by=world.users[JOB_OWNER])


def send_record(api, persona: str, endpoint: str, ids: dict[str, str]):
    method, path, body = RECORD_API.get(endpoint, ("GET", endpoint, None))
    return api(persona, method, fill(path, ids), fill(body, ids))


# --- API: lists and places ----------------------------------------------------------------------
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_lists_hold_exactly_the_records_in_scope(api, persona):
    assert names(api(persona, "GET", "/households"), "head_name") == HOUSEHOLDS[persona]
    assert names(api(persona, "GET", "/residents"), "full_name") == HOUSEHOLDS[persona]
    assert names(api(persona, "GET", "/organisations"), "name") == ORGANISATIONS[persona]


@pytest.mark.parametrize("persona", PERSONAS)
def test_filtering_a_list_by_a_village_never_reaches_outside_the_scope(api, world, persona):
    for village in VILLAGES:
        code = ids_in(world, village)["village"]
        found = names(api(persona, "GET", f"/households?village={code}"), "head_name")
        assert found == HEADS_IN[village] & HOUSEHOLDS[persona], village


@pytest.mark.parametrize("persona", PERSONAS)
def test_official_places_are_public_but_the_villages_of_commune_a_only_in_scope(
    api, world, persona
):
    for code in [world.province.code, world.commune_a.code, world.commune_b.code]:
        assert api(persona, "GET", f"/places/{code}").status_code == 200
    children = names(api(persona, "GET", f"/places/{world.commune_a.code}/children"), "code")
    assert children == {ids_in(world, v)["village"] for v in scope(persona, "places") - {"B1"}}


@pytest.mark.parametrize("persona", PERSONAS)
def test_only_administrators_read_the_audit_log(api, persona):
    response = api(persona, "GET", "/audit")
    if persona in ADMINISTRATORS:
        assert response.status_code == 200
    else:
        assert (response.status_code, response.json()) == (404, NOT_FOUND)


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_job_is_seen_only_by_its_owner_and_the_superuser_else_an_unknown_job(
    api, someone_elses_job, persona
):
    theirs = api(persona, "GET", f"/jobs/{someone_elses_job.public_id}")
    unknown = api(persona, "GET", f"/jobs/{new_public_id()}")
    assert (unknown.status_code, unknown.json()) == (404, NOT_FOUND)
    if persona in {JOB_OWNER, "admin"}:
        assert theirs.json()["id"] == someone_elses_job.public_id
    else:
        assert (theirs.status_code, theirs.json()) == (404, NOT_FOUND)


# --- API: one record ----------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", RECORD_API)
@pytest.mark.parametrize("persona", PERSONAS)
def test_a_record_endpoint_answers_only_inside_the_scope_and_a_foreign_id_is_unknown(
    api, world, persona, endpoint
):
    column, allowed, refused = RECORD_API_RULES[endpoint]
    answers = {v: send_record(api, persona, endpoint, ids_in(world, v)) for v in VILLAGES}
    assert {v: a.status_code for v, a in answers.items()} == allowed_in(
        persona, column, allowed, refused
    )
    # A foreign id gets exactly the answer of an id that exists nowhere.
    unknown = send_record(api, persona, endpoint, unknown_ids(world))
    assert unknown.status_code == refused
    detail(unknown)
    for answer in answers.values():
        if answer.status_code == refused:
            assert answer.json() == unknown.json()


REVEALS = [(p, v) for p in PERSONAS for v in VILLAGES if v in scope(p, "reveal")]
EXPORTS = [(p, v) for p in PERSONAS for v in VILLAGES if v in scope(p, "requests")]


@pytest.mark.parametrize(("persona", "village"), REVEALS)
def test_a_reveal_returns_the_cccd_of_that_resident(api, world, persona, village):
    response = send_record(api, persona, "reveal a CCCD", ids_in(world, village))
    assert response.json() == {"field": "cccd", "value": CCCD[village]}


@pytest.mark.parametrize(("persona", "village"), EXPORTS)
def test_an_export_holds_the_data_of_that_resident(api, world, persona, village):
    body = send_record(api, persona, "export a resident", ids_in(world, village)).json()
    assert (body["full_name"], body["cccd"]) == (HEAD_OF[village], CCCD[village])


@pytest.mark.parametrize("persona", [p for p in PERSONAS if foreign_village(p, "people")])
def test_refused_calls_change_nothing_and_leave_no_audit_entry(api, world, persona):
    village = foreign_village(persona, "people")
    household, resident = world.household(HEAD_OF[village]), world.resident(HEAD_OF[village])
    before = audit_rows(), Household.objects.count(), Resident.objects.count()
    for endpoint in RECORD_API:
        send_record(api, persona, endpoint, ids_in(world, village))
    household.refresh_from_db()
    resident.refresh_from_db()
    assert (household.notes, resident.relation_to_head, resident.erased_at) == ("", "Chủ hộ", None)
    assert resident.consents.count() == 0
    assert (audit_rows(), Household.objects.count(), Resident.objects.count()) == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_an_organisation_is_read_and_edited_only_inside_the_scope(api, world, persona):
    ids = {name: world.organisation(name).public_id for name in (ORG_A, ORG_B)}
    ids["unknown"] = new_public_id()
    edit = {"representative": "Bà Hoa"}
    for name, public_id in ids.items():
        read = api(persona, "GET", f"/organisations/{public_id}")
        write = api(persona, "PATCH", f"/organisations/{public_id}", edit)
        if name in ORGANISATIONS[persona]:
            assert (read.status_code, write.json()["representative"]) == (200, "Bà Hoa")
        else:
            assert [(a.status_code, a.json()) for a in (read, write)] == [(404, NOT_FOUND)] * 2


LIST_API = ["/households", "/residents", "/organisations", "/audit", "/places/22"]


@pytest.mark.parametrize("endpoint", [*RECORD_API, *LIST_API])
@pytest.mark.parametrize("caller", [ANONYMOUS, FORGED])
def test_without_a_valid_token_every_endpoint_is_a_401(api, world, caller, endpoint):
    response = send_record(api, caller, endpoint, ids_in(world, "A1"))
    assert response.status_code == 401
    assert detail(response) == "Chưa đăng nhập hoặc khoá API không hợp lệ."


# --- Pages --------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", PERSONAS)
def test_the_list_pages_show_exactly_the_records_in_scope(page, persona):
    status = 200 if scope(persona, "people") else 404
    for url in ["/households/", "/residents/"]:
        response = page(persona, url)
        assert response.status_code == status, url
        assert shown(response, [AN, BINH, CUONG, DUNG]) == HOUSEHOLDS[persona], url
    response = page(persona, "/organisations/")
    assert response.status_code == status
    assert shown(response, [ORG_A, ORG_B]) == ORGANISATIONS[persona]


@pytest.mark.parametrize("name", RECORD_PAGES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_a_record_page_opens_only_inside_the_scope_and_a_foreign_id_is_unknown(
    page, world, persona, name
):
    method, url, column = RECORD_PAGES[name]
    answers = {v: page(persona, fill(url, ids_in(world, v)), method) for v in VILLAGES}
    statuses = {v: a.status_code for v, a in answers.items()}
    assert statuses == allowed_in(persona, column, 200, 404)
    unknown = page(persona, fill(url, unknown_ids(world)), method)
    assert unknown.status_code == 404
    for answer in answers.values():
        if answer.status_code == 404:
            assert answer.content == unknown.content


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_reveal_button_shows_the_cccd_only_inside_the_scope(page, world, persona):
    for village in VILLAGES:
        url = f"/residents/{ids_in(world, village)['resident']}/reveal/cccd/"
        revealed = CCCD[village] in page(persona, url, "POST").content.decode()
        assert revealed == (village in scope(persona, "reveal")), village


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_dashboard_names_no_village_outside_the_scope(page, world, persona):
    outside = {VILLAGE_NAME[v] for v in VILLAGES if v not in scope(persona, "places")}
    home = page(persona, "/")
    assert home.status_code == 200
    assert not shown(home, outside)
    commune_a = page(persona, f"/?place={world.commune_a.code}")
    if persona == "nobody":  # without any role: the "no role yet" page, whatever she asks for
        assert "Chưa được phân quyền" in commune_a.content.decode()
    else:
        assert commune_a.status_code == (200 if persona in COMMUNE_A_DASHBOARD else 404)
    assert bool(shown(commune_a, [VILLAGE_NAME["A2"]])) == (persona in COMMUNE_A_DASHBOARD)


ADMIN_PAGES = ["/places/", "/places/{commune}/", "/admin/roles/", "/admin/audit/"]


@pytest.mark.parametrize("persona", PERSONAS)
def test_administration_pages_open_only_for_administrators(page, world, persona):
    urls = [fill(url, {"commune": world.commune_a.code}) for url in ADMIN_PAGES]
    statuses = {url: page(persona, url).status_code for url in urls}
    assert statuses == dict.fromkeys(urls, 200 if persona in ADMINISTRATORS else 404)


@pytest.mark.parametrize("persona", sorted(ADMINISTRATORS))
def test_the_place_tree_page_of_commune_a_lists_its_villages(page, world, persona):
    response = page(persona, f"/places/{world.commune_a.code}/")
    assert shown(response, VILLAGE_NAME.values()) == {VILLAGE_NAME["A1"], VILLAGE_NAME["A2"]}


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_job_page_opens_only_for_its_owner_and_the_superuser(page, someone_elses_job, persona):
    theirs = page(persona, f"/jobs/{someone_elses_job.public_id}/")
    unknown = page(persona, f"/jobs/{new_public_id()}/")
    assert unknown.status_code == 404
    if persona in {JOB_OWNER, "admin"}:
        assert theirs.status_code == 200
    else:
        assert (theirs.status_code, theirs.content) == (404, unknown.content)


ANONYMOUS_PAGES = ["/", "/households/", "/residents/", "/organisations/", "/jobs/{job}/"]
ANONYMOUS_PAGES += [*ADMIN_PAGES, *(url for _method, url, _column in RECORD_PAGES.values())]


@pytest.mark.parametrize("url", ANONYMOUS_PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_page(page, world, someone_elses_job, url):
    ids = {**ids_in(world, "A1"), "job": someone_elses_job.public_id, "commune": "06913"}
    response = page(ANONYMOUS, fill(url, ids), "POST" if "/reveal/" in url else "GET")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
