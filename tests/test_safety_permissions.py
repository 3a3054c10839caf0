"""The persona × endpoint permission matrix of safety (/api/v1/safety/, /an-ninh/) and notify.

"An officer of commune A sees nothing of commune B and a village head sees only her village."
Seeing is not acting: a village head and the province viewer read incidents but do not handle
them; only the police (and administrators) manage cameras and rules; a camera snapshot is
opened only by those who may see evidence, and every opening is audited. An unknown or foreign
id in the URL is a 404, a record named in the body that one may not use is a 422 on that field:
in both cases the same answer whether the record exists elsewhere or not, and a refused call
writes nothing, not even an audit row.

The tables below are the expectations; every test reads them. Villages: A1 and A2 in commune A
(Xã Quảng Tân), B1 in commune B. Each village has a camera with a rule (tests/safety_data.py,
plus a rule on the cameras of A2 and B1), an incident opened by that rule from a camera event
with a snapshot, a hand-made open incident, a resolved one and a citizen report.
"""

import csv
import io

import pytest

from tests import safety_data
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
from xaso.core.models import AuditEntry
from xaso.lib.ids import new_public_id
from xaso.notify import actions as notify_actions
from xaso.notify.models import Channel, Delivery
from xaso.safety import actions, reports
from xaso.safety.models import Camera, Incident, IncidentStep, Rule

VILLAGES = ["A1", "A2", "B1"]
COLUMNS = ["see", "manage", "handle", "evidence"]

# fmt: off
# The villages in which each persona may ...
#                 see cameras,     manage cameras  handle incidents  open snapshots
#                 rules, incidents and rules       (the workflow)    (audited)
SCOPE = {
    "admin":      ("A1 A2 B1",     "A1 A2 B1",     "A1 A2 B1",       "A1 A2 B1"),
    "quantri":    ("A1 A2 B1",     "A1 A2 B1",     "A1 A2 B1",       "A1 A2 B1"),
    "lanhdao":    ("A1 A2",        "",             "A1 A2",          "A1 A2"),
    "congan":     ("A1 A2",        "A1 A2",        "A1 A2",          "A1 A2"),
    "truongthon": ("A1",           "",             "",               ""),
    "tocns":      ("",             "",             "",               ""),
    "htx":        ("",             "",             "",               ""),
    "motcua":     ("",             "",             "",               ""),
    "tinh":       ("A1 A2 B1",     "",             "",               ""),
    "canbo_b":    ("B1",           "",             "B1",             "B1"),
    "nobody":     ("",             "",             "",               ""),
}
# fmt: on
PERSONAS = list(SCOPE)
NOT_FOUND = {"detail": "Không tìm thấy."}
UNAUTHENTICATED = "Chưa đăng nhập hoặc khoá API không hợp lệ."

EDIT_CAMERA = {"name": "Camera đã đổi tên", "village": "{village}"}
NEW_CAMERA = {"name": "Camera mới lắp", "village": "{village}", "frigate_name": ""}
EDIT_RULE = {"camera": "{camera}", "category": "crowding", "label": "car", "min_score": 0.7}
NEW_RULE = {"camera": "{camera}", "category": "fire", "label": "smoke", "severity": "critical"}
NEW_INCIDENT = {"place": "{village}", "category": "security", "title": "Gây rối trật tự"}
NOTE = {"note": "Đã cử tổ tuần tra đến hiện trường."}
# fmt: off
# API endpoints (under /api/v1/safety) acting on one village's records.
#                           method  path                                  body
RECORD_API = {
    "read a camera":         ("GET",  "/cameras/{camera}",                  None),
    "read a rule":           ("GET",  "/rules/{rule}",                      None),
    "read an incident":      ("GET",  "/incidents/{incident}",              None),
    "edit a camera":         ("PUT",  "/cameras/{camera}",                  EDIT_CAMERA),
    "edit a rule":           ("PUT",  "/rules/{rule}",                      EDIT_RULE),
    "add a camera":          ("POST", "/cameras",                           NEW_CAMERA),
    "add a rule":            ("POST", "/rules",                             NEW_RULE),
    "open an incident":      ("POST", "/incidents",                         NEW_INCIDENT),
    "acknowledge":           ("POST", "/incidents/{incident}/acknowledge",  None),
    "dispatch":              ("POST", "/incidents/{incident}/dispatch",     NOTE),
    "resolve":               ("POST", "/incidents/{incident}/resolve",      NOTE),
    "close":                 ("POST", "/incidents/{resolved}/close",        NOTE),
    "reject":                ("POST", "/incidents/{incident}/reject",       NOTE),
    "duplicate":             ("POST", "/incidents/{incident}/duplicate",
                              {"duplicate_of": "{original}"}),
}
# A record in the URL that one may not use is unknown (404), also when one may see but not act
# on it (as for the cameras' own write endpoints); one named in the body is a 422 on that field.
#                          column    allowed  refused  field of the refusal
RECORD_API_RULES = {
    "read a camera":        ("see",    200,     404,     None),
    "read a rule":          ("see",    200,     404,     None),
    "read an incident":     ("see",    200,     404,     None),
    "edit a camera":        ("manage", 200,     404,     None),
    "edit a rule":          ("manage", 200,     404,     None),
    "add a camera":         ("manage", 201,     422,     "village"),
    "add a rule":           ("manage", 201,     422,     "camera"),
    "open an incident":     ("handle", 201,     422,     "place"),
    "acknowledge":          ("handle", 200,     404,     None),
    "dispatch":             ("handle", 200,     404,     None),
    "resolve":              ("handle", 200,     404,     None),
    "close":                ("handle", 200,     404,     None),
    "reject":               ("handle", 200,     404,     None),
    "duplicate":            ("handle", 200,     404,     None),
}
# The status each workflow step leads to.
STEP_STATUS = {
    "acknowledge": "acknowledged", "dispatch": "dispatched", "resolve": "resolved",
    "close": "closed", "reject": "rejected", "duplicate": "duplicate",
}
# fmt: on
WRITES = [name for name, (method, _path, _body) in RECORD_API.items() if method != "GET"]
# List endpoints (under /api/v1/safety) and the record of each village they hold.
LIST_API = {"/cameras": ["camera"], "/rules": ["rule"]}
LIST_API["/incidents"] = ["incident", "original", "resolved"]
NOTIFY_API = ["/notify/channels", "/notify/deliveries"]


def scope(persona: str, column: str) -> set[str]:
    return scope_in(SCOPE, COLUMNS, persona, column)


def allowed_in(persona: str, column: str, allowed: int, refused: int) -> dict[str, int]:
    return {v: allowed if v in scope(persona, column) else refused for v in VILLAGES}


@pytest.fixture
def records(world, settings) -> dict[str, dict[str, str]]:
    """The ids of each village's records, by village: records["A2"]["incident"]."""
    settings.XASO_REPORTS_OPEN_INCIDENTS = "none"  # a report opens no incident of its own
    admin = world.users["admin"]
    data = safety_data.build(world)
    cameras = {"A1": data.crossroad, "A2": data.household_camera, "B1": data.camera_b}
    rules = {"A1": data.person_rule}
    for village in ("A2", "B1"):
        rules[village] = actions.rule_create(
            camera=cameras[village],
            values={"label": "person", "min_score": 0.5, "category": "security"},
            by=admin,
        )
    ids = {}
    for village, camera in cameras.items():
        place = getattr(world, village.lower())
        event, _created = safety_data.frigate_event(
            camera, f"su-kien-{village}", score=0.9, snapshot=safety_data.jpeg()
        )
        event.refresh_from_db()
        original, resolved = (
            actions.incident_report(
                place=place, category="traffic_accident", title=f"Va chạm {n} {village}", by=admin
            )
            for n in (1, 2)
        )
        actions.incident_transition(incident=resolved, action="resolve", note="Xong", by=admin)
        report = reports.citizen_report_submit(
            place=place,
            service_code="flooding",
            description=f"Ngập đường ở {place.name}",
            address=f"Đường vào {place.name}",
        )
        ids[village] = {
            "village": place.code,
            "camera": camera.public_id,
            "rule": rules[village].public_id,
            "incident": event.incident.public_id,
            "event": str(event.pk),
            "original": original.public_id,
            "resolved": resolved.public_id,
            "report": report.public_id,
        }
    return ids


def unknown_ids(world) -> dict[str, str]:
    names = ["camera", "rule", "incident", "original", "resolved", "report"]
    return {
        **{name: new_public_id() for name in names},
        "village": f"{world.commune_a.code}-99",
        "event": "987654321",
    }


@pytest.fixture
def api(api_as, client):
    """api(persona, method, path, body); notify's paths are its own, the rest under /safety."""
    return json_sender(api_as, client, _safety_url)


def _safety_url(path: str) -> str:
    return f"/api/v1{path}" if path.startswith("/notify") else f"/api/v1/safety{path}"


def send_record(api, persona: str, endpoint: str, ids: dict[str, str]):
    method, path, body = RECORD_API[endpoint]
    return api(persona, method, fill(path, ids), fill(body, ids))


# --- API: lists ---------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_list_holds_exactly_the_records_of_the_villages_in_scope(api, records, persona):
    for path, kinds in LIST_API.items():
        response = api(persona, "GET", f"{path}?limit=100")
        assert response.status_code == 200, path
        found = {item["id"] for item in response.json()["items"]}
        expected = {records[v][kind] for v in scope(persona, "see") for kind in kinds}
        # The world may hold no other safety rows: the list is exactly the villages' records.
        assert found == expected, path


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_village_head_sees_her_village_and_the_list_names_only_villages_in_scope(
    api, records, persona
):
    codes = {records[v]["village"] for v in scope(persona, "see")}
    cameras = api(persona, "GET", "/cameras").json()["items"]
    incidents = api(persona, "GET", "/incidents?limit=100").json()["items"]
    assert {item["village"] for item in cameras} == codes
    assert {item["place"] for item in incidents} == codes


@pytest.mark.parametrize("persona", PERSONAS)
def test_listing_the_rules_of_a_camera_never_reaches_outside_the_scope(api, records, persona):
    for village in VILLAGES:
        response = api(persona, "GET", f"/rules?camera={records[village]['camera']}")
        found = {item["id"] for item in response.json()["items"]}
        assert found == ({records[village]["rule"]} if village in scope(persona, "see") else set())
    unknown = api(persona, "GET", f"/rules?camera={new_public_id()}")
    assert (unknown.status_code, unknown.json()["items"]) == (200, [])


# --- API: one record ----------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", RECORD_API)
@pytest.mark.parametrize("persona", PERSONAS)
def test_a_record_endpoint_answers_only_inside_the_scope_and_a_foreign_id_is_unknown(
    api, records, world, persona, endpoint
):
    column, allowed, refused, field = RECORD_API_RULES[endpoint]
    answers = {v: send_record(api, persona, endpoint, records[v]) for v in VILLAGES}
    assert {v: a.status_code for v, a in answers.items()} == allowed_in(
        persona, column, allowed, refused
    ), {v: a.content.decode()[:200] for v, a in answers.items()}
    # A foreign id gets exactly the answer of an id that exists nowhere.
    unknown = send_record(api, persona, endpoint, unknown_ids(world))
    assert unknown.status_code == refused
    detail(unknown)
    if field is None:
        assert unknown.json() == NOT_FOUND
    else:
        assert unknown.json()["field"] == field
    for answer in answers.values():
        if answer.status_code == refused:
            assert answer.json() == unknown.json()


@pytest.mark.parametrize("persona", PERSONAS)
def test_an_allowed_call_lands_on_the_record_named(api, records, persona):
    for village in scope(persona, "see"):
        ids = records[village]
        assert send_record(api, persona, "read an incident", ids).json()["place"] == ids["village"]
        assert send_record(api, persona, "read a rule", ids).json()["camera"] == ids["camera"]
    for village in scope(persona, "manage"):
        ids = records[village]
        camera = send_record(api, persona, "edit a camera", ids).json()
        assert (camera["id"], camera["name"]) == (ids["camera"], EDIT_CAMERA["name"])
        rule = send_record(api, persona, "edit a rule", ids).json()
        assert (rule["id"], rule["category"], rule["label"]) == (ids["rule"], "crowding", "car")
        new = send_record(api, persona, "add a camera", ids).json()
        assert (new["village"], bool(new["token"])) == (ids["village"], True)
        added = send_record(api, persona, "add a rule", ids).json()
        assert (added["camera"], added["severity"]) == (ids["camera"], "critical")
    for village in scope(persona, "handle"):
        ids = records[village]
        opened = send_record(api, persona, "open an incident", ids).json()
        assert (opened["place"], opened["status"]) == (ids["village"], "new")
        for step in ("duplicate", "close"):
            moved = send_record(api, persona, step, ids).json()
            assert moved["status"] == STEP_STATUS[step]
        assert (
            Incident.objects.get(public_id=ids["incident"]).duplicate_of.public_id
            == (ids["original"])
        )


@pytest.mark.parametrize("step", ["acknowledge", "dispatch", "resolve", "reject"])
def test_each_workflow_step_moves_the_incident_and_writes_one_audit_row(api, records, step):
    ids = records["A2"]
    before = audit_rows()
    response = send_record(api, "congan", step, ids)
    assert response.json()["status"] == STEP_STATUS[step]
    assert response.json()["timeline"][-1]["actor"] == "congan"
    assert audit_rows() == before + 1
    assert AuditEntry.objects.order_by("-id").first().verb == f"incident.{step}"


def _state() -> tuple:
    """What a refused write could have changed: rows, names, statuses, steps, audit."""
    return (
        audit_rows(),
        Camera.objects.count(),
        Rule.objects.count(),
        Incident.objects.count(),
        IncidentStep.objects.count(),
        sorted(Camera.objects.values_list("name", "place__code", "owner_kind")),
        sorted(Rule.objects.values_list("category", "label", "min_score")),
        sorted(Incident.objects.values_list("status", "assignee", "duplicate_of")),
    )


@pytest.mark.parametrize("persona", [*PERSONAS, ANONYMOUS, FORGED])
def test_refused_writes_change_nothing_and_leave_no_audit_entry(api, records, persona):
    refused = []
    for endpoint in WRITES:
        column = RECORD_API_RULES[endpoint][0]
        within = scope(persona, column) if persona in SCOPE else set()
        refused += [(endpoint, v) for v in VILLAGES if v not in within]
    before = _state()
    answers = {(e, v): send_record(api, persona, e, records[v]) for e, v in refused}
    assert _state() == before
    assert not {call: a.content for call, a in answers.items() if a.status_code < 400}


def test_an_incident_is_not_dispatched_to_an_officer_of_another_commune(api, records):
    before = _state()
    body = {"assignee": "canbo_b", "note": "Giao cho xã bên"}
    response = api("congan", "POST", f"/incidents/{records['A1']['incident']}/dispatch", body)
    assert (response.status_code, response.json()["field"]) == (422, "assignee")
    assert _state() == before
    done = api("congan", "POST", f"/incidents/{records['A1']['incident']}/dispatch", {**body,
        "assignee": "lanhdao"})  # fmt: skip
    assert (done.status_code, done.json()["assignee"]) == (200, "lanhdao")


def test_an_incident_is_not_marked_a_duplicate_of_one_in_another_commune(api, records):
    before = _state()
    body = {"duplicate_of": records["B1"]["original"]}
    foreign = api("congan", "POST", f"/incidents/{records['A1']['incident']}/duplicate", body)
    unknown = api(
        "congan",
        "POST",
        f"/incidents/{records['A1']['incident']}/duplicate",
        {"duplicate_of": new_public_id()},
    )
    assert foreign.status_code == unknown.status_code == 422
    assert foreign.json() == unknown.json()
    assert foreign.json()["field"] == "duplicate_of"
    assert _state() == before


def test_a_camera_is_not_moved_into_another_commune(api, records):
    before = _state()
    body = {"name": "Camera chuyển xã", "village": records["B1"]["village"]}
    response = api("congan", "PUT", f"/cameras/{records['A1']['camera']}", body)
    assert (response.status_code, response.json()["field"]) == (422, "village")
    assert _state() == before


@pytest.mark.parametrize("endpoint", [*RECORD_API, *LIST_API, *NOTIFY_API])
@pytest.mark.parametrize("caller", [ANONYMOUS, FORGED])
def test_without_a_valid_token_every_endpoint_is_a_401(api, records, caller, endpoint):
    if endpoint in RECORD_API:
        response = send_record(api, caller, endpoint, records["A1"])
    else:
        response = api(caller, "GET", endpoint)
    assert response.status_code == 401
    assert detail(response) == UNAUTHENTICATED


# --- Notify: one's own channels and deliveries --------------------------------------------------
@pytest.fixture
def channels(world) -> dict[str, Channel]:
    """A webhook channel, with one test delivery, for lanhdao and for canbo_b."""
    made = {}
    for username in ("lanhdao", "canbo_b"):
        user = world.users[username]
        channel = notify_actions.channel_create(
            user=user,
            kind="webhook",
            label=f"Kênh của {username}",
            config={"url": f"https://hooks.example.vn/{username}"},
            by=user,
        )
        notify_actions.channel_test(channel=channel, by=user)
        made[username] = channel
    return made


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_user_lists_only_her_own_channels_and_deliveries(api, channels, persona):
    own = {channels[persona].public_id} if persona in channels else set()
    listed = api(persona, "GET", "/notify/channels").json()["items"]
    assert {item["id"] for item in listed} == own
    deliveries = api(persona, "GET", "/notify/deliveries").json()["items"]
    if persona == "admin":  # the superuser oversees every delivery
        expected = set(Delivery.objects.values_list("public_id", flat=True))
    else:
        expected = set(
            Delivery.objects.filter(recipient__username=persona).values_list("public_id", flat=True)
        )
    assert {item["id"] for item in deliveries} == expected
    if persona in channels:
        assert {item["channel"] for item in deliveries} == own


@pytest.mark.parametrize("persona", PERSONAS)
def test_someone_elses_channel_answers_like_an_unknown_one(api, channels, persona):
    theirs = [c for owner, c in channels.items() if owner != persona]
    before = (audit_rows(), Channel.objects.count(), Delivery.objects.count())
    for channel_id in [*(c.public_id for c in theirs), new_public_id()]:
        for method, path in [
            ("POST", f"/notify/channels/{channel_id}/test"),
            ("DELETE", f"/notify/channels/{channel_id}"),
        ]:
            response = api(persona, method, path)
            assert (response.status_code, response.json()) == (404, NOT_FOUND), path
    assert (audit_rows(), Channel.objects.count(), Delivery.objects.count()) == before


# --- Pages --------------------------------------------------------------------------------------
@pytest.fixture
def page(client_as, client):
    return page_opener(client_as, client)


# Pages about the whole scope: they open for anyone who may see safety somewhere.
SCOPE_PAGES = [
    "/an-ninh/",
    "/an-ninh/truc-tiep/",
    "/an-ninh/camera/",
    "/an-ninh/thong-ke/",
    "/an-ninh/thong-ke/xuat.csv",
    "/an-ninh/thong-ke/xuat.xlsx",
    "/an-ninh/phan-anh/?status=",
]
# Pages about one village's record: method, url, column, answer when allowed.
RECORD_PAGES = {
    "incident page": ("GET", "/an-ninh/su-co/{incident}/", "see", 200),
    "camera page": ("GET", "/an-ninh/camera/{camera}/", "see", 200),
    "camera form": ("GET", "/an-ninh/camera/{camera}/sua/", "manage", 200),
    "rule form": ("GET", "/an-ninh/quy-tac/{rule}/sua/", "manage", 200),
    "snapshot": ("GET", "/an-ninh/anh/{event}/", "evidence", 200),
    "acknowledge": ("POST", "/an-ninh/su-co/{incident}/buoc/acknowledge/", "handle", 302),
}


def _expected_page(persona: str, column: str, allowed: int) -> dict[str, int]:
    """Allowed; else 403 where the record is seen but may not be acted on; else 404."""
    answers = {}
    for village in VILLAGES:
        if village in scope(persona, column):
            answers[village] = allowed
        elif column == "handle" and village in scope(persona, "see"):
            answers[village] = 403
        else:
            answers[village] = 404
    return answers


@pytest.mark.parametrize("persona", PERSONAS)
def test_the_pages_about_the_scope_open_only_for_safety_roles(page, records, persona):
    status = 200 if scope(persona, "see") else 404
    statuses = {url: page(persona, url).status_code for url in SCOPE_PAGES}
    assert statuses == dict.fromkeys(SCOPE_PAGES, status)


@pytest.mark.parametrize("persona", [p for p in PERSONAS if scope(p, "see")])
def test_the_pages_show_exactly_the_records_of_the_villages_in_scope(page, records, persona):
    in_scope = scope(persona, "see")
    for url, kinds in [
        ("/an-ninh/", ["incident", "original"]),
        ("/an-ninh/camera/", ["camera"]),
        ("/an-ninh/phan-anh/?status=", ["report"]),
    ]:
        every = {records[v][kind]: v for v in VILLAGES for kind in kinds}
        assert set(shown(page(persona, url), every)) == {
            i for i, v in every.items() if v in in_scope
        }, url
    export = page(persona, "/an-ninh/thong-ke/xuat.csv").content.decode("utf-8-sig")
    exported = {row[0] for row in list(csv.reader(io.StringIO(export)))[1:]}
    every = {records[v][kind]: v for v in VILLAGES for kind in LIST_API["/incidents"]}
    assert exported == {i for i, v in every.items() if v in in_scope}


@pytest.mark.parametrize("name", RECORD_PAGES)
@pytest.mark.parametrize("persona", PERSONAS)
def test_a_record_page_opens_only_inside_the_scope_and_a_foreign_id_is_unknown(
    page, records, world, persona, name
):
    method, url, column, allowed = RECORD_PAGES[name]
    answers = {}
    for village in VILLAGES:
        before = _state()
        answers[village] = page(persona, fill(url, records[village]), method)
        if answers[village].status_code >= 400:  # a refusal changes nothing, audits nothing
            assert _state() == before, village
    assert {v: a.status_code for v, a in answers.items()} == _expected_page(
        persona, column, allowed
    )
    unknown = page(persona, fill(url, unknown_ids(world)), method)
    assert unknown.status_code == 404
    for answer in answers.values():
        if answer.status_code == 404:
            assert answer.content == unknown.content


@pytest.mark.parametrize("persona", PERSONAS)
def test_a_snapshot_is_audited_when_opened_and_a_refusal_writes_nothing(page, records, persona):
    for village in VILLAGES:
        before = AuditEntry.objects.filter(verb="snapshot.viewed").count()
        response = page(persona, f"/an-ninh/anh/{records[village]['event']}/")
        viewed = AuditEntry.objects.filter(verb="snapshot.viewed")
        if village in scope(persona, "evidence"):
            assert response.status_code == 200
            assert b"".join(response.streaming_content).startswith(b"\xff\xd8\xff")
            assert response["Cache-Control"] == "private, no-store"
            assert viewed.count() == before + 1
            entry = viewed.order_by("-id").first()
            assert (entry.actor.username, entry.changes["camera"]) == (
                persona,
                records[village]["camera"],
            )
        else:
            assert response.status_code == 404
            assert viewed.count() == before


@pytest.mark.parametrize("persona", PERSONAS)
def test_an_export_is_audited_only_when_it_is_given(page, records, persona):
    before = AuditEntry.objects.filter(verb="incidents.exported").count()
    response = page(persona, "/an-ninh/thong-ke/xuat.csv")
    after = AuditEntry.objects.filter(verb="incidents.exported").count()
    assert (after > before) == (response.status_code == 200) == bool(scope(persona, "see"))


ANONYMOUS_PAGES = [*SCOPE_PAGES, *(url for _m, url, _c, _a in RECORD_PAGES.values())]


@pytest.mark.parametrize("url", ANONYMOUS_PAGES)
def test_an_anonymous_visitor_is_sent_to_the_login_page_and_sees_nothing(page, records, url):
    before = _state()
    method = "POST" if "/buoc/" in url else "GET"
    response = page(ANONYMOUS, fill(url, records["A1"]), method)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    assert _state() == before
