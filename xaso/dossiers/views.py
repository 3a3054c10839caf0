"""Officer pages of the one-stop shop: the work queue, counter intake, the dossier page with its
workflow, documents, forms 01–06 and the result, payments and receipts.

Each view: parse, select (scoped, with the capability the page needs), act, render. The
citizens' pages are in citizen_views.py; the catalogue, calendar, signing key and statistics in
admin_views.py.
"""

import datetime
import mimetypes

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models.functions import Coalesce
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xaso.accounts.permissions import scope_filter, user_can, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.errors import DomainError
from xaso.core.forms import submitted
from xaso.dossiers import actions, chain, deadlines, printing, receipts, selectors
from xaso.dossiers.forms import (
    ApplicantForm,
    CommuneChoiceForm,
    PaymentConfirmForm,
    PaymentRequestForm,
    ProcedureChoiceForm,
    QueueFilterForm,
    ReceiptCancelForm,
    ReceiptIssueForm,
    ReceiptReplaceForm,
    SecretForm,
    TransitionForm,
)
from xaso.dossiers.models import Dossier, DossierDocument, Payment, Receipt
from xaso.lib.vn_money import format_vnd
from xaso.places.models import Place

PAGE_SIZE = 25
VIEW = Capability.VIEW_DOSSIERS
RECEIVE = Capability.RECEIVE_DOSSIERS
RECEIPTS = Capability.ISSUE_RECEIPTS
S = Dossier.Status
CLOSED = {S.RETURNED, S.REFUSED, S.STOPPED, S.WITHDRAWN}

# Which fields each action asks for (the note comes last).
ACTION_FIELDS = {
    "receive": (),
    "request_supplement": ("note",),
    "refuse": ("note",),
    "assign": ("assignee", "note"),
    "appraise": ("note",),
    "approve": ("note",),
    "issue_result": ("result", "note"),
    "return": ("returned_via", "note"),
    "pause": ("note",),
    "resume": (),
    "extend": ("new_due", "note"),
    "stop": ("note",),
    "withdraw": ("note",),
}
NOTE_LABELS = {
    "request_supplement": _("Giấy tờ cần bổ sung, lý do"),
    "refuse": _("Lý do từ chối"),
    "extend": _("Lý do gia hạn (in trên phiếu xin lỗi)"),
    "pause": _("Lý do tạm dừng"),
    "stop": _("Lý do dừng xử lý"),
    "appraise": _("Ý kiến thẩm định"),
}
DANGER = {"refuse", "stop", "withdraw"}


def _require(user, capability: str) -> None:
    if not user_has_anywhere(user, capability):
        raise Http404


def act(form, action, fields: dict | None = None):
    """Call an action; a DomainError becomes an error on the form's matching field."""
    try:
        return action()
    except DomainError as error:
        field = (fields or getattr(form, "error_fields", {})).get(error.field, error.field)
        form.add_error(field if field in form.fields else None, error.message)
        return None


def no_store(response):
    response["Cache-Control"] = "private, no-store"
    return response


def pdf_response(data: bytes, filename: str, *, inline: bool = False) -> HttpResponse:
    response = HttpResponse(data, content_type="application/pdf")
    disposition = "inline" if inline else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return no_store(response)


# --- Urgency ------------------------------------------------------------------------------------
def _working_days_between(calendar, start: datetime.date, end: datetime.date) -> int:
    days, day = 0, start
    while day < end and days < 400:
        day += datetime.timedelta(days=1)
        if calendar.is_working_day(day):
            days += 1
    return days


def urgency(dossier: Dossier, today: datetime.date, calendar) -> dict:
    """red: overdue; amber: due today or on the next working day; green: more time left."""
    due = dossier.current_due
    if due is None or dossier.status in CLOSED:
        return {"level": "none", "label": ""}
    if due < today:
        late = (today - due).days
        return {"level": "red", "label": _("Quá hạn %(n)s ngày") % {"n": late}}
    left = _working_days_between(calendar, today, due)
    if left == 0:
        return {"level": "amber", "label": _("Đến hạn hôm nay")}
    level = "amber" if left <= 1 else "green"
    return {"level": level, "label": _("Còn %(n)s ngày làm việc") % {"n": left}}


# --- Work queue ---------------------------------------------------------------------------------
@login_required
def queue(request):
    user = request.user
    _require(user, VIEW)
    procedures = list(selectors.procedures_active().values_list("code", "name"))
    form = QueueFilterForm(request.GET, procedures=procedures)
    valid = form.is_valid()
    data = form.cleaned_data if valid else {}
    everything = request.GET.get("tat-ca") == "1"
    searching = everything or any(data.get(key) for key in ("q", "status", "procedure"))
    if searching:
        rows = selectors.dossiers_for_user(
            user=user, q=data.get("q", ""), status=data.get("status", "")
        )
    else:
        rows = selectors.work_queue_for_user(user=user).order_by(
            Coalesce("extended_due", "due").asc(nulls_last=True), "submitted_at", "id"
        )
    if data.get("procedure"):
        rows = rows.filter(procedure__code=data["procedure"])
    if not valid:
        rows = rows.none()
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    today, calendar = timezone.localdate(), deadlines.working_calendar()
    context = {
        "form": form,
        "page": page,
        "rows": [(dossier, urgency(dossier, today, calendar)) for dossier in page],
        "searching": searching,
        "can_receive": user_has_anywhere(user, RECEIVE),
        "query": request.GET.urlencode(),
    }
    if request.htmx and request.htmx.target == "results":
        return render(request, "dossiers/queue.html#results", context)
    return render(request, "dossiers/queue.html", context, status=400 if form.errors else 200)


# --- Counter intake -----------------------------------------------------------------------------
def _intake_communes(user):
    return (
        Place.objects.filter(kind=Place.Kind.COMMUNE)
        .filter(scope_filter(user, RECEIVE, "path"))
        .select_related("parent")
        .order_by("name")
    )


@login_required
def intake(request):
    user = request.user
    _require(user, RECEIVE)
    procedures = selectors.procedures_active()
    chosen = request.GET.get("thu-tuc")
    choice = ProcedureChoiceForm({"procedure": chosen} if chosen else None, procedures=procedures)
    procedure = choice.cleaned_data["procedure"] if choice.is_bound and choice.is_valid() else None
    if procedure is None:
        context = {"choice": choice, "procedures": procedures}
        return render(
            request, "dossiers/intake.html", context, status=400 if choice.errors else 200
        )
    communes = list(_intake_communes(user)[:2])
    data = submitted(request)
    commune_form = None
    if len(communes) != 1:  # an officer of one commune takes dossiers for it, unasked
        commune_form = CommuneChoiceForm(data, communes=_intake_communes(user))
    form = ApplicantForm(data, request.FILES or None, procedure=procedure)
    commune_ok = commune_form is None or commune_form.is_valid()
    if request.method == "POST" and form.is_valid() and commune_ok:
        commune = commune_form.cleaned_data["commune"] if commune_form else communes[0]
        created = act(
            form,
            lambda: actions.dossier_submit(
                procedure=procedure,
                commune=commune,
                applicant=form.applicant(),
                uploads=form.uploads(),
                channel=Dossier.Channel.COUNTER,
                by=user,
            ),
            fields={**form.error_fields, "documents": None},
        )
        if created:
            dossier, secret = created
            context = {
                "dossier": dossier,
                "secret": secret,
                "slip": SecretForm(initial={"secret": secret}),
            }
            # The secret is shown here once: not stored, not cached, not redirected to.
            return no_store(render(request, "dossiers/intake_done.html", context, status=201))
    context = {
        "choice": choice,
        "procedure": procedure,
        "form": form,
        "commune_form": commune_form,
        "commune": communes[0] if commune_form is None else None,
    }
    status = 400 if form.errors or (commune_form and commune_form.errors) else 200
    return render(request, "dossiers/intake.html", context, status=status)


@login_required
@require_POST
def appointment_slip(request, code):
    """Form 01 with the lookup secret, posted back from the intake page (never stored)."""
    dossier = selectors.dossier_get_for_user(user=request.user, code=code, capability=RECEIVE)
    form = SecretForm(request.POST)
    if not form.is_valid():
        return HttpResponse(_("Thiếu mã tra cứu."), status=400)
    try:
        data = printing.form_pdf(dossier, "01", secret=form.cleaned_data["secret"])
    except DomainError as error:
        return HttpResponse(error.message, status=400, content_type="text/plain; charset=utf-8")
    return pdf_response(data, f"mau-01-{dossier.code}.pdf")


# --- The dossier page ---------------------------------------------------------------------------
def _transition_form(dossier, action, data=None, files=None):
    form = TransitionForm(
        data,
        files,
        assignees=selectors.dossier_assignees(commune=dossier.commune),
        auto_id=f"id_{action}_%s",  # one form per action on the page: ids stay unique
    )
    note = form.fields["note"]
    if action in NOTE_LABELS:
        note.label = NOTE_LABELS[action]
    note.required = action in actions.NOTE_REQUIRED
    if action == "assign":
        form.fields["assignee"].required = True
        form.fields["assignee"].empty_label = _("— Chọn cán bộ —")
    if action == "extend":
        form.fields["new_due"].required = True
    if action == "return":
        form.fields["returned_via"].required = True
        form.fields["returned_via"].initial = dossier.channel
    return form


def _action_forms(user, dossier, failed_action="", failed_form=None) -> list[dict]:
    steps = []
    for action, (allowed_from, _target) in actions.TRANSITIONS.items():
        if dossier.status not in allowed_from:
            continue
        if not user_can(user, actions.ACTION_CAPABILITY[action], dossier.commune):
            continue
        form = failed_form if action == failed_action else _transition_form(dossier, action)
        steps.append(
            {
                "action": action,
                "label": actions.ACTION_LABELS[action],
                "form": form,
                "fields": [form[name] for name in ACTION_FIELDS[action]],
                "open": action == failed_action,
                "danger": action in DANGER,
                "multipart": action == "issue_result",
            }
        )
    return steps


def _receipt_url(receipt) -> str:
    try:
        return reverse("dossiers_public:receipt", args=[receipt.public_id])
    except NoReverseMatch:
        return ""


def _issuable(payment: Payment) -> bool:
    """A receipt may be issued for it: none valid yet, and cash or a confirmed transfer."""
    if payment.receipt is not None and payment.receipt.status == Receipt.Status.ISSUED:
        return False
    return payment.method == Payment.Method.CASH or payment.status == Payment.Status.PAID


def _dossier_page(request, code, *, status=200, **failed):
    user = request.user
    dossier = selectors.dossier_get_for_user(user=user, code=code)
    commune = dossier.commune
    report = chain.chain_verify(dossier)
    links = {link.seq: link for link in report.links}
    broken = next((link for link in report.links if not link.ok), None)
    steps = [
        {
            "step": step,
            "label": actions.ACTION_LABELS.get(step.action, step.action),
            "link": links.get(step.seq),
        }
        for step in dossier.steps.all()
    ]
    can_receipts = user_can(user, RECEIPTS, commune)
    payments = list(dossier.payments.select_related("receipt", "receipt__series"))
    receipt_rows = [
        {
            "receipt": receipt,
            "amount": format_vnd(receipt.amount),
            "verify_url": _receipt_url(receipt),
            "cancel_form": failed.get("cancel_forms", {}).get(receipt.public_id)
            or ReceiptCancelForm(auto_id=f"id_cancel_{receipt.public_id}_%s"),
            "replace_form": failed.get("replace_forms", {}).get(receipt.public_id)
            or ReceiptReplaceForm(auto_id=f"id_replace_{receipt.public_id}_%s"),
        }
        for receipt in dossier.receipts.select_related("series").order_by("issued_at", "id")
    ]
    fee = dossier.procedure
    offered = _action_forms(
        user, dossier, failed.get("failed_action", ""), failed.get("failed_form")
    )
    failed_form = failed.get("failed_form")
    context = {
        "dossier": dossier,
        "applicant": selectors.dossier_applicant_masked(dossier),
        "can_reveal": user_can(user, Capability.REVEAL_PERSONAL_DATA, commune),
        "documents": list(dossier.documents.all()),
        "steps": steps,
        "chain_intact": report.intact,
        "chain_broken": broken,
        "action_forms": offered,
        # A step refused from a status that no longer offers it: say why above the buttons.
        "step_errors": (
            failed_form.non_field_errors()
            if failed_form is not None
            and failed.get("failed_action") not in {row["action"] for row in offered}
            else []
        ),
        "paper": printing.forms_available(dossier),
        "can_receipts": can_receipts,
        "payments": [
            {
                "payment": payment,
                "amount": format_vnd(payment.amount),
                "issuable": can_receipts and _issuable(payment),
                "confirm_form": failed.get("confirm_forms", {}).get(payment.public_id)
                or PaymentConfirmForm(auto_id=f"id_confirm_{payment.public_id}_%s"),
            }
            for payment in payments
        ],
        "receipts": receipt_rows,
        "payment_form": failed.get("payment_form")
        or PaymentRequestForm(
            auto_id="id_payment_%s",
            initial={"fee_name": fee.fee_name, "amount": fee.fee_amount or None, "method": "cash"},
        ),
        "receipt_form": failed.get("receipt_form")
        or ReceiptIssueForm(
            auto_id="id_receipt_%s",
            initial={"fee_name": fee.fee_name, "amount": fee.fee_amount or None, "method": "cash"},
        ),
        "fee": format_vnd(fee.fee_amount) if fee.fee_amount else "",
        "today": timezone.localdate(),
        "urgency": urgency(dossier, timezone.localdate(), deadlines.working_calendar()),
    }
    return render(request, "dossiers/dossier.html", context, status=status)


@login_required
def dossier_detail(request, code):
    return _dossier_page(request, code)


@login_required
@require_POST
def dossier_step(request, code, action):
    if action not in actions.TRANSITIONS:
        raise Http404
    user = request.user
    dossier = selectors.dossier_get_for_user(user=user, code=code)
    if not user_can(user, actions.ACTION_CAPABILITY[action], dossier.commune):
        raise PermissionDenied
    form = _transition_form(dossier, action, request.POST, request.FILES)
    if form.is_valid():
        data = form.cleaned_data
        upload = data.get("result") if action == "issue_result" else None
        done = act(
            form,
            lambda: actions.dossier_transition(
                dossier=dossier,
                action=action,
                by=user,
                note=data.get("note", ""),
                assignee=data.get("assignee") if action == "assign" else None,
                new_due=data.get("new_due") if action == "extend" else None,
                returned_via=data.get("returned_via", "") if action == "return" else "",
                result=(upload.read(), upload.name[:200]) if upload else None,
            ),
            fields={"documents": "result"},
        )
        if done:
            messages.success(
                request, _("Đã cập nhật hồ sơ: %(step)s.") % {"step": actions.ACTION_LABELS[action]}
            )
            return redirect("dossiers:dossier", code=dossier.code)
    return _dossier_page(request, code, status=400, failed_action=action, failed_form=form)


@login_required
@require_POST
def applicant_reveal(request, code, field):
    if field not in actions.APPLICANT_FIELDS:
        raise Http404
    dossier = selectors.dossier_get_for_user(
        user=request.user, code=code, capability=Capability.REVEAL_PERSONAL_DATA
    )
    value = actions.dossier_applicant_reveal(dossier=dossier, field=field, by=request.user)
    context = {"value": value or _("(chưa có)")}
    if request.htmx:
        return no_store(render(request, "dossiers/dossier.html#revealed", context))
    return no_store(render(request, "dossiers/revealed.html", {**context, "dossier": dossier}))


@login_required
def document_download(request, code, document_id):
    dossier = selectors.dossier_get_for_user(user=request.user, code=code)
    document = dossier.documents.filter(pk=document_id).first()
    if document is None:
        raise Http404
    response = _file(document)
    actions.dossier_document_opened(document=document, by=request.user)
    return response


def _file(document: DossierDocument) -> FileResponse:
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, ValueError) as missing:
        raise Http404 from missing
    extension = mimetypes.guess_extension(document.content_type) or ""
    response = FileResponse(
        handle,
        content_type=document.content_type,
        as_attachment=False,
        filename=f"{document.dossier.code}-{document.pk}{extension}",
    )
    return no_store(response)


@login_required
def paper(request, code, form):
    """Forms 02–06 and the signed result (Form 01 without the secret is a reprint)."""
    dossier = selectors.dossier_get_for_user(user=request.user, code=code)
    seq = request.GET.get("buoc")
    if form not in {"01", "02", "03", "04", "05", "06", "result"}:
        raise Http404
    try:
        data = printing.form_pdf(dossier, form, seq=int(seq) if seq and seq.isdigit() else None)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("dossiers:dossier", code=dossier.code)
    name = "ket-qua" if form == "result" else f"mau-{form}"
    return pdf_response(data, f"{name}-{dossier.code}.pdf", inline=form == "result")


# --- Payments and receipts ----------------------------------------------------------------------
def _dossier_for_receipts(request, code) -> Dossier:
    dossier = selectors.dossier_get_for_user(user=request.user, code=code)
    if not user_can(request.user, RECEIPTS, dossier.commune):
        raise PermissionDenied
    return dossier


@login_required
@require_POST
def payment_request(request, code):
    dossier = _dossier_for_receipts(request, code)
    form = PaymentRequestForm(request.POST, auto_id="id_payment_%s")
    if form.is_valid() and act(
        form,
        lambda: receipts.payment_request(dossier=dossier, by=request.user, **form.cleaned_data),
    ):
        messages.success(request, _("Đã tạo khoản thu."))
        return redirect(reverse("dossiers:dossier", args=[dossier.code]) + "#thu-phi")
    return _dossier_page(request, code, status=400, payment_form=form)


def _payment(request, public_id) -> Payment:
    payment = receipts.payment_get_for_user(user=request.user, public_id=public_id)
    if not user_can(request.user, RECEIPTS, payment.dossier.commune):
        raise PermissionDenied
    return payment


@login_required
@require_POST
def payment_confirm(request, public_id):
    payment = _payment(request, public_id)
    form = PaymentConfirmForm(request.POST, auto_id=f"id_confirm_{payment.public_id}_%s")
    if form.is_valid() and act(
        form,
        lambda: receipts.payment_confirm(
            payment=payment, bank_reference=form.cleaned_data["bank_reference"], by=request.user
        ),
    ):
        messages.success(request, _("Đã xác nhận tiền đã về tài khoản."))
        return redirect(reverse("dossiers:dossier", args=[payment.dossier.code]) + "#thu-phi")
    return _dossier_page(
        request, payment.dossier.code, status=400, confirm_forms={payment.public_id: form}
    )


@login_required
def payment_qr(request, public_id):
    payment = receipts.payment_get_for_user(user=request.user, public_id=public_id)
    if not payment.vietqr_payload:
        raise Http404
    response = HttpResponse(receipts.payment_qr(payment, kind="svg"), content_type="image/svg+xml")
    return no_store(response)


@login_required
@require_POST
def receipt_issue(request, code):
    dossier = _dossier_for_receipts(request, code)
    form = ReceiptIssueForm(request.POST, auto_id="id_receipt_%s")
    payment = None
    if form.is_valid() and form.cleaned_data["payment"]:
        payment = dossier.payments.filter(public_id=form.cleaned_data["payment"]).first()
        if payment is None:
            form.add_error(None, _("Không tìm thấy khoản thu."))
    if form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "payment"}
        receipt = act(
            form,
            lambda: receipts.receipt_issue(
                dossier=dossier, payment=payment, by=request.user, **values
            ),
        )
        if receipt:
            messages.success(
                request, _("Đã lập biên lai số %(n)s.") % {"n": f"{receipt.number:07d}"}
            )
            return redirect(reverse("dossiers:dossier", args=[dossier.code]) + "#thu-phi")
    return _dossier_page(request, code, status=400, receipt_form=form)


def _receipt(request, public_id) -> Receipt:
    receipt = selectors.receipt_get_for_user(user=request.user, public_id=public_id)
    if receipt.dossier is None:
        raise Http404
    if not user_can(request.user, RECEIPTS, receipt.dossier.commune):
        raise PermissionDenied
    return receipt


@login_required
@require_POST
def receipt_cancel(request, public_id):
    receipt = _receipt(request, public_id)
    form = ReceiptCancelForm(request.POST, auto_id=f"id_cancel_{receipt.public_id}_%s")
    if form.is_valid() and act(
        form,
        lambda: receipts.receipt_cancel(
            receipt=receipt, reason=form.cleaned_data["reason"], by=request.user
        ),
    ):
        messages.success(request, _("Đã huỷ biên lai."))
        return redirect(reverse("dossiers:dossier", args=[receipt.dossier.code]) + "#thu-phi")
    return _dossier_page(
        request, receipt.dossier.code, status=400, cancel_forms={receipt.public_id: form}
    )


@login_required
@require_POST
def receipt_replace(request, public_id):
    receipt = _receipt(request, public_id)
    form = ReceiptReplaceForm(request.POST, auto_id=f"id_replace_{receipt.public_id}_%s")
    if form.is_valid():
        data = form.cleaned_data
        new = act(
            form,
            lambda: receipts.receipt_replace(
                receipt=receipt,
                reason=data["reason"],
                by=request.user,
                amount=data.get("amount") or None,
                fee_name=data.get("fee_name") or None,
            ),
        )
        if new:
            messages.success(
                request, _("Đã lập biên lai thay thế số %(n)s.") % {"n": f"{new.number:07d}"}
            )
            return redirect(reverse("dossiers:dossier", args=[receipt.dossier.code]) + "#thu-phi")
    return _dossier_page(
        request, receipt.dossier.code, status=400, replace_forms={receipt.public_id: form}
    )


@login_required
def receipt_download(request, public_id):
    receipt = selectors.receipt_get_for_user(user=request.user, public_id=public_id)
    data = receipts.receipt_pdf(receipt)
    name = f"bien-lai-{receipt.series.series}-{receipt.number:07d}.pdf"
    return pdf_response(data, name, inline=True)
