"""The one-stop shop's paper: the forms of Decree 118/2025 (annex) built from a dossier and its
signed steps, and the result document, as PDFs signed by the commune (PAdES).

    01 appointment_slip_pdf   Giấy tiếp nhận hồ sơ và hẹn trả kết quả (needs the lookup secret)
    02 ─┐                      Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ   (request_supplement step)
    03  ├ step_form_pdf        Phiếu từ chối tiếp nhận giải quyết hồ sơ  (refuse step)
    04  │                      Phiếu xin lỗi và hẹn lại ngày trả kết quả (extend step)
    05 ─┘                      Phiếu dừng xử lý hồ sơ                    (stop step)
    06 control_slip_pdf       Phiếu kiểm soát quá trình giải quyết hồ sơ, with each step's
                              chained signature checked (chain.chain_verify)
    07 register_pdf / register_xlsx   Sổ theo dõi hồ sơ for a period (not signed)
       result_pdf             the result: the uploaded file, or one generated from the procedure

Forms 01–06 and the result are signed with the commune's key (`sign_document`); they are made
on request, never stored: the appointment slip carries the lookup secret, which is known only at
intake, and the others are rebuilt from the signed steps. The layouts follow the spirit of the
decree's annex; the text is ours. QR codes lead to the public lookup page and never carry the
secret or anything personal.
"""

import datetime
import io
from urllib.parse import quote

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from xaso.core.errors import DomainError, InvalidInput
from xaso.dossiers import actions, chain, signing
from xaso.dossiers.models import Dossier, DossierDocument, DossierStep
from xaso.lib import pdf
from xaso.places.models import Place

S = Dossier.Status
ONE_STOP_UNIT = "Trung tâm Phục vụ hành chính công"
FORM_TITLES = {
    "01": "Giấy tiếp nhận hồ sơ và hẹn trả kết quả",
    "02": "Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ",
    "03": "Phiếu từ chối tiếp nhận giải quyết hồ sơ",
    "04": "Phiếu xin lỗi và hẹn lại ngày trả kết quả",
    "05": "Phiếu dừng xử lý hồ sơ",
    "06": "Phiếu kiểm soát quá trình giải quyết hồ sơ",
    "07": "Sổ theo dõi hồ sơ",
}
# Forms 02–05 print one step: the action that issues them.
STEP_FORMS = {"02": "request_supplement", "03": "refuse", "04": "extend", "05": "stop"}
# A register is drawn in one request; a longer period is split by the officer.
REGISTER_MAX_ROWS = 5000
XLSX_DATE_FORMAT = "dd/mm/yyyy"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# What the applicant hands over and receives back: the hand-off goes to or from her.
FROM_APPLICANT = {"submit", "supplement"}
TO_APPLICANT = {"return", "refuse", "request_supplement", "stop"}
RESULT_STATUSES = {S.RESULT_ISSUED, S.RETURNED}


# --- Small pieces -------------------------------------------------------------------------------
def lookup_url(dossier: Dossier) -> str:
    """The public lookup page of the dossier: what every QR code on its paper holds."""
    return f"{settings.XASO_PUBLIC_URL}/tra-cuu-ho-so/?ma={quote(dossier.code, safe='')}"


def sign_document(pdf_bytes: bytes, commune: Place, reason: str) -> bytes:
    """The PDF with the commune's PAdES signature appended (an incremental update, so a file
    that is already signed keeps its signatures; the field name avoids theirs)."""
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.fields import enumerate_sig_fields
    from pyhanko.sign.general import SigningError

    unreadable = DomainError(_("Không ký số được tệp PDF này (tệp hỏng hoặc bị khoá)."))
    try:
        reader = PdfFileReader(io.BytesIO(pdf_bytes))
        taken = {name for name, _value, _ref in enumerate_sig_fields(reader)}
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as error:
        raise unreadable from error
    field_name = next(
        name
        for name in ("ChuKyUBND", *(f"ChuKyUBND{n}" for n in range(2, 1000)))
        if name not in taken
    )
    try:
        return signing.sign_pdf(
            pdf_bytes, signing.signing_key_for(commune), reason=reason, field_name=field_name
        )
    except (PdfError, SigningError) as error:
        raise unreadable from error


def _place_name(place: Place | None) -> str:
    """ "Xã Quảng Tân" → "Quảng Tân": the name as written before a date."""
    if place is None:
        return ""
    name = place.name
    for prefix in (place.division_type, "xã", "phường", "đặc khu", "thị trấn", "tỉnh", "thành phố"):
        if prefix and name.lower().startswith(prefix.lower() + " "):
            return name[len(prefix) + 1 :]
    return name


def _local(moment: datetime.datetime | None) -> datetime.datetime | None:
    return timezone.localtime(moment) if moment else None


def _heading(dossier_or_commune, day: datetime.date, *, number: str = "") -> pdf.Heading:
    commune = getattr(dossier_or_commune, "commune", dossier_or_commune)
    return pdf.Heading(
        authority=f"UBND {commune.name}",
        body=ONE_STOP_UNIT,
        number=number,
        place_date=pdf.place_date(_place_name(commune), day),
    )


def _document(form: str, dossier_or_commune, *, code: str = "", landscape: bool = False):
    commune = getattr(dossier_or_commune, "commune", dossier_or_commune)
    title = f"{_('Mẫu số')} {form} - {FORM_TITLES[form]}" + (f" - {code}" if code else "")
    return pdf.Document(
        font_path=settings.XASO_PDF_FONT,
        title=title,
        form_label=f"{_('Mẫu số')} {form}",
        landscape_page=landscape,
        author=f"UBND {commune.name}",
        footer=_("XãSố - %(place)s") % {"place": commune.name},
    )


def _money(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + " ₫"


def _grouped(secret: str) -> str:
    cleaned = secret.strip().upper().replace("-", "")
    return f"{cleaned[:4]}-{cleaned[4:]}" if len(cleaned) == 8 else cleaned


def _dossier_fields(dossier: Dossier) -> list[tuple[str, str]]:
    fields = [(_("Mã hồ sơ"), dossier.code), (_("Người nộp hồ sơ"), dossier.applicant_name)]
    if dossier.applicant_address:
        fields.append((_("Địa chỉ"), dossier.applicant_address))
    fields.append((_("Thủ tục"), f"{dossier.procedure.name} ({dossier.procedure.code})"))
    return fields


def _qr(doc: pdf.Document, dossier: Dossier, extra: list[str] | None = None) -> None:
    doc.qr(
        lookup_url(dossier),
        [
            _("Quét mã để tra cứu tình trạng hồ sơ tại"),
            f"{settings.XASO_PUBLIC_URL}/tra-cuu-ho-so/",
            *(extra or []),
        ],
        size_mm=28,
    )


def _signed_note() -> str:
    return _("(Đã ký số)")


# --- Form 01 ------------------------------------------------------------------------------------
def appointment_slip_pdf(dossier: Dossier, *, secret: str) -> bytes:
    """Form 01, at intake: what was received, when the result is due, and the lookup secret.

    The secret is known only at intake (only its hash is stored); pass "" to reprint the slip
    without it. A secret that does not belong to the dossier is refused.
    """
    if dossier.received_at is None:
        raise DomainError(_("Hồ sơ chưa được tiếp nhận: chưa có giấy hẹn trả kết quả."))
    if secret and not actions.secret_matches(dossier, secret):
        raise InvalidInput(_("Mã tra cứu không đúng với hồ sơ."), field="secret")
    received = _local(dossier.received_at)
    receive_step = dossier.steps.filter(action="receive").order_by("-seq").first()
    documents = list(
        dossier.documents.filter(
            kind__in=[DossierDocument.Kind.SUBMITTED, DossierDocument.Kind.SUPPLEMENT]
        ).order_by("uploaded_at", "id")
    )
    doc = _document("01", dossier, code=dossier.code)
    doc.heading(_heading(dossier, received.date(), number=f"{_('Số')}: {dossier.code}"))
    doc.title(FORM_TITLES["01"], f"{_('Mã hồ sơ')}: {dossier.code}")
    doc.paragraph(
        _("%(unit)s - UBND %(commune)s đã tiếp nhận hồ sơ của:")
        % {"unit": ONE_STOP_UNIT, "commune": dossier.commune.name}
    )
    procedure = dossier.procedure
    rows = [
        *_dossier_fields(dossier),
        (_("Mã tra cứu"), _grouped(secret) if secret else _("đã cấp khi nộp hồ sơ")),
        (_("Kênh nộp"), dossier.get_channel_display()),
        (_("Thời gian tiếp nhận"), pdf.format_datetime(received)),
        (_("Ngày hẹn trả kết quả"), pdf.format_date(dossier.current_due)),
    ]
    if procedure.fee_amount:
        rows.append((procedure.fee_name or _("Phí, lệ phí"), _money(procedure.fee_amount)))
    doc.fields(rows)
    doc.paragraph(_("Giấy tờ đã nhận:"), bold=True)
    doc.table(
        [_("STT"), _("Tên giấy tờ"), _("Hình thức")],
        [
            [
                str(index),
                document.name,
                _("Bổ sung") if document.kind == DossierDocument.Kind.SUPPLEMENT else _("Bản nộp"),
            ]
            for index, document in enumerate(documents, start=1)
        ]
        or [["", _("(không có)"), ""]],
        widths=[1, 8, 2.5],
        align=["center", "left", "left"],
    )
    doc.paragraph(
        _(
            "Khi nhận kết quả, ông/bà mang theo giấy này. Tra cứu tình trạng hồ sơ bằng mã hồ sơ "
            "và mã tra cứu; không cho người khác biết mã tra cứu."
        ),
        italic=True,
        size=pdf.SMALL_SIZE,
    )
    _qr(doc, dossier)
    doc.signatures(
        [
            pdf.Signature(_("Người nộp hồ sơ"), name=dossier.applicant_name),
            pdf.Signature(
                _("Người tiếp nhận hồ sơ"),
                name=receive_step.actor_name if receive_step else "",
                note=_signed_note(),
            ),
        ]
    )
    return sign_document(
        doc.render(), dossier.commune, _("Giấy tiếp nhận hồ sơ %(code)s") % {"code": dossier.code}
    )


# --- Forms 02–05 --------------------------------------------------------------------------------
def _step_for(dossier: Dossier, form: str, seq: int | None) -> DossierStep:
    steps = dossier.steps.filter(action=STEP_FORMS[form])
    step = (steps.filter(seq=seq) if seq is not None else steps.order_by("-seq")).first()
    if step is None:
        raise DomainError(
            _("Hồ sơ không có bước “%(action)s” để in %(form)s.")
            % {"action": actions.ACTION_LABELS[STEP_FORMS[form]], "form": FORM_TITLES[form]}
        )
    return step


def step_form_pdf(dossier: Dossier, form: str, *, seq: int | None = None) -> bytes:
    """Forms 02–05 from the step that issues them (the latest such step, or step `seq`)."""
    if form not in STEP_FORMS:
        raise InvalidInput(_("Không có mẫu số %(form)s.") % {"form": form}, field="form")
    step = _step_for(dossier, form, seq)
    at = _local(step.at)
    doc = _document(form, dossier, code=dossier.code)
    doc.heading(_heading(dossier, at.date(), number=f"{_('Số')}: {dossier.code}/{step.seq}"))
    doc.title(FORM_TITLES[form], f"{_('Mã hồ sơ')}: {dossier.code}")
    doc.paragraph(_("Kính gửi: Ông/bà %(name)s") % {"name": dossier.applicant_name}, align="center")
    doc.fields(
        [
            *_dossier_fields(dossier),
            (_("Ngày nộp hồ sơ"), pdf.format_date(_local(dossier.submitted_at).date())),
            (_("Ngày tiếp nhận"), pdf.format_date(dossier.received_on)),
        ]
    )
    signer = _BODIES[form](doc, dossier, step)
    _qr(doc, dossier)
    doc.signatures([pdf.Signature(signer, name=step.actor_name, note=_signed_note())])
    reason = _("%(form)s, hồ sơ %(code)s") % {"form": FORM_TITLES[form], "code": dossier.code}
    return sign_document(doc.render(), dossier.commune, reason)


def _supplement_body(doc: pdf.Document, dossier: Dossier, step: DossierStep) -> str:
    doc.paragraph(
        _(
            "Sau khi xem xét, hồ sơ của ông/bà chưa đầy đủ, hợp lệ. Đề nghị ông/bà bổ sung, "
            "hoàn thiện hồ sơ gồm những nội dung sau:"
        )
    )
    doc.paragraph(step.note, bold=True, align="left")
    doc.paragraph(
        _(
            "Ông/bà có thể nộp phần bổ sung trực tuyến tại trang tra cứu hồ sơ hoặc trực tiếp tại "
            "%(unit)s. Thời hạn giải quyết được tính lại từ khi hồ sơ được tiếp nhận đầy đủ."
        )
        % {"unit": ONE_STOP_UNIT}
    )
    return _("Người hướng dẫn")


def _refusal_body(doc: pdf.Document, dossier: Dossier, step: DossierStep) -> str:
    doc.paragraph(
        _("%(unit)s thông báo từ chối tiếp nhận, giải quyết hồ sơ của ông/bà với lý do sau:")
        % {"unit": ONE_STOP_UNIT}
    )
    doc.paragraph(step.note, bold=True, align="left")
    doc.paragraph(_("Xin thông báo để ông/bà được biết."))
    return _("Người tiếp nhận hồ sơ")


def _apology_body(doc: pdf.Document, dossier: Dossier, step: DossierStep) -> str:
    new_due = (step.record.get("data") or {}).get("new_due")
    new_due = datetime.date.fromisoformat(new_due) if new_due else dossier.extended_due
    doc.paragraph(
        _(
            "Hồ sơ của ông/bà có hẹn trả kết quả vào ngày %(old)s. Tuy nhiên đến nay cơ quan "
            "giải quyết chưa trả được kết quả với lý do:"
        )
        % {"old": pdf.format_date(dossier.due)}
    )
    doc.paragraph(step.note, bold=True, align="left")
    doc.paragraph(
        _(
            "Sự chậm trễ này đã gây phiền hà cho ông/bà. Chúng tôi thành thật xin lỗi và xin hẹn "
            "lại thời gian trả kết quả vào ngày %(new)s."
        )
        % {"new": pdf.format_date(new_due)}
    )
    doc.fields(
        [
            (_("Ngày hẹn cũ"), pdf.format_date(dossier.due)),
            (_("Ngày hẹn mới"), pdf.format_date(new_due)),
        ]
    )
    return _("Thủ trưởng cơ quan")


def _stop_body(doc: pdf.Document, dossier: Dossier, step: DossierStep) -> str:
    doc.paragraph(_("Cơ quan giải quyết thông báo dừng xử lý hồ sơ của ông/bà với lý do sau:"))
    doc.paragraph(step.note, bold=True, align="left")
    doc.paragraph(
        _("Ông/bà có thể nộp lại hồ sơ khi đủ điều kiện, hoặc liên hệ %(unit)s để được hướng dẫn.")
        % {"unit": ONE_STOP_UNIT}
    )
    return _("Thủ trưởng cơ quan")


_BODIES = {
    "02": _supplement_body,
    "03": _refusal_body,
    "04": _apology_body,
    "05": _stop_body,
}


def supplement_request_pdf(dossier: Dossier, *, seq: int | None = None) -> bytes:
    return step_form_pdf(dossier, "02", seq=seq)


def refusal_pdf(dossier: Dossier, *, seq: int | None = None) -> bytes:
    return step_form_pdf(dossier, "03", seq=seq)


def apology_pdf(dossier: Dossier, *, seq: int | None = None) -> bytes:
    return step_form_pdf(dossier, "04", seq=seq)


def stop_notice_pdf(dossier: Dossier, *, seq: int | None = None) -> bytes:
    return step_form_pdf(dossier, "05", seq=seq)


# --- Form 06 ------------------------------------------------------------------------------------
def control_rows(dossier: Dossier) -> list[dict]:
    """Each hand-off of the dossier: when, who gave, who received, what, timeliness, and
    whether the step's chained signature holds."""
    steps = list(dossier.steps.order_by("seq"))
    links = {link.seq: link for link in chain.chain_verify(dossier).links}
    applicant = _("Người nộp: %(name)s") % {"name": dossier.applicant_name}
    rows = []
    for index, step in enumerate(steps):
        following = steps[index + 1] if index + 1 < len(steps) else None
        if step.receiver_name:
            receiver = step.receiver_name
        elif step.action in TO_APPLICANT:
            receiver = applicant
        elif following is not None and following.action not in FROM_APPLICANT:
            receiver = following.actor_name
        else:
            receiver = ""
        label = str(actions.ACTION_LABELS.get(step.action, step.action))
        link = links.get(step.seq)
        rows.append(
            {
                "seq": step.seq,
                "at": _local(step.at),
                "giver": applicant if step.action in FROM_APPLICANT else step.actor_name,
                "receiver": receiver,
                "content": f"{label}: {step.note}" if step.note else label,
                "timeliness": DossierStep.Timeliness(step.timeliness).label
                if step.timeliness
                else "",
                "signature_ok": bool(link and link.ok),
                "signature_problem": link.problem if link else _("Không kiểm tra được."),
            }
        )
    return rows


def control_slip_pdf(dossier: Dossier) -> bytes:
    """Form 06: the process-control slip, from the signed step history."""
    rows = control_rows(dossier)
    doc = _document("06", dossier, code=dossier.code)
    doc.heading(_heading(dossier, timezone.localdate(), number=f"{_('Số')}: {dossier.code}"))
    doc.title(FORM_TITLES["06"], f"{_('Mã hồ sơ')}: {dossier.code}")
    fields = [
        *_dossier_fields(dossier),
        (_("Thời gian tiếp nhận"), pdf.format_datetime(_local(dossier.received_at))),
        (_("Ngày hẹn trả kết quả"), pdf.format_date(dossier.due)),
    ]
    if dossier.extended_due:
        fields.append((_("Ngày hẹn lại"), pdf.format_date(dossier.extended_due)))
    fields.append((_("Trạng thái"), dossier.get_status_display()))
    if dossier.timeliness:
        fields.append((_("Kết quả giải quyết"), dossier.get_timeliness_display()))
    doc.fields(fields)
    valid = sum(1 for row in rows if row["signature_ok"])
    if rows and valid == len(rows):
        verdict = _("Chuỗi chữ ký số của hồ sơ nguyên vẹn: %(n)s/%(n)s bước có chữ ký hợp lệ.") % {
            "n": len(rows)
        }
    else:
        verdict = _(
            "CẢNH BÁO: chuỗi chữ ký số của hồ sơ bị phá vỡ: %(valid)s/%(total)s bước có chữ ký "
            "hợp lệ."
        ) % {"valid": valid, "total": len(rows)}
    doc.paragraph(verdict, bold=True, align="left")
    doc.table(
        [
            _("Bước"),
            _("Thời gian"),
            _("Bên giao"),
            _("Bên nhận"),
            _("Nội dung, kết quả"),
            _("Tiến độ"),
            _("Chữ ký số"),
        ],
        [
            [
                str(row["seq"]),
                pdf.format_datetime(row["at"]),
                row["giver"],
                row["receiver"],
                row["content"],
                row["timeliness"],
                _("Hợp lệ")
                if row["signature_ok"]
                else _("KHÔNG HỢP LỆ: %(why)s") % {"why": row["signature_problem"]},
            ]
            for row in rows
        ],
        widths=[1.1, 2.2, 2.4, 2.4, 4, 1.6, 2.2],
        align=["center", "left", "left", "left", "left", "center", "left"],
        size=8.5,
    )
    doc.paragraph(
        _(
            "Mỗi bước được ký bằng khoá của UBND xã và nối với bước trước bằng giá trị băm; "
            "sửa một bước làm hỏng chữ ký của bước đó và liên kết của bước sau."
        ),
        italic=True,
        size=pdf.SMALL_SIZE,
    )
    _qr(doc, dossier)
    return sign_document(
        doc.render(),
        dossier.commune,
        _("Phiếu kiểm soát quá trình giải quyết hồ sơ %(code)s") % {"code": dossier.code},
    )


# --- Form 07 ------------------------------------------------------------------------------------
def register_headers() -> list[str]:
    return [
        _("STT"),
        _("Mã hồ sơ"),
        _("Thủ tục hành chính"),
        _("Người nộp"),
        _("Địa chỉ"),
        _("Kênh nộp"),
        _("Ngày nộp"),
        _("Ngày tiếp nhận"),
        _("Ngày hẹn trả"),
        _("Ngày có kết quả"),
        _("Ngày trả kết quả"),
        _("Trạng thái"),
        _("Tiến độ"),
        _("Ghi chú"),
    ]


def register_rows(*, dossiers, commune: Place, since: datetime.date, until: datetime.date):
    """The register's rows: dossiers of `commune` submitted between the two days (inclusive),
    oldest first. `dossiers` is the reader's scoped queryset (selectors.dossiers_for_user), so
    a register shows only what its reader may see. Dates are `date` objects."""
    if since > until:
        raise InvalidInput(_("Ngày bắt đầu phải trước ngày kết thúc."), field="since")
    selected = (
        dossiers.filter(commune=commune, submitted_at__date__range=(since, until))
        .select_related("procedure")
        .order_by("submitted_at", "id")
    )
    selected = list(selected[: REGISTER_MAX_ROWS + 1])
    if len(selected) > REGISTER_MAX_ROWS:
        raise InvalidInput(
            _("Quá %(n)s hồ sơ trong khoảng này; vui lòng chọn khoảng ngắn hơn.")
            % {"n": REGISTER_MAX_ROWS},
            field="until",
        )

    def day(moment):
        return _local(moment).date() if moment else None

    rows = []
    for index, dossier in enumerate(selected, start=1):
        note = dossier.extension_reason
        if dossier.extended_due:
            note = _("Hẹn lại %(day)s: %(why)s") % {
                "day": pdf.format_date(dossier.extended_due),
                "why": dossier.extension_reason,
            }
        rows.append(
            [
                index,
                dossier.code,
                dossier.procedure.name,
                dossier.applicant_name,
                dossier.applicant_address,
                dossier.get_channel_display(),
                day(dossier.submitted_at),
                dossier.received_on,
                dossier.current_due,
                day(dossier.result_at),
                day(dossier.returned_at),
                dossier.get_status_display(),
                dossier.get_timeliness_display() if dossier.timeliness else "",
                note,
            ]
        )
    return rows


def _period(since: datetime.date, until: datetime.date) -> str:
    return _("Từ ngày %(since)s đến ngày %(until)s") % {
        "since": pdf.format_date(since),
        "until": pdf.format_date(until),
    }


def register_pdf(*, dossiers, commune: Place, since: datetime.date, until: datetime.date) -> bytes:
    """Form 07 as a landscape PDF (a working register: not signed)."""
    rows = register_rows(dossiers=dossiers, commune=commune, since=since, until=until)
    doc = _document("07", commune, landscape=True)
    doc.heading(_heading(commune, timezone.localdate()))
    doc.title(FORM_TITLES["07"], _period(since, until))
    doc.table(
        register_headers(),
        [
            [
                value if not isinstance(value, datetime.date) else pdf.format_date(value)
                for value in row
            ]
            for row in rows
        ]
        or [["", _("Không có hồ sơ trong khoảng thời gian này."), *[""] * 12]],
        widths=[1.0, 3.4, 3.2, 2.4, 2.4, 1.5, 2.2, 2.2, 2.2, 2.2, 2.2, 1.9, 1.5, 2.2],
        align=[
            "center",
            "left",
            "left",
            "left",
            "left",
            "left",
            *["center"] * 5,
            "left",
            "left",
            "left",
        ],
        size=7,
    )
    counts = {
        key: sum(1 for row in rows if row[12] == label) for key, label in Dossier.Timeliness.choices
    }
    doc.paragraph(
        _(
            "Tổng số: %(total)s hồ sơ; đã trả trước hạn %(early)s, đúng hạn %(on_time)s, "
            "quá hạn %(late)s."
        )
        % {"total": len(rows), **counts},
        bold=True,
        align="left",
    )
    return doc.render()


def register_xlsx(*, dossiers, commune: Place, since: datetime.date, until: datetime.date) -> bytes:
    """Form 07 as a spreadsheet: title rows, headers on row 4, dates as real dates."""
    rows = register_rows(dossiers=dossiers, commune=commune, since=since, until=until)
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = _("Sổ theo dõi hồ sơ")[:31]
    sheet.append([f"{FORM_TITLES['07'].upper()} - UBND {commune.name.upper()}"])
    sheet.append([_period(since, until)])
    sheet.append([])
    sheet.append(register_headers())
    sheet["A1"].font = Font(bold=True, size=13)
    for cell in sheet[4]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in rows:
        sheet.append([_safe(value) for value in row])
        for cell in sheet[sheet.max_row]:
            if isinstance(cell.value, datetime.date):
                cell.number_format = XLSX_DATE_FORMAT
    widths = (5, 22, 40, 22, 30, 11, 12, 12, 12, 12, 12, 16, 11, 30)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[sheet.cell(row=4, column=index).column_letter].width = width
    sheet.freeze_panes = "A5"
    sheet.auto_filter.ref = (
        f"A4:{sheet.cell(row=4, column=len(widths)).column_letter}{4 + len(rows)}"
    )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _safe(value):
    """Text a spreadsheet would run as a formula (=, +, -, @) is kept as text."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# --- The result ---------------------------------------------------------------------------------
def result_pdf(dossier: Dossier) -> bytes:
    """The result returned to the applicant, signed by the commune: the uploaded PDF (an image
    is put on an A4 page first), or, when the officer uploaded nothing, a result document made
    from the procedure's result type."""
    if dossier.status not in RESULT_STATUSES or dossier.result_at is None:
        raise DomainError(_("Hồ sơ chưa có kết quả."))
    document = (
        dossier.documents.filter(kind=DossierDocument.Kind.RESULT)
        .order_by("-uploaded_at", "-id")
        .first()
    )
    if document is None:
        data = generated_result_pdf(dossier)
    else:
        with document.file.open("rb") as handle:
            data = handle.read()
        if document.content_type != "application/pdf":
            data = _image_page(dossier, data)
    reason = _("Kết quả giải quyết hồ sơ %(code)s") % {"code": dossier.code}
    return sign_document(data, dossier.commune, reason)


def generated_result_pdf(dossier: Dossier) -> bytes:
    """A plain result document (unsigned): what was decided, for whom, on which dossier."""
    procedure, commune = dossier.procedure, dossier.commune
    result_day = _local(dossier.result_at).date()
    approval = dossier.steps.filter(action="approve").order_by("-seq").first()
    doc = pdf.Document(
        font_path=settings.XASO_PDF_FONT,
        title=f"{procedure.result_type or _('Kết quả giải quyết')} - {dossier.code}",
        author=f"UBND {commune.name}",
        footer=_("Văn bản được ký số bởi UBND %(commune)s.") % {"commune": commune.name},
    )
    doc.heading(
        pdf.Heading(
            authority="Uỷ ban nhân dân",
            body=commune.name,
            number=f"{_('Số')}: {dossier.code}",
            place_date=pdf.place_date(_place_name(commune), result_day),
        )
    )
    doc.title(procedure.result_type or _("Kết quả giải quyết thủ tục hành chính"))
    doc.paragraph(
        _(
            "Uỷ ban nhân dân %(commune)s đã giải quyết xong hồ sơ đề nghị “%(procedure)s” "
            "của ông/bà %(name)s, với kết quả: %(result)s."
        )
        % {
            "commune": commune.name,
            "procedure": procedure.name,
            "name": dossier.applicant_name,
            "result": procedure.result_type or _("chấp thuận"),
        }
    )
    doc.fields(
        [
            *_dossier_fields(dossier),
            (_("Lĩnh vực"), procedure.field),
            (_("Ngày tiếp nhận"), pdf.format_date(dossier.received_on)),
            (_("Ngày có kết quả"), pdf.format_date(result_day)),
        ]
    )
    if approval and approval.note:
        doc.paragraph(approval.note)
    _qr(doc, dossier)
    doc.signatures(
        [
            pdf.Signature(
                _("TM. Uỷ ban nhân dân"),
                hint="",
                name=approval.actor_name if approval else "",
                note=_signed_note(),
            )
        ]
    )
    return doc.render()


def _image_page(dossier: Dossier, data: bytes) -> bytes:
    """An uploaded JPEG or PNG result, fitted on an A4 page so that it can be signed."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen.canvas import Canvas

    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.setTitle(f"{_('Kết quả giải quyết')} - {dossier.code}")
    image = ImageReader(io.BytesIO(data))
    width, height = image.getSize()
    margin = 36
    scale = min((A4[0] - 2 * margin) / width, (A4[1] - 2 * margin) / height)
    drawn_width, drawn_height = width * scale, height * scale
    canvas.drawImage(
        image,
        (A4[0] - drawn_width) / 2,
        (A4[1] - drawn_height) / 2,
        drawn_width,
        drawn_height,
    )
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


# --- For pages: which paper a dossier has ---------------------------------------------------------
def forms_available(dossier: Dossier) -> list[dict]:
    """The forms a dossier page can offer: {"form", "title", "seq"} (seq for forms 02–05)."""
    forms = []
    if dossier.received_at is not None:
        forms.append({"form": "01", "title": FORM_TITLES["01"], "seq": None})
    wanted = {action: form for form, action in STEP_FORMS.items()}
    for seq, action in dossier.steps.filter(action__in=wanted).values_list("seq", "action"):
        forms.append({"form": wanted[action], "title": FORM_TITLES[wanted[action]], "seq": seq})
    forms.append({"form": "06", "title": FORM_TITLES["06"], "seq": None})
    if dossier.status in RESULT_STATUSES:
        forms.append({"form": "result", "title": _("Kết quả giải quyết"), "seq": None})
    return forms


def form_pdf(dossier: Dossier, form: str, *, secret: str = "", seq: int | None = None) -> bytes:
    """One view for all of a dossier's paper: form "01"…"06" or "result"."""
    if form == "01":
        return appointment_slip_pdf(dossier, secret=secret)
    if form in STEP_FORMS:
        return step_form_pdf(dossier, form, seq=seq)
    if form == "06":
        return control_slip_pdf(dossier)
    if form == "result":
        return result_pdf(dossier)
    raise InvalidInput(_("Không có mẫu số %(form)s.") % {"form": form}, field="form")
