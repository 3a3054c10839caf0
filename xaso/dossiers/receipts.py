"""Payments and electronic fee receipts: every write about them (issue 6, point 6).

Numbering (decision 0017): a receipt's number comes from its series row, locked with
SELECT … FOR UPDATE, incremented and saved in the same transaction that inserts the receipt.
Officers issuing at the same moment queue on that row; a crash anywhere before the commit rolls
back the increment with the receipt, so numbers are gapless and never given twice. Cancelled
and replaced receipts keep their numbers; a replacement takes the next one.

The PDF is made after the commit: a task renders and signs it (PAdES, the commune's key), and
`receipt_pdf` renders it on the first download if the task has not run yet (layout + signature
about 0.2 s, bench/receipts.py). The first file stored wins (a conditional update), so every
download is the same signed file.
"""

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tasks import task

from xaso.accounts.permissions import scope_filter, user_can
from xaso.accounts.roles import Capability
from xaso.core import audit
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.records import save_unique
from xaso.dossiers import signing
from xaso.dossiers.models import Dossier, Payment, Receipt, ReceiptSeries
from xaso.dossiers.receipt_pdf import display_number, receipt_pdf_layout
from xaso.lib import vietqr
from xaso.places.models import Place

MAX_AMOUNT = 100_000_000_000  # đồng; far above any commune fee, far below the column's limit
METHODS = {Receipt.Method.CASH, Receipt.Method.VIETQR}


# --- Checks -------------------------------------------------------------------------------------
def _check_can(by, commune: Place) -> None:
    if not user_can(by, Capability.ISSUE_RECEIPTS, commune):
        raise DomainError(_("Bạn không có quyền thu phí, lập biên lai tại xã này."))


def _clean_fee(fee_name) -> str:
    fee = " ".join(str(fee_name or "").split())
    if not fee:
        raise InvalidInput(_("Vui lòng nhập tên phí, lệ phí."), field="fee")
    if len(fee) > 200:
        raise InvalidInput(_("Tên phí, lệ phí tối đa %(n)s ký tự.") % {"n": 200}, field="fee")
    return fee


def _clean_amount(amount) -> int:
    if isinstance(amount, bool) or not isinstance(amount, int):
        raise InvalidInput(_("Số tiền phải là số nguyên (đồng)."), field="amount")
    if not 0 < amount <= MAX_AMOUNT:
        raise InvalidInput(_("Số tiền phải lớn hơn 0 và không quá 100 tỷ đồng."), field="amount")
    return amount


def _clean_method(method) -> str:
    if method not in METHODS:
        raise InvalidInput(
            _("Hình thức thanh toán là tiền mặt (cash) hoặc chuyển khoản VietQR (vietqr)."),
            field="method",
        )
    return str(method)


def _clean_reason(reason) -> str:
    reason = " ".join(str(reason or "").split())
    if not reason:
        raise InvalidInput(_("Vui lòng ghi rõ lý do."), field="reason")
    return reason[:1000]


# --- Series and numbers -------------------------------------------------------------------------
def series_symbols(day=None) -> tuple[str, str]:
    """The template symbol and series in force on `day` (settings; "{yy}" = year of issue)."""
    day = day or timezone.localdate()
    template = settings.XASO_RECEIPT_TEMPLATE.strip()
    series = settings.XASO_RECEIPT_SERIES.strip().replace("{yy}", f"{day:%y}")
    if not template or not series or len(template) > 20 or len(series) > 20:
        raise DomainError(_("Ký hiệu mẫu hoặc ký hiệu biên lai chưa được cấu hình đúng."))
    return template, series


def _series_for_update(commune: Place) -> ReceiptSeries:
    """The commune's active series, locked until the transaction ends; made on first use."""
    template, series = series_symbols()
    key = {"commune": commune, "template_symbol": template, "series": series}
    locked = ReceiptSeries.objects.select_for_update().filter(**key).first()
    if locked is None:
        # Two first receipts at once: one INSERT waits for the other's commit, then fails on
        # the unique constraint and get_or_create reads the committed row.
        _row, created = ReceiptSeries.objects.get_or_create(**key)
        if created:
            ReceiptSeries.objects.filter(commune=commune, is_active=True).exclude(
                pk=_row.pk
            ).update(is_active=False)
        locked = ReceiptSeries.objects.select_for_update().get(**key)
    if not locked.is_active:
        raise DomainError(
            _("Ký hiệu %(series)s đã ngừng sử dụng; vui lòng kiểm tra cấu hình biên lai.")
            % {"series": series}
        )
    return locked


def _issue(
    *,
    commune: Place,
    dossier: Dossier | None,
    payer_name: str,
    fee_name: str,
    amount: int,
    method: str,
    by,
    replaces: Receipt | None = None,
) -> Receipt:
    """Take the next number of the locked series and insert the receipt (caller is atomic)."""
    series = _series_for_update(commune)
    series.last_number += 1
    series.save(update_fields=["last_number"])
    receipt = Receipt.objects.create(
        series=series,
        number=series.last_number,
        dossier=dossier,
        payer_name=payer_name[:150],
        fee_name=fee_name,
        amount=amount,
        method=method,
        collector=by,
        collector_name=str(by)[:150],
        issued_at=timezone.now(),
        replaces=replaces,
    )
    receipt_id = receipt.pk
    transaction.on_commit(lambda: receipt_pdf_job.enqueue(receipt_id=receipt_id), robust=True)
    return receipt


def _audit_issued(receipt: Receipt, by, commune: Place) -> None:
    audit.record(
        actor=by,
        verb="receipt.issued",
        target=receipt,
        place_path=commune.path,
        changes={
            "series": f"{receipt.series.template_symbol} {receipt.series.series}",
            "number": receipt.number,
            "amount": receipt.amount,
            "dossier": receipt.dossier.code if receipt.dossier_id else "",
        },
    )


# --- Receipts -----------------------------------------------------------------------------------
@transaction.atomic
def receipt_issue(
    *,
    dossier: Dossier,
    fee_name: str,
    amount: int,
    method: str,
    by,
    payment: Payment | None = None,
) -> Receipt:
    """Issue the next receipt of the commune's active series for a fee paid on `dossier`.

    With `payment`, the receipt is for that payment (same fee, amount and method): a cash
    payment is taken as collected now; a transfer must have been confirmed first.
    """
    commune = dossier.commune
    _check_can(by, commune)
    fee_name, amount, method = _clean_fee(fee_name), _clean_amount(amount), _clean_method(method)
    if payment is not None:
        payment = _payment_locked(payment)
        if payment.dossier_id != dossier.pk:
            raise InvalidInput(_("Khoản thu không thuộc hồ sơ này."), field="payment")
        current = payment.receipt
        if current is not None and current.status == Receipt.Status.ISSUED:
            raise DomainError(_("Khoản thu này đã có biên lai %(n)s.") % {"n": current})
        if (payment.fee_name, payment.amount, payment.method) != (fee_name, amount, method):
            raise InvalidInput(
                _("Tên phí, số tiền và hình thức phải khớp với khoản thu."), field="amount"
            )
        if payment.status != Payment.Status.PAID:
            if method == Receipt.Method.VIETQR:
                raise DomainError(_("Chưa xác nhận tiền chuyển khoản đã về tài khoản của xã."))
            payment.status, payment.paid_at = Payment.Status.PAID, timezone.now()
    receipt = _issue(
        commune=commune,
        dossier=dossier,
        payer_name=dossier.applicant_name,
        fee_name=fee_name,
        amount=amount,
        method=method,
        by=by,
    )
    if payment is not None:
        payment.receipt = receipt
        payment.save(update_fields=["status", "paid_at", "receipt"])
    _audit_issued(receipt, by, commune)
    return receipt


def _receipt_locked(receipt: Receipt) -> Receipt:
    return (
        Receipt.objects.select_for_update(of=("self",))
        .select_related("series", "series__commune", "dossier")
        .get(pk=receipt.pk)
    )


@transaction.atomic
def receipt_cancel(*, receipt: Receipt, reason: str, by) -> Receipt:
    """Cancel a receipt; its number stays used (the register shows it as cancelled)."""
    receipt = _receipt_locked(receipt)
    commune = receipt.series.commune
    _check_can(by, commune)
    reason = _clean_reason(reason)
    if receipt.status != Receipt.Status.ISSUED:
        raise DomainError(_("Chỉ huỷ được biên lai đang có hiệu lực."))
    receipt.status, receipt.cancel_reason = Receipt.Status.CANCELLED, reason
    receipt.cancelled_at = timezone.now()
    receipt.save(update_fields=["status", "cancel_reason", "cancelled_at"])
    audit.record(
        actor=by,
        verb="receipt.cancelled",
        target=receipt,
        place_path=commune.path,
        changes={"reason": reason[:255]},
    )
    return receipt


@transaction.atomic
def receipt_replace(
    *,
    receipt: Receipt,
    reason: str,
    by,
    amount: int | None = None,
    fee_name: str | None = None,
) -> Receipt:
    """Replace a wrong receipt by a new one with the next number; the old one links to it."""
    old = _receipt_locked(receipt)
    commune = old.series.commune
    _check_can(by, commune)
    reason = _clean_reason(reason)
    if old.status != Receipt.Status.ISSUED:
        raise DomainError(_("Chỉ thay thế được biên lai đang có hiệu lực."))
    fee = _clean_fee(old.fee_name if fee_name is None else fee_name)
    amount = _clean_amount(old.amount if amount is None else amount)
    old.status, old.cancel_reason = Receipt.Status.REPLACED, reason
    old.cancelled_at = timezone.now()
    old.save(update_fields=["status", "cancel_reason", "cancelled_at"])
    new = _issue(
        commune=commune,
        dossier=old.dossier,
        payer_name=old.payer_name,
        fee_name=fee,
        amount=amount,
        method=old.method,
        by=by,
        replaces=old,
    )
    Payment.objects.filter(receipt=old).update(receipt=new)
    audit.record(
        actor=by,
        verb="receipt.replaced",
        target=old,
        place_path=commune.path,
        changes={"reason": reason[:255], "by_number": new.number},
    )
    _audit_issued(new, by, commune)
    return new


# --- The signed PDF -----------------------------------------------------------------------------
def receipt_pdf_render(receipt: Receipt) -> bytes:
    """The receipt's PDF, signed with the commune's key (PAdES)."""
    unsigned = receipt_pdf_layout(receipt)
    key = signing.signing_key_for(receipt.series.commune)
    number = display_number(receipt)
    return signing.sign_pdf(
        unsigned,
        key,
        reason=f"Biên lai {receipt.series.series} số {number}",
        field_name="ChuKyBienLai",
    )


def receipt_pdf(receipt: Receipt) -> bytes:
    """The stored signed PDF; rendered and stored now if it does not exist yet.

    Two first downloads at once may both render; only the first stored file is kept (a
    conditional update on the empty column) and both answer with it.
    """
    if not receipt.pdf:
        receipt.refresh_from_db(fields=["pdf"])
    if receipt.pdf:
        with receipt.pdf.open("rb") as stored:
            return stored.read()
    data = receipt_pdf_render(receipt)
    issued = timezone.localtime(receipt.issued_at)
    storage = receipt.pdf.storage
    name = storage.save(
        f"receipts/{issued:%Y/%m}/bien-lai-{receipt.public_id}.pdf", ContentFile(data)
    )
    if Receipt.objects.filter(pk=receipt.pk, pdf="").update(pdf=name):
        receipt.pdf.name = name
        return data
    storage.delete(name)  # another request stored its file first: answer with that one
    receipt.refresh_from_db(fields=["pdf"])
    with receipt.pdf.open("rb") as stored:
        return stored.read()


@task()
def receipt_pdf_job(*, receipt_id: int) -> None:
    """After the commit: render, sign and store the PDF. Safe to run twice."""
    receipt = (
        Receipt.objects.select_related("series__commune", "dossier").filter(pk=receipt_id).first()
    )
    if receipt is not None and not receipt.pdf:
        receipt_pdf(receipt)


# --- Payments -----------------------------------------------------------------------------------
def _payment_locked(payment: Payment) -> Payment:
    return (
        Payment.objects.select_for_update(of=("self",))
        .select_related("dossier", "dossier__commune", "receipt")
        .get(pk=payment.pk)
    )


def _vietqr_payload(dossier: Dossier, payment: Payment) -> str:
    if not (settings.XASO_BANK_BIN and settings.XASO_BANK_ACCOUNT):
        raise DomainError(_("Xã chưa khai báo tài khoản nhận chuyển khoản; vui lòng thu tiền mặt."))
    try:
        return vietqr.build(
            vietqr.Payment(
                bank_bin=settings.XASO_BANK_BIN,
                account=settings.XASO_BANK_ACCOUNT,
                amount=payment.amount,
                # The dossier code first: a bank shows 50 characters of the purpose at most.
                purpose=f"{dossier.code} {payment.fee_name}",
                bill_number=payment.public_id,
            )
        )
    except vietqr.VietQRError as error:
        raise DomainError(str(error)) from error


@transaction.atomic
def payment_request(*, dossier: Dossier, fee_name: str, amount: int, method: str, by) -> Payment:
    """A fee the applicant owes on `dossier`; by transfer it carries its VietQR payload."""
    commune = dossier.commune
    _check_can(by, commune)
    payment = Payment(
        dossier=dossier,
        fee_name=_clean_fee(fee_name),
        amount=_clean_amount(amount),
        method=_clean_method(method),
        recorded_by=by,
    )
    if payment.method == Payment.Method.VIETQR:
        payment.vietqr_payload = _vietqr_payload(dossier, payment)
    payment.save()
    audit.record(
        actor=by,
        verb="payment.requested",
        target=payment,
        place_path=commune.path,
        changes={"amount": payment.amount, "method": payment.method, "dossier": dossier.code},
    )
    return payment


@transaction.atomic
def payment_confirm(*, payment: Payment, bank_reference: str = "", by) -> Payment:
    """The money arrived. Idempotent: the same confirmation again (same or no reference)
    returns the payment unchanged; a bank reference is used by one payment only."""
    reference = " ".join(str(bank_reference or "").split())
    if len(reference) > 100:
        raise InvalidInput(_("Mã giao dịch tối đa 100 ký tự."), field="bank_reference")
    payment = _payment_locked(payment)
    commune = payment.dossier.commune
    _check_can(by, commune)
    if payment.status == Payment.Status.PAID:
        if not reference or reference == payment.bank_reference:
            return payment
        raise DomainError(_("Khoản thu đã được xác nhận với một mã giao dịch khác."))
    duplicate = _("Mã giao dịch ngân hàng này đã được dùng cho một khoản thu khác.")
    if reference and Payment.objects.filter(bank_reference=reference).exists():
        raise DomainError(duplicate)
    payment.status, payment.paid_at = Payment.Status.PAID, timezone.now()
    payment.bank_reference = reference
    try:
        save_unique(
            payment,
            duplicate_message=duplicate,
            field="bank_reference",
            update_fields=["status", "paid_at", "bank_reference"],
        )
    except InvalidInput as error:  # the same reference confirmed elsewhere at this moment
        raise DomainError(error.message) from error
    audit.record(
        actor=by,
        verb="payment.confirmed",
        target=payment,
        place_path=commune.path,
        changes={"bank_reference": reference},
    )
    return payment


def payment_qr(payment: Payment, *, kind: str = "svg", scale: int = 4) -> bytes:
    """The payment's VietQR code as SVG or PNG bytes (segno), for the screen or the slip."""
    import io

    import segno

    if not payment.vietqr_payload:
        raise DomainError(_("Khoản thu này không thanh toán bằng VietQR."))
    if kind not in ("svg", "png"):
        raise InvalidInput(_("Định dạng ảnh là svg hoặc png."), field="kind")
    buffer = io.BytesIO()
    segno.make(payment.vietqr_payload, error="m", micro=False).save(
        buffer, kind=kind, scale=scale, border=4
    )
    return buffer.getvalue()


# --- Reads the API needs (scoped like selectors.py; they belong there) --------------------------
def payment_get_for_user(
    *, user, public_id: str, capability: str = Capability.VIEW_DOSSIERS
) -> Payment:
    payment = (
        Payment.objects.filter(scope_filter(user, capability, "dossier__commune__path"))
        .select_related("dossier", "dossier__commune", "receipt", "receipt__series")
        .filter(public_id=public_id)
        .first()
    )
    if payment is None:
        raise Http404
    return payment
