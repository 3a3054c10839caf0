"""The printed face of an electronic fee receipt: one A5 landscape page, drawn with ReportLab.

`receipt_pdf_layout(receipt)` is deterministic: the same receipt gives the same bytes
(ReportLab's invariant mode fixes the document id and dates; every date printed comes from the
receipt). The PAdES signature is added by `receipts.receipt_pdf`, once, and the signed file is
stored, so every later download is the same file.

Printed (Decree 123/2020, Circular 78/2021): the issuing commune, template symbol, series and
7-digit number, payer, fee, amount in figures and in words, payment method, collector, date of
issue, and a QR code of the public verification page, which carries no personal data.
"""

import io

from django.conf import settings
from django.utils import timezone
from reportlab.lib.pagesizes import A5, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from xaso.dossiers.models import Receipt
from xaso.lib.labels import qr_matrix, qr_operators, register_font
from xaso.lib.vn_money import amount_in_words, format_vnd

PAGE_WIDTH, PAGE_HEIGHT = landscape(A5)
MARGIN = 12 * mm
QR_SIZE = 30 * mm


def verify_url(receipt: Receipt) -> str:
    """The public verification page the QR code leads to."""
    return f"{settings.XASO_PUBLIC_URL}/bien-lai/{receipt.public_id}/"


def display_number(receipt: Receipt) -> str:
    return f"{receipt.number:07d}"


def _fonts() -> tuple[str, str]:
    regular = register_font(settings.XASO_PDF_FONT)
    bold_path = settings.XASO_PDF_FONT.replace("DejaVuSans.ttf", "DejaVuSans-Bold.ttf")
    try:
        bold = register_font(bold_path)
    except FileNotFoundError:
        bold = regular
    return regular, bold


def _fit(page: Canvas, text: str, font: str, size: float, width: float) -> float:
    """The largest size up to `size` at which `text` fits in `width` (never below 6 pt)."""
    while size > 6 and page.stringWidth(text, font, size) > width:
        size -= 0.5
    return size


def receipt_pdf_layout(receipt: Receipt) -> bytes:
    """The unsigned PDF of `receipt` (series and commune loaded by the caller)."""
    regular, bold = _fonts()
    buffer = io.BytesIO()
    page = Canvas(buffer, pagesize=(PAGE_WIDTH, PAGE_HEIGHT), invariant=1, pageCompression=1)
    number = display_number(receipt)
    series = receipt.series
    commune = series.commune
    page.setTitle(f"Biên lai {series.template_symbol} {series.series} {number}")
    page.setAuthor(f"UBND {commune.name}")
    page.setSubject("Biên lai thu phí, lệ phí")
    issued = timezone.localtime(receipt.issued_at)
    top = PAGE_HEIGHT - MARGIN

    # Issuer on the left, the receipt's symbols on the right.
    page.setFont(bold, 10)
    page.drawString(MARGIN, top, f"UBND {commune.name}".upper()[:60])
    page.setFont(regular, 9)
    page.drawString(MARGIN, top - 12, f"Mã đơn vị: {commune.code}")
    right = PAGE_WIDTH - MARGIN
    page.drawRightString(right, top, f"Mẫu số: {series.template_symbol}")
    page.drawRightString(right, top - 12, f"Ký hiệu: {series.series}")
    page.setFont(bold, 11)
    page.drawRightString(right, top - 26, f"Số: {number}")

    # Title and date.
    page.setFont(bold, 15)
    page.drawCentredString(PAGE_WIDTH / 2, top - 50, "BIÊN LAI THU PHÍ, LỆ PHÍ")
    page.setFont(regular, 9)
    page.drawCentredString(PAGE_WIDTH / 2, top - 63, "(Bản thể hiện của biên lai điện tử)")
    page.drawCentredString(
        PAGE_WIDTH / 2,
        top - 76,
        f"Ngày {issued:%d} tháng {issued:%m} năm {issued:%Y}",
    )

    # The body: label, value.
    lines = [
        ("Họ tên người nộp:", receipt.payer_name),
        ("Hồ sơ:", receipt.dossier.code if receipt.dossier_id else ""),
        ("Tên loại phí, lệ phí:", receipt.fee_name),
        ("Số tiền:", format_vnd(receipt.amount)),
        ("Bằng chữ:", amount_in_words(receipt.amount) + "."),
        ("Hình thức thanh toán:", receipt.get_method_display()),
    ]
    y = top - 104
    value_left = MARGIN + 42 * mm
    value_width = right - value_left
    for label, value in lines:
        if not value:
            continue
        page.setFont(regular, 10)
        page.drawString(MARGIN, y, label)
        font = bold if label in ("Số tiền:", "Bằng chữ:") else regular
        size = _fit(page, value, font, 10.5, value_width)
        page.setFont(font, size)
        page.drawString(value_left, y, value)
        y -= 17

    # The QR of the verification page, bottom left, and the collector, bottom right.
    url = verify_url(receipt)
    qr = qr_matrix(url)
    module = QR_SIZE / len(qr[0])
    qr_top = MARGIN + QR_SIZE + 8
    page._code.append(qr_operators(qr, left=MARGIN, top=qr_top, module=module))
    page.setFont(regular, 7)
    page.drawString(MARGIN, MARGIN - 2, f"Tra cứu: {url}")

    signer_x = PAGE_WIDTH - MARGIN - 45 * mm
    page.setFont(bold, 10)
    page.drawCentredString(signer_x, qr_top - 6, "Người thu tiền")
    page.setFont(regular, 10)
    page.drawCentredString(signer_x, qr_top - 44, receipt.collector_name[:60])
    page.setFont(regular, 8)
    page.drawCentredString(signer_x, qr_top - 58, f"(Đã ký số: UBND {commune.name})"[:70])
    page.showPage()
    page.save()
    return buffer.getvalue()
