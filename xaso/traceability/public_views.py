"""Pages anyone may open without logging in: the GS1 resolver, lot pages, stamp checks.

They answer in HTML for people and JSON for programs, carry no personal data, and record
every scan. Guessing stamp codes is slowed by a per-client limit on unknown codes.
"""

import json
from functools import lru_cache

from django import forms
from django.conf import settings
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from xaso.core import ratelimit
from xaso.core.middleware import client_ip
from xaso.core.page_frames import PageFrames
from xaso.lib import gs1, stamp_codes
from xaso.lib.gs1_ai import AI_TABLE
from xaso.traceability import actions, epcis, public, stamps
from xaso.traceability.models import DiaryEntry, Product, Scan
from xaso.traceability.resolver import (
    GS1_VOCABULARY,
    linkset_response,
    problem,
    raw_request_uri,
    wants,
    with_cors,
    with_linkset,
)

_JSON = {"json_dumps_params": {"ensure_ascii": False}}


def _options() -> HttpResponse:
    response = with_cors(HttpResponse(status=204))
    response["Allow"] = "GET, HEAD, OPTIONS"
    return response


# --- The GS1 Digital Link resolver --------------------------------------------------------------
@csrf_exempt
def resolve(request, path: str):
    """/{primary key}/{value}[/{qualifier}/{value}…] for every GS1 primary key."""
    if request.method == "OPTIONS":
        return _options()
    if request.method not in ("GET", "HEAD"):
        return problem(request, 405, "Chỉ hỗ trợ GET, HEAD và OPTIONS.")
    try:
        link = _parsed_link(raw_request_uri(request))
    except gs1.DigitalLinkError as error:
        return problem(request, 400, error.message_vi, code=error.code, reason=error.message)
    lot = _lot_for(link)
    if lot is None:
        return problem(request, 404, "Không tìm thấy sản phẩm hoặc lô hàng mang mã này.")
    return serve_lot(request, lot, anchor=_anchor(link))


# Every package of a lot carries the same link, so the same URI arrives again and again:
# parsed once per process (a DigitalLink is immutable; a refused URI is not kept).
@lru_cache(maxsize=4096)
def _parsed_link(uri: str) -> gs1.DigitalLink:
    return gs1.parse_digital_link(uri)


@lru_cache(maxsize=4096)
def _anchor(link: gs1.DigitalLink) -> str:
    return link.to_uri(settings.XASO_PUBLIC_URL)


def _lot_for(link: gs1.DigitalLink) -> public.LotRef | None:
    """/01/{gtin}/10/{batch} leads to a lot; a serial (21) or variant (22) is allowed too."""
    if link.primary_key.ai != "01":
        return None
    batch = next((q.value for q in link.qualifiers if q.ai == "10"), None)
    if batch is None:
        return None
    return public.lot_ref_by_gtin_batch(link.primary_key.value, batch)


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def resolver_description(request):
    """/.well-known/gs1resolver: what this resolver serves (GS1 Digital Link 1.2 §9)."""
    if request.method == "OPTIONS":
        return _options()
    body = {
        "name": "XãSố — truy xuất nguồn gốc",
        "resolverRoot": settings.XASO_PUBLIC_URL,
        "supportedPrimaryKeys": sorted(ai for ai, spec in AI_TABLE.items() if spec.primary_key),
        "validatingPrimaryKeys": True,
        "linkTypeDefaultCanBeLinkset": True,
        "supportedLinkType": [{"namespace": GS1_VOCABULARY, "prefix": "gs1:"}],
        "linkTypes": ["gs1:pip", "gs1:traceability", "gs1:certificationInfo", "linkset"],
        "supportedContextValuesEnumerated": [],
        "languages": ["vi"],
    }
    return with_cors(JsonResponse(body, **_JSON))


# --- Lots -------------------------------------------------------------------------------------
def serve_lot(request, lot: public.LotRef, *, anchor: str | None = None):
    """The lot's page, JSON or linkset, or a 307 to the link that `?linkType=` names.

    `anchor` is the link the request named; by default the lot's own link."""
    page = public.lot_page(lot.id, lot.version)
    links = page["links"]
    anchor = anchor or page["facts"]["link"]
    linkset_url = f"{anchor}{'&' if '?' in anchor else '?'}linkType=linkset"
    link_type = request.GET.get("linkType") if request.META.get("QUERY_STRING") else None
    if link_type and link_type not in ("linkset", "all"):
        link = links.get(link_type) or links.get(f"gs1:{link_type}")
        if link is None:
            return problem(request, 404, f"Không có liên kết loại «{link_type}» cho lô này.")
        response = with_cors(HttpResponse(status=307))
        response["Location"] = link["href"]
    elif wants(request) == "linkset":
        response = linkset_response(anchor, links)
    else:
        public.scan_record(result=Scan.Result.LOT, province=_province(request), lot_id=lot.id)
        if wants(request) == "json":
            response = with_cors(JsonResponse(page["facts"], **_JSON))
        else:
            response = with_cors(HttpResponse(page["document"]))
    response["Link"] = with_linkset(page["link_header"], linkset_url)
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def public_lot(request, code: str):
    """/l/{code}: a lot without a GTIN, or any lot by its trace code."""
    if request.method == "OPTIONS":
        return _options()
    lot = public.lot_ref_by_code(code)
    if lot is None:
        return problem(request, 404, "Không tìm thấy lô hàng mang mã này.")
    return serve_lot(request, lot)


@require_http_methods(["GET", "HEAD", "OPTIONS"])
def public_lot_epcis(request, code: str):
    if request.method == "OPTIONS":
        return _options()
    lot = public.lot_by_code(code)
    if lot is None:
        return problem(request, 404, "Không tìm thấy lô hàng mang mã này.")
    document = epcis.lot_document(lot)
    response = HttpResponse(
        json.dumps(document, ensure_ascii=False), content_type="application/ld+json"
    )
    return with_cors(response)


def _page(template: str, context: dict, status: int = 200) -> HttpResponse:
    """Public pages render without the request: no context processors, no session, no cookie
    (they are the hottest pages of the site)."""
    return HttpResponse(render_to_string(template, context), status=status)


# --- Stamps -----------------------------------------------------------------------------------
def _province(request) -> str:
    return public.province_of(client_ip(request))


def _guessing_key(request) -> str:
    return client_ip(request) or "unknown"


@csrf_exempt
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def public_stamp(request, code: str):
    """/s/{code}: is this stamp genuine? Records the scan."""
    if request.method == "OPTIONS":
        return _options()
    # Only unknown codes count. A client over the limit is refused before any lookup, from
    # this process's memory (no cache round trip on a genuine scan); see core.ratelimit.
    guesser = _guessing_key(request)
    if ratelimit.blocked_here(scope="stamp-miss", key=guesser):
        return _too_many_guesses(request)
    verdict = public.stamp_verdict(code, province=_province(request))
    facts = public.stamp_facts(verdict)
    status = 200
    if verdict.status == Scan.Result.UNKNOWN:
        limit = settings.XASO_STAMP_MISSES_PER_MINUTE
        if not ratelimit.count_failure(scope="stamp-miss", key=guesser, limit=limit):
            return _too_many_guesses(request)
        status = 404
    if wants(request) == "json":
        return with_cors(JsonResponse(facts, status=status, **_JSON))
    return HttpResponse(_stamp_html(verdict, facts, code), status=status)


def _too_many_guesses(request):
    return problem(request, 429, "Bạn đã thử quá nhiều mã không tồn tại. Vui lòng thử lại sau.")


_STAMP_PAGE = PageFrames("traceability/public_stamp.html")


def _stamp_html(verdict: public.StampVerdict, facts: dict, code: str) -> bytes:
    """The stamp page in UTF-8, from a frame per shape (status, warnings, lot page): rendering the
    template was most of a scan's time."""
    canonical = stamp_codes.normalize_code(code) or ""
    lot_page = verdict.page
    scan_count = facts["scan_count"]
    shape = {
        "status": facts["status"],
        "warnings": tuple(facts["warnings"]),
        "product": facts["product"] or "",
        "lot_html": lot_page["html"] if lot_page else "",
        "scanned": scan_count > 0,
        "seen_before": scan_count > 1,
        "report": verdict.stamp is not None,
    }
    values = {
        "code": stamp_codes.readable(canonical) if canonical else code[:30],
        "scan_count": str(scan_count),
        "first_scan": _first_scan_text(verdict.stamp, facts["first_scan_province"]),
        "report_action": _report_path(canonical) if verdict.stamp else "",
    }
    return _STAMP_PAGE.render(shape, values)


def _first_scan_text(stamp: public.ScannedStamp | None, province: str) -> str:
    """'14:05 23/11/2026, Thành phố Hà Nội', in local time."""
    if stamp is None or stamp.first_scan_at is None:
        return ""
    moment = stamp.first_scan_at.astimezone(_LOCAL_TIME).strftime("%H:%M %d/%m/%Y")
    return f"{moment}, {province}" if province else moment


_LOCAL_TIME = timezone.get_default_timezone()  # the site's one zone (Asia/Ho_Chi_Minh)


def _report_path(code: str) -> str:
    before, after = _report_path_around_a_code()
    return f"{before}{code}{after}"


@lru_cache(maxsize=1)
def _report_path_around_a_code() -> tuple[str, str]:
    """The report form's path split around its code: reverse() on every scan cost more than
    filling in the rest of the page, and only the code changes."""
    sample = "0" * stamp_codes.CODE_LENGTH
    before, after = reverse("traceability:stamp_report", args=[sample]).split(sample)
    return before, after


class ReportForm(forms.Form):
    message = forms.CharField(
        label=_("Bạn thấy điều gì bất thường?"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=2000,
        required=False,
    )
    where_bought = forms.CharField(label=_("Nơi mua"), max_length=255, required=False)
    contact = forms.CharField(
        label=_("Số điện thoại hoặc email (không bắt buộc)"), max_length=100, required=False
    )


@csrf_exempt  # anonymous, no session to protect; rate-limited per client instead
@require_http_methods(["POST"])
def stamp_report(request, code: str):
    """The "báo hàng giả" button: a report to the producer and the commune's officers."""
    if not ratelimit.allow(scope="counterfeit-report", key=_guessing_key(request), limit=5):
        return problem(request, 429, "Bạn đã gửi quá nhiều báo cáo. Vui lòng thử lại sau.")
    stamp = stamps.stamp_find(code)
    lot = public.activated_lot(stamp) if stamp else None
    if stamp is None:
        return problem(request, 404, "Không tìm thấy tem mang mã này.")
    form = ReportForm(request.POST)
    if not form.is_valid():
        return problem(request, 400, "Nội dung báo cáo không hợp lệ.")
    actions.counterfeit_report_create(
        stamp=stamp, lot=lot, code_shown=code, province=_province(request), **form.cleaned_data
    )
    if wants(request) == "json":
        return JsonResponse({"detail": "Đã gửi báo cáo."}, status=201, **_JSON)
    return _page("traceability/public_report_sent.html", {}, status=201)


# --- Photos -----------------------------------------------------------------------------------
def _photo_response(field) -> FileResponse:
    if not field:
        raise Http404
    response = FileResponse(field.open("rb"))
    response["Cache-Control"] = "public, max-age=86400"
    return response


def product_photo(request, public_id: str):
    return _photo_response(get_object_or_404(Product, public_id=public_id).photo)


def diary_photo(request, public_id: str):
    entry = get_object_or_404(DiaryEntry, public_id=public_id, status=DiaryEntry.Status.DONE)
    return _photo_response(entry.photo)
