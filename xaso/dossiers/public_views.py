"""Anonymous pages of the one-stop shop: /bien-lai/<code>/ verifies an electronic receipt.

Anyone who scans the QR on a receipt sees what is printed on it, minus anything personal
beyond the payer's name as printed: issuer, symbols, number, fee, amount, date, and whether the
receipt is valid, cancelled or replaced. No phone, no CCCD, no address, no dossier code.
No session and no cookie; unknown codes are rate-limited per client (guessing defence).
"""

from django.http import HttpResponse
from django.template.loader import render_to_string
from django.views.decorators.http import require_http_methods

from xaso.core import ratelimit
from xaso.core.middleware import client_ip
from xaso.dossiers import receipt_pdf, selectors
from xaso.dossiers.models import Receipt
from xaso.lib.vn_money import amount_in_words, format_vnd

MISSES_PER_MINUTE = 30


def _page(context: dict, status: int = 200) -> HttpResponse:
    """Rendered without the request: no context processors, no session, no cookie."""
    response = HttpResponse(
        render_to_string("dossiers/public/receipt.html", context), status=status
    )
    response["Cache-Control"] = "no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


@require_http_methods(["GET", "HEAD"])
def receipt_verify(request, public_id: str):
    client = client_ip(request) or "unknown"
    if ratelimit.exceeded(scope="receipt-miss", key=client, limit=MISSES_PER_MINUTE):
        return _page({"too_many": True}, status=429)
    receipt = selectors.receipt_public(public_id.strip().lower()[:20])
    if receipt is None:
        ratelimit.allow(scope="receipt-miss", key=client, limit=MISSES_PER_MINUTE)
        return _page({"code": public_id[:20]}, status=404)
    replacement = None
    if receipt.status == Receipt.Status.REPLACED:
        replacement = Receipt.objects.filter(replaces=receipt).only("public_id").first()
    context = {
        "receipt": receipt,
        "number": receipt_pdf.display_number(receipt),
        "amount": format_vnd(receipt.amount),
        "amount_words": amount_in_words(receipt.amount),
        "valid": receipt.status == Receipt.Status.ISSUED,
        "replacement": replacement,
    }
    return _page(context)
