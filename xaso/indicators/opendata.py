"""Open data: every published indicator as a dataset that anyone may take without asking.

    /opendata/                the list, in Vietnamese, with links
    /opendata/catalog.json    a DCAT-AP catalogue in JSON-LD, for CKAN's ckanext-dcat harvester
    /opendata/<code>.csv      the indicator for the province, each commune and each village,
    /opendata/<code>.json     over its last periods (12 months, 4 quarters or 2 years) or ?period=

Only aggregates leave: a value per place and period, never a household or a person. A value
counted over fewer than XASO_OPENDATA_MIN_COUNT units (the denominator, or the count of a count
indicator) is published blank and marked suppressed, and so are as many of its siblings as it
takes for the hidden ones to add up to that many again: subtracting the published siblings from
their parent must not give a small count back.

Values come from the engine (compute.py): one grouped query per source, level and period,
whatever the number of places. Computed rows are kept in the cache for CACHE_SECONDS, as long as
the responses tell clients to keep them. Anonymous and rate-limited per client like the other
public pages; rendered without the request, so no session and no cookie.
"""

import csv
import datetime
import io
import json

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from xaso.core import ratelimit
from xaso.core.middleware import client_ip
from xaso.indicators import compute
from xaso.indicators.models import Indicator
from xaso.indicators.sources import SOURCES
from xaso.lib import periods
from xaso.places.models import Place

CACHE_SECONDS = 15 * 60  # the current period's rows, and how long clients may keep a file
PAST_CACHE_SECONDS = 6 * 60 * 60
BUSY_KEY, BUSY_SECONDS = "opendata:busy", 5 * 60  # the lock expires if its holder dies
# How many periods a dataset holds by default: about the last twelve months.
DEFAULT_SPAN = {periods.MONTH: 12, periods.QUARTER: 4, periods.YEAR: 2}
COLUMNS = [
    "place_code",
    "place_name",
    "place_kind",
    "parent_code",
    "period",
    "period_start",
    "period_end",
    "value",
    "numerator",
    "denominator",
    "unit",
    "target",
    "suppressed",  # true: counted over too few units, value/numerator/denominator left blank
    "final",  # true: the period is closed and its values signed off by the commune leader
]
LICENSE = "https://creativecommons.org/licenses/by/4.0/"
EU = "http://publications.europa.eu/resource/authority/"
FREQUENCY = {
    periods.MONTH: f"{EU}frequency/MONTHLY",
    periods.QUARTER: f"{EU}frequency/QUARTERLY",
    periods.YEAR: f"{EU}frequency/ANNUAL",
}
FORMATS = {  # extension: (EU file type, IANA media type)
    "csv": (f"{EU}file-type/CSV", "http://www.iana.org/assignments/media-types/text/csv"),
    "json": (
        f"{EU}file-type/JSON",
        "http://www.iana.org/assignments/media-types/application/json",
    ),
}
CONTEXT = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "schema": "http://schema.org/",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
}


# --- What is published --------------------------------------------------------------------------


def published_indicators() -> list[Indicator]:
    return list(Indicator.objects.filter(published=True))


def published_indicator(code: str) -> Indicator | None:
    return Indicator.objects.filter(published=True, code=code).first()


def served_provinces() -> list[Place]:
    """The provinces this site keeps records for: those with villages on the platform."""
    served = Place.objects.filter(kind=Place.Kind.VILLAGE).values("parent__parent")
    return list(Place.objects.filter(kind=Place.Kind.PROVINCE, pk__in=served).order_by("code"))


def default_periods(indicator: Indicator, today: datetime.date) -> list[periods.Period]:
    close_day = settings.XASO_PERIOD_CLOSE_DAY
    current = periods.containing(today, indicator.period_kind, close_day=close_day)
    return periods.previous(current, DEFAULT_SPAN[indicator.period_kind], close_day=close_day)


def asked_periods(key: str, today: datetime.date) -> list[periods.Period]:
    """The one period of ?period=; PeriodError (in Vietnamese) for a bad or future one."""
    period = periods.parse(key, close_day=settings.XASO_PERIOD_CLOSE_DAY)
    if period.start > today:
        raise periods.PeriodError(f"Kỳ “{period.key}” chưa bắt đầu.")
    return [period]


class Busy(Exception):
    """Another request is counting open data right now; try again in a moment."""


def dataset_rows(indicator: Indicator, wanted: list[periods.Period]) -> list[dict]:
    """Every row of a dataset, small counts suppressed, period by period from the cache.

    A period missing from the cache is counted while holding the site's one open-data lock:
    a file over a large province costs seconds of database time, and an anonymous client must
    not be able to start many at once (Busy when the lock is taken).
    """
    min_count = settings.XASO_OPENDATA_MIN_COUNT
    stamp = indicator.updated_at.isoformat()
    keys = {
        period: f"opendata:rows:{indicator.pk}:{stamp}:{period.key}:{min_count}"
        for period in wanted
    }
    cached = cache.get_many(list(keys.values()))
    missing = [period for period in wanted if keys[period] not in cached]
    if missing:
        if not cache.add(BUSY_KEY, 1, timeout=BUSY_SECONDS):
            raise Busy
        try:
            today = timezone.localdate()
            for period in missing:
                rows = _count_rows(indicator, period, min_count)
                # A past period changes only when a visit is recorded late: kept longer.
                seconds = CACHE_SECONDS if period.end >= today else PAST_CACHE_SECONDS
                cache.set(keys[period], rows, seconds)
                cached[keys[period]] = rows
        finally:
            cache.delete(BUSY_KEY)
    return [row for period in wanted for row in cached[keys[period]]]


def _count_rows(indicator: Indicator, period: periods.Period, min_count: int) -> list[dict]:
    rows = []
    for province in served_provinces():
        rows += _period_rows(indicator, province, period)
    _suppress(rows, min_count)
    for row in rows:
        del row["weight"]
        if row["suppressed"]:
            row["value"] = row["numerator"] = row["denominator"] = None
    return rows


def _period_rows(indicator: Indicator, province: Place, period: periods.Period) -> list[dict]:
    """The province, then its communes, then its villages: parents before their children."""
    [own] = compute.values_for_place([indicator], province, period)
    communes = compute.values_for_children([indicator], province, period)
    villages = compute.values_for_descendants([indicator], province, Place.Kind.VILLAGE, period)
    commune_codes = {place.id: place.code for place in communes}
    rows = [_row(own, parent_code="")]
    rows += [_row(row[0], parent_code=province.code) for row in communes.values()]
    rows += [
        _row(row[0], parent_code=commune_codes.get(place.parent_id, ""))
        for place, row in villages.items()
    ]
    return [row for row in rows if row is not None]


def _row(value: compute.Value, *, parent_code: str) -> dict | None:
    if not value.applicable:  # dossiers of a village: the indicator says nothing there
        return None
    numbers = value.as_dict()
    indicator, place, period = value.indicator, value.place, value.period
    counted = value.numerator if indicator.method == Indicator.Method.COUNT else value.denominator
    return {
        "place_code": place.code,
        "place_name": place.name,
        "place_kind": place.kind,
        "parent_code": parent_code,
        "period": period.key,
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "value": numbers["value"],
        "numerator": numbers["numerator"],
        "denominator": numbers["denominator"],
        "unit": indicator.unit,
        "target": numbers["target"],
        "suppressed": False,
        "final": value.frozen,
        "weight": None if counted is None else int(counted),  # units counted; dropped later
    }


def _suppress(rows: list[dict], min_count: int) -> None:
    """Mark small counts, then hide siblings until subtraction from a parent cannot undo it."""
    for row in rows:
        row["suppressed"] = row["weight"] is not None and row["weight"] < min_count
    children: dict[tuple[str, str], list[dict]] = {}
    for row in rows:
        if row["parent_code"]:
            children.setdefault((row["period"], row["parent_code"]), []).append(row)
    for parent in rows:  # parents come before their children: each parent is settled first
        siblings = children.get((parent["period"], parent["place_code"]))
        if siblings:
            _protect(parent, siblings, min_count)


def _protect(parent: dict, siblings: list[dict], min_count: int) -> None:
    """Hide the smallest published siblings until the hidden ones hold at least `min_count`
    units: then neither `parent - published siblings` nor the siblings of a hidden parent
    give a small count back. Nothing to do when no unit is hidden here or in the parent."""
    hidden = sum(row["weight"] or 0 for row in siblings if row["suppressed"])
    if hidden == 0 and not (parent["suppressed"] and parent["weight"]):
        return
    candidates = [row for row in siblings if not row["suppressed"] and row["weight"]]
    for row in sorted(candidates, key=lambda row: row["weight"]):
        if hidden >= min_count:
            break
        row["suppressed"] = True
        hidden += row["weight"]


# --- Files ------------------------------------------------------------------------------------


def rows_csv(rows: list[dict]) -> bytes:
    """UTF-8 with a byte order mark, so that Excel shows Vietnamese names as they are."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for row in rows:
        writer.writerow([_cell(row[column]) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def dataset_document(indicator: Indicator, rows: list[dict], base_url: str) -> dict:
    return {
        "dataset": indicator.code,
        "title": indicator.name,
        "description": indicator.description,
        "unit": indicator.unit,
        "period_kind": indicator.period_kind,
        "license": LICENSE,
        "catalog": f"{base_url}/opendata/catalog.json",
        "min_count": settings.XASO_OPENDATA_MIN_COUNT,
        "columns": COLUMNS,
        "rows": rows,
    }


# --- The DCAT catalogue ---------------------------------------------------------------------------


def catalog_document(
    indicators: list[Indicator], provinces: list[Place], *, base_url: str, today: datetime.date
) -> dict:
    """A dcat:Catalog in JSON-LD (DCAT-AP): what ckanext-dcat reads into CKAN datasets."""
    home = f"{base_url}/opendata/"
    publisher = {
        "@id": f"{home}#publisher",
        "@type": "foaf:Organization",
        "foaf:name": _publisher_name(provinces),
        "foaf:homepage": {"@id": base_url + "/"},
    }
    return {
        "@context": CONTEXT,
        "@id": f"{home}catalog.json",
        "@type": "dcat:Catalog",
        "dct:title": _text(_("Dữ liệu mở chỉ tiêu chuyển đổi số cấp xã")),
        "dct:description": _text(
            _(
                "Chỉ tiêu chuyển đổi số và thôn thông minh theo tỉnh, xã, thôn, tính từ dữ liệu "
                "của nền tảng XãSố. Chỉ có số tổng hợp; số nhỏ được ẩn."
            )
        ),
        "dct:publisher": publisher,
        "dct:language": {"@id": f"{EU}language/VIE"},
        "dct:license": _license(),
        "dct:modified": _date(today),
        "foaf:homepage": {"@id": home},
        "dcat:dataset": [
            _dataset(indicator, provinces, home=home, publisher=publisher["@id"], today=today)
            for indicator in indicators
        ],
    }


def _dataset(indicator, provinces, *, home: str, publisher: str, today) -> dict:
    span = default_periods(indicator, today)
    return {
        "@id": f"{home}#{indicator.code}",
        "@type": "dcat:Dataset",
        "dct:identifier": indicator.code,
        "dct:title": _text(indicator.name),
        "dct:description": _text(indicator.description or indicator.name),
        "dcat:keyword": [_text(word) for word in _keywords(indicator)],
        "dct:publisher": {"@id": publisher},
        "dcat:contactPoint": {
            "@type": "vcard:Organization",
            "vcard:fn": _publisher_name(provinces),
        },
        "dct:language": {"@id": f"{EU}language/VIE"},
        "dct:accrualPeriodicity": {"@id": FREQUENCY[indicator.period_kind]},
        "dct:temporal": {
            "@type": "dct:PeriodOfTime",
            # DCAT-AP 2 reads dcat:startDate; DCAT-AP 1 profiles read schema:startDate.
            "dcat:startDate": _date(span[0].start),
            "dcat:endDate": _date(span[-1].end),
            "schema:startDate": _date(span[0].start),
            "schema:endDate": _date(span[-1].end),
        },
        "dct:spatial": [_location(province) for province in provinces],
        "dct:license": _license(),
        "dct:issued": _date(timezone.localdate(indicator.created_at)),
        "dct:modified": _date(today),
        "dcat:landingPage": {"@id": f"{home}#{indicator.code}"},
        "dcat:distribution": [
            _distribution(indicator, extension, home) for extension in ("csv", "json")
        ],
    }


def _distribution(indicator: Indicator, extension: str, home: str) -> dict:
    url = f"{home}{indicator.code}.{extension}"
    file_type, media_type = FORMATS[extension]
    return {
        "@id": url,
        "@type": "dcat:Distribution",
        "dct:title": _text(f"{indicator.name} ({extension.upper()})"),
        "dcat:accessURL": {"@id": url},
        "dcat:downloadURL": {"@id": url},
        "dct:format": {"@id": file_type},
        "dcat:mediaType": {"@id": media_type},
        "dct:license": _license(),  # ckanext-dcat reads a dataset's licence off its distributions
    }


def _keywords(indicator: Indicator) -> list[str]:
    words = [_("chuyển đổi số"), _("thôn thông minh")]
    for spec in (indicator.numerator, indicator.denominator):
        source = SOURCES.get((spec or {}).get("source"))
        if source is not None and source.label not in words:
            words.append(source.label)
    return words


def _location(province: Place) -> dict:
    location = {
        "@type": "dct:Location",
        "skos:prefLabel": _text(_capitalised(_full_name(province))),
    }
    if province.latitude is not None and province.longitude is not None:
        location["dcat:centroid"] = {
            "@type": "http://www.opengis.net/ont/geosparql#wktLiteral",
            "@value": f"POINT({province.longitude} {province.latitude})",
        }
    return location


def _publisher_name(provinces: list[Place]) -> str:
    configured = settings.XASO_OPENDATA_PUBLISHER
    if configured:
        return configured
    if len(provinces) == 1:
        return f"UBND {_full_name(provinces[0])}"
    return "XãSố"


def _full_name(province: Place) -> str:
    """ "tỉnh Quảng Ninh", "thành phố Hà Nội": the official list names provinces bare."""
    kind = "thành phố" if province.division_type.startswith("thành phố") else "tỉnh"
    return f"{kind} {province.name}"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]  # str.capitalize() would lower "Quảng Ninh"


def _license() -> dict:
    # The title is CKAN's own name for CC BY, so its licence register matches it by title too.
    return {
        "@id": LICENSE,
        "@type": "dct:LicenseDocument",
        "dct:title": "Creative Commons Attribution",
    }


def _text(text: str) -> dict:
    return {"@value": str(text), "@language": "vi"}


def _date(day: datetime.date) -> dict:
    return {"@value": day.isoformat(), "@type": "xsd:date"}


# --- Views ----------------------------------------------------------------------------------------

_JSON = {"ensure_ascii": False}


def _busy() -> str:
    return _("Máy chủ đang tính một bộ dữ liệu khác. Vui lòng thử lại sau ít giây.")


def _too_many() -> str:
    return _("Quá nhiều yêu cầu từ máy này. Vui lòng thử lại sau một phút.")


def _limited(request) -> bool:
    limit = settings.XASO_OPENDATA_PER_MINUTE
    return not ratelimit.allow(scope="opendata", key=client_ip(request) or "unknown", limit=limit)


def _public(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    response["Access-Control-Allow-Origin"] = "*"
    return response


def _page(template: str, context: dict, status: int = 200) -> HttpResponse:
    """Rendered without the request: no context processors, no session, no cookie."""
    response = HttpResponse(render_to_string(template, context), status=status)
    if status == 200:
        return _public(response)
    response["Cache-Control"] = "no-store"
    return response


def _message(title: str, message: str, status: int) -> HttpResponse:
    response = _page(
        "indicators/opendata_message.html", {"title": title, "message": message}, status
    )
    _retry_after(response)
    return response


def _problem(message: str, status: int) -> JsonResponse:
    response = JsonResponse({"detail": message}, status=status, json_dumps_params=_JSON)
    response["Cache-Control"] = "no-store"
    _retry_after(response)
    return response


def _retry_after(response: HttpResponse) -> None:
    seconds = {429: "60", 503: "15"}.get(response.status_code)
    if seconds:
        response["Retry-After"] = seconds


@require_http_methods(["GET", "HEAD"])
def index(request):
    if _limited(request):
        return _message(_("Quá nhiều yêu cầu"), _too_many(), 429)
    indicators = published_indicators()
    context = {
        "indicators": indicators,
        "provinces": served_provinces(),
        "min_count": settings.XASO_OPENDATA_MIN_COUNT,
        "license": LICENSE,
    }
    return _page("indicators/opendata_index.html", context)


@require_http_methods(["GET", "HEAD"])
def catalog(request):
    if _limited(request):
        return _problem(_too_many(), 429)
    document = catalog_document(
        published_indicators(),
        served_provinces(),
        base_url=settings.XASO_PUBLIC_URL,
        today=timezone.localdate(),
    )
    body = json.dumps(document, ensure_ascii=False, indent=1)
    return _public(HttpResponse(body, content_type="application/ld+json; charset=utf-8"))


@require_http_methods(["GET", "HEAD"])
def dataset_csv(request, dataset: str):
    if _limited(request):
        return _message(_("Quá nhiều yêu cầu"), _too_many(), 429)
    indicator = published_indicator(dataset)
    if indicator is None:
        return _message(_("Không tìm thấy"), _missing(dataset), 404)
    try:
        wanted = _periods(request, indicator)
    except periods.PeriodError as error:
        return _message(_("Kỳ báo cáo không hợp lệ"), str(error), 422)
    try:
        rows = dataset_rows(indicator, wanted)
    except Busy:
        return _message(_("Đang tính số liệu"), _busy(), 503)
    response = HttpResponse(rows_csv(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{indicator.code}.csv"'
    return _public(response)


@require_http_methods(["GET", "HEAD"])
def dataset_json(request, dataset: str):
    if _limited(request):
        return _problem(_too_many(), 429)
    indicator = published_indicator(dataset)
    if indicator is None:
        return _problem(_missing(dataset), 404)
    try:
        wanted = _periods(request, indicator)
    except periods.PeriodError as error:
        return _problem(str(error), 422)
    try:
        rows = dataset_rows(indicator, wanted)
    except Busy:
        return _problem(_busy(), 503)
    document = dataset_document(indicator, rows, settings.XASO_PUBLIC_URL)
    return _public(JsonResponse(document, json_dumps_params=_JSON))


def _periods(request, indicator: Indicator) -> list[periods.Period]:
    today = timezone.localdate()
    key = request.GET.get("period", "").replace("\x00", "")[:20]
    return asked_periods(key, today) if key else default_periods(indicator, today)


def _missing(code: str) -> str:
    return _("Không có bộ dữ liệu “%(code)s”.") % {"code": code[:60]}
