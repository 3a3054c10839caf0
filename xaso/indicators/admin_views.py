"""Indicator and criteria pages: definitions (MANAGE_INDICATORS), hand-entered values and
yes/no facts (ENTER_INDICATOR_VALUES), and the assessment of places against a criteria set
with the evidence behind each verdict (VIEW_INDICATORS). Thin: parse, select, act, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from xaso.accounts.permissions import EVERYWHERE, scope_paths, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.errors import InvalidInput
from xaso.core.forms import run_action, submitted
from xaso.indicators import actions, selectors
from xaso.indicators.forms import (
    CriteriaSetForm,
    CriterionForm,
    FactForm,
    IndicatorForm,
    ManualValueForm,
)
from xaso.indicators.sources import SOURCES
from xaso.places.models import Place

VIEW = Capability.VIEW_INDICATORS
ENTER = Capability.ENTER_INDICATOR_VALUES
MANAGE = Capability.MANAGE_INDICATORS
VERDICTS = {True: _("Đạt"), False: _("Chưa đạt"), None: _("Chưa đủ căn cứ")}


def _require(user, capability: str) -> None:
    if not user_has_anywhere(user, capability):
        raise PermissionDenied


def _render(request, template: str, context: dict, forms=()):
    user = request.user
    context |= {
        "can_manage": user_has_anywhere(user, MANAGE),
        "can_enter": user_has_anywhere(user, ENTER),
    }
    status = 400 if any(form.errors for form in forms if form is not None) else 200
    return render(request, f"indicators/{template}", context, status=status)


# --- Indicator definitions --------------------------------------------------------------------
def _spec_text(spec: dict) -> str:
    if not spec:
        return ""
    source = SOURCES.get(spec.get("source"))
    text = source.label if source else spec.get("source", "")
    filters = ", ".join(f"{key}={value}" for key, value in (spec.get("filter") or {}).items())
    return f"{text} ({filters})" if filters else text


@login_required
def indicator_list(request):
    _require(request.user, MANAGE)
    rows = [
        {
            "indicator": indicator,
            "numerator": _spec_text(indicator.numerator),
            "denominator": _spec_text(indicator.denominator),
        }
        for indicator in selectors.indicators_visible(request.user)
    ]
    return _render(request, "admin_indicators.html", {"rows": rows, "tab": "indicators"})


@login_required
def indicator_edit(request, code: str | None = None):
    user = request.user
    _require(user, MANAGE)
    indicator = selectors.indicator_get_for_user(user, code, capability=MANAGE) if code else None
    form = IndicatorForm(submitted(request), indicator=indicator)
    if request.method == "POST" and form.is_valid():
        saved = run_action(
            form,
            lambda: actions.indicator_save(values=form.values(), by=user, indicator=indicator),
        )
        if saved:
            messages.success(request, _("Đã lưu chỉ tiêu %(code)s.") % {"code": saved.code})
            return redirect("indicator_admin:indicators")
    context = {"form": form, "indicator": indicator, "tab": "indicators"}
    return _render(request, "admin_indicator_form.html", context, [form])


# --- Hand-entered values and facts ------------------------------------------------------------
@login_required
def entries(request):
    user = request.user
    _require(user, ENTER)
    places = selectors.places_for_user(user, ENTER)
    which = request.POST.get("form") if request.method == "POST" else None
    period = selectors.period_parse(None)
    value_form = ManualValueForm(
        request.POST if which == "value" else None, places=places, initial={"period": period.key}
    )
    fact_form = FactForm(
        request.POST if which == "fact" else None,
        places=places.filter(kind__in=[Place.Kind.VILLAGE, Place.Kind.COMMUNE]),
        criteria=selectors.fact_criteria_for_user(user),
    )
    if which == "value" and value_form.is_valid():
        data = value_form.cleaned_data
        entry = run_action(
            value_form,
            lambda: actions.manual_value_enter(
                indicator=data["indicator"],
                place=data["place"],
                period=selectors.period_parse(data["period"]),
                values=data,
                by=user,
            ),
        )
        if entry:
            messages.success(
                request,
                _("Đã ghi %(indicator)s của %(place)s kỳ %(period)s.")
                % {
                    "indicator": entry.indicator.name,
                    "place": entry.place.name,
                    "period": entry.period,
                },
            )
            return redirect("indicator_admin:entries")
    if which == "fact" and fact_form.is_valid():
        data = fact_form.cleaned_data
        fact = run_action(
            fact_form,
            lambda: actions.criterion_fact_record(
                criterion=fact_form.chosen_criterion(),
                place=data["place"],
                met=data["met"],
                evidence=data["evidence"],
                by=user,
            ),
        )
        if fact:
            messages.success(
                request,
                _("Đã ghi nhận “%(criterion)s” cho %(place)s.")
                % {"criterion": fact.criterion.name, "place": fact.place.name},
            )
            return redirect("indicator_admin:entries")
    recent = selectors.recent_entries_for_user(user)
    context = {
        "value_form": value_form,
        "fact_form": fact_form,
        "recent": recent,
        "tab": "entries",
    }
    return _render(request, "admin_entries.html", context, [value_form, fact_form])


# --- Criteria sets ----------------------------------------------------------------------------
def _provinces(user):
    paths = scope_paths(user, MANAGE)
    provinces = Place.objects.filter(kind=Place.Kind.PROVINCE).order_by("name")
    if paths is EVERYWHERE:
        return provinces
    return provinces.filter(path__in=paths)


@login_required
def criteria_list(request):
    user = request.user
    sets = list(selectors.criteria_sets_visible(user))
    can_manage = user_has_anywhere(user, MANAGE)
    form = None
    if can_manage:
        form = CriteriaSetForm(submitted(request), provinces=_provinces(user))
        if request.method == "POST" and form.is_valid():
            saved = run_action(
                form, lambda: actions.criteria_set_save(values=form.cleaned_data, by=user)
            )
            if saved:
                messages.success(request, _("Đã tạo bộ tiêu chí %(code)s.") % {"code": saved.code})
                return redirect("indicator_admin:criteria_set_edit", code=saved.code)
    elif request.method == "POST":
        raise PermissionDenied
    context = {"sets": sets, "form": form, "tab": "criteria"}
    return _render(request, "criteria_list.html", context, [form])


@login_required
def criteria_set_edit(request, code: str):
    user = request.user
    _require(user, MANAGE)
    criteria_set = selectors.criteria_set_get_for_user(user, code, capability=MANAGE)
    which = request.POST.get("form") if request.method == "POST" else None
    set_form = CriteriaSetForm(
        request.POST if which == "set" else None,
        provinces=_provinces(user),
        criteria_set=criteria_set,
    )
    criterion_form = CriterionForm(request.POST if which == "criterion" else None)
    if which == "set" and set_form.is_valid():
        saved = run_action(
            set_form,
            lambda: actions.criteria_set_save(
                values=set_form.cleaned_data, by=user, criteria_set=criteria_set
            ),
        )
        if saved:
            messages.success(request, _("Đã lưu bộ tiêu chí."))
            return redirect("indicator_admin:criteria_set_edit", code=saved.code)
    if which == "criterion" and criterion_form.is_valid():
        saved = run_action(
            criterion_form,
            lambda: actions.criterion_save(
                criteria_set=criteria_set, values=criterion_form.values(), by=user
            ),
        )
        if saved:
            messages.success(request, _("Đã thêm tiêu chí %(code)s.") % {"code": saved.code})
            return redirect("indicator_admin:criteria_set_edit", code=criteria_set.code)
    context = {
        "criteria_set": criteria_set,
        "criteria": selectors.criteria_of_set(criteria_set),
        "set_form": set_form,
        "criterion_form": criterion_form,
        "tab": "criteria",
    }
    return _render(request, "criteria_set_form.html", context, [set_form, criterion_form])


@login_required
def criterion_edit(request, code: str, criterion_code: str):
    user = request.user
    _require(user, MANAGE)
    criteria_set = selectors.criteria_set_get_for_user(user, code, capability=MANAGE)
    criterion = selectors.criterion_in_set(criteria_set, criterion_code, missing=Http404)
    if request.method == "POST" and request.POST.get("form") == "delete":
        actions.criterion_delete(criterion=criterion, by=user)
        messages.success(request, _("Đã xoá tiêu chí %(code)s.") % {"code": criterion.code})
        return redirect("indicator_admin:criteria_set_edit", code=criteria_set.code)
    form = CriterionForm(submitted(request), criterion=criterion)
    if request.method == "POST" and form.is_valid():
        saved = run_action(
            form,
            lambda: actions.criterion_save(
                criteria_set=criteria_set, values=form.values(), by=user, criterion=criterion
            ),
        )
        if saved:
            messages.success(request, _("Đã lưu tiêu chí %(code)s.") % {"code": saved.code})
            return redirect("indicator_admin:criteria_set_edit", code=criteria_set.code)
    context = {"criteria_set": criteria_set, "criterion": criterion, "form": form}
    return _render(request, "criteria_criterion_form.html", context | {"tab": "criteria"}, [form])


# --- Assessment -------------------------------------------------------------------------------
@login_required
def assessment(request, code: str):
    user = request.user
    _require(user, VIEW)
    criteria_set = selectors.criteria_set_get_for_user(user, code)
    place_code = request.GET.get("place", "")
    if not place_code:
        home = selectors.home_place_for_user(user)
        place_code = home.code if home else ""
    error, found = "", None
    try:
        found = selectors.assessments_for_user(
            user, criteria_set.code, place_code, request.GET.get("period", "")
        )
    except InvalidInput as refusal:
        error = refusal.message
    rows = []
    if found:
        for item in found.assessments:
            rows.append(
                {
                    "place": item.place,
                    "met": item.met,
                    "verdict": VERDICTS[item.met],
                    "met_count": sum(1 for result in item.results if result.met is True),
                    "results": [
                        {
                            "criterion": result.criterion,
                            "met": result.met,
                            "verdict": VERDICTS[result.met],
                            "evidence": result.evidence,
                        }
                        for result in item.results
                    ],
                }
            )
    counts = {
        "met": sum(1 for row in rows if row["met"] is True),
        "unmet": sum(1 for row in rows if row["met"] is False),
        "open": sum(1 for row in rows if row["met"] is None),
    }
    levels = selectors.places_for_user(user).exclude(
        kind=Place.Kind.VILLAGE if criteria_set.place_kind == Place.Kind.COMMUNE else ""
    )
    context = {
        "criteria_set": criteria_set,
        "found": found,
        "rows": rows,
        "counts": counts,
        "error": error,
        "places": levels,
        "place_code": place_code,
        "period_key": found.period.key if found else request.GET.get("period", ""),
        "tab": "criteria",
    }
    response = _render(request, "criteria_assessment.html", context)
    if error:
        response.status_code = 400
    return response
