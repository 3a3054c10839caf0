"""One-stop shop paper (issue 6): the Decree 118/2025 forms, the register and the result, as
real PDFs (read back with pypdf) signed with PAdES (validated with pyHanko), and the register
as XLSX (read back with openpyxl)."""

import datetime
import io
import re

import pytest
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from django.utils import timezone
from openpyxl import load_workbook
from PIL import Image
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from tests import dossier_data
from tests.dossier_data import APPLICANT, birth_procedure, uploads
from xaso.core.errors import DomainError, InvalidInput
from xaso.dossiers import actions, printing, selectors, signing
from xaso.dossiers.models import DossierStep
from xaso.lib import pdf
from xaso.lib.labels import qr_matrix


@pytest.fixture
def procedure(world):
    return birth_procedure(world)


@pytest.fixture
def intake(world, procedure):
    """A dossier received at the counter, with the secret printed on its slip."""
    return actions.dossier_submit(
        procedure=procedure,
        commune=world.commune_a,
        applicant=dict(APPLICANT, address="Thôn Đồng Tâm, xã Quảng Tân"),
        uploads=uploads(),
        channel="counter",
        by=world.users["motcua"],
    )


@pytest.fixture
def dossier(intake):
    return intake[0]


def run(dossier, action, persona, world, **options):
    return actions.dossier_transition(
        dossier=dossier, action=action, by=world.users[persona], **options
    )


def to_result(dossier, world, result=None):
    dossier = run(dossier, "assign", "motcua", world, assignee=world.users["lanhdao"])
    dossier = run(dossier, "appraise", "lanhdao", world)
    dossier = run(dossier, "approve", "lanhdao", world, note="Đồng ý cấp giấy khai sinh.")
    return run(dossier, "issue_result", "lanhdao", world, result=result)


def words(data: bytes) -> str:
    """The whole document's text, every run of whitespace made one space."""
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join(page.extract_text() for page in reader.pages).split())


def validation_context(commune) -> ValidationContext:
    """Trust exactly the commune's (demo) CA, as a reader who installed it would."""
    key = signing.signing_key_for(commune)
    roots = [
        asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))
        for ca in signing.chain(key)
    ]
    return ValidationContext(trust_roots=roots)


def signature_status(data: bytes, commune, index: int = -1):
    reader = PdfFileReader(io.BytesIO(data))
    embedded = reader.embedded_signatures[index]
    return embedded, validate_pdf_signature(embedded, validation_context(commune))


def assert_signed_by_commune(data: bytes, commune) -> None:
    embedded, status = signature_status(data, commune)
    assert status.intact and status.valid and status.trusted, status.pretty_print_details()
    assert status.bottom_line
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"
    assert embedded.coverage.name == "ENTIRE_FILE"
    key = signing.signing_key_for(commune)
    assert embedded.signer_cert.dump() == signing.certificate(key).public_bytes(
        serialization.Encoding.DER
    )


def qr_drawn(data: bytes, url: str) -> bool:
    """Whether the first page draws the QR code of `url` (its dark runs, as pdf.QrCode writes
    them), so the QR is known to hold exactly that URL."""
    from xaso.lib.labels import dark_runs

    content = PdfReader(io.BytesIO(data)).pages[0].get_contents().get_data().decode("latin-1")
    runs = "\n".join(f"{c} {r} {n} 1 re" for r, c, n in dark_runs(qr_matrix(url)))
    return runs in content


def local_date(moment) -> str:
    return f"{timezone.localtime(moment):%d/%m/%Y}"


# --- Layout helpers (xaso/lib/pdf.py) -----------------------------------------------------------
@pytest.mark.parametrize(
    "day, line",
    [
        (datetime.date(2025, 7, 5), "Quảng Tân, ngày 05 tháng 7 năm 2025"),
        (datetime.date(2026, 2, 17), "Quảng Tân, ngày 17 tháng 02 năm 2026"),
        (datetime.date(2025, 12, 31), "Quảng Tân, ngày 31 tháng 12 năm 2025"),
    ],
)
def test_the_place_and_date_line_pads_days_below_ten_and_the_first_two_months(day, line):
    assert pdf.place_date("Quảng Tân", day) == line


def test_a_layout_page_carries_the_national_heading_and_escapes_what_it_is_given():
    doc = pdf.Document(font_path=dossier_data_font(), title="Thử", form_label="Mẫu số 99")
    doc.heading(pdf.Heading(authority="UBND Xã Quảng Tân", body="Bộ phận một cửa"))
    doc.title("Phiếu thử")
    doc.fields([("Họ tên", "Nguyễn <b>Văn</b> & Tèo")])
    doc.table(["STT", "Nội dung"], [["1", "Dòng một"]], widths=[1, 5])
    doc.signatures([pdf.Signature("Người lập", name="Lê Thị Hoa")])
    text = words(doc.render())
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "Độc lập - Tự do - Hạnh phúc" in text
    assert "UBND XÃ QUẢNG TÂN" in text and "BỘ PHẬN MỘT CỬA" in text
    assert "Nguyễn <b>Văn</b> & Tèo" in text and "Mẫu số 99" in text
    assert "NGƯỜI LẬP" in text and "Lê Thị Hoa" in text


def dossier_data_font() -> str:
    from django.conf import settings

    return settings.XASO_PDF_FONT


# --- Form 01 ------------------------------------------------------------------------------------
def test_the_appointment_slip_is_signed_by_the_commune_and_reads_back(world, intake):
    dossier, secret = intake
    data = printing.appointment_slip_pdf(dossier, secret=secret)
    assert_signed_by_commune(data, world.commune_a)
    text = words(data)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text and "Mẫu số 01" in text
    assert dossier.code in text and f"{secret[:4]}-{secret[4:]}" in text
    assert f"{dossier.due:%d/%m/%Y}" in text
    assert "Nguyễn Thị Mai" in text and "Đăng ký khai sinh" in text
    assert "Tờ khai đăng ký khai sinh" in text and "Giấy chứng sinh" in text
    assert "Trực tiếp" in text and "motcua" in text  # the channel and the receiving officer
    assert f"{timezone.localtime(dossier.received_at):%H:%M %d/%m/%Y}" in text
    assert "UBND XÃ QUẢNG TÂN" in text and "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "8.000 ₫" in text


def test_the_slip_qr_leads_to_the_public_lookup_and_never_holds_the_secret(world, intake, settings):
    settings.XASO_PUBLIC_URL = "https://xa.example.vn"
    dossier, secret = intake
    data = printing.appointment_slip_pdf(dossier, secret=secret)
    url = printing.lookup_url(dossier)
    assert url == f"https://xa.example.vn/tra-cuu-ho-so/?ma={dossier.code}"
    assert secret not in url
    assert qr_drawn(data, url)
    assert not qr_drawn(data, f"{url}&secret={secret}")


def test_a_slip_is_refused_a_wrong_secret_and_reprinted_without_one(world, intake):
    dossier, secret = intake
    with pytest.raises(InvalidInput):
        printing.appointment_slip_pdf(dossier, secret="ZZZZZZZZ")
    text = words(printing.appointment_slip_pdf(dossier, secret=""))
    assert dossier.code in text and secret not in text.replace("-", "")
    assert "đã cấp khi nộp hồ sơ" in text


def test_an_online_dossier_not_yet_received_has_no_slip(world, procedure):
    dossier, secret = actions.dossier_submit(
        procedure=procedure, commune=world.commune_a, applicant=APPLICANT, uploads=uploads()
    )
    with pytest.raises(DomainError, match="chưa được tiếp nhận"):
        printing.appointment_slip_pdf(dossier, secret=secret)


def test_changing_one_byte_of_a_signed_form_breaks_its_signature(world, intake):
    dossier, secret = intake
    data = printing.appointment_slip_pdf(dossier, secret=secret)
    position = data.index(b"ReportLab Generated PDF document")
    assert position < signature_status(data, world.commune_a)[0].byte_range[1]
    tampered = data[:position] + b"X" + data[position + 1 :]
    _embedded, status = signature_status(tampered, world.commune_a)
    # The CMS signature over the signed attributes still verifies; the document digest in
    # them no longer matches the file, so the signature as a whole fails.
    assert not status.intact and not status.bottom_line
    # A stranger's CA is not trusted, even for an intact file.
    other = signing.signing_key_generate_demo(commune=world.commune_b)
    stranger = ValidationContext(
        trust_roots=[
            asn1_x509.Certificate.load(ca.public_bytes(serialization.Encoding.DER))
            for ca in signing.chain(other)
        ]
    )
    embedded = PdfFileReader(io.BytesIO(data)).embedded_signatures[0]
    status = validate_pdf_signature(embedded, stranger)
    assert status.intact and not status.trusted


# --- Forms 02–05 --------------------------------------------------------------------------------
def test_the_supplement_request_prints_what_the_officer_asked_for(world, dossier):
    run(dossier, "request_supplement", "motcua", world, note="Bản sao giấy chứng sinh rõ nét")
    data = printing.supplement_request_pdf(dossier)
    assert_signed_by_commune(data, world.commune_a)
    text = words(data)
    assert "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ" in text and "Mẫu số 02" in text
    assert "Bản sao giấy chứng sinh rõ nét" in text and dossier.code in text
    assert "Kính gửi: Ông/bà Nguyễn Thị Mai" in text


def test_the_refusal_prints_its_reason(world, procedure):
    dossier, _secret = actions.dossier_submit(
        procedure=procedure, commune=world.commune_a, applicant=APPLICANT, uploads=uploads()
    )
    run(dossier, "refuse", "motcua", world, note="Không thuộc thẩm quyền của xã")
    data = printing.refusal_pdf(dossier)
    assert_signed_by_commune(data, world.commune_a)
    text = words(data)
    assert "PHIẾU TỪ CHỐI TIẾP NHẬN GIẢI QUYẾT HỒ SƠ" in text
    assert "Không thuộc thẩm quyền của xã" in text


def test_the_apology_gives_the_old_and_the_new_date_and_the_reason(world, dossier):
    dossier = run(dossier, "assign", "motcua", world, assignee=world.users["lanhdao"])
    new_due = dossier.due + datetime.timedelta(days=7)
    run(dossier, "extend", "lanhdao", world, note="Cần xác minh tại thôn", new_due=new_due)
    dossier.refresh_from_db()
    data = printing.apology_pdf(dossier)
    assert_signed_by_commune(data, world.commune_a)
    text = words(data)
    assert "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ" in text
    assert f"{dossier.due:%d/%m/%Y}" in text and f"{new_due:%d/%m/%Y}" in text
    assert "Cần xác minh tại thôn" in text and "lanhdao" in text


def test_the_stop_notice_prints_its_reason(world, dossier):
    run(dossier, "stop", "lanhdao", world, note="Người nộp đề nghị dừng")
    data = printing.form_pdf(dossier, "05")
    assert_signed_by_commune(data, world.commune_a)
    assert "PHIẾU DỪNG XỬ LÝ HỒ SƠ" in words(data)
    assert "Người nộp đề nghị dừng" in words(data)


def test_a_form_for_a_step_the_dossier_never_took_is_refused(world, dossier):
    with pytest.raises(DomainError, match="không có bước"):
        printing.step_form_pdf(dossier, "04")
    with pytest.raises(InvalidInput):
        printing.form_pdf(dossier, "09")


def test_each_supplement_request_has_its_own_form(world, dossier):
    run(dossier, "request_supplement", "motcua", world, note="Lần một: thiếu tờ khai")
    actions.dossier_supplement(
        dossier=dossier, uploads=[("Văn bản uỷ quyền", dossier_data.pdf_bytes(), "uq.pdf")]
    )
    run(dossier, "receive", "motcua", world)
    run(dossier, "request_supplement", "motcua", world, note="Lần hai: thiếu chữ ký")
    firsts = [f for f in printing.forms_available(dossier) if f["form"] == "02"]
    assert len(firsts) == 2
    first, second = (printing.supplement_request_pdf(dossier, seq=f["seq"]) for f in firsts)
    assert "Lần một" in words(first) and "Lần hai" not in words(first)
    assert "Lần hai" in words(second)
    assert "Lần hai" in words(printing.supplement_request_pdf(dossier))  # the latest


# --- Form 06 ------------------------------------------------------------------------------------
def test_the_control_slip_lists_every_hand_off_with_its_signature(world, dossier):
    dossier = to_result(dossier, world)
    dossier = run(dossier, "return", "motcua", world, returned_via="counter")
    rows = printing.control_rows(dossier)
    assert [row["seq"] for row in rows] == [1, 2, 3, 4, 5, 6, 7]
    assert all(row["signature_ok"] for row in rows)
    submit, receive, assign = rows[0], rows[1], rows[2]
    assert submit["giver"] == "Người nộp: Nguyễn Thị Mai" and submit["receiver"] == "motcua"
    assert receive["giver"] == "motcua" and assign["receiver"] == "lanhdao"
    assert rows[-1]["receiver"] == "Người nộp: Nguyễn Thị Mai"
    assert rows[3]["timeliness"] in {"Trước hạn", "Đúng hạn"}
    data = printing.control_slip_pdf(dossier)
    assert_signed_by_commune(data, world.commune_a)
    text = words(data)
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in text
    assert "7/7 bước có chữ ký hợp lệ" in text and text.count("Hợp lệ") == 7
    assert "Đồng ý cấp giấy khai sinh" in text and "KHÔNG HỢP LỆ" not in text
    assert local_date(dossier.steps.get(seq=1).at) in text


def test_the_control_slip_shows_where_the_chain_was_broken(world, dossier):
    run(dossier, "assign", "motcua", world, assignee=world.users["lanhdao"])
    DossierStep.objects.filter(dossier=dossier, seq=2).update(note="sửa lén")
    rows = printing.control_rows(dossier)
    assert [row["signature_ok"] for row in rows] == [True, False, True]
    text = words(printing.control_slip_pdf(dossier))
    assert "CẢNH BÁO" in text and "2/3 bước có chữ ký hợp lệ" in text
    assert "KHÔNG HỢP LỆ" in text and "sửa lén" in text


# --- The result ---------------------------------------------------------------------------------
def test_a_result_issued_without_a_file_is_generated_and_signed(world, dossier):
    dossier = to_result(dossier, world)
    data = printing.result_pdf(dossier)
    assert_signed_by_commune(data, world.commune_a)
    text = words(data)
    assert "GIẤY KHAI SINH" in text and dossier.code in text and "Nguyễn Thị Mai" in text
    assert local_date(dossier.result_at) in text
    assert "CỘNG HOÀ XÃ HỘI CHỦ NGHĨA VIỆT NAM" in text
    assert "UỶ BAN NHÂN DÂN XÃ QUẢNG TÂN" in text


def test_an_uploaded_result_is_returned_as_it_was_with_the_commune_signature_added(world, dossier):
    original = dossier_data.pdf_bytes("Quyet dinh so 12")
    dossier = to_result(dossier, world, result=(original, "kq.pdf"))
    data = printing.result_pdf(dossier)
    assert data.startswith(original)  # an incremental update: the officer's file is intact
    assert_signed_by_commune(data, world.commune_a)
    assert "Quyet dinh so 12" in words(data)
    # Signed again (say, downloaded twice and re-uploaded): a second field, both valid.
    twice = printing.sign_document(data, world.commune_a, "lần hai")
    assert len(PdfFileReader(io.BytesIO(twice)).embedded_signatures) == 2
    assert_signed_by_commune(twice, world.commune_a)


def test_an_image_result_is_put_on_a_page_and_signed(world, dossier):
    image = io.BytesIO()
    Image.new("RGB", (40, 20), (200, 30, 30)).save(image, format="PNG")
    dossier = to_result(dossier, world, result=(image.getvalue(), "kq.png"))
    data = printing.result_pdf(dossier)
    assert_signed_by_commune(data, world.commune_a)
    assert len(PdfReader(io.BytesIO(data)).pages) == 1


def test_no_result_before_it_is_issued_and_a_broken_pdf_is_refused(world, dossier):
    with pytest.raises(DomainError, match="chưa có kết quả"):
        printing.result_pdf(dossier)
    dossier = to_result(dossier, world, result=(b"%PDF-1.4 broken", "kq.pdf"))
    with pytest.raises(DomainError, match="Không ký số được"):
        printing.result_pdf(dossier)


def test_forms_available_follow_the_history(world, dossier):
    assert [f["form"] for f in printing.forms_available(dossier)] == ["01", "06"]
    dossier = to_result(dossier, world)
    assert [f["form"] for f in printing.forms_available(dossier)] == ["01", "06", "result"]


# --- Form 07 ------------------------------------------------------------------------------------
@pytest.fixture
def register(world, procedure, dossier):
    """Three dossiers of commune A today (one returned) and one of last month."""
    to_result(dossier, world)
    run(dossier, "return", "motcua", world, returned_via="counter")
    for name in ("Trần Văn Bình", "=HYPERLINK(1)"):
        actions.dossier_submit(
            procedure=procedure,
            commune=world.commune_a,
            applicant=dict(APPLICANT, name=name),
            uploads=uploads(),
        )
    old, _secret = actions.dossier_submit(
        procedure=procedure,
        commune=world.commune_a,
        applicant=dict(APPLICANT, name="Hồ sơ tháng trước"),
        uploads=uploads(),
    )
    old.submitted_at = timezone.now() - datetime.timedelta(days=40)
    old.save(update_fields=["submitted_at"])
    today = timezone.localdate()
    return {"since": today - datetime.timedelta(days=7), "until": today}


def test_the_register_pdf_lists_the_dossiers_of_the_period(world, register, dossier):
    dossiers = selectors.dossiers_for_user(user=world.users["lanhdao"])
    data = printing.register_pdf(dossiers=dossiers, commune=world.commune_a, **register)
    text = words(data)
    assert "SỔ THEO DÕI HỒ SƠ" in text and "Mẫu số 07" in text
    assert f"Từ ngày {register['since']:%d/%m/%Y} đến ngày {register['until']:%d/%m/%Y}" in text
    assert dossier.code in text and "Trần Văn Bình" in text
    assert "Hồ sơ tháng trước" not in text
    assert "Tổng số: 3 hồ sơ" in text
    assert PdfReader(io.BytesIO(data)).pages[0].mediabox.width > 800  # landscape A4


def test_the_register_xlsx_has_vietnamese_headers_and_real_dates(world, register, dossier):
    dossiers = selectors.dossiers_for_user(user=world.users["lanhdao"])
    data = printing.register_xlsx(dossiers=dossiers, commune=world.commune_a, **register)
    sheet = load_workbook(io.BytesIO(data)).active
    assert "SỔ THEO DÕI HỒ SƠ" in sheet["A1"].value
    headers = [cell.value for cell in sheet[4]]
    assert headers[:4] == ["STT", "Mã hồ sơ", "Thủ tục hành chính", "Người nộp"]
    assert "Ngày hẹn trả" in headers and "Ngày trả kết quả" in headers
    rows = [[cell for cell in row] for row in sheet.iter_rows(min_row=5)]
    assert len(rows) == 3
    first = {headers[i]: cell for i, cell in enumerate(rows[0])}
    assert first["Mã hồ sơ"].value == dossier.code
    due = first["Ngày hẹn trả"]
    assert due.value.date() == dossier.due and due.number_format == "dd/mm/yyyy"
    assert first["Tiến độ"].value == "Trước hạn"
    names = [row[3].value for row in rows]
    assert "'=HYPERLINK(1)" in names  # kept as text, never run as a formula
    assert re.fullmatch(r"A4:N7", sheet.auto_filter.ref)


def test_a_register_shows_only_what_its_reader_may_see(world, register):
    dossiers = selectors.dossiers_for_user(user=world.users["canbo_b"])
    data = printing.register_xlsx(dossiers=dossiers, commune=world.commune_a, **register)
    assert load_workbook(io.BytesIO(data)).active.max_row == 4  # headers only
    with pytest.raises(InvalidInput):
        printing.register_pdf(
            dossiers=dossiers,
            commune=world.commune_a,
            since=register["until"],
            until=register["since"],
        )
