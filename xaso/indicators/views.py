"""Indicator pages (/chi-so/): the dashboard of a place and period, its XLSX and PDF report,
and the leader's period close with its confirmation.

Each view: parse (place, period, indicator), check that the user sees the place, call the
engine, render. Server-rendered; the map is the only part that needs JavaScript, and the
ranking beside it says the same without it.
"""

from decimal import Decimal
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from xaso.accounts.permissions import EVERYWHERE, scope_paths, user_can
from xaso.accounts.roles import Capability
from xaso.core.errors import DomainError, InvalidInput
from xaso.indicators import closing, compute, reports, selectors
from xaso.indicators.models import Indicator
from xaso.lib import periods
from xaso.places.models import Place

VIEW = Capability.VIEW_INDICATORS
CLOSE = Capability.CLOSE_PERIODS
TREND_PERIODS = 12
KINDS = (Place.Kind.PROVINCE, Place.Kind.COMMUNE, Place.Kind.VILLAGE)
# How many periods of each kind the picker offers, newest first.
PICKER_PERIODS = {periods.MONTH: 12, periods.QUARTER: 4, periods.YEAR: 3}
KIND_LABELS = {
    periods.MONTH: _("Tháng"),
    periods.QUARTER: _("Quý"),
    periods.YEAR: _("Năm"),
}


# --- parsing and scope --------------------------------------------------------------------------


def _close_day() -> int:
    return settings.XASO_PERIOD_CLOSE_DAY


def _roots(user) -> list[Place]:
    """The highest places the user sees; everywhere (a superuser): the provinces."""
    paths = scope_paths(user, VIEW)
    if paths is EVERYWHERE:
        return list(Place.objects.filter(kind=Place.Kind.PROVINCE).order_by("path"))
    # A membership below another one of the same user adds nothing.
    tops = [path for path in paths if not any(path != p and path.startswith(p) for p in paths)]
    return list(Place.objects.filter(path__in=tops, kind__in=KINDS).order_by("path"))


def _place_code(request, roots: list[Place]) -> str:
    """The place asked for, else the user's highest one (a superuser: the first province
    that has villages)."""
    selectors.indicators_visible(request.user)  # PermissionDenied without the capability
    code = request.GET.get("place", "").strip()
    if code:
        return code
    if scope_paths(request.user, VIEW) is EVERYWHERE:
        village = Place.objects.filter(kind=Place.Kind.VILLAGE).order_by("path").first()
        if village is not None:
            return village.path.split("/")[1]
    if not roots:
        raise Http404
    return min(roots, key=lambda place: (place.path.count("/"), place.path)).code


def _values(request, roots: list[Place]) -> selectors.PlaceValues:
    """Every indicator for the place and period asked for, scoped (selectors)."""
    try:
        return selectors.dashboard_for_user(
            request.user, _place_code(request, roots), request.GET.get("period")
        )
    except InvalidInput as error:
        raise BadRequest(error.message) from error


def _chosen(indicators: list[Indicator], code: str) -> Indicator | None:
    return next((i for i in indicators if i.code == code), indicators[0] if indicators else None)


def _query(place: Place, period: periods.Period, indicator: Indicator | None = None) -> str:
    params = {"place": place.code, "period": period.key}
    if indicator is not None:
        params["indicator"] = indicator.code
    return urlencode(params)


# --- pickers ------------------------------------------------------------------------------------


def _place_choices(user, roots: list[Place], place: Place) -> list[dict]:
    """The user's top places, the communes of the province in view and the villages of the
    commune in view: the rest is a click away in the ranking."""
    chosen = {root.id: root for root in roots}
    around = [place]
    if place.parent_id:
        around.append(place.parent)
    province = next((p for p in around if p.kind == Place.Kind.PROVINCE), None)
    commune = next((p for p in around if p.kind == Place.Kind.COMMUNE), None)
    if province is None and commune is not None and commune.parent_id:
        province = Place.objects.filter(pk=commune.parent_id).first()
    parents = [p for p in (province, commune) if p is not None and user_can(user, VIEW, p)]
    for parent in parents:
        chosen[parent.id] = parent
    if parents:
        for child in Place.objects.filter(parent__in=parents, kind__in=KINDS):
            chosen[child.id] = child
    chosen[place.id] = place
    depth = {Place.Kind.PROVINCE: 0, Place.Kind.COMMUNE: 1, Place.Kind.VILLAGE: 2}
    return [
        {"code": p.code, "label": "— " * depth[p.kind] + p.name, "selected": p.id == place.id}
        for p in sorted(chosen.values(), key=lambda p: p.path)
    ]


def _period_choices(selected: periods.Period) -> list[dict]:
    today = closing.local_today()
    groups = []
    for kind, count in PICKER_PERIODS.items():
        current = periods.containing(today, kind, close_day=_close_day())
        options = list(reversed(periods.previous(current, count, close_day=_close_day())))
        if selected.kind == kind and selected not in options:
            options.append(selected)
        groups.append(
            {
                "label": KIND_LABELS[kind],
                "options": [
                    {
                        "key": p.key,
                        "label": f"{p.label()} ({_span(p)})",
                        "selected": p.key == selected.key,
                    }
                    for p in options
                ],
            }
        )
    return groups


def _span(period: periods.Period) -> str:
    start = "%d/%m" if period.start.year == period.end.year else "%d/%m/%Y"
    return f"{period.start.strftime(start)} – {period.end:%d/%m/%Y}"


def _breadcrumb(user, place: Place) -> list[Place]:
    """The place's ancestors the user may see, top first."""
    codes = [code for code in place.path.strip("/").split("/")[:-1]]
    ancestors = Place.objects.filter(code__in=codes, kind__in=KINDS).order_by("path")
    return [p for p in ancestors if user_can(user, VIEW, p)]


# --- what the page shows ------------------------------------------------------------------------


def _row(value: compute.Value) -> dict:
    unit = value.indicator.unit
    return {
        "indicator": value.indicator,
        "value": reports.figure(value.value, unit),
        "numerator": reports.figure(value.numerator),
        "denominator": reports.figure(value.denominator),
        "target": reports.figure(value.target, unit),
        "verdict": reports.verdict(value),
        "met": value.meets_target,
        "frozen": value.frozen,
        "applicable": value.applicable or value.value is not None,
    }


def _ranking(user, indicator: Indicator, place: Place, period: periods.Period, query):
    """The children of the place, best first for the indicator (one grouped query per source)."""
    values = selectors.indicator_children_for_user(
        user, indicator.code, place.code, period.key
    ).values
    known = [value for value in values if value.value is not None]
    unknown = [value for value in values if value.value is None]
    known.sort(key=lambda v: v.value, reverse=indicator.higher_is_better)
    ranking = []
    for rank, value in enumerate(known + unknown, start=1):
        child = value.place
        ranking.append(
            {
                "rank": rank if value.value is not None else "",
                "place": child,
                "url": reverse("indicators:dashboard") + "?" + query(child),
                **_row(value),
                "at": (
                    [float(child.latitude), float(child.longitude)]
                    if child.latitude is not None and child.longitude is not None
                    else None
                ),
            }
        )
    return ranking


def _map_data(ranking: list[dict]) -> list[dict]:
    return [
        {
            "name": row["place"].name,
            "at": row["at"],
            "value": row["value"],
            "met": row["met"],
            "url": row["url"],
        }
        for row in ranking
        if row["at"]
    ]


def _short_label(period: periods.Period) -> str:
    """ "11/26", "Q4/26", "2026" under a point of the trend."""
    if period.kind == periods.YEAR:
        return period.key
    return f"{period.key[5:]}/{period.key[2:4]}"


def _trend(indicator: Indicator, place: Place, period: periods.Period) -> dict:
    """An inline SVG line chart of the indicator over the last 12 periods."""
    span = periods.previous(period, TREND_PERIODS, close_day=_close_day())
    values = compute.values_over_periods(indicator, place, span)
    numbers = [v.value for v in values if v.value is not None]
    targets = [v.target for v in values if v.target is not None]
    top = max([*numbers, *targets, Decimal(1)])
    if indicator.unit == "%":
        top = max(top, Decimal(100))
    width, height, left, bottom, step = 600, 190, 34, 22, 46
    plot = height - bottom - 14

    def y(number) -> str:  # text, so that the Vietnamese locale puts no comma in it
        return f"{height - bottom - float(number) / float(top) * plot:.1f}"

    points = []
    for index, value in enumerate(values):
        x = left + 16 + index * step
        points.append(
            {
                "x": x,
                "y": y(value.value) if value.value is not None else None,
                "label": _short_label(value.period),
                "title": f"{value.period.label()}: {reports.figure(value.value, indicator.unit)}",
                "text": reports.figure(value.value),
                "frozen": value.frozen,
            }
        )
    drawn = [p for p in points if p["y"] is not None]
    target = values[-1].target
    return {
        "width": width,
        "height": height,
        "left": left,
        "baseline": height - bottom,
        "points": points,
        "line": " ".join(f"{p['x']},{p['y']}" for p in drawn),
        "target_y": y(target) if target is not None else None,
        "target": reports.figure(target, indicator.unit),
        "top_label": reports.figure(top),
        "top_y": y(top),
        "empty": not drawn,
        "any_frozen": any(value.frozen for value in values),
    }


# Criteria sets shown for a place: its own level and the level below it (a commune: the
# model-commune set for itself and the smart-village set for each village).
_LEVEL_BELOW = {
    Place.Kind.PROVINCE: {Place.Kind.PROVINCE, Place.Kind.COMMUNE},
    Place.Kind.COMMUNE: {Place.Kind.COMMUNE, Place.Kind.VILLAGE},
    Place.Kind.VILLAGE: {Place.Kind.VILLAGE},
}


def _assessments(user, place: Place, period: periods.Period) -> list[reports.CriteriaBlock]:
    blocks = []
    for criteria_set in selectors.criteria_sets_visible(user):
        if criteria_set.place_kind not in _LEVEL_BELOW.get(place.kind, ()):
            continue
        province = criteria_set.province
        if province is not None and not place.path.startswith(province.path):
            continue
        found = selectors.assessments_for_user(user, criteria_set.code, place.code, period.key)
        blocks.append(reports.criteria_block(found.criteria_set, place, found.assessments))
    return blocks


# --- pages ----------------------------------------------------------------------------------------


@login_required
def dashboard(request):
    user = request.user
    roots = _roots(user)
    shown = _values(request, roots)
    place, period, values = shown.place, shown.period, shown.values
    indicators = [value.indicator for value in values]
    indicator = _chosen(indicators, request.GET.get("indicator", ""))

    def query(target: Place) -> str:
        return _query(target, period, indicator)

    ranking = []
    if indicator is not None and place.kind != Place.Kind.VILLAGE:
        ranking = _ranking(user, indicator, place, period, query)
    sign_off = closing.sign_off_for(place, period)
    can_close = (
        place.kind == Place.Kind.COMMUNE
        and sign_off is None
        and closing.period_ended(period)
        and user_can(user, CLOSE, place)
    )
    context = {
        "place": place,
        "period": period,
        "period_dates": reports.period_dates(period),
        "place_choices": _place_choices(user, roots, place),
        "period_groups": _period_choices(period),
        "breadcrumb": _breadcrumb(user, place),
        "indicators": indicators,
        "indicator": indicator,
        "rows": [_row(value) for value in values],
        "ranking": ranking,
        "children_label": (
            _("Xếp hạng các xã, phường")
            if place.kind == Place.Kind.PROVINCE
            else _("Xếp hạng các thôn")
        ),
        "map_data": _map_data(ranking),
        "map_tiles": settings.XASO_MAP_TILES,
        "trend": _trend(indicator, place, period) if indicator else None,
        "criteria": _assessments(user, place, period),
        "sign_off": sign_off,
        "can_close": can_close,
        "communes_closed": (
            closing.communes_closed(place, period) if place.kind == Place.Kind.PROVINCE else None
        ),
        "query": _query(place, period),
    }
    return render(request, "indicators/dashboard.html", context)


def _report(request) -> reports.Report:
    shown = _values(request, _roots(request.user))
    return reports.period_report(
        place=shown.place,
        period=shown.period,
        values=shown.values,
        criteria=_assessments(request.user, shown.place, shown.period),
    )


def _download(data: bytes, content_type: str, report: reports.Report, extension: str):
    response = HttpResponse(data, content_type=content_type)
    filename = f"bao-cao-chuyen-doi-so-{report.place.code}-{report.period.key}.{extension}"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@login_required
def report_xlsx(request):
    report = _report(request)
    return _download(reports.report_xlsx(report), reports.XLSX_CONTENT_TYPE, report, "xlsx")


@login_required
def report_pdf(request):
    report = _report(request)
    return _download(reports.report_pdf(report), "application/pdf", report, "pdf")


@login_required
@require_http_methods(["GET", "POST"])
def period_close(request):
    """The confirmation page of a period close (GET) and the close itself (POST)."""
    user = request.user
    source = request.POST if request.method == "POST" else request.GET
    try:
        shown = selectors.dashboard_for_user(user, source.get("place", ""), source.get("period"))
    except InvalidInput as error:
        raise BadRequest(error.message) from error
    place, period = shown.place, shown.period
    refusal = error = ""
    try:
        closing.period_close_check(commune=place, period=period, by=user)
    except DomainError as refused:
        refusal = refused.message
    if request.method == "POST" and not refusal:
        if source.get("confirm") != "1":
            error = _("Hãy đánh dấu ô xác nhận trước khi chốt số liệu.")
        else:
            try:
                closing.period_close(commune=place, period_key=period.key, by=user)
            except DomainError as refused:
                refusal = refused.message
            else:
                messages.success(
                    request,
                    _("Đã chốt và ký số số liệu %(period)s của %(place)s.")
                    % {"period": period.label(), "place": place.name},
                )
                return redirect(reverse("indicators:dashboard") + "?" + _query(place, period))
    context = {
        "place": place,
        "period": period,
        "period_dates": reports.period_dates(period),
        "rows": [] if refusal else [_row(value) for value in shown.values],
        "error": refusal or error,
        "query": _query(place, period),
    }
    status = 409 if refusal and request.method == "POST" else 400 if error else 200
    return render(request, "indicators/close.html", context, status=status)
