"""Leader and administrator pages of the one-stop shop: statistics (with the Decision 766
estimates and the XLSX export), the register (Form 07), the procedure catalogue with its
CSV/JSON import and export, the working calendar's overrides and the commune signing key."""

import datetime
import re

from cryptography.hazmat.primitives import hashes
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xaso.accounts.permissions import scope_filter, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.errors import InvalidInput
from xaso.core.forms import submitted
from xaso.dossiers import actions, deadlines, exports, printing, selectors, signing
from xaso.dossiers.forms import (
    CalendarDeleteForm,
    CalendarOverrideForm,
    PeriodForm,
    ProcedureForm,
    ProcedureImportForm,
    RegisterForm,
    SigningKeyImportForm,
    YearForm,
    procedures_csv,
    procedures_json,
)
from xaso.dossiers.models import CalendarOverride, Procedure, SigningKey
from xaso.dossiers.views import act, no_store
from xaso.lib.vn_money import format_vnd
from xaso.places.models import Place

VIEW = Capability.VIEW_DOSSIERS
MANAGE = Capability.MANAGE_PROCEDURES
BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 28, 8, 140
# Decision 766/QĐ-TTg: the groups XãSố's data can estimate, with their points.
GROUP_POINTS = {"progress": 20, "online": 12, "payment": 10, "satisfaction": 18, "digitised": 22}


def _require(user, capability: str) -> None:
    if not user_has_anywhere(user, capability):
        raise Http404


# --- Statistics ---------------------------------------------------------------------------------
def _bar_chart(rows: list[tuple[str, int]], *, money: bool = False) -> dict | None:
    """Vertical bars as inline SVG, computed here: no chart library, nothing fetched."""
    if not rows:
        return None
    top = max(value for _label, value in rows) or 1
    bars = []
    for index, (label, value) in enumerate(rows):
        height = max(2, round(value * CHART_HEIGHT / top))
        x = index * (BAR_WIDTH + BAR_GAP)
        shown = format_vnd(value) if money else str(value)
        short = f"{value / 1000:g}k" if money and value >= 1000 else str(value)
        bars.append(
            {
                "label": label,
                "value": shown,
                "short": short,
                "x": str(x),
                "y": str(CHART_HEIGHT - height + 16),
                "height": str(height),
                "mid": str(x + BAR_WIDTH // 2),
                "top": str(CHART_HEIGHT - height + 12),
            }
        )
    width = max(len(rows) * (BAR_WIDTH + BAR_GAP), 120)
    return {"bars": bars, "width": str(width), "height": str(CHART_HEIGHT + 36)}


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _month(value) -> str:
    return f"{timezone.localtime(value):%m/%Y}" if value else "—"


def statistics_figures(user, since, until) -> dict:
    base = selectors.statistics_for_user(user=user, since=since, until=until)
    detail = selectors.dossier_statistics_detail(user=user, since=since, until=until)
    totals = base["totals"]
    finished = totals["early"] + totals["on_time"] + totals["late"]
    shares = {
        "progress": _share(totals["early"] + totals["on_time"], finished),
        "online": _share(totals["online"], totals["received"]),
        "payment": _share(detail["payments_vietqr"], detail["payments_paid"]),
        "satisfaction": (
            detail["rating_total"] / detail["ratings"] / 5 if detail["ratings"] else None
        ),
        "digitised": _share(detail["digitised"], detail["checked"]),
    }
    groups = [
        {
            "key": key,
            "label": label,
            "basis": basis,
            "share": shares[key],
            "points": GROUP_POINTS[key],
            "score": round(shares[key] * GROUP_POINTS[key], 1) if shares[key] is not None else None,
        }
        for key, label, basis in [
            ("progress", _("Tiến độ giải quyết"), _("tỉ lệ hồ sơ trước hạn và đúng hạn")),
            ("online", _("Dịch vụ trực tuyến"), _("tỉ lệ hồ sơ nộp trực tuyến")),
            ("payment", _("Thanh toán trực tuyến"), _("tỉ lệ khoản thu trả bằng VietQR")),
            ("satisfaction", _("Mức độ hài lòng"), _("điểm đánh giá trung bình / 5")),
            ("digitised", _("Số hoá hồ sơ"), _("tỉ lệ hồ sơ có đủ giấy tờ dạng tệp")),
        ]
    ]
    return {
        "totals": totals,
        "finished": finished,
        "online_share": shares["online"],
        "signed": detail["signed"],
        "checked": detail["checked"],
        "signed_share": _share(detail["signed"], detail["checked"]),
        "rating_average": (
            detail["rating_total"] / detail["ratings"] if detail["ratings"] else None
        ),
        "ratings": detail["ratings"],
        "by_procedure": base["by_procedure"],
        "by_month": [
            {"month": _month(row["month"]), "count": row["count"], "online": row["online"]}
            for row in detail["by_month"]
        ],
        "fees_by_month": [
            {"month": _month(row["month"]), "count": row["count"], "amount": row["amount"] or 0}
            for row in detail["fees_by_month"]
        ],
        "fees_by_procedure": [
            {
                "code": row["dossier__procedure__code"] or "",
                "name": row["dossier__procedure__name"] or _("(không gắn hồ sơ)"),
                "count": row["count"],
                "amount": row["amount"] or 0,
            }
            for row in detail["fees_by_procedure"]
        ],
        "groups": groups,
    }


def _period(request):
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return form, None, None
    return form, form.cleaned_data.get("since"), form.cleaned_data.get("until")


def _register_communes(user):
    return (
        Place.objects.filter(kind=Place.Kind.COMMUNE)
        .filter(scope_filter(user, VIEW, "path"))
        .order_by("name")
    )


@login_required
def statistics(request):
    user = request.user
    _require(user, VIEW)
    form, since, until = _period(request)
    figures = None if form.errors else statistics_figures(user, since, until)
    charts = {}
    if figures:
        charts = {
            "dossiers": _bar_chart([(row["month"], row["count"]) for row in figures["by_month"]]),
            "fees": _bar_chart(
                [(row["month"], row["amount"]) for row in figures["fees_by_month"]], money=True
            ),
        }
        for row in figures["fees_by_month"] + figures["fees_by_procedure"]:
            row["amount_text"] = format_vnd(row["amount"])
    today = timezone.localdate()
    register = RegisterForm(
        communes=_register_communes(user),
        initial={"since": since or today.replace(day=1), "until": until or today},
    )
    context = {
        "form": form,
        "figures": figures,
        "charts": charts,
        "register": register,
        "query": request.GET.urlencode(),
    }
    return render(request, "dossiers/statistics.html", context, status=400 if form.errors else 200)


@login_required
def statistics_export(request):
    user = request.user
    _require(user, VIEW)
    form, since, until = _period(request)
    if form.errors:
        return render(request, "dossiers/statistics.html", {"form": form}, status=400)
    figures = statistics_figures(user, since, until)
    content = exports.statistics_xlsx(figures, since=since, until=until)
    stamp = timezone.localdate().strftime("%Y%m%d")
    response = HttpResponse(content, content_type=exports.XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="thong-ke-mot-cua-{stamp}.xlsx"'
    return no_store(response)


@login_required
def register_export(request):
    """Form 07, the register of a commune for a period, as PDF or XLSX."""
    user = request.user
    _require(user, VIEW)
    form = RegisterForm(request.GET, communes=_register_communes(user))
    if not form.is_valid():
        return render(request, "dossiers/statistics.html", {"register": form}, status=400)
    data = form.cleaned_data
    values = {
        "dossiers": selectors.dossiers_for_user(user=user),
        "commune": data["commune"],
        "since": data["since"],
        "until": data["until"],
    }
    name = f"so-theo-doi-{data['commune'].code}-{data['since']:%Y%m%d}-{data['until']:%Y%m%d}"
    if data["kind"] == "xlsx":
        response = HttpResponse(
            printing.register_xlsx(**values), content_type=exports.XLSX_CONTENT_TYPE
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
    else:
        response = HttpResponse(printing.register_pdf(**values), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="{name}.pdf"'
    return no_store(response)


# --- Procedure catalogue ------------------------------------------------------------------------
@login_required
def procedures(request):
    _require(request.user, MANAGE)
    rows = Procedure.objects.order_by("field", "name")
    return render(request, "dossiers/procedures.html", {"procedures": rows})


@login_required
def procedure_edit(request, code=None):
    user = request.user
    _require(user, MANAGE)
    procedure = None
    if code:
        procedure = Procedure.objects.filter(code=code).first()
        if procedure is None:
            raise Http404
    initial = ProcedureForm.initial_for(procedure) if procedure else {"is_active": True}
    form = ProcedureForm(submitted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        saved = act(
            form,
            lambda: actions.procedure_save(values=form.cleaned_data, by=user, procedure=procedure),
        )
        if saved:
            messages.success(request, _("Đã lưu thủ tục %(code)s.") % {"code": saved.code})
            return redirect("dossiers:procedures")
    context = {"form": form, "procedure": procedure}
    return render(
        request, "dossiers/procedure_form.html", context, status=400 if form.errors else 200
    )


LINE = re.compile(r"^Dòng (\d+): (.*)$", re.S)


@login_required
def procedures_import(request):
    user = request.user
    _require(user, MANAGE)
    form = ProcedureImportForm(submitted(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        rows = form.cleaned_data["file"]
        try:
            counts = actions.procedures_import(rows=rows, by=user)
        except InvalidInput as error:
            message = error.message
            match = LINE.match(message)
            if match and getattr(form, "is_csv", False):
                # The action counts rows from 1; a CSV's first row is its line 2.
                line = rows[int(match[1]) - 1].get("_line", int(match[1]))
                message = _("Dòng %(line)s: %(message)s") % {"line": line, "message": match[2]}
            form.add_error("file", message)
        else:
            messages.success(
                request,
                _("Đã nhập: %(created)s thủ tục mới, %(updated)s thủ tục cập nhật.") % counts,
            )
            return redirect("dossiers:procedures")
    status = 400 if form.errors else 200
    return render(request, "dossiers/procedure_import.html", {"form": form}, status=status)


@login_required
def procedures_export(request, kind):
    _require(request.user, MANAGE)
    rows = Procedure.objects.order_by("field", "name")
    if kind == "csv":
        response = HttpResponse(
            "\ufeff" + procedures_csv(rows), content_type="text/csv; charset=utf-8"
        )
    elif kind == "json":
        response = HttpResponse(procedures_json(rows), content_type="application/json")
    else:
        raise Http404
    response["Content-Disposition"] = f'attachment; filename="thu-tuc.{kind}"'
    return no_store(response)


# --- Working calendar ---------------------------------------------------------------------------
@login_required
def calendar(request):
    user = request.user
    _require(user, MANAGE)
    year = YearForm(request.GET).year()
    form = CalendarOverrideForm(submitted(request))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        actions.calendar_override_set(
            day=data["day"], working=data["working"], note=data["note"], by=user
        )
        messages.success(request, _("Đã lưu ngày %(day)s.") % {"day": f"{data['day']:%d/%m/%Y}"})
        return redirect(f"{request.path}?nam={data['day'].year}")
    working = deadlines.working_calendar()
    holidays = sorted(working.holidays(year).items())
    overrides = CalendarOverride.objects.filter(day__year=year).order_by("day")
    context = {
        "year": year,
        "years": [year - 1, year + 1],
        "holidays": holidays,
        "overrides": overrides,
        "form": form,
    }
    return render(request, "dossiers/calendar.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def calendar_delete(request):
    _require(request.user, MANAGE)
    form = CalendarDeleteForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Ngày không hợp lệ."))
        return redirect("dossiers:calendar")
    day = form.cleaned_data["day"]
    actions.calendar_override_delete(day=day, by=request.user)
    messages.success(request, _("Đã xoá ngày %(day)s.") % {"day": f"{day:%d/%m/%Y}"})
    return redirect(reverse("dossiers:calendar") + f"?nam={day.year}")


# --- Signing key --------------------------------------------------------------------------------
def _key_facts(key: SigningKey) -> dict:
    certificate = signing.certificate(key)
    return {
        "key": key,
        "subject": certificate.subject.rfc4514_string(),
        "issuer": certificate.issuer.rfc4514_string(),
        "fingerprint": certificate.fingerprint(hashes.SHA256()).hex(),
        "not_before": certificate.not_valid_before_utc,
        "not_after": certificate.not_valid_after_utc,
        "expired": certificate.not_valid_after_utc < datetime.datetime.now(datetime.UTC),
        "demo": key.label == signing.DEMO_LABEL,
    }


@login_required
def signing_keys(request):
    user = request.user
    _require(user, MANAGE)
    communes = (
        Place.objects.filter(kind=Place.Kind.COMMUNE)
        .filter(scope_filter(user, MANAGE, "path"))
        .order_by("name")
    )
    keys = (
        SigningKey.objects.filter(scope_filter(user, MANAGE, "commune__path"))
        .select_related("commune")
        .filter(is_active=True)
    )
    form = SigningKeyImportForm(submitted(request), request.FILES or None, communes=communes)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        key = act(
            form,
            lambda: signing.signing_key_import(
                commune=data["commune"],
                pkcs12_data=data["file"],
                passphrase=data["passphrase"],
                label=data["label"],
                by=user,
            ),
        )
        if key:
            messages.success(request, _("Đã nhập chứng thư số cho %(c)s.") % {"c": key.commune})
            return redirect("dossiers:signing_keys")
    context = {"keys": [_key_facts(key) for key in keys[:200]], "form": form}
    return render(
        request, "dossiers/signing_keys.html", context, status=400 if form.errors else 200
    )
