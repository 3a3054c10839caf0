"""One-stop shop: intake, the state machine, deadlines, the signed chain, the API (issue 6)."""

import datetime
import re

import pytest
from django.utils import timezone

from tests import dossier_data
from tests.dossier_data import APPLICANT, birth_procedure, documents_json, uploads
from xaso.core.errors import DomainError, InvalidInput
from xaso.dossiers import actions, chain, selectors
from xaso.dossiers.models import Dossier, DossierStep

CODE = re.compile(r"^(?P<agency>.+)-(?P<day>\d{6})-(?P<number>\d{4})$")


@pytest.fixture
def procedure(world):
    return birth_procedure(world)


@pytest.fixture
def counter_dossier(world, procedure):
    dossier, _secret = actions.dossier_submit(
        procedure=procedure,
        commune=world.commune_a,
        applicant=APPLICANT,
        uploads=uploads(),
        channel="counter",
        by=world.users["motcua"],
    )
    return dossier


def run(dossier, action, persona, world, **options):
    return actions.dossier_transition(
        dossier=dossier, action=action, by=world.users[persona], **options
    )


# --- Intake -------------------------------------------------------------------------------------
def test_a_counter_dossier_is_received_at_once_with_a_code_a_secret_and_a_due_date(
    world, procedure
):
    dossier, secret = actions.dossier_submit(
        procedure=procedure,
        commune=world.commune_a,
        applicant=APPLICANT,
        uploads=uploads(),
        channel="counter",
        by=world.users["motcua"],
    )
    match = CODE.match(dossier.code)
    assert match and match["agency"] == world.commune_a.code
    assert match["day"] == f"{timezone.localdate():%y%m%d}" and match["number"] == "0001"
    assert dossier.status == "received" and len(secret) == 8
    assert secret not in dossier.secret_hash
    assert dossier.due > dossier.received_on
    assert [step.action for step in dossier.steps.all()] == ["submit", "receive"]


def test_daily_numbers_follow_each_other(world, procedure, counter_dossier):
    second, _secret = actions.dossier_submit(
        procedure=procedure, commune=world.commune_a, applicant=APPLICANT, uploads=uploads()
    )
    assert CODE.match(second.code)["number"] == "0002"


def test_the_agency_code_is_configurable(world, procedure, settings):
    settings.XASO_AGENCY_CODE = "000.00.12.H56"
    dossier, _secret = actions.dossier_submit(
        procedure=procedure, commune=world.commune_a, applicant=APPLICANT, uploads=uploads()
    )
    assert dossier.code.startswith("000.00.12.H56-")


def test_a_missing_required_document_is_refused_and_nothing_is_written(world, procedure):
    with pytest.raises(InvalidInput, match="Giấy chứng sinh"):
        actions.dossier_submit(
            procedure=procedure,
            commune=world.commune_a,
            applicant=APPLICANT,
            uploads=uploads()[:1],
        )
    assert not Dossier.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [(b"MZ\x90\x00 not a pdf", "không phải PDF"), (b"%PDF-" + b"x" * 10_000_001, "quá lớn")],
)
def test_a_file_that_is_not_a_pdf_or_image_or_is_too_large_is_refused(
    world, procedure, data, message
):
    bad = [("Tờ khai đăng ký khai sinh", data, "x.pdf"), *uploads()[1:]]
    with pytest.raises(InvalidInput, match=message):
        actions.dossier_submit(
            procedure=procedure, commune=world.commune_a, applicant=APPLICANT, uploads=bad
        )
    assert not Dossier.objects.exists()


def test_the_applicant_identifiers_are_encrypted_and_found_by_hash(world, counter_dossier):
    row = Dossier.objects.get(pk=counter_dossier.pk)
    assert "0912345678" not in row.applicant_phone_encrypted
    assert "022190001234" not in row.applicant_id_encrypted
    officer = world.users["motcua"]
    code_prefixes = (counter_dossier.code[:-2], counter_dossier.code[:12])  # "06913-261130"
    for query in ("0912345678", "0912-345-678", "022190001234", "nguyen thi mai", *code_prefixes):
        found = selectors.dossiers_for_user(user=officer, q=query)
        assert list(found) == [counter_dossier], query


def test_an_applicant_without_phone_or_email_is_refused(world, procedure):
    with pytest.raises(InvalidInput, match="điện thoại hoặc e-mail"):
        actions.dossier_submit(
            procedure=procedure,
            commune=world.commune_a,
            applicant={"name": "Lê Văn A"},
            uploads=uploads(),
        )


# --- The state machine --------------------------------------------------------------------------
def test_a_dossier_runs_from_counter_to_returned_result_and_every_step_is_signed(
    world, counter_dossier
):
    from xaso.accounts.actions import membership_grant
    from xaso.accounts.roles import Role

    membership_grant(
        user=world.users["nobody"],
        place=world.commune_a,
        role=Role.SPECIALIST,
        by=world.users["admin"],
    )
    dossier = run(counter_dossier, "assign", "motcua", world, assignee=world.users["nobody"])
    dossier = run(dossier, "appraise", "nobody", world)
    dossier = run(dossier, "approve", "lanhdao", world)
    dossier = run(
        dossier, "issue_result", "nobody", world, result=(dossier_data.pdf_bytes("KQ"), "kq.pdf")
    )
    dossier = run(dossier, "return", "motcua", world, returned_via="counter")
    assert dossier.status == "returned" and dossier.timeliness == "early"
    report = chain.chain_verify(dossier)
    assert report.intact and report.signed_steps == 7
    approve = dossier.steps.get(action="approve")
    assert approve.minutes_allowed == 3 * 480 * 30 // 100
    # Less than one working day allowed: done within it counts as on time, not early.
    assert approve.timeliness == "on_time" and approve.minutes_used == 0
    assert dossier.documents.filter(kind="result").count() == 1


@pytest.mark.parametrize(
    "allowed, used, verdict",
    [
        (1440, 100, "early"),
        (1440, 960, "early"),
        (1440, 961, "on_time"),
        (1440, 1440, "on_time"),
        (1440, 1441, "late"),
        (432, 0, "on_time"),
    ],
)
def test_a_step_is_early_with_a_working_day_to_spare_and_late_past_its_minutes(
    allowed, used, verdict
):
    from xaso.dossiers.deadlines import step_timeliness

    assert step_timeliness(allowed, used) == verdict


def test_a_transition_not_allowed_from_the_current_state_is_refused(world, counter_dossier):
    with pytest.raises(DomainError, match="Không thể"):
        run(counter_dossier, "approve", "lanhdao", world)
    assert counter_dossier.steps.count() == 2


def test_an_officer_without_the_capability_cannot_approve(world, counter_dossier):
    run(counter_dossier, "assign", "motcua", world, assignee=world.users["lanhdao"])
    run(counter_dossier, "appraise", "lanhdao", world)
    with pytest.raises(DomainError, match="quyền"):
        run(counter_dossier, "approve", "motcua", world)


def test_an_officer_of_another_commune_cannot_touch_the_dossier(world, counter_dossier):
    with pytest.raises(DomainError):
        run(counter_dossier, "assign", "canbo_b", world, assignee=world.users["canbo_b"])


def test_a_request_for_supplement_needs_a_reason_and_the_supplement_restarts_the_clock(
    world, counter_dossier
):
    with pytest.raises(InvalidInput):
        run(counter_dossier, "request_supplement", "motcua", world)
    dossier = run(counter_dossier, "request_supplement", "motcua", world, note="Thiếu bản sao")
    actions.dossier_supplement(
        dossier=dossier, uploads=[("Văn bản uỷ quyền", dossier_data.pdf_bytes(), "uq.pdf")]
    )
    dossier = run(dossier, "receive", "motcua", world)
    assert dossier.status == "received"
    assert [s.action for s in dossier.steps.all()][-3:] == [
        "request_supplement",
        "supplement",
        "receive",
    ]
    assert chain.chain_verify(dossier).intact


def test_only_one_extension_to_a_later_date(world, counter_dossier):
    later = counter_dossier.due + datetime.timedelta(days=5)
    with pytest.raises(InvalidInput):
        run(
            counter_dossier, "extend", "lanhdao", world, note="Xin lỗi", new_due=counter_dossier.due
        )
    dossier = run(counter_dossier, "extend", "lanhdao", world, note="Xin lỗi", new_due=later)
    assert dossier.current_due == later and dossier.status == "received"
    with pytest.raises(DomainError, match="một lần"):
        run(dossier, "extend", "lanhdao", world, note="Lần nữa", new_due=later)


def test_pause_and_resume_return_to_the_same_status(world, counter_dossier):
    run(counter_dossier, "assign", "motcua", world, assignee=world.users["lanhdao"])
    dossier = run(counter_dossier, "pause", "lanhdao", world, note="Chờ xác minh")
    assert dossier.status == "paused"
    assert run(dossier, "resume", "lanhdao", world).status == "assigned"


def test_a_tampered_step_breaks_the_chain_there_and_after(world, counter_dossier):
    run(counter_dossier, "assign", "motcua", world, assignee=world.users["lanhdao"])
    DossierStep.objects.filter(dossier=counter_dossier, seq=2).update(note="sửa lén")
    report = chain.chain_verify(counter_dossier)
    assert not report.intact
    assert [link.ok for link in report.links] == [True, False, True]
    step = DossierStep.objects.get(dossier=counter_dossier, seq=2)
    record = dict(step.record, note="sửa lén")
    DossierStep.objects.filter(pk=step.pk).update(record=record)
    report = chain.chain_verify(counter_dossier)
    assert [link.ok for link in report.links] == [True, False, False]


def test_the_rating_comes_once_after_the_result(world, counter_dossier):
    with pytest.raises(DomainError):
        actions.dossier_rate(dossier=counter_dossier, rating=5)
    Dossier.objects.filter(pk=counter_dossier.pk).update(status="returned")
    counter_dossier.refresh_from_db()
    actions.dossier_rate(dossier=counter_dossier, rating=4, comment="Nhanh")
    with pytest.raises(DomainError):
        actions.dossier_rate(dossier=counter_dossier, rating=5)


# --- Work queue ---------------------------------------------------------------------------------
def test_the_work_queue_shows_each_officer_what_waits_on_her_most_urgent_first(
    world, procedure, counter_dossier
):
    late, _secret = actions.dossier_submit(
        procedure=procedure,
        commune=world.commune_a,
        applicant=APPLICANT,
        uploads=uploads(),
        channel="counter",
        by=world.users["motcua"],
    )
    Dossier.objects.filter(pk=late.pk).update(due=timezone.localdate() - datetime.timedelta(days=2))
    queue = list(selectors.work_queue_for_user(user=world.users["motcua"]))
    assert queue == [late, counter_dossier]
    assert list(selectors.work_queue_for_user(user=world.users["lanhdao"])) == []
    assert list(selectors.work_queue_for_user(user=world.users["canbo_b"])) == []


# --- API ------------------------------------------------------------------------------------------
def test_the_due_date_contract(client, db):
    response = client.get(
        "/api/v1/dossiers/calendar/due",
        {"start": "2026-02-13T16:00:00+07:00", "working_days": 3},
    )
    assert response.json() == {"received_on": "2026-02-23", "due": "2026-02-26"}
    utc = client.get(
        "/api/v1/dossiers/calendar/due",
        {"start": "2026-11-23T07:59:00+00:00", "working_days": 1},  # 14:59 in Vietnam
    )
    assert utc.json() == {"received_on": "2026-11-23", "due": "2026-11-24"}
    assert (
        client.get(
            "/api/v1/dossiers/calendar/due", {"start": "2026-11-23T09:00:00", "working_days": 1}
        ).status_code
        == 422
    )


def test_counter_intake_over_the_api(api_as, world, procedure):
    response = api_as("motcua").post(
        "/dossiers",
        {
            "procedure": "1.001193",
            "applicant": {"name": "Trần Văn Nam", "phone": "0987654321"},
            "channel": "counter",
            "documents": documents_json(),
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "received" and body["received_on"] and body["due"]
    assert CODE.match(body["code"]) and len(body["secret"]) == 8


def test_transitions_over_the_api_and_a_refused_one_is_a_409(api_as, counter_dossier):
    api = api_as("motcua")
    url = f"/dossiers/{counter_dossier.code}/transitions"
    assert api.post(url, {"action": "approve"}).status_code == 409
    response = api.post(url, {"action": "assign", "assignee": "lanhdao"})
    assert response.status_code == 200, response.content
    assert response.json()["assignee"] == "lanhdao" and response.json()["chain_intact"]
    assert api.post(url, {"action": "fly"}).status_code == 422


def test_online_submission_and_public_lookup_without_login(client, world, procedure):
    response = client.post(
        "/api/v1/public/dossiers",
        {
            "procedure": "1.001193",
            "commune": world.commune_a.code,
            "applicant": {"name": "Phạm Thị Hoa", "email": "hoa@example.vn"},
            "documents": documents_json(),
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    code, secret = response.json()["code"], response.json()["secret"]
    found = client.get(f"/api/v1/public/dossiers/{code}", {"secret": secret})
    assert found.status_code == 200 and found.json()["status"] == "submitted"
    assert "hoa@example.vn" not in found.content.decode()
    wrong = client.get(f"/api/v1/public/dossiers/{code}", {"secret": "WRONGSEC"})
    unknown = client.get("/api/v1/public/dossiers/NOPE-000000-0000", {"secret": secret})
    assert wrong.status_code == unknown.status_code == 404
    assert wrong.json() == unknown.json()


def test_public_lookups_are_rate_limited(client, world, counter_dossier):
    from django.core.cache import cache

    cache.clear()  # other tests looked up from the same address
    statuses = [
        client.get(f"/api/v1/public/dossiers/{counter_dossier.code}", {"secret": "X"}).status_code
        for _ in range(25)
    ]
    assert statuses[:20] == [404] * 20 and 429 in statuses


def test_commune_b_sees_nothing_of_commune_a(api_as, counter_dossier):
    api = api_as("canbo_b")
    assert api.get(f"/dossiers/{counter_dossier.code}").status_code == 404
    assert api.get("/dossiers").json()["count"] == 0


def test_procedures_are_listed_with_their_national_code(client, procedure):
    items = client.get("/api/v1/dossiers/procedures").json()["items"]
    assert [item["code"] for item in items] == ["1.001193"]


def test_only_administrators_add_procedures(api_as, procedure):
    body = {**dossier_data.BIRTH, "code": "1.000656", "name": "Đăng ký khai tử"}
    assert api_as("motcua").post("/dossiers/procedures", body).status_code == 403
    assert api_as("admin").post("/dossiers/procedures", body).status_code == 201


def test_a_procedure_whose_step_shares_do_not_sum_to_100_is_refused(world):
    bad = {**dossier_data.BIRTH, "steps": [{"action": "receive", "share": 10}]}
    with pytest.raises(InvalidInput, match="100%"):
        actions.procedure_save(values=bad, by=world.users["admin"])
