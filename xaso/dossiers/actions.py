"""Every write of the one-stop shop except receipts (receipts.py): procedures, intake,
transitions, documents, ratings and the calendar. Rules raise DomainError / InvalidInput."""

import datetime
import hashlib
import logging
import re
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.permissions import user_can
from xaso.accounts.roles import Capability
from xaso.core import audit
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.records import save_unique
from xaso.dossiers import chain, deadlines, notices
from xaso.dossiers.models import (
    CalendarOverride,
    DailyCounter,
    Dossier,
    DossierDocument,
    Procedure,
)
from xaso.lib import crypto
from xaso.lib.ids import CROCKFORD_ALPHABET
from xaso.lib.text import search_key
from xaso.places.models import Place

logger = logging.getLogger(__name__)
S = Dossier.Status

PROCESSING = {S.RECEIVED, S.ASSIGNED, S.APPRAISED, S.APPROVED}
# action → (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[set[str], str | None]] = {
    "receive": ({S.SUBMITTED, S.SUPPLEMENT}, S.RECEIVED),
    "request_supplement": ({S.SUBMITTED, *PROCESSING}, S.SUPPLEMENT),
    "refuse": ({S.SUBMITTED, S.SUPPLEMENT}, S.REFUSED),
    "assign": ({S.RECEIVED, S.ASSIGNED}, S.ASSIGNED),
    "appraise": ({S.ASSIGNED}, S.APPRAISED),
    "approve": ({S.APPRAISED}, S.APPROVED),
    "issue_result": ({S.APPROVED}, S.RESULT_ISSUED),
    "return": ({S.RESULT_ISSUED}, S.RETURNED),
    "pause": (PROCESSING, S.PAUSED),
    "resume": ({S.PAUSED}, None),  # back to the status it was paused in
    "extend": (PROCESSING, None),  # stays where it is, with a new due date
    "stop": ({*PROCESSING, S.PAUSED}, S.STOPPED),
    "withdraw": ({S.SUBMITTED, S.SUPPLEMENT, *PROCESSING, S.PAUSED}, S.WITHDRAWN),
}
ACTION_LABELS = {
    "submit": _("Nộp hồ sơ"),
    "receive": _("Tiếp nhận"),
    "request_supplement": _("Yêu cầu bổ sung"),
    "refuse": _("Từ chối tiếp nhận"),
    "assign": _("Phân công"),
    "appraise": _("Thẩm định"),
    "approve": _("Phê duyệt, ký"),
    "issue_result": _("Có kết quả"),
    "return": _("Trả kết quả"),
    "pause": _("Tạm dừng"),
    "resume": _("Tiếp tục"),
    "extend": _("Gia hạn"),
    "stop": _("Dừng xử lý"),
    "withdraw": _("Rút hồ sơ"),
    "supplement": _("Công dân bổ sung hồ sơ"),
}
# Actions whose note the law requires: the reason is printed on the form.
NOTE_REQUIRED = {"request_supplement", "refuse", "extend", "stop", "pause"}
# Who may take each action (capabilities; the one-stop officer receives and returns).
ACTION_CAPABILITY = {
    "receive": Capability.RECEIVE_DOSSIERS,
    "request_supplement": Capability.PROCESS_DOSSIERS,
    "refuse": Capability.RECEIVE_DOSSIERS,
    "assign": Capability.RECEIVE_DOSSIERS,
    "appraise": Capability.PROCESS_DOSSIERS,
    "approve": Capability.APPROVE_DOSSIERS,
    "issue_result": Capability.PROCESS_DOSSIERS,
    "return": Capability.RECEIVE_DOSSIERS,
    "pause": Capability.PROCESS_DOSSIERS,
    "resume": Capability.PROCESS_DOSSIERS,
    "extend": Capability.APPROVE_DOSSIERS,
    "stop": Capability.APPROVE_DOSSIERS,
    "withdraw": Capability.RECEIVE_DOSSIERS,
}
FILE_TYPES = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG": "image/png"}


# --- Procedures ---------------------------------------------------------------------------------
def _clean_documents(documents) -> list[dict]:
    if not isinstance(documents, list):
        raise InvalidInput(_("Thành phần hồ sơ phải là một danh sách."), field="documents")
    cleaned = []
    for item in documents:
        item = {"name": item} if isinstance(item, str) else item
        name = " ".join(str((item or {}).get("name") or "").split())[:300]
        if not name:
            raise InvalidInput(_("Mỗi giấy tờ cần có tên."), field="documents")
        cleaned.append({"name": name, "required": bool(item.get("required", True))})
    return cleaned


def _clean_steps(steps) -> list[dict]:
    if not isinstance(steps, list):
        raise InvalidInput(_("Các bước phải là một danh sách."), field="steps")
    cleaned = []
    for item in steps:
        action = str((item or {}).get("action") or "")
        if action not in TRANSITIONS:
            raise InvalidInput(
                _("Bước không hợp lệ: %(action)s.") % {"action": action}, field="steps"
            )
        try:
            share = float(item.get("share") or 0)
        except (TypeError, ValueError) as error:
            raise InvalidInput(_("Tỉ lệ thời gian phải là số."), field="steps") from error
        cleaned.append(
            {
                "action": action,
                "name": str(item.get("name") or ACTION_LABELS[action])[:100],
                "role": str(item.get("role") or "")[:40],
                "share": share,
            }
        )
    if cleaned and round(sum(step["share"] for step in cleaned)) != 100:
        raise InvalidInput(_("Tổng tỉ lệ thời gian các bước phải bằng 100%."), field="steps")
    return cleaned


def _procedure_values(values: dict) -> dict:
    code = str(values.get("code") or "").strip()
    if not re.fullmatch(r"[0-9A-Za-z.\-]{3,30}", code):
        raise InvalidInput(_("Mã thủ tục không hợp lệ (vd. 1.001193)."), field="code")
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        raise InvalidInput(_("Vui lòng nhập tên thủ tục."), field="name")
    try:
        days, fee = int(values.get("processing_days")), int(values.get("fee_amount") or 0)
    except (TypeError, ValueError) as error:
        raise InvalidInput(_("Thời hạn và mức thu phải là số."), field="processing_days") from error
    if not 0 <= days <= 365:
        raise InvalidInput(_("Thời hạn từ 0 đến 365 ngày làm việc."), field="processing_days")
    if not 0 <= fee <= 100_000_000:
        raise InvalidInput(_("Mức thu không hợp lệ."), field="fee_amount")
    level = str(values.get("online_level") or Procedure.OnlineLevel.FULL)
    if level not in Procedure.OnlineLevel.values:
        raise InvalidInput(_("Mức trực tuyến không hợp lệ."), field="online_level")
    return {
        "code": code,
        "name": name[:300],
        "field": " ".join(str(values.get("field") or "").split())[:150] or _("Khác"),
        "processing_days": days,
        "fee_name": str(values.get("fee_name") or "")[:200],
        "fee_amount": fee,
        "documents": _clean_documents(values.get("documents") or []),
        "result_type": str(values.get("result_type") or "")[:300],
        "online_level": level,
        "steps": _clean_steps(values.get("steps") or []),
        "is_active": values.get("is_active", True) is not False,
    }


@transaction.atomic
def procedure_save(*, values: dict, by, procedure: Procedure | None = None) -> Procedure:
    """Create a procedure, or update `procedure` (or the one with the same code)."""
    cleaned = _procedure_values(values)
    procedure = procedure or Procedure.objects.filter(code=cleaned["code"]).first()
    created = procedure is None
    procedure = procedure or Procedure()
    changes = {} if created else audit.field_changes(procedure, cleaned)
    for field, value in cleaned.items():
        setattr(procedure, field, value)
    save_unique(procedure, duplicate_message=_("Mã thủ tục đã tồn tại."), field="code")
    audit.record(
        actor=by,
        verb="procedure.created" if created else "procedure.updated",
        target=procedure,
        changes=changes or {"code": procedure.code},
    )
    return procedure


@transaction.atomic
def procedures_import(*, rows: list[dict], by) -> dict[str, int]:
    """All or nothing: one bad row refuses the whole file, naming its line."""
    counts = {"created": 0, "updated": 0}
    for line, row in enumerate(rows, start=1):
        existed = Procedure.objects.filter(code=str(row.get("code") or "").strip()).exists()
        try:
            procedure_save(values=row, by=by)
        except InvalidInput as error:
            raise InvalidInput(
                _("Dòng %(line)s: %(message)s") % {"line": line, "message": error.message},
                field=error.field,
            ) from error
        counts["updated" if existed else "created"] += 1
    return counts


# --- Applicant data -----------------------------------------------------------------------------
def _secret_key() -> str:
    return settings.FIELD_ENCRYPTION_KEY


def _hash(kind: str, value: str) -> str:
    return crypto.lookup_hash(f"{kind}:{value}", secret=_secret_key()) if value else ""


def _encrypt(value: str) -> str:
    return crypto.encrypt(value, secret=_secret_key()) if value else ""


def applicant_contact(dossier: Dossier) -> dict[str, str]:
    """The decrypted phone and e-mail, for notifying the applicant (never rendered in lists)."""

    def clear(token: str) -> str:
        return crypto.decrypt(token, secret=_secret_key()) if token else ""

    return {
        "phone": clear(dossier.applicant_phone_encrypted),
        "email": clear(dossier.applicant_email_encrypted),
    }


def _applicant(values: dict) -> dict:
    name = " ".join(str(values.get("name") or "").split())
    if not name:
        raise InvalidInput(_("Vui lòng nhập họ tên người nộp."), field="applicant.name")
    if len(name) > 150:
        raise InvalidInput(_("Tối đa %(n)s ký tự.") % {"n": 150}, field="applicant.name")
    phone = re.sub(r"[\s.\-]", "", str(values.get("phone") or ""))
    if phone.startswith("+84"):
        phone = "0" + phone[3:]
    if phone and not re.fullmatch(r"0\d{9,10}", phone):
        raise InvalidInput(_("Số điện thoại không hợp lệ."), field="applicant.phone")
    email = str(values.get("email") or "").strip().lower()
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise InvalidInput(_("Địa chỉ e-mail không hợp lệ."), field="applicant.email")
    if not phone and not email:
        raise InvalidInput(
            _("Vui lòng để lại số điện thoại hoặc e-mail để nhận kết quả."), field="applicant.phone"
        )
    id_number = re.sub(r"\s", "", str(values.get("id_number") or ""))
    if id_number and not re.fullmatch(r"\d{12}", id_number):
        raise InvalidInput(_("Số CCCD gồm 12 chữ số."), field="applicant.id_number")
    return {
        "applicant_name": name,
        "applicant_address": " ".join(str(values.get("address") or "").split())[:255],
        "applicant_phone_encrypted": _encrypt(phone),
        "applicant_phone_hash": _hash("phone", phone),
        "applicant_email_encrypted": _encrypt(email),
        "applicant_id_encrypted": _encrypt(id_number),
        "applicant_id_hash": _hash("cccd", id_number),
    }


# --- Documents ----------------------------------------------------------------------------------
def document_check(data: bytes, filename: str) -> str:
    """The content type of an upload, by its first bytes; a PDF or an image, not too large."""
    if len(data) > settings.XASO_DOSSIER_FILE_MAX_BYTES:
        raise InvalidInput(
            _("Tệp %(name)s quá lớn (tối đa %(mb)s MB).")
            % {"name": filename, "mb": settings.XASO_DOSSIER_FILE_MAX_BYTES // 1_000_000},
            field="documents",
        )
    for magic, content_type in FILE_TYPES.items():
        if data.startswith(magic):
            return content_type
    raise InvalidInput(
        _("Tệp %(name)s không phải PDF hoặc ảnh (JPEG, PNG).") % {"name": filename},
        field="documents",
    )


def _attach(dossier: Dossier, name: str, data: bytes, filename: str, kind: str) -> DossierDocument:
    content_type = document_check(data, filename)
    digest = hashlib.sha256(data).hexdigest()
    extension = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png"}[content_type]
    document = DossierDocument(
        dossier=dossier,
        kind=kind,
        name=name[:300],
        content_type=content_type,
        size=len(data),
        sha256=digest,
    )
    document.file.save(
        f"{dossier.public_id}-{digest[:16]}.{extension}", ContentFile(data), save=False
    )
    document.save()
    return document


def _check_required(procedure: Procedure, uploads: list[tuple[str, bytes, str]]) -> None:
    names = {name for name, _data, _filename in uploads}
    missing = [
        doc["name"]
        for doc in procedure.documents
        if doc.get("required") and doc["name"] not in names
    ]
    if missing:
        raise InvalidInput(
            _("Thiếu giấy tờ bắt buộc: %(names)s.") % {"names": "; ".join(missing)},
            field="documents",
        )
    known = {doc["name"] for doc in procedure.documents}
    unknown = sorted(names - known)
    if known and unknown:
        raise InvalidInput(
            _("Giấy tờ không có trong thành phần hồ sơ: %(names)s.")
            % {"names": "; ".join(unknown)},
            field="documents",
        )


# --- Intake -------------------------------------------------------------------------------------
def _next_code(commune: Place, day: datetime.date) -> str:
    """<agency>-<yyMMdd>-<4-digit daily number>, gapless per agency and day (row lock)."""
    agency = settings.XASO_AGENCY_CODE or commune.code
    DailyCounter.objects.get_or_create(agency=agency, day=day)
    counter = DailyCounter.objects.select_for_update().get(agency=agency, day=day)
    counter.last_number += 1
    counter.save(update_fields=["last_number"])
    return f"{agency}-{day:%y%m%d}-{counter.last_number:04d}"


def _new_secret() -> str:
    return "".join(secrets.choice(CROCKFORD_ALPHABET) for _ in range(8)).upper()


def secret_matches(dossier: Dossier, secret: str) -> bool:
    cleaned = (secret or "").strip().upper().replace("-", "")
    return bool(cleaned) and secrets.compare_digest(dossier.secret_hash, _hash("secret", cleaned))


@transaction.atomic
def dossier_submit(
    *,
    procedure: Procedure,
    commune: Place,
    applicant: dict,
    uploads: list[tuple[str, bytes, str]],
    channel: str = Dossier.Channel.ONLINE,
    by=None,
) -> tuple[Dossier, str]:
    """A new dossier with its documents; at the counter it is received at once.

    `uploads` are (required document name, bytes, file name). Returns the dossier and its
    lookup secret (printed on the slip, shown once; only its hash is stored).
    """
    if commune.kind != Place.Kind.COMMUNE:
        raise InvalidInput(_("Vui lòng chọn xã/phường nhận hồ sơ."), field="commune")
    if not procedure.is_active:
        raise InvalidInput(_("Thủ tục này không còn áp dụng."), field="procedure")
    if channel not in Dossier.Channel.values:
        raise InvalidInput(_("Kênh nộp không hợp lệ."), field="channel")
    if channel != Dossier.Channel.ONLINE and not user_can(by, Capability.RECEIVE_DOSSIERS, commune):
        raise DomainError(_("Bạn không có quyền tiếp nhận hồ sơ tại xã này."))
    for _name, data, filename in uploads:
        document_check(data, filename)
    _check_required(procedure, uploads)
    now = timezone.now()
    secret = _new_secret()
    dossier = Dossier.objects.create(
        code=_next_code(commune, timezone.localdate(now)),
        secret_hash=_hash("secret", secret),
        procedure=procedure,
        commune=commune,
        channel=channel,
        submitted_at=now,
        search_key=search_key(applicant.get("name"), procedure.name),
        **_applicant(applicant),
    )
    hashes = {
        name: _attach(dossier, name, data, filename, DossierDocument.Kind.SUBMITTED).sha256
        for name, data, filename in uploads
    }
    chain.step_append(dossier=dossier, action="submit", from_status="", by=by, file_hashes=hashes)
    audit.record(
        actor=by,
        verb="dossier.submitted",
        target=dossier,
        place_path=commune.path,
        changes={"channel": channel, "procedure": procedure.code},
    )
    if channel != Dossier.Channel.ONLINE:
        _transition(dossier, "receive", by=by, note="")
    return dossier, secret


@transaction.atomic
def dossier_supplement(*, dossier: Dossier, uploads: list[tuple[str, bytes, str]]) -> Dossier:
    """The applicant sends the papers asked for; the dossier waits to be received again."""
    dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if dossier.status != S.SUPPLEMENT:
        raise DomainError(_("Hồ sơ không ở trạng thái chờ bổ sung."))
    if not uploads:
        raise InvalidInput(_("Vui lòng chọn tệp bổ sung."), field="documents")
    hashes = {
        name: _attach(dossier, name, data, filename, DossierDocument.Kind.SUPPLEMENT).sha256
        for name, data, filename in uploads
    }
    chain.step_append(
        dossier=dossier, action="supplement", from_status=S.SUPPLEMENT, file_hashes=hashes
    )
    audit.record(
        actor=None, verb="dossier.supplemented", target=dossier, place_path=dossier.commune.path
    )
    return dossier


# --- Transitions --------------------------------------------------------------------------------
@transaction.atomic
def dossier_transition(
    *,
    dossier: Dossier,
    action: str,
    by,
    note: str = "",
    assignee=None,
    new_due: datetime.date | None = None,
    returned_via: str = "",
    result: tuple[bytes, str] | None = None,
) -> Dossier:
    if action not in TRANSITIONS:
        raise InvalidInput(
            _("Thao tác không hợp lệ: %(action)s.") % {"action": action}, field="action"
        )
    dossier = (
        Dossier.objects.select_for_update()
        .select_related("commune", "procedure")
        .get(pk=dossier.pk)
    )
    if not user_can(by, ACTION_CAPABILITY[action], dossier.commune):
        raise DomainError(_("Bạn không có quyền thực hiện bước này."))
    return _transition(
        dossier,
        action,
        by=by,
        note=note,
        assignee=assignee,
        new_due=new_due,
        returned_via=returned_via,
        result=result,
    )


def _transition(dossier: Dossier, action: str, *, by, note: str, **options) -> Dossier:
    allowed_from, target = TRANSITIONS[action]
    if dossier.status not in allowed_from:
        raise DomainError(
            _("Không thể “%(action)s” hồ sơ đang ở trạng thái “%(status)s”.")
            % {"action": ACTION_LABELS[action], "status": dossier.get_status_display()}
        )
    note = " ".join((note or "").split("\n"))[:2000].strip() if note else ""
    if action in NOTE_REQUIRED and not note:
        raise InvalidInput(_("Vui lòng ghi rõ lý do."), field="note")
    previous_status = dossier.status
    last_step_at = dossier.steps.order_by("-seq").values_list("at", flat=True).first()
    file_hashes = _apply(dossier, action, by=by, note=note, target=target, **options)
    dossier.save()
    timing = _timing(dossier, action, last_step_at)
    chain.step_append(
        dossier=dossier,
        action=action,
        from_status=previous_status,
        by=by,
        note=note,
        file_hashes=file_hashes,
        timing=timing,
        receiver_name=getattr(dossier.assignee, "username", "") if action == "assign" else "",
        data=_step_data(dossier, action),
    )
    audit.record(
        actor=by,
        verb=f"dossier.{action}",
        target=dossier,
        place_path=dossier.commune.path,
        changes={"status": [previous_status, dossier.status]},
    )
    transaction.on_commit(lambda: notices.status_changed(dossier.pk, action))
    return dossier


def _apply(
    dossier: Dossier,
    action: str,
    *,
    by,
    note,
    target,
    assignee=None,
    new_due=None,
    returned_via="",
    result=None,
) -> dict[str, str]:
    """Change the dossier's fields for `action`; returns hashes of files it attached."""
    now = timezone.now()
    if action == "receive":
        dossier.received_at = now
        dossier.received_on, dossier.due = deadlines.due_for(now, dossier.procedure.processing_days)
    elif action == "assign":
        if assignee is None or not user_can(assignee, Capability.PROCESS_DOSSIERS, dossier.commune):
            raise InvalidInput(_("Vui lòng chọn cán bộ xử lý có quyền tại xã."), field="assignee")
        dossier.assignee = assignee
    elif action == "pause":
        dossier.resume_status, dossier.paused_at = dossier.status, now
    elif action == "resume":
        target = dossier.resume_status or S.RECEIVED
        dossier.resume_status, dossier.paused_at = "", None
    elif action == "extend":
        _extend(dossier, new_due, note)
        target = dossier.status
    elif action == "issue_result":
        dossier.result_at = now
        if result is not None:
            data, filename = result
            document = _attach(
                dossier, _("Kết quả giải quyết"), data, filename, DossierDocument.Kind.RESULT
            )
            dossier.status = target
            return {document.name: document.sha256}
    elif action == "return":
        if returned_via not in Dossier.Channel.values:
            raise InvalidInput(_("Vui lòng chọn hình thức trả kết quả."), field="returned_via")
        dossier.returned_at, dossier.returned_via = now, returned_via
        dossier.timeliness = deadlines.dossier_timeliness(dossier, dossier.result_at or now)
    dossier.status = target
    return {}


def _extend(dossier: Dossier, new_due: datetime.date | None, reason: str) -> None:
    """One extension only, to a later date, with the apology (Form 04) reason."""
    if dossier.extended_due is not None:
        raise DomainError(_("Hồ sơ chỉ được gia hạn một lần."))
    if new_due is None or dossier.due is None or new_due <= dossier.due:
        raise InvalidInput(_("Ngày hẹn mới phải sau ngày hẹn cũ."), field="new_due")
    dossier.extended_due, dossier.extension_reason = new_due, reason


def _timing(dossier: Dossier, action: str, since) -> tuple[int | None, int | None, str]:
    allowed = deadlines.step_minutes_allowed(dossier.procedure, action)
    if allowed is None or since is None:
        return None, None, ""
    used = deadlines.minutes_used(since, timezone.now())
    return allowed, used, deadlines.step_timeliness(allowed, used)


def _step_data(dossier: Dossier, action: str) -> dict:
    data = {}
    if action == "receive" and dossier.due:
        data = {"received_on": dossier.received_on.isoformat(), "due": dossier.due.isoformat()}
    elif action == "extend":
        data = {"new_due": dossier.extended_due.isoformat()}
    elif action == "return":
        data = {"via": dossier.returned_via, "timeliness": dossier.timeliness}
    return data


# --- After the result ---------------------------------------------------------------------------
@transaction.atomic
def dossier_rate(*, dossier: Dossier, rating: int, comment: str = "") -> Dossier:
    """The applicant rates the service once, after the result is returned."""
    dossier = Dossier.objects.select_for_update().get(pk=dossier.pk)
    if dossier.status != S.RETURNED:
        raise DomainError(_("Chỉ đánh giá được sau khi nhận kết quả."))
    if dossier.rating is not None:
        raise DomainError(_("Hồ sơ này đã được đánh giá."))
    if not isinstance(rating, int) or not 1 <= rating <= 5:
        raise InvalidInput(_("Điểm đánh giá từ 1 đến 5."), field="rating")
    dossier.rating, dossier.rating_comment = rating, " ".join((comment or "").split())[:500]
    dossier.save(update_fields=["rating", "rating_comment", "updated_at"])
    audit.record(actor=None, verb="dossier.rated", target=dossier, place_path=dossier.commune.path)
    return dossier


# --- Calendar -----------------------------------------------------------------------------------
@transaction.atomic
def calendar_override_set(*, day: datetime.date, working: bool, note: str, by) -> CalendarOverride:
    override, _created = CalendarOverride.objects.update_or_create(
        day=day, defaults={"working": working, "note": (note or "")[:200]}
    )
    audit.record(
        actor=by,
        verb="calendar.overridden",
        target=override,
        changes={"day": day.isoformat(), "working": working},
    )
    return override


@transaction.atomic
def calendar_override_delete(*, day: datetime.date, by) -> None:
    deleted, _rows = CalendarOverride.objects.filter(day=day).delete()
    if deleted:
        audit.record(actor=by, verb="calendar.override_deleted", changes={"day": day.isoformat()})


# --- For the officer pages (views.py) -----------------------------------------------------------
APPLICANT_FIELDS = {"phone": "applicant_phone_encrypted", "id_number": "applicant_id_encrypted"}


@transaction.atomic
def dossier_document_opened(*, document: DossierDocument, by) -> None:
    """Record that someone opened a dossier's document (ID scans, certificates: personal
    data), as revealing the applicant's phone or CCCD is recorded."""
    dossier = document.dossier
    audit.record(
        actor=by,
        verb="dossier.document_opened",
        target=dossier,
        place_path=dossier.commune.path,
        changes={"document": document.pk, "name": document.name, "kind": document.kind},
    )


@transaction.atomic
def dossier_applicant_reveal(*, dossier: Dossier, field: str, by) -> str:
    """The applicant's phone or CCCD in clear, for an officer who may reveal it; audited."""
    if field not in APPLICANT_FIELDS:
        raise InvalidInput(_("Trường dữ liệu không hợp lệ."), field="field")
    if not user_can(by, Capability.REVEAL_PERSONAL_DATA, dossier.commune):
        raise DomainError(_("Bạn không có quyền xem dữ liệu này."))
    token = getattr(dossier, APPLICANT_FIELDS[field])
    value = crypto.decrypt(token, secret=_secret_key()) if token else ""
    audit.record(
        actor=by,
        verb=f"dossier.applicant_{field}_revealed",
        target=dossier,
        place_path=dossier.commune.path,
    )
    return value
