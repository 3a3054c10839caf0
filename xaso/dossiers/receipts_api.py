"""Payments and e-receipts over JSON, at /api/v1/… Thin: parse, select, act.

Issuing, cancelling and replacing need ISSUE_RECEIPTS at the dossier's commune; reading needs
VIEW_DOSSIERS. A receipt or payment outside the caller's scope answers 404 like an unknown id.
"""

import datetime

from django.http import Http404, HttpResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema, Status

from xaso.accounts.roles import Capability
from xaso.core.errors import InvalidInput
from xaso.dossiers import receipt_pdf, receipts, selectors
from xaso.dossiers.models import Receipt
from xaso.lib.vn_money import amount_in_words

router = Router(tags=["receipts"])


class ReceiptOut(Schema):
    id: str
    template_symbol: str
    series: str
    number: str  # 7 digits, as printed
    dossier: str | None
    payer_name: str
    fee: str
    amount: int
    amount_in_words: str
    method: str
    status: str
    issued_at: datetime.datetime
    collector: str
    cancel_reason: str
    replaces: str | None
    replaced_by: str | None
    pdf_url: str
    verify_url: str

    @staticmethod
    def resolve_id(receipt) -> str:
        return receipt.public_id

    @staticmethod
    def resolve_template_symbol(receipt) -> str:
        return receipt.series.template_symbol

    @staticmethod
    def resolve_series(receipt) -> str:
        return receipt.series.series

    @staticmethod
    def resolve_number(receipt) -> str:
        return receipt_pdf.display_number(receipt)

    @staticmethod
    def resolve_dossier(receipt) -> str | None:
        return receipt.dossier.code if receipt.dossier_id else None

    @staticmethod
    def resolve_fee(receipt) -> str:
        return receipt.fee_name

    @staticmethod
    def resolve_amount_in_words(receipt) -> str:
        return amount_in_words(receipt.amount)

    @staticmethod
    def resolve_collector(receipt) -> str:
        return receipt.collector_name

    @staticmethod
    def resolve_replaces(receipt) -> str | None:
        return receipt.replaces.public_id if receipt.replaces_id else None

    @staticmethod
    def resolve_replaced_by(receipt) -> str | None:
        try:
            return receipt.replaced_by.public_id  # reverse one-to-one; joined in lists
        except Receipt.DoesNotExist:
            return None

    @staticmethod
    def resolve_pdf_url(receipt) -> str:
        return f"/api/v1/receipts/{receipt.public_id}/pdf"

    @staticmethod
    def resolve_verify_url(receipt) -> str:
        return receipt_pdf.verify_url(receipt)


class ReceiptIn(Schema):
    fee: str
    amount: int
    method: str = "cash"
    payment: str = ""  # a payment's id, when the receipt is for a requested payment


class ReasonIn(Schema):
    reason: str = ""


class ReplaceIn(Schema):
    reason: str = ""
    amount: int | None = None
    fee: str | None = None


class PaymentIn(Schema):
    fee: str
    amount: int
    method: str = "vietqr"


class ConfirmIn(Schema):
    bank_reference: str = ""


class PaymentOut(Schema):
    id: str
    dossier: str
    fee: str
    amount: int
    method: str
    status: str
    vietqr_payload: str
    qr_svg_url: str | None
    bank_account_name: str
    bank_reference: str
    paid_at: datetime.datetime | None
    receipt: str | None

    @staticmethod
    def resolve_id(payment) -> str:
        return payment.public_id

    @staticmethod
    def resolve_dossier(payment) -> str:
        return payment.dossier.code

    @staticmethod
    def resolve_fee(payment) -> str:
        return payment.fee_name

    @staticmethod
    def resolve_qr_svg_url(payment) -> str | None:
        if not payment.vietqr_payload:
            return None
        return f"/api/v1/payments/{payment.public_id}/qr.svg"

    @staticmethod
    def resolve_bank_account_name(payment) -> str:
        from django.conf import settings

        return settings.XASO_BANK_ACCOUNT_NAME if payment.vietqr_payload else ""

    @staticmethod
    def resolve_receipt(payment) -> str | None:
        return payment.receipt.public_id if payment.receipt_id else None


def _receipt(request, public_id: str, capability: str = Capability.VIEW_DOSSIERS) -> Receipt:
    return selectors.receipt_get_for_user(
        user=request.auth, public_id=public_id, capability=capability
    )


# --- Receipts -----------------------------------------------------------------------------------
@router.post("/dossiers/{code}/receipts", response={201: ReceiptOut})
def receipt_issue(request, code: str, payload: ReceiptIn):
    dossier = selectors.dossier_get_for_user(
        user=request.auth, code=code, capability=Capability.ISSUE_RECEIPTS
    )
    payment = None
    if payload.payment:
        try:
            payment = receipts.payment_get_for_user(
                user=request.auth, public_id=payload.payment, capability=Capability.ISSUE_RECEIPTS
            )
        except Http404 as error:  # named in the body: a field error, as places.api does
            raise InvalidInput(_("Không tìm thấy khoản thu này."), field="payment") from error
    receipt = receipts.receipt_issue(
        dossier=dossier,
        fee_name=payload.fee,
        amount=payload.amount,
        method=payload.method,
        by=request.auth,
        payment=payment,
    )
    return Status(201, receipt)


@router.get("/dossiers/{code}/receipts", response=list[ReceiptOut])
def receipt_list(request, code: str):
    dossier = selectors.dossier_get_for_user(user=request.auth, code=code)
    receipts_of_dossier = selectors.receipts_for_user(user=request.auth).filter(dossier=dossier)
    return receipts_of_dossier.select_related("replaces", "replaced_by")


@router.get("/receipts/{public_id}", response=ReceiptOut)
def receipt_get(request, public_id: str):
    return _receipt(request, public_id)


@router.post("/receipts/{public_id}/cancel", response=ReceiptOut)
def receipt_cancel(request, public_id: str, payload: ReasonIn):
    receipt = _receipt(request, public_id, Capability.ISSUE_RECEIPTS)
    return receipts.receipt_cancel(receipt=receipt, reason=payload.reason, by=request.auth)


@router.post("/receipts/{public_id}/replace", response={201: ReceiptOut})
def receipt_replace(request, public_id: str, payload: ReplaceIn):
    receipt = _receipt(request, public_id, Capability.ISSUE_RECEIPTS)
    new = receipts.receipt_replace(
        receipt=receipt,
        reason=payload.reason,
        by=request.auth,
        amount=payload.amount,
        fee_name=payload.fee,
    )
    return Status(201, new)


@router.get("/receipts/{public_id}/pdf", response={200: None})
def receipt_pdf_download(request, public_id: str):
    """The signed PDF: stored by the job after commit, or rendered now (about 0.2 s)."""
    receipt = _receipt(request, public_id)
    data = receipts.receipt_pdf(receipt)
    number = receipt_pdf.display_number(receipt)
    response = HttpResponse(data, content_type="application/pdf")
    filename = f"bien-lai-{receipt.series.series}-{number}.pdf"
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


# --- Payments -----------------------------------------------------------------------------------
@router.post("/dossiers/{code}/payments", response={201: PaymentOut})
def payment_request(request, code: str, payload: PaymentIn):
    dossier = selectors.dossier_get_for_user(
        user=request.auth, code=code, capability=Capability.ISSUE_RECEIPTS
    )
    payment = receipts.payment_request(
        dossier=dossier,
        fee_name=payload.fee,
        amount=payload.amount,
        method=payload.method,
        by=request.auth,
    )
    return Status(201, payment)


@router.get("/payments/{public_id}", response=PaymentOut)
def payment_get(request, public_id: str):
    return receipts.payment_get_for_user(user=request.auth, public_id=public_id)


@router.post("/payments/{public_id}/confirm", response=PaymentOut)
def payment_confirm(request, public_id: str, payload: ConfirmIn):
    payment = receipts.payment_get_for_user(
        user=request.auth, public_id=public_id, capability=Capability.ISSUE_RECEIPTS
    )
    return receipts.payment_confirm(
        payment=payment, bank_reference=payload.bank_reference, by=request.auth
    )


@router.get("/payments/{public_id}/qr.svg", response={200: None})
def payment_qr_svg(request, public_id: str):
    payment = receipts.payment_get_for_user(user=request.auth, public_id=public_id)
    return HttpResponse(receipts.payment_qr(payment, kind="svg"), content_type="image/svg+xml")
