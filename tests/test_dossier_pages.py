"""The one-stop shop pages (issue 6): the officers' queue, counter intake with the secret shown
once, the dossier page and every action through it, documents and paper behind the scope
check, payments and receipts, the citizens' submission and lookup (right and wrong secrets
answer alike; rating and supplement), statistics with the XLSX export, and the administration
(catalogue import all-or-nothing, export round trip, calendar, signing key)."""

import csv
import datetime
import io
import json
import re

import openpyxl
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tests.dossier_data import (
    APPLICANT,
    BIRTH,
    birth_procedure,
    pdf_bytes,
    self_signed_certificate,
    uploads,
)
from xaso.accounts.actions import membership_grant
from xaso.accounts.roles import Role
from xaso.core.models import AuditEntry
from xaso.dossiers import actions
from xaso.dossiers.models import (
    CalendarOverride,
    Dossier,
    DossierStep,
    Procedure,
    SigningKey,
)

ROOT = "/mot-cua/"
CSRF = re.compile(r'(name="csrfmiddlewaretoken" value=|"X-CSRFToken": )"[^"]+"')


def _html(response) -> str:
    return response.content.decode()


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    cache.clear()  # the limits count per client address, the same for every test


@pytest.fixture
def procedure(world):
    return birth_procedure(world)


@pytest.fixture
def specialist(world):
    user = world.users["nobody"]
    membership_grant(
        user=user, place=world.commune_a, role=Role.SPECIALIST, by=world.users["admin"]
    )
    return user


def _counter(world, procedure, commune=None, by="motcua", applicant=APPLICANT):
    return actions.dossier_submit(
        procedure=procedure,
        commune=commune or world.commune_a,
        applicant=applicant,
        uploads=uploads(),
        channel="counter",
        by=world.users[by] if by != "admin" else world.users["admin"],
    )


@pytest.fixture
def dossier(world, procedure):
    return _counter(world, procedure)[0]


@pytest.fixture
def foreign(world, procedure):
    return _counter(world, procedure, commune=world.commune_b, by="admin")[0]


def _files(prefix="giay_to_"):
    return {
        f"{prefix}0": SimpleUploadedFile("to-khai.pdf", pdf_bytes("To khai"), "application/pdf"),
        f"{prefix}1": SimpleUploadedFile("chung-sinh.pdf", pdf_bytes("CS"), "application/pdf"),
    }


# --- Who sees what ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("persona", "status"),
    [
        ("motcua", 200),
        ("lanhdao", 200),
        ("canbo_b", 200),
        ("tinh", 200),
        ("quantri", 200),
        ("congan", 404),
        ("nobody", 404),
    ],
)
def test_the_queue_opens_for_one_stop_roles_only(client_as, dossier, persona, status):
    assert client_as(persona).get(ROOT).status_code == status


def test_an_anonymous_visitor_is_sent_to_log_in(client, dossier):
    response = client.get(f"{ROOT}ho-so/{dossier.code}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_menu_shows_the_one_stop_entry_to_its_roles(client_as, dossier):
    assert "Một cửa" in _html(client_as("motcua").get("/"))
    assert "Một cửa" not in _html(client_as("congan").get("/"))


@pytest.mark.parametrize(
    ("persona", "sees_a", "sees_b"),
    [("motcua", True, False), ("canbo_b", False, True), ("tinh", True, True)],
)
def test_each_persona_finds_only_the_dossiers_of_her_communes(
    client_as, dossier, foreign, persona, sees_a, sees_b
):
    html = _html(client_as(persona).get(ROOT, {"tat-ca": "1"}))
    assert (dossier.code in html) == sees_a
    assert (foreign.code in html) == sees_b


def test_a_foreign_code_answers_like_an_unknown_one(client_as, foreign):
    client = client_as("motcua")
    assert client.get(f"{ROOT}ho-so/{foreign.code}/").status_code == 404
    assert client.get(f"{ROOT}ho-so/NOPE-000000-0000/").status_code == 404
    document = foreign.documents.first()
    assert client.get(f"{ROOT}ho-so/{foreign.code}/tai-lieu/{document.pk}/").status_code == 404
    assert client.get(f"{ROOT}ho-so/{foreign.code}/mau/06/").status_code == 404
    response = client.post(f"{ROOT}ho-so/{foreign.code}/buoc/assign/", {"assignee": "motcua"})
    assert response.status_code == 404
    assert foreign.steps.count() == 2


def test_the_queue_puts_overdue_dossiers_first_in_red(client_as, world, procedure, dossier):
    late, _secret = _counter(world, procedure)
    Dossier.objects.filter(pk=late.pk).update(due=timezone.localdate() - datetime.timedelta(3))
    html = _html(client_as("motcua").get(ROOT))
    assert html.index(late.code) < html.index(dossier.code)
    assert "Quá hạn 3 ngày" in html and 'class="u-red"' in html


def test_the_queue_searches_by_phone_cccd_name_and_code(client_as, world, procedure, dossier):
    other, _ = _counter(world, procedure, applicant={"name": "Lê Văn Tám", "phone": "0988111222"})
    client = client_as("motcua")
    for query in ("0912345678", "022190001234", "nguyen thi mai", dossier.code):
        html = _html(client.get(ROOT, {"q": query}))
        assert dossier.code in html and other.code not in html, query


def test_the_queue_filters_by_status_and_procedure(client_as, world, procedure, dossier):
    html = _html(client_as("motcua").get(ROOT, {"status": "returned"}))
    assert dossier.code not in html
    html = _html(client_as("motcua").get(ROOT, {"procedure": procedure.code}))
    assert dossier.code in html
    assert client_as("motcua").get(ROOT, {"status": "flying"}).status_code == 400


def test_live_search_answers_only_the_results_fragment(client_as, dossier):
    response = client_as("motcua").get(
        ROOT, {"q": dossier.code}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results"
    )
    html = _html(response)
    assert dossier.code in html and "<html" not in html


def test_a_specialist_finds_in_her_queue_what_was_assigned_to_her(
    client_as, world, dossier, specialist
):
    assert dossier.code not in _html(client_as(specialist.username).get(ROOT))
    actions.dossier_transition(
        dossier=dossier, action="assign", by=world.users["motcua"], assignee=specialist
    )
    assert dossier.code in _html(client_as(specialist.username).get(ROOT))
    assert dossier.code not in _html(client_as("motcua").get(ROOT))


def test_money_on_a_foreign_dossier_answers_404(client_as, foreign):
    response = client_as("motcua").post(
        f"{ROOT}ho-so/{foreign.code}/thu-phi/", {"fee_name": "x", "amount": 1, "method": "cash"}
    )
    assert response.status_code == 404 and not foreign.payments.exists()


def test_the_queue_has_a_fixed_number_of_queries(
    client_as, world, procedure, django_assert_num_queries
):
    for _ in range(30):
        _counter(world, procedure)
    client = client_as("motcua")
    client.get(ROOT)  # warm the session
    # Session, user, memberships, the user's communes, procedures (filter), count, rows,
    # calendar overrides (urgency).
    with django_assert_num_queries(8):
        response = client.get(ROOT)
    assert response.status_code == 200 and _html(response).count('class="u-') == 25


# --- Counter intake -----------------------------------------------------------------------------
def test_counter_intake_shows_the_secret_once_and_never_stores_it(client_as, procedure):
    client = client_as("motcua")
    form = client.get(f"{ROOT}tiep-nhan/", {"thu-tuc": procedure.code})
    assert "Giấy chứng sinh" in _html(form) and 'type="file"' in _html(form)
    response = client.post(
        f"{ROOT}tiep-nhan/?thu-tuc={procedure.code}",
        {"name": "Trần Văn Nam", "phone": "0987654321", "id_number": "", **_files()},
    )
    assert response.status_code == 201, _html(response)[:3000]
    assert response["Cache-Control"] == "private, no-store"
    dossier = Dossier.objects.get()
    secret = re.search(r'id="secret">([0-9A-Z]{8})<', _html(response))[1]
    assert dossier.status == "received" and actions.secret_matches(dossier, secret)
    assert secret not in json.dumps(list(Dossier.objects.values()), default=str)
    assert not AuditEntry.objects.filter(changes__icontains=secret).exists()
    # The dossier page never shows it again.
    assert secret not in _html(client.get(f"{ROOT}ho-so/{dossier.code}/"))
    # Form 01 with the secret, posted back from the success page.
    slip = client.post(f"{ROOT}ho-so/{dossier.code}/phieu-hen/", {"secret": secret})
    assert slip.status_code == 200 and slip.content.startswith(b"%PDF")
    wrong = client.post(f"{ROOT}ho-so/{dossier.code}/phieu-hen/", {"secret": "WRONG123"})
    assert wrong.status_code == 400


def test_counter_intake_with_a_missing_document_is_a_form_error(client_as, procedure):
    files = _files()
    del files["giay_to_1"]
    response = client_as("motcua").post(
        f"{ROOT}tiep-nhan/?thu-tuc={procedure.code}", {"name": "A", "phone": "0987654321", **files}
    )
    assert response.status_code == 400 and not Dossier.objects.exists()


def test_counter_intake_with_a_bad_phone_names_the_field(client_as, procedure):
    response = client_as("motcua").post(
        f"{ROOT}tiep-nhan/?thu-tuc={procedure.code}", {"name": "A", "phone": "12", **_files()}
    )
    assert response.status_code == 400
    assert "Số điện thoại không hợp lệ" in _html(response)


def test_only_receiving_officers_open_the_intake(client_as, procedure):
    assert client_as("lanhdao").get(f"{ROOT}tiep-nhan/").status_code == 404
    assert client_as("motcua").get(f"{ROOT}tiep-nhan/").status_code == 200
    assert client_as("motcua").get(f"{ROOT}tiep-nhan/", {"thu-tuc": "9.999"}).status_code == 400


# --- The dossier page ---------------------------------------------------------------------------
def test_the_dossier_page_masks_the_applicant_and_reveals_with_an_audit_row(client_as, dossier):
    client = client_as("motcua")
    html = _html(client.get(f"{ROOT}ho-so/{dossier.code}/"))
    assert "0912345678" not in html and "•••••••678" in html
    assert "022190001234" not in html and "234" in html
    assert "Chuỗi chữ ký: nguyên vẹn ✓" in html
    response = client.post(f"{ROOT}ho-so/{dossier.code}/hien/id_number/", HTTP_HX_REQUEST="true")
    assert "022190001234" in _html(response)
    assert AuditEntry.objects.filter(verb="dossier.applicant_id_number_revealed").count() == 1
    assert client_as("tinh").post(f"{ROOT}ho-so/{dossier.code}/hien/phone/").status_code == 404


def test_a_tampered_step_shows_where_the_chain_breaks(client_as, dossier):
    DossierStep.objects.filter(dossier=dossier, seq=2).update(note="sửa lén")
    html = _html(client_as("motcua").get(f"{ROOT}ho-so/{dossier.code}/"))
    assert "Chuỗi chữ ký: bị sửa ✗ tại bước 2" in html


def test_the_actions_offered_follow_the_status_and_the_capability(client_as, dossier):
    officer = _html(client_as("motcua").get(f"{ROOT}ho-so/{dossier.code}/"))
    assert "/buoc/assign/" in officer and "/buoc/approve/" not in officer
    viewer = _html(client_as("tinh").get(f"{ROOT}ho-so/{dossier.code}/"))
    assert "/buoc/" not in viewer


def test_a_dossier_goes_through_every_step_on_its_page(client_as, world, dossier, specialist):
    page = f"{ROOT}ho-so/{dossier.code}/"

    def step(persona, action, data=None, status=302):
        response = client_as(persona).post(f"{page}buoc/{action}/", data or {})
        assert response.status_code == status, _html(response)[:2000]
        return response

    html = _html(client_as("motcua").get(page))
    assert f'value="{specialist.username}"' in html  # a specialist of the commune
    step("motcua", "assign", {"assignee": specialist.username})
    step(specialist.username, "appraise", {"note": "Đủ điều kiện"})
    step("motcua", "approve", status=403)
    step("lanhdao", "approve")
    result = SimpleUploadedFile("kq.pdf", pdf_bytes("Ket qua"), "application/pdf")
    step(specialist.username, "issue_result", {"result": result})
    step("motcua", "return", {"returned_via": "counter"})
    dossier.refresh_from_db()
    assert dossier.status == "returned" and dossier.documents.filter(kind="result").exists()
    html = _html(client_as("lanhdao").get(page))
    assert "Đã trả kết quả" in html and "Chuỗi chữ ký: nguyên vẹn ✓" in html
    signed = client_as("lanhdao").get(f"{page}mau/result/")
    assert signed.status_code == 200 and signed.content.startswith(b"%PDF")
    control = client_as("lanhdao").get(f"{page}mau/06/")
    assert control.status_code == 200 and control.content.startswith(b"%PDF")


def test_a_refused_step_is_a_form_error_with_400(client_as, dossier):
    page = f"{ROOT}ho-so/{dossier.code}/"
    missing_reason = client_as("motcua").post(f"{page}buoc/request_supplement/", {"note": ""})
    assert missing_reason.status_code == 400
    no_assignee = client_as("motcua").post(f"{page}buoc/assign/", {"assignee": "nobody"})
    assert no_assignee.status_code == 400
    wrong_state = client_as("motcua").post(f"{page}buoc/return/", {"returned_via": "counter"})
    assert wrong_state.status_code == 400 and "Không thể" in _html(wrong_state)
    assert client_as("motcua").post(f"{page}buoc/fly/").status_code == 404
    assert dossier.steps.count() == 2


def test_extend_pause_resume_supplement_and_their_forms(client_as, dossier):
    page = f"{ROOT}ho-so/{dossier.code}/"
    later = dossier.due + datetime.timedelta(days=7)
    bad = client_as("lanhdao").post(f"{page}buoc/extend/", {"note": "Xin lỗi", "new_due": "x"})
    assert bad.status_code == 400
    response = client_as("lanhdao").post(
        f"{page}buoc/extend/", {"note": "Xin lỗi", "new_due": later.isoformat()}
    )
    assert response.status_code == 302
    client_as("lanhdao").post(f"{page}buoc/pause/", {"note": "Chờ xác minh"})
    client_as("lanhdao").post(f"{page}buoc/resume/")
    client_as("motcua").post(f"{page}buoc/request_supplement/", {"note": "Thiếu bản sao"})
    dossier.refresh_from_db()
    assert dossier.extended_due == later and dossier.status == "supplement"
    html = _html(client_as("motcua").get(page))
    assert "mau/04/" in html and "mau/02/" in html
    apology = client_as("motcua").get(f"{page}mau/04/")
    assert apology.status_code == 200 and apology.content.startswith(b"%PDF")


def test_documents_download_only_within_scope(client_as, dossier):
    document = dossier.documents.first()
    url = f"{ROOT}ho-so/{dossier.code}/tai-lieu/{document.pk}/"
    response = client_as("motcua").get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF")
    assert client_as("canbo_b").get(url).status_code == 404
    [opened] = AuditEntry.objects.filter(verb="dossier.document_opened")  # not the refused one
    assert opened.actor.username == "motcua"
    assert opened.changes["document"] == document.pk


# --- Payments and receipts ----------------------------------------------------------------------
def test_a_cash_fee_becomes_a_receipt_which_can_be_replaced_and_cancelled(client_as, dossier):
    page = f"{ROOT}ho-so/{dossier.code}/"
    client = client_as("motcua")
    response = client.post(
        f"{page}thu-phi/", {"fee_name": BIRTH["fee_name"], "amount": 8000, "method": "cash"}
    )
    assert response.status_code == 302
    payment = dossier.payments.get()
    response = client.post(
        f"{page}bien-lai/",
        {
            "payment": payment.public_id,
            "fee_name": payment.fee_name,
            "amount": 8000,
            "method": "cash",
        },
    )
    assert response.status_code == 302, _html(response)[:2000]
    receipt = dossier.receipts.get()
    html = _html(client.get(page))
    assert "8.000 ₫" in html and f"{receipt.number:07d}" in html
    pdf = client.get(f"{ROOT}bien-lai/{receipt.public_id}/pdf/")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert client.post(f"{ROOT}bien-lai/{receipt.public_id}/thay-the/", {}).status_code == 400
    response = client.post(
        f"{ROOT}bien-lai/{receipt.public_id}/thay-the/", {"reason": "Sai số tiền", "amount": 5000}
    )
    assert response.status_code == 302
    new = dossier.receipts.get(status="issued")
    assert new.amount == 5000 and new.replaces_id == receipt.pk
    response = client.post(f"{ROOT}bien-lai/{new.public_id}/huy/", {"reason": "Thu nhầm"})
    assert response.status_code == 302
    assert not dossier.receipts.filter(status="issued").exists()


def test_a_vietqr_payment_shows_its_qr_and_needs_confirmation(client_as, dossier, settings):
    settings.XASO_BANK_BIN, settings.XASO_BANK_ACCOUNT = "970416", "0123456789"
    page = f"{ROOT}ho-so/{dossier.code}/"
    client = client_as("motcua")
    client.post(f"{page}thu-phi/", {"fee_name": "Lệ phí", "amount": 8000, "method": "vietqr"})
    payment = dossier.payments.get()
    html = _html(client.get(page))
    assert f"/thanh-toan/{payment.public_id}/qr.svg" in html
    qr = client.get(f"{ROOT}thanh-toan/{payment.public_id}/qr.svg")
    assert qr.status_code == 200 and b"<svg" in qr.content
    early = client.post(
        f"{page}bien-lai/",
        {"payment": payment.public_id, "fee_name": "Lệ phí", "amount": 8000, "method": "vietqr"},
    )
    assert early.status_code == 400
    confirm = client.post(
        f"{ROOT}thanh-toan/{payment.public_id}/xac-nhan/", {"bank_reference": "FT123"}
    )
    assert confirm.status_code == 302
    payment.refresh_from_db()
    assert payment.status == "paid"


def test_only_receipt_officers_take_money(client_as, dossier):
    response = client_as("lanhdao").post(
        f"{ROOT}ho-so/{dossier.code}/thu-phi/", {"fee_name": "x", "amount": 1, "method": "cash"}
    )
    assert response.status_code == 403 and not dossier.payments.exists()


# --- Citizens: online submission and lookup -----------------------------------------------------
def _submit_online(client, world, procedure, **extra):
    return client.post(
        f"/nop-ho-so/{procedure.code}/",
        {
            "commune": world.commune_a.code,
            "name": "Phạm Thị Hoa",
            "phone": "0977123456",
            **_files(),
            **extra,
        },
    )


def test_a_citizen_submits_online_and_sees_the_code_and_secret_once(client, world, procedure):
    start = _html(client.get("/nop-ho-so/"))
    assert procedure.name in start
    form = client.get(f"/nop-ho-so/{procedure.code}/")
    assert form.status_code == 200 and world.commune_a.name in _html(form)
    response = _submit_online(client, world, procedure)
    assert response.status_code == 201, _html(response)[:3000]
    dossier = Dossier.objects.get()
    html = _html(response)
    secret = re.search(r'id="secret" class="secret">([0-9A-Z]{8})<', html)[1]
    assert dossier.channel == "online" and dossier.status == "submitted"
    assert actions.secret_matches(dossier, secret) and secret not in dossier.secret_hash
    assert f"/tra-cuu-ho-so/?ma={dossier.code}" in html
    assert response["Cache-Control"] == "private, no-store"


def test_offline_only_procedures_take_no_online_dossiers(client, world, procedure):
    Procedure.objects.filter(pk=procedure.pk).update(online_level="none")
    assert client.get(f"/nop-ho-so/{procedure.code}/").status_code == 404
    assert procedure.name not in _html(client.get("/nop-ho-so/"))


def test_a_bad_online_submission_is_a_400_with_the_error(client, world, procedure):
    response = _submit_online(client, world, procedure, phone="", email="")
    assert response.status_code == 400 and "điện thoại hoặc e-mail" in _html(response)
    bad_file = {"giay_to_0": SimpleUploadedFile("x.pdf", b"MZ not a pdf", "application/pdf")}
    response = _submit_online(client, world, procedure, **bad_file)
    assert response.status_code == 400 and "không phải PDF" in _html(response)
    assert not Dossier.objects.exists()


def test_online_submissions_are_rate_limited(client, world, procedure):
    statuses = [_submit_online(client, world, procedure).status_code for _ in range(21)]
    assert statuses[:20] == [201] * 20 and statuses[20] == 429


def test_the_lookup_prefills_the_code_and_finds_the_dossier_with_its_secret(
    client, world, procedure
):
    dossier, secret = _counter(world, procedure)
    prefilled = _html(client.get("/tra-cuu-ho-so/", {"ma": dossier.code}))
    assert f'value="{dossier.code}"' in prefilled
    response = client.post("/tra-cuu-ho-so/", {"code": dossier.code, "secret": secret.lower()})
    html = _html(response)
    assert response.status_code == 200 and "Đã tiếp nhận" in html
    assert dossier.due.strftime("%d/%m/%Y") in html
    assert "Mai" not in html and "motcua" not in html  # no applicant, no officer


def test_a_wrong_secret_answers_exactly_like_an_unknown_code(client, world, procedure):
    dossier, _secret = _counter(world, procedure)
    wrong = client.post("/tra-cuu-ho-so/", {"code": dossier.code, "secret": "WRONG234"})
    unknown = client.post("/tra-cuu-ho-so/", {"code": "NOPE-000000-0001", "secret": "WRONG234"})
    assert wrong.status_code == unknown.status_code == 404

    def normalised(response, code):
        return CSRF.sub("", _html(response)).replace(code, "CODE")

    assert normalised(wrong, dossier.code) == normalised(unknown, "NOPE-000000-0001")


def test_lookups_are_rate_limited(client, world, procedure):
    dossier, _secret = _counter(world, procedure)
    statuses = [
        client.post("/tra-cuu-ho-so/", {"code": dossier.code, "secret": "X"}).status_code
        for _ in range(21)
    ]
    assert statuses[:20] == [404] * 20 and statuses[20] == 429


def test_the_citizen_rates_once_after_the_result(client, world, procedure, specialist):
    dossier, secret = _counter(world, procedure)
    for action, persona, options in [
        ("assign", "motcua", {"assignee": specialist}),
        ("appraise", "nobody", {}),
        ("approve", "lanhdao", {}),
        ("issue_result", "nobody", {}),
        ("return", "motcua", {"returned_via": "online"}),
    ]:
        actions.dossier_transition(
            dossier=dossier, action=action, by=world.users[persona], **options
        )
    credentials = {"code": dossier.code, "secret": secret}
    html = _html(client.post("/tra-cuu-ho-so/", credentials))
    assert "Đã trả kết quả" in html and 'name="rating"' in html
    result = client.post("/tra-cuu-ho-so/ket-qua/", credentials)
    assert result.status_code == 200 and result.content.startswith(b"%PDF")
    bad = client.post("/tra-cuu-ho-so/danh-gia/", {**credentials, "rating": "9"})
    assert bad.status_code == 400
    response = client.post(
        "/tra-cuu-ho-so/danh-gia/", {**credentials, "rating": "5", "comment": "Nhanh"}
    )
    assert response.status_code == 200 and "Cảm ơn" in _html(response)
    dossier.refresh_from_db()
    assert dossier.rating == 5 and dossier.rating_comment == "Nhanh"
    again = client.post("/tra-cuu-ho-so/danh-gia/", {**credentials, "rating": "1"})
    assert again.status_code == 400
    dossier.refresh_from_db()
    assert dossier.rating == 5
    forged = client.post(
        "/tra-cuu-ho-so/danh-gia/", {"code": dossier.code, "secret": "WRONG234", "rating": "1"}
    )
    assert forged.status_code == 404


def test_the_citizen_supplements_through_the_lookup_page(client, world, procedure):
    dossier, secret = _counter(world, procedure)
    actions.dossier_transition(
        dossier=dossier, action="request_supplement", by=world.users["motcua"], note="Thiếu"
    )
    credentials = {"code": dossier.code, "secret": secret}
    html = _html(client.post("/tra-cuu-ho-so/", credentials))
    assert "Bổ sung hồ sơ" in html and 'type="file"' in html
    empty = client.post("/tra-cuu-ho-so/bo-sung/", credentials)
    assert empty.status_code == 400
    upload = SimpleUploadedFile("uq.pdf", pdf_bytes("UQ"), "application/pdf")
    response = client.post("/tra-cuu-ho-so/bo-sung/", {**credentials, "giay_to_2": upload})
    assert response.status_code == 200, _html(response)[:2000]
    assert dossier.documents.filter(kind="supplement", name="Văn bản uỷ quyền").exists()
    assert dossier.steps.order_by("-seq").first().action == "supplement"


# --- Statistics ---------------------------------------------------------------------------------
def test_statistics_show_the_figures_and_the_xlsx_reads_back(client_as, world, dossier):
    actions.dossier_submit(
        procedure=dossier.procedure,
        commune=world.commune_a,
        applicant=APPLICANT,
        uploads=uploads(),
    )
    client = client_as("lanhdao")
    html = _html(client.get(f"{ROOT}thong-ke/"))
    assert ("<svg" in html and "QĐ 766" not in html) or "766" in html
    assert "ước tính" in html and "50,0 %" in html  # one of two online
    assert 'id="signed-share">100,0 %' in html
    response = client.get(f"{ROOT}thong-ke/xuat.xlsx")
    assert response.status_code == 200
    workbook = openpyxl.load_workbook(io.BytesIO(response.content))
    summary = {row[0]: row[1] for row in workbook["Tổng hợp"].iter_rows(values_only=True)}
    assert summary["Hồ sơ tiếp nhận"] == 2 and summary["Nộp trực tuyến"] == 1
    assert summary["Hồ sơ có mọi bước ký số hợp lệ"] == 2
    assert "QĐ 766 (ước tính)" in workbook.sheetnames
    assert client.get(f"{ROOT}thong-ke/", {"since": "x"}).status_code == 400
    assert client_as("canbo_b").get(f"{ROOT}thong-ke/xuat.xlsx").status_code == 200


def test_the_register_form_07_downloads_for_a_period(client_as, world, dossier):
    today = timezone.localdate().isoformat()
    params = {"commune": world.commune_a.code, "since": today, "until": today}
    pdf = client_as("lanhdao").get(f"{ROOT}so-theo-doi/", {**params, "kind": "pdf"})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    xlsx = client_as("lanhdao").get(f"{ROOT}so-theo-doi/", {**params, "kind": "xlsx"})
    assert xlsx.status_code == 200 and dossier.code in str(
        list(openpyxl.load_workbook(io.BytesIO(xlsx.content)).active.values)
    )
    foreign = {**params, "commune": world.commune_b.code, "kind": "pdf"}
    assert client_as("lanhdao").get(f"{ROOT}so-theo-doi/", foreign).status_code == 400


# --- Administration -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url", ["thu-tuc/", "thu-tuc/them/", "thu-tuc/nhap/", "lich/", "chu-ky-so/", "thu-tuc/xuat.csv"]
)
def test_administration_is_for_procedure_managers_only(client_as, url):
    assert client_as("lanhdao").get(f"{ROOT}{url}").status_code == 404
    assert client_as("quantri").get(f"{ROOT}{url}").status_code == 200


def test_a_procedure_is_created_and_edited_with_simple_lines(client_as, procedure):
    client = client_as("quantri")
    values = {
        "code": "1.000656",
        "name": "Đăng ký khai tử",
        "field": "Hộ tịch",
        "processing_days": "1",
        "fee_amount": "0",
        "documents": "Tờ khai\nGiấy báo tử (không bắt buộc)",
        "online_level": "full",
        "steps": "receive; 20\nappraise; 80",
        "is_active": "on",
    }
    assert client.post(f"{ROOT}thu-tuc/them/", values).status_code == 302
    created = Procedure.objects.get(code="1.000656")
    assert created.documents == [
        {"name": "Tờ khai", "required": True},
        {"name": "Giấy báo tử", "required": False},
    ]
    assert [step["share"] for step in created.steps] == [20, 80]
    edit = _html(client.get(f"{ROOT}thu-tuc/1.000656/sua/"))
    assert "Giấy báo tử (không bắt buộc)" in edit
    bad = client.post(f"{ROOT}thu-tuc/1.000656/sua/", {**values, "steps": "receive; 20"})
    assert bad.status_code == 400 and "100%" in _html(bad)


def test_import_is_all_or_nothing_and_names_the_line(client_as, procedure):
    rows = [
        {**BIRTH, "code": "1.000001", "name": "Thủ tục một"},
        {**BIRTH, "code": "1.000002", "name": "Thủ tục hai", "processing_days": "x"},
    ]
    upload = SimpleUploadedFile("tt.json", json.dumps(rows).encode(), "application/json")
    response = client_as("quantri").post(f"{ROOT}thu-tuc/nhap/", {"file": upload})
    assert response.status_code == 400 and "Dòng 2" in _html(response)
    assert not Procedure.objects.filter(code="1.000001").exists()
    text = "code,name,processing_days\n1.000003,Ba,3\n1.000004,,3\n"
    upload = SimpleUploadedFile("tt.csv", text.encode(), "text/csv")
    response = client_as("quantri").post(f"{ROOT}thu-tuc/nhap/", {"file": upload})
    assert response.status_code == 400 and "Dòng 3" in _html(response)  # header is line 1
    assert not Procedure.objects.filter(code="1.000003").exists()


def test_export_round_trips_through_import(client_as, procedure):
    client = client_as("quantri")
    for kind in ("csv", "json"):
        exported = client.get(f"{ROOT}thu-tuc/xuat.{kind}")
        assert exported.status_code == 200
        Procedure.objects.filter(pk=procedure.pk).update(name="Đổi tên", documents=[], steps=[])
        upload = SimpleUploadedFile(f"tt.{kind}", exported.content)
        response = client.post(f"{ROOT}thu-tuc/nhap/", {"file": upload})
        assert response.status_code == 302, _html(response)[:2000]
        procedure.refresh_from_db()
        assert procedure.name == BIRTH["name"]
        assert procedure.documents == BIRTH["documents"]
        assert [s["share"] for s in procedure.steps] == [10, 50, 30, 10]
    rows = list(csv.DictReader(io.StringIO(exported_csv(client))))
    assert rows[0]["code"] == "1.001193"


def exported_csv(client) -> str:
    return client.get(f"{ROOT}thu-tuc/xuat.csv").content.decode("utf-8-sig")


def test_calendar_lists_the_holidays_and_takes_overrides(client_as):
    client = client_as("quantri")
    html = _html(client.get(f"{ROOT}lich/", {"nam": "2026"}))
    assert "17/02/2026" in html and "26/04/2026" in html  # Tết, Hùng Kings' day
    response = client.post(f"{ROOT}lich/", {"day": "2026-05-02", "working": "0", "note": "Nghỉ bù"})
    assert response.status_code == 302
    assert CalendarOverride.objects.get(day=datetime.date(2026, 5, 2)).working is False
    assert "Nghỉ bù" in _html(client.get(f"{ROOT}lich/", {"nam": "2026"}))
    assert client.post(f"{ROOT}lich/", {"day": "x", "working": "0"}).status_code == 400
    client.post(f"{ROOT}lich/xoa/", {"day": "2026-05-02"})
    assert not CalendarOverride.objects.exists()


def _pkcs12(passphrase: bytes) -> bytes:
    certificate, key = self_signed_certificate("UBND Xa Quang Tan", days=365)
    return pkcs12.serialize_key_and_certificates(
        b"xa", key, certificate, None, serialization.BestAvailableEncryption(passphrase)
    )


def test_the_signing_key_page_shows_the_demo_key_and_imports_a_pkcs12(client_as, world, dossier):
    client = client_as("quantri")
    html = _html(client.get(f"{ROOT}chu-ky-so/"))
    assert (
        "dùng thử" in html and SigningKey.objects.get(commune=world.commune_a).fingerprint in html
    )
    data = _pkcs12(b"mat-khau")
    wrong = client.post(
        f"{ROOT}chu-ky-so/",
        {
            "commune": world.commune_a.code,
            "file": SimpleUploadedFile("k.p12", data),
            "passphrase": "sai",
        },
    )
    assert wrong.status_code == 400 and "PKCS#12" in _html(wrong)
    response = client.post(
        f"{ROOT}chu-ky-so/",
        {
            "commune": world.commune_a.code,
            "file": SimpleUploadedFile("k.p12", data),
            "passphrase": "mat-khau",
        },
    )
    assert response.status_code == 302
    active = SigningKey.objects.get(commune=world.commune_a, is_active=True)
    assert "UBND Xa Quang Tan" in _html(client.get(f"{ROOT}chu-ky-so/"))
    assert active.label != "" and "dùng thử" not in active.label
