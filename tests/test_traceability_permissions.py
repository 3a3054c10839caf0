"""The persona × endpoint permission matrix of the traceability API (/api/v1/traceability/).

"Officers see every producer under their places; a producer sees only the records of its own
organisation." Seeing is not writing: only producers (their own records) and administrators
manage production; commune officers confirm it (countersign, let a harvest inside the
pre-harvest interval through). An unknown or foreign id in the URL is a 404, a record named in
the body that one may not use is a 422 on that field: in both cases the same answer whether the
record exists elsewhere or not, and a refused call writes nothing, not even an audit row.

The tables below are the expectations; every test reads them. Producers (from the `trace`
fixture, tests/traceability_data.py): A = "HTX Quảng Tân", the cooperative the `htx` persona
represents, and A2 = "Na Tân Hợp", a household business, both in commune A; B = "HTX Bên Kia" in
commune B. Each has a growing area, a product, a certification, a lot (with the harvest entry
the lot recorded in the diary) and a stamp run.
"""

import pytest

from tests.persona_matrix import ANONYMOUS, FORGED, audit_rows, detail, json_sender, scope_in
from tests.persona_matrix import fill as fill_ids
from tests.traceability_data import days_ago
from xaso.core.models import AuditEntry
from xaso.lib.ids import new_public_id
from xaso.traceability import actions
from xaso.traceability.models import DiaryEntry, GrowingArea, Lot, StampRun

PRODUCERS = ["A", "A2", "B"]
COLUMNS = ["see", "manage", "confirm"]

# fmt: off
# The producers whose records each persona may ...
#                 see             manage          confirm (countersign,
#                 (read, list)    (write)         allow a harvest in the interval)
SCOPE = {
    "admin":      ("A A2 B",      "A A2 B",       "A A2 B"),
    "quantri":    ("A A2 B",      "A A2 B",       "A A2 B"),
    "lanhdao":    ("A A2",        "",             "A A2"),
    "motcua":     ("",            "",             ""),
    "congan":     ("",            "",             ""),
    "htx":        ("A",           "A",            ""),
    "truongthon": ("",            "",             ""),
    "tocns":      ("",            "",             ""),
    "tinh":       ("A A2 B",      "",             ""),
    "canbo_b":    ("B",           "",             "B"),
    "nobody":     ("",            "",             ""),
}
# fmt: on
PERSONAS = list(SCOPE)
NOT_FOUND = {"detail": "Không tìm thấy."}
UNAUTHENTICATED = "Chưa đăng nhập hoặc khoá API không hợp lệ."

# List endpoints (under /api/v1/traceability), and the field of each item that names one of the
# producers' records.
LIST_API = {
    "/producers": ("id", "producer"),
    "/growing-areas": ("id", "area"),
    "/certifications": ("id", "certification"),
    "/products": ("id", "product"),
    "/diary-entries": ("area", "area"),
    "/lots": ("id", "lot"),
    "/stamp-runs": ("id", "run"),
}

EDIT_AREA = {"name": "Đồi na Khe Sâu mở rộng"}
EDIT_PRODUCT = {"shelf_life_days": 6}
FERTILISING = {
    "area": "{area}",
    "kind": "fertilising",
    "occurred_on": "{yesterday}",
    "description": "Bón phân NPK 16-16-8, 300 kg/ha",
}
NEW_LOT = {
    "product": "{product}",
    "area": "{area}",
    "harvest_start": "{yesterday}",
    "quantity": "80",
    "unit": "kg",
}
RECALL = {"reason": "Phát hiện dư lượng thuốc BVTV vượt ngưỡng trong mẫu kiểm tra."}
STAMPS = {"product": "{product}", "count": 65}
# fmt: off
# API endpoints (under /api/v1/traceability) acting on one producer's records.
#                            method   path                                  body
RECORD_API = {
    "read a producer":        ("GET",   "/producers/{producer}",               None),
    "read a growing area":    ("GET",   "/growing-areas/{area}",               None),
    "read a certification":   ("GET",   "/certifications/{certification}",     None),
    "read a product":         ("GET",   "/products/{product}",                 None),
    "read a diary entry":     ("GET",   "/diary-entries/{harvest}",            None),
    "list an area's diary":   ("GET",   "/diary-entries?area={area}",          None),
    "read a lot":             ("GET",   "/lots/{lot}",                         None),
    "read a lot as EPCIS":    ("GET",   "/lots/{lot}/epcis",                   None),
    "read a stamp run":       ("GET",   "/stamp-runs/{run}",                   None),
    "edit a growing area":    ("PATCH", "/growing-areas/{area}",               EDIT_AREA),
    "edit a product":         ("PATCH", "/products/{product}",                 EDIT_PRODUCT),
    "write in the diary":     ("POST",  "/diary-entries",                      FERTILISING),
    "create a lot":           ("POST",  "/lots",                               NEW_LOT),
    "recall a lot":           ("POST",  "/lots/{lot}/recall",                  RECALL),
    "order stamps":           ("POST",  "/stamp-runs",                         STAMPS),
    "countersign a harvest":  ("POST",  "/diary-entries/{harvest}/countersign", None),
}
# A record in the URL that one may not use is unknown (404); one named in the body is a 422
# on that field ("Không tìm thấy vùng trồng.", field "area"), as for an id that exists nowhere.
#                           column     allowed  refused  field of the refusal
RECORD_API_RULES = {
    "read a producer":       ("see",     200,     404,     None),
    "read a growing area":   ("see",     200,     404,     None),
    "read a certification":  ("see",     200,     404,     None),
    "read a product":        ("see",     200,     404,     None),
    "read a diary entry":    ("see",     200,     404,     None),
    "list an area's diary":  ("see",     200,     404,     None),
    "read a lot":            ("see",     200,     404,     None),
    "read a lot as EPCIS":   ("see",     200,     404,     None),
    "read a stamp run":      ("see",     200,     404,     None),
    "edit a growing area":   ("manage",  200,     404,     None),
    "edit a product":        ("manage",  200,     404,     None),
    "write in the diary":    ("manage",  201,     422,     "area"),
    "create a lot":          ("manage",  201,     422,     "product"),
    "recall a lot":          ("manage",  200,     404,     None),
    "order stamps":          ("manage",  201,     422,     "product"),
    "countersign a harvest": ("confirm", 200,     404,     None),
}
# fmt: on
WRITES = [name for name, (method, _path, _body) in RECORD_API.items() if method != "GET"]


def scope(persona: str, column: str) -> set[str]:
    return scope_in(SCOPE, COLUMNS, persona, column)


def allowed_in(persona: str, column: str, allowed: int, refused: int) -> dict[str, int]:
    return {key: allowed if key in scope(persona, column) else refused for key in PRODUCERS}


def fill(template, ids: dict[str, str]):
    """The path or body of an endpoint with "{area}", "{lot}", "{yesterday}"… filled in."""
    return fill_ids(template, {**ids, "yesterday": days_ago(1).isoformat()})


@pytest.fixture
def records(trace, world) -> dict[str, dict[str, str]]:
    """The public ids of each producer's records, by producer: records["A2"]["lot"]."""
    admin = world.users["admin"]
    lot_a2 = actions.lot_create(
        product=trace.product_a2,
        area=trace.area_a2,
        harvest_start=days_ago(6),
        quantity="40",
        unit="kg",
        by=admin,
    )
    owned = {
        "A": (trace.producer_a, trace.area_a, trace.product_a, trace.lot_a),
        "A2": (trace.producer_a2, trace.area_a2, trace.product_a2, lot_a2),
        "B": (trace.producer_b, trace.area_b, trace.product_b, trace.lot_b),
    }
    ids = {}
    for key, (producer, area, product, lot) in owned.items():
        certification = actions.certification_create(
            producer=producer,
            area=area,
            scheme="vietgap",
            number=f"VietGAP-TT-25-{key}",
            issuer="Trung tâm Chứng nhận Phù hợp (QUACERT)",
            valid_from=days_ago(300),
            valid_until=days_ago(-400),
            by=admin,
        )
        run = actions.stamp_run_start(product=product, count=65, by=admin)
        ids[key] = {
            "producer": producer.public_id,
            "area": area.public_id,
            "certification": certification.public_id,
            "product": product.public_id,
            "lot": lot.public_id,
            "harvest": lot.harvest.public_id,
            "run": run.public_id,
        }
    return ids


def unknown_ids() -> dict[str, str]:
    names = ["producer", "area", "certification", "product", "lot", "harvest", "run"]
    return {name: new_public_id() for name in names}


@pytest.fixture
def api(api_as, client):
    """api(persona, method, path, body) under /api/v1/traceability."""
    return json_sender(api_as, client, lambda path: f"/api/v1/traceability{path}")


def send_record(api, persona: str, endpoint: str, ids: dict[str, str]):
    method, path, body = RECORD_API[endpoint]
    return api(persona, method, fill(path, ids), fill(body, ids))


# --- Lists --------------------------------------------------------------------------------------
@pytest.mark.parametrize("persona", PERSONAS)
def test_every_list_holds_exactly_the_records_of_the_producers_in_scope(api, records, persona):
    owner = {value: key for key, ids in records.items() for value in ids.values()}
    for path, (field, record) in LIST_API.items():
        response = api(persona, "GET", path)
        assert response.status_code == 200, path
        items = response.json()["items"]
        assert {owner[item[field]] for item in items} == scope(persona, "see"), path
        named = {item[field] for item in items}
        assert named == {records[key][record] for key in scope(persona, "see")}, path


# --- One record ---------------------------------------------------------------------------------
@pytest.mark.parametrize("endpoint", RECORD_API)
@pytest.mark.parametrize("persona", PERSONAS)
def test_a_record_endpoint_answers_only_inside_the_scope_and_a_foreign_id_is_unknown(
    api, records, persona, endpoint
):
    column, allowed, refused, field = RECORD_API_RULES[endpoint]
    answers = {key: send_record(api, persona, endpoint, records[key]) for key in PRODUCERS}
    assert {key: a.status_code for key, a in answers.items()} == allowed_in(
        persona, column, allowed, refused
    ), {key: a.content.decode()[:200] for key, a in answers.items()}
    # A foreign id gets exactly the answer of an id that exists nowhere.
    unknown = send_record(api, persona, endpoint, unknown_ids())
    assert unknown.status_code == refused
    detail(unknown)
    if field is None:
        assert unknown.json() == NOT_FOUND
    else:  # a record named in the body: the refusal is on that field
        assert unknown.json()["field"] == field
    for answer in answers.values():
        if answer.status_code == refused:
            assert answer.json() == unknown.json()


@pytest.mark.parametrize("persona", PERSONAS)
def test_an_allowed_write_lands_on_the_record_named(api, records, persona):
    for key in scope(persona, "manage"):
        ids = records[key]
        area = send_record(api, persona, "edit a growing area", ids).json()
        product = send_record(api, persona, "edit a product", ids).json()
        entry = send_record(api, persona, "write in the diary", ids).json()
        lot = send_record(api, persona, "create a lot", ids).json()
        recalled = send_record(api, persona, "recall a lot", ids).json()
        run = send_record(api, persona, "order stamps", ids).json()
        assert (area["id"], area["name"]) == (ids["area"], EDIT_AREA["name"])
        assert (product["id"], product["shelf_life_days"]) == (ids["product"], 6)
        assert (entry["area"], entry["kind"]) == (ids["area"], "fertilising")
        assert (lot["product"], lot["area"], lot["quantity"]) == (ids["product"], ids["area"], 80)
        assert (recalled["id"], recalled["status"]) == (ids["lot"], "recalled")
        assert StampRun.objects.get(public_id=run["id"]).product.public_id == ids["product"]
    for key in scope(persona, "confirm"):
        signed = send_record(api, persona, "countersign a harvest", records[key]).json()
        assert (signed["id"], signed["countersigned"]) == (records[key]["harvest"], True)


def _state() -> tuple:
    """What a refused write could have changed: rows, names, statuses, signatures, audit."""
    return (
        audit_rows(),
        DiaryEntry.objects.count(),
        Lot.objects.count(),
        StampRun.objects.count(),
        sorted(GrowingArea.objects.values_list("name", flat=True)),
        sorted(Lot.objects.values_list("status", flat=True)),
        DiaryEntry.objects.filter(countersigned_at__isnull=False).count(),
    )


@pytest.mark.parametrize("persona", [*PERSONAS, ANONYMOUS, FORGED])
def test_refused_writes_change_nothing_and_leave_no_audit_entry(api, records, persona):
    refused = []
    for endpoint in WRITES:
        column = RECORD_API_RULES[endpoint][0]
        within = scope(persona, column) if persona in SCOPE else set()
        refused += [(endpoint, key) for key in PRODUCERS if key not in within]
    before = _state()
    answers = {(e, key): send_record(api, persona, e, records[key]) for e, key in refused}
    assert _state() == before
    accepted = {call: a.content for call, a in answers.items() if a.status_code < 400}
    assert not accepted


@pytest.mark.parametrize("endpoint", [*RECORD_API, *LIST_API])
@pytest.mark.parametrize("caller", [ANONYMOUS, FORGED])
def test_without_a_valid_token_every_endpoint_is_a_401(api, records, caller, endpoint):
    if endpoint in RECORD_API:
        response = send_record(api, caller, endpoint, records["A"])
    else:
        response = api(caller, "GET", endpoint)
    assert response.status_code == 401
    assert detail(response) == UNAUTHENTICATED


# --- The pre-harvest interval: the officer's override -------------------------------------------
def test_only_a_commune_officer_lets_a_harvest_inside_the_interval_through_in_her_commune(
    api, records
):
    area = records["A"]["area"]
    sprayed = api(
        "htx",
        "POST",
        "/diary-entries",
        {
            "area": area,
            "kind": "spraying",
            "occurred_on": days_ago(2),
            "pesticide": "Confidor 100SL",
            "active_ingredient": "Imidacloprid",
            "dose": "8 ml/bình 16 lít",
            "pre_harvest_interval_days": 7,
        },
    )
    assert sprayed.status_code == 201, sprayed.content
    reason = "Bão sắp vào, thu hoạch sớm để cứu quả; đã lấy mẫu kiểm tra dư lượng."
    harvest = {
        "area": area,
        "kind": "harvest",
        "occurred_on": days_ago(0),
        "quantity": "200",
        "unit": "kg",
        "guard_override_reason": reason,
    }
    before = audit_rows()
    # The producer may not excuse itself; the officer of another commune does not find the area.
    producer = api("htx", "POST", "/diary-entries", harvest)
    assert producer.status_code == 409
    assert detail(producer) == "Chỉ cán bộ xã mới được cho phép thu hoạch trong thời gian cách ly."
    foreign = api("canbo_b", "POST", "/diary-entries", harvest)
    assert (foreign.status_code, foreign.json()["field"]) == (422, "area")
    assert audit_rows() == before

    officer = api("lanhdao", "POST", "/diary-entries", harvest)
    assert officer.status_code == 201, officer.content
    assert officer.json()["guard_override_reason"] == reason
    # The harvest inside the interval is itself audited, besides the new diary entry.
    verbs = AuditEntry.objects.order_by("-id").values_list("verb", flat=True)[:2]
    assert set(verbs) == {"harvest_guard.overridden", "diary_entry.created"}
