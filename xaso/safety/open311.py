"""Open311 GeoReport v2 at /open311/v2/: citizen-report applications talk to the commune police.

JSON only (a request for .xml is answered 400). Reads are anonymous and carry no personal
data: no contact, no photo, phone numbers and e-mails typed into free text hidden, positions
rounded to about 100 m. Writes need an `api_key` from `xaso open311_key create NAME` and are
rate-limited per key. Errors are the spec's list `[{"code": …, "description": …}]`, with the
HTTP status of the same number. See docs/decisions/0014-citizen-reports-open311.md.
"""

import datetime
import json
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.http import JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.csrf import csrf_exempt

from xaso.core import ratelimit
from xaso.core.errors import DomainError
from xaso.places.models import Place
from xaso.safety import reports
from xaso.safety.models import CitizenReport

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2025-07-01T00:00:00+07:00"
DEFAULT_DAYS = 90  # the spec's default window when no dates are given
MAX_RESULTS = 1000
SERVICE_KEYWORDS = {
    "traffic_accident": "tai nạn, giao thông, va chạm",
    "traffic_violation": "vi phạm, giao thông, đua xe, lấn chiếm",
    "security": "an ninh, trật tự, trộm cắp, đánh nhau",
    "fire": "cháy, nổ, hoả hoạn",
    "flooding": "ngập, lụt, sạt lở",
    "crowding": "tụ tập, đông người, gây rối",
    "other": "khác",
}
SERVICE_GROUPS = {
    "traffic_accident": "Giao thông",
    "traffic_violation": "Giao thông",
    "fire": "Thiên tai, cháy nổ",
    "flooding": "Thiên tai, cháy nổ",
}
_JSON = {"json_dumps_params": {"ensure_ascii": False}}


class Open311Error(Exception):
    def __init__(self, code: int, description: str):
        super().__init__(description)
        self.code, self.description = code, description


def _answer(body, status: int = 200) -> JsonResponse:
    response = JsonResponse(body, status=status, safe=False, **_JSON)
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _error(code: int, description: str) -> JsonResponse:
    return _answer([{"code": code, "description": description}], status=code)


def endpoint(*methods: str):
    """Allowed methods, .json only, and every refusal as the spec's error list."""

    def wrap(view):
        @csrf_exempt
        def wrapped(request, *args, fmt: str = "json", **kwargs):
            if request.method == "OPTIONS":
                response = _answer(None, status=204)
                response["Access-Control-Allow-Methods"] = ", ".join(methods)
                return response
            if request.method not in methods:
                response = _error(405, f"Phương thức {request.method} không được hỗ trợ.")
                response["Allow"] = ", ".join(methods)
                return response
            if fmt.lower() != "json":
                return _error(400, "Chỉ hỗ trợ định dạng JSON: hãy dùng đuôi .json.")
            try:
                return view(request, *args, **kwargs)
            except Open311Error as error:
                return _error(error.code, error.description)
            except DomainError as error:
                return _error(400, error.message)

        return wrapped

    return wrap


# --- Jurisdiction and services ----------------------------------------------------------------
def _jurisdiction(params, *, required: bool) -> Place | None:
    code = _clean(params.get("jurisdiction_id")).strip()
    if code:
        commune = reports.report_commune(code)
        if commune is None:
            raise Open311Error(404, f"Không tìm thấy xã có mã jurisdiction_id «{code[:20]}».")
        return commune
    commune = reports.default_commune()
    if commune is None and required:
        raise Open311Error(400, "Trang này phục vụ nhiều xã: vui lòng ghi jurisdiction_id (mã xã).")
    return commune


def _service(code: str) -> dict:
    return {
        "service_code": code,
        "service_name": reports.service_name(code),
        "description": reports.service_name(code),
        "metadata": False,
        "type": "realtime",
        "keywords": SERVICE_KEYWORDS.get(code, ""),
        "group": SERVICE_GROUPS.get(code, "An ninh trật tự"),
    }


@endpoint("GET", "HEAD")
def discovery(request):
    base = f"{settings.XASO_PUBLIC_URL}/open311/v2/"
    return _answer(
        {
            "changeset": CHANGESET,
            "contact": "Công an xã — qua trang /phan-anh/ hoặc UBND xã",
            "key_service": "Khoá api_key do quản trị viên cấp (xaso open311_key create).",
            "endpoints": [
                {
                    "specification": SPECIFICATION,
                    "url": base,
                    "changeset": CHANGESET,
                    "type": "production",
                    "formats": ["application/json"],
                }
            ],
        }
    )


@endpoint("GET", "HEAD")
def services(request):
    _jurisdiction(request.GET, required=False)
    return _answer([_service(code) for code in reports.SERVICE_CODES])


@endpoint("GET", "HEAD")
def service_definition(request, code: str):
    _jurisdiction(request.GET, required=False)
    if code not in reports.SERVICE_CODES:
        raise Open311Error(404, f"Không có dịch vụ mã «{code[:40]}».")
    return _answer({"service_code": code, "attributes": []})


# --- Requests ---------------------------------------------------------------------------------
def _iso(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).replace(microsecond=0).isoformat()


def _rounded(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 3))


def request_out(report: CitizenReport) -> dict:
    """One request as the spec names it, public fields only."""
    commune = reports.commune_of(report.place)
    return {
        "service_request_id": report.public_id,
        "status": report.status,
        "status_notes": report.status_notes,
        "service_name": reports.service_name(report.service_code),
        "service_code": report.service_code,
        "description": reports.redact(report.description),
        "agency_responsible": f"Công an {commune.name}",
        "service_notice": "",
        "requested_datetime": _iso(report.created_at),
        "updated_datetime": _iso(report.updated_at),
        "address": reports.redact(report.address) or report.place.name,
        "lat": _rounded(report.latitude),
        "long": _rounded(report.longitude),
        "jurisdiction_id": commune.code,
    }


def _moment(params, name: str) -> datetime.datetime | None:
    raw = _clean(params.get(name)).strip()
    if not raw:
        return None
    try:
        moment = parse_datetime(raw.replace(" ", "+"))  # "+07:00" arrives as " 07:00"
        if moment is None:
            day = parse_date(raw)
            if day is not None:
                moment = datetime.datetime.combine(day, datetime.time.min)
                if name == "end_date":
                    moment += datetime.timedelta(days=1)
    except ValueError:
        moment = None
    if moment is None:
        raise Open311Error(
            400, f"{name} phải theo ISO 8601 (W3C), ví dụ 2025-07-01T00:00:00+07:00."
        )
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _list(params, name: str, allowed=None) -> list[str]:
    items = [item.strip() for item in _clean(params.get(name)).split(",") if item.strip()]
    if allowed is not None:
        for item in items:
            if item not in allowed:
                raise Open311Error(400, f"Giá trị {name} không hợp lệ: «{item[:40]}».")
    return items[:MAX_RESULTS]


def _requests_get(request):
    params = request.GET
    found = reports.citizen_reports_public()
    ids = _list(params, "service_request_id")
    if ids:  # the spec: other parameters are then ignored
        return _answer([request_out(report) for report in found.filter(public_id__in=ids)])
    commune = _jurisdiction(params, required=False)
    if commune is not None:
        found = found.filter(place__path__startswith=commune.path)
    codes = _list(params, "service_code", allowed=reports.SERVICE_CODES)
    if codes:
        found = found.filter(service_code__in=codes)
    statuses = _list(params, "status", allowed=CitizenReport.Status.values)
    if statuses:
        found = found.filter(status__in=statuses)
    start, end = _moment(params, "start_date"), _moment(params, "end_date")
    if start is None and end is None:
        start = timezone.now() - datetime.timedelta(days=DEFAULT_DAYS)
    if start is not None and end is not None and end < start:
        raise Open311Error(400, "end_date phải sau start_date.")
    if start is not None:
        found = found.filter(created_at__gte=start)
    if end is not None:
        found = found.filter(created_at__lt=end)
    return _answer([request_out(report) for report in found[:MAX_RESULTS]])


def _body(request) -> dict:
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as error:
            raise Open311Error(400, "Nội dung JSON không hợp lệ.") from error
        if not isinstance(body, dict):
            raise Open311Error(400, "Nội dung JSON phải là một đối tượng.")
        return {key: _clean(value) for key, value in body.items()}
    return {key: _clean(request.POST.get(key)) for key in request.POST}


def _clean(value) -> str:
    """Text of a parameter; NUL characters (which PostgreSQL refuses) removed."""
    return "" if value is None else str(value).replace("\x00", "")


def _contact(body: dict) -> tuple[str, str]:
    email = str(body.get("email") or "").strip()[:254]
    if email:
        try:
            validate_email(email)
        except ValidationError as error:
            raise Open311Error(400, "Địa chỉ email không hợp lệ.") from error
    phone = str(body.get("phone") or "").strip()[:30]
    if phone and not reports.PHONE_RE.fullmatch(phone):
        raise Open311Error(400, "Số điện thoại không hợp lệ.")
    name = " ".join(
        part
        for part in (str(body.get(f) or "").strip() for f in ("first_name", "last_name"))
        if part
    )
    return name[:150], " · ".join(part for part in (phone, email) if part)


def _requests_post(request):
    body = _body(request)
    api_key = _clean(body.get("api_key") or request.GET.get("api_key")).strip()
    if not api_key:
        raise Open311Error(403, "Thiếu api_key: mỗi ứng dụng cần khoá do quản trị viên cấp.")
    key = reports.open311_key_check(api_key)
    if key is None:
        raise Open311Error(403, "api_key không hợp lệ hoặc đã bị thu hồi.")
    limit = settings.XASO_OPEN311_POSTS_PER_MINUTE
    if not ratelimit.allow(scope="open311-post", key=key.prefix, limit=limit):
        raise Open311Error(429, "Ứng dụng đã gửi quá nhiều yêu cầu. Vui lòng thử lại sau.")
    commune = _jurisdiction(body, required=True)
    code = str(body.get("service_code") or "").strip()
    if not code:
        raise Open311Error(400, "Thiếu service_code (loại sự việc).")
    if code not in reports.SERVICE_CODES:
        raise Open311Error(404, f"Không có dịch vụ mã «{code[:40]}».")
    has_position = body.get("lat") not in (None, "") or body.get("long") not in (None, "")
    address = str(body.get("address_string") or "").strip()
    if not has_position and not address:
        raise Open311Error(400, "Cần vị trí: lat và long, hoặc address_string.")
    contact_name, contact = _contact(body)
    idempotency = _clean(request.headers.get("Idempotency-Key")).strip()
    report = reports.citizen_report_submit(
        place=commune,
        service_code=code,
        description=body.get("description", ""),
        latitude=body.get("lat") or None,
        longitude=body.get("long") or None,
        address=address,
        contact_name=contact_name,
        contact=contact,
        api_client=key.name,
        idempotency_key=f"open311:{key.prefix}:{idempotency}"[:100] if idempotency else "",
    )
    notice = (
        f"Công an {commune.name} đã nhận phản ánh. Theo dõi tại "
        f"{settings.XASO_PUBLIC_URL}/phan-anh/{report.public_id}/"
    )
    return _answer([{"service_request_id": report.public_id, "service_notice": notice}], status=201)


@endpoint("GET", "HEAD", "POST")
def requests_(request):
    if request.method == "POST":
        return _requests_post(request)
    return _requests_get(request)


@endpoint("GET", "HEAD")
def request_detail(request, request_id: str):
    report = reports.citizen_report_public_get(request_id)
    if report is None:
        raise Open311Error(404, f"Không tìm thấy phản ánh mã «{request_id[:20]}».")
    return _answer([request_out(report)])
