"""HTML pages for places and people. Each view: parse, select, act, render."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xaso.accounts.permissions import user_can, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.forms import run_action, submitted
from xaso.places import actions, selectors
from xaso.places.forms import (
    ConsentForm,
    EraseForm,
    HouseholdForm,
    MergeForm,
    OrganisationForm,
    ResidentEditForm,
    ResidentForm,
    VillageForm,
)
from xaso.places.models import Place
from xaso.places.personal_data import masked_value

PAGE_SIZE = 25


def _with_masked_identifiers(residents) -> list[tuple]:
    """(resident, masked CCCD, masked phone) rows for the resident tables."""
    return [(r, masked_value(r, "cccd"), masked_value(r, "phone")) for r in residents]


def _require(user, capability: str) -> None:
    if not user_has_anywhere(user, capability):
        raise Http404


# --- Home dashboard -----------------------------------------------------------------------------
@login_required
def home(request):
    places = list(selectors.home_places_for_user(user=request.user).order_by("path")[:50])
    if not places:
        return render(request, "places/no_role.html")
    place = places[0]
    wanted = request.GET.get("place")
    if wanted:
        place = selectors.place_get_for_user(user=request.user, code=wanted)
        if not user_can(request.user, Capability.VIEW_DASHBOARD, place):
            raise Http404
    dashboard = selectors.dashboard_for_place(place=place)
    return render(
        request,
        "places/home.html",
        {
            "dashboard": dashboard,
            "home_places": places,
            "can_view_people": user_has_anywhere(request.user, Capability.VIEW_PEOPLE),
        },
    )


# --- Households ---------------------------------------------------------------------------------
@login_required
def household_list(request):
    _require(request.user, Capability.VIEW_PEOPLE)
    village, q = request.GET.get("village", ""), request.GET.get("q", "")
    households = selectors.households_for_user(user=request.user, village=village, q=q)
    page = Paginator(households, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "q": q,
        "village": village,
        "villages": selectors.villages_for_user(user=request.user),
        "can_edit": user_has_anywhere(request.user, Capability.EDIT_PEOPLE),
    }
    template = "places/household_list.html"
    if request.htmx and request.htmx.target == "results":
        template += "#results"
    return render(request, template, context)


@login_required
@require_POST
def household_export(request):
    _require(request.user, Capability.VIEW_PEOPLE)
    job = actions.households_export_start(
        village=request.POST.get("village", ""), q=request.POST.get("q", ""), by=request.user
    )
    return redirect("core:job", public_id=job.public_id)


@login_required
def household_detail(request, public_id):
    household = selectors.household_get_for_user(user=request.user, public_id=public_id)
    residents = selectors.residents_for_user(user=request.user, household=household.public_id)
    return render(
        request,
        "places/household_detail.html",
        {
            "household": household,
            "residents": _with_masked_identifiers(residents),
            "can_edit": user_can(request.user, Capability.EDIT_PEOPLE, household.village),
        },
    )


@login_required
def household_edit(request, public_id=None):
    household = None
    if public_id:
        household = selectors.household_get_for_user(
            user=request.user, public_id=public_id, capability=Capability.EDIT_PEOPLE
        )
    villages = selectors.villages_for_user(user=request.user, capability=Capability.EDIT_PEOPLE)
    if not villages.exists():
        raise Http404
    initial = {"village": request.GET.get("village")}
    if household:
        initial = {
            "village": household.village.code,
            "head_name": household.head_name,
            "code": household.code,
            "address": household.address,
            "notes": household.notes,
        }
    form = HouseholdForm(submitted(request), villages=villages, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "village"}
        village = form.cleaned_data["village"]
        if household:
            saved = run_action(
                form,
                lambda: actions.household_update(
                    household=household, village=village, by=request.user, **values
                ),
            )
        else:
            saved = run_action(
                form, lambda: actions.household_create(village=village, by=request.user, **values)
            )
        if saved:
            messages.success(request, _("Đã lưu hộ gia đình."))
            return redirect("places:household", public_id=saved.public_id)
    status = 400 if form.errors else 200
    return render(
        request, "places/household_form.html", {"form": form, "household": household}, status=status
    )


# --- Residents ----------------------------------------------------------------------------------
@login_required
def resident_list(request):
    _require(request.user, Capability.VIEW_PEOPLE)
    village, q = request.GET.get("village", ""), request.GET.get("q", "")
    residents = selectors.residents_for_user(user=request.user, village=village, q=q)
    page = Paginator(residents, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _with_masked_identifiers(page)
    context = {
        "page": page,
        "rows": rows,
        "q": q,
        "village": village,
        "villages": selectors.villages_for_user(user=request.user),
    }
    template = "places/resident_list.html"
    if request.htmx and request.htmx.target == "results":
        template += "#results"
    return render(request, template, context)


@login_required
def resident_detail(request, public_id):
    resident = selectors.resident_get_for_user(user=request.user, public_id=public_id)
    village = resident.household.village
    return render(
        request,
        "places/resident_detail.html",
        {
            "resident": resident,
            "cccd_masked": masked_value(resident, "cccd"),
            "phone_masked": masked_value(resident, "phone"),
            "consents": resident.consents.select_related("recorded_by"),
            "consent_form": ConsentForm(),
            "can_edit": user_can(request.user, Capability.EDIT_PEOPLE, village),
            "can_reveal": user_can(request.user, Capability.REVEAL_PERSONAL_DATA, village),
            "can_handle_requests": user_can(request.user, Capability.HANDLE_DATA_REQUESTS, village),
        },
    )


@login_required
def resident_edit(request, public_id=None):
    if public_id:
        resident = selectors.resident_get_for_user(
            user=request.user, public_id=public_id, capability=Capability.EDIT_PEOPLE
        )
        household = resident.household
        form_class, initial = (
            ResidentEditForm,
            {
                "full_name": resident.full_name,
                "gender": resident.gender,
                "birth_date": resident.birth_date,
                "relation_to_head": resident.relation_to_head,
            },
        )
    else:
        resident = None
        household = selectors.household_get_for_user(
            user=request.user,
            public_id=request.GET.get("household", ""),
            capability=Capability.EDIT_PEOPLE,
        )
        form_class, initial = ResidentForm, {}
    form = form_class(submitted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        if resident:
            # Empty identifier fields on edit mean "unchanged".
            for field in ("cccd", "phone"):
                if not values[field]:
                    values.pop(field)
            if values.pop("clear_phone", False):
                values["phone"] = ""
            saved = run_action(
                form, lambda: actions.resident_update(resident=resident, by=request.user, **values)
            )
        else:
            saved = run_action(
                form,
                lambda: actions.resident_create(household=household, by=request.user, **values),
            )
        if saved:
            messages.success(request, _("Đã lưu nhân khẩu."))
            return redirect("places:resident", public_id=saved.public_id)
    status = 400 if form.errors else 200
    return render(
        request,
        "places/resident_form.html",
        {"form": form, "resident": resident, "household": household},
        status=status,
    )


@login_required
@require_POST
def resident_reveal(request, public_id, field):
    resident = selectors.resident_get_for_user(
        user=request.user, public_id=public_id, capability=Capability.REVEAL_PERSONAL_DATA
    )
    if field not in ("cccd", "phone"):
        raise Http404
    value = actions.resident_reveal(resident=resident, field=field, by=request.user)
    return render(
        request, "places/resident_detail.html#revealed", {"value": value or _("(chưa có)")}
    )


@login_required
@require_POST
def consent_record(request, public_id):
    resident = selectors.resident_get_for_user(
        user=request.user, public_id=public_id, capability=Capability.EDIT_PEOPLE
    )
    form = ConsentForm(request.POST)
    if form.is_valid() and run_action(
        form,
        lambda: actions.consent_record(resident=resident, by=request.user, **form.cleaned_data),
    ):
        messages.success(request, _("Đã ghi nhận ý kiến của người dân."))
    else:
        messages.error(request, _("Không ghi nhận được: vui lòng chọn đủ các mục."))
    return redirect("places:resident", public_id=public_id)


@login_required
def resident_export(request, public_id):
    resident = selectors.resident_get_for_user(
        user=request.user, public_id=public_id, capability=Capability.HANDLE_DATA_REQUESTS
    )
    data = actions.resident_export(resident=resident, by=request.user)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="nhan-khau-{public_id}.json"'
    return response


@login_required
def resident_erase(request, public_id):
    resident = selectors.resident_get_for_user(
        user=request.user, public_id=public_id, capability=Capability.HANDLE_DATA_REQUESTS
    )
    form = EraseForm(submitted(request))
    if (
        request.method == "POST"
        and form.is_valid()
        and run_action(
            form,
            lambda: actions.resident_erase(
                resident=resident, reason=form.cleaned_data["reason"], by=request.user
            ),
        )
    ):
        messages.success(request, _("Đã xoá dữ liệu cá nhân của nhân khẩu."))
        return redirect("places:household", public_id=resident.household.public_id)
    return render(
        request,
        "places/resident_erase.html",
        {"form": form, "resident": resident},
        status=400 if form.errors else 200,
    )


# --- Organisations ------------------------------------------------------------------------------
@login_required
def organisation_list(request):
    _require(request.user, Capability.VIEW_PEOPLE)
    q = request.GET.get("q", "")
    organisations = selectors.organisations_for_user(user=request.user, q=q)
    page = Paginator(organisations, PAGE_SIZE).get_page(request.GET.get("page"))
    template = "places/organisation_list.html"
    if request.htmx and request.htmx.target == "results":
        template += "#results"
    return render(
        request,
        template,
        {"page": page, "q": q, "can_edit": user_has_anywhere(request.user, Capability.EDIT_PEOPLE)},
    )


@login_required
def organisation_edit(request, public_id=None):
    organisation = None
    if public_id:
        organisation = selectors.organisation_get_for_user(
            user=request.user, public_id=public_id, capability=Capability.EDIT_PEOPLE
        )
    places = selectors.places_for_organisations(user=request.user)
    if not places.exists():
        raise Http404
    initial = {}
    if organisation:
        initial = {
            f: getattr(organisation, f)
            for f in ("name", "kind", "tax_code", "address", "phone", "representative")
        }
        initial["place"] = organisation.place.code
    form = OrganisationForm(submitted(request), places=places, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {k: v for k, v in form.cleaned_data.items() if k != "place"}
        place = form.cleaned_data["place"]
        if organisation:
            saved = run_action(
                form,
                lambda: actions.organisation_update(
                    organisation=organisation, place=place, by=request.user, **values
                ),
            )
        else:
            saved = run_action(
                form, lambda: actions.organisation_create(place=place, by=request.user, **values)
            )
        if saved:
            messages.success(request, _("Đã lưu tổ chức."))
            return redirect("places:organisations")
    return render(
        request,
        "places/organisation_form.html",
        {"form": form, "organisation": organisation},
        status=400 if form.errors else 200,
    )


# --- The place tree (administrators) ------------------------------------------------------------
@login_required
def place_admin(request, code=None):
    _require(request.user, Capability.MANAGE_PLACES)
    place = None
    if code:
        place = selectors.place_get_for_user(user=request.user, code=code)
    village_form = VillageForm(prefix="village")
    merge_form = MergeForm(prefix="merge")
    if request.method == "POST" and place is not None:
        if not user_can(request.user, Capability.MANAGE_PLACES, place):
            raise Http404
        village_form = VillageForm(request.POST, prefix="village")
        if village_form.is_valid() and run_action(
            village_form,
            lambda: actions.village_create(
                commune=place, by=request.user, **village_form.cleaned_data
            ),
        ):
            messages.success(request, _("Đã tạo thôn mới."))
            return redirect("places:place_admin", code=place.code)
    q = request.GET.get("q", "")
    found = selectors.places_search(q=q) if q else []
    children = selectors.place_children_for_user(user=request.user, place=place) if place else []
    return render(
        request,
        "places/place_admin.html",
        {
            "place": place,
            "children": children,
            "found": found,
            "q": q,
            "village_form": village_form,
            "merge_form": merge_form,
            "place_count": Place.objects.count(),
        },
        status=400 if village_form.errors else 200,
    )


@login_required
@require_POST
def place_merge(request):
    _require(request.user, Capability.MANAGE_PLACES)
    form = MergeForm(request.POST, prefix="merge")
    if form.is_valid():
        old = selectors.place_for_manager(user=request.user, code=form.cleaned_data["old"])
        into = selectors.place_for_manager(user=request.user, code=form.cleaned_data["into"])
        if old is None or into is None:
            messages.error(request, _("Không tìm thấy xã với mã đã nhập."))
        elif run_action(
            form,
            lambda: actions.commune_merge(
                old=old, into=into, merged_on=form.cleaned_data["merged_on"], by=request.user
            ),
        ):
            messages.success(
                request,
                _("Đã ghi nhận việc sáp nhập %(old)s vào %(into)s.")
                % {"old": old.name, "into": into.name},
            )
            return redirect("places:place_admin", code=into.code)
    for error in form.errors.values():
        messages.error(request, " ".join(error))
    return redirect("places:place_admin_root")


@login_required
@require_POST
def places_load(request):
    _require(request.user, Capability.MANAGE_PLACES)
    job = actions.places_load_start(by=request.user)
    return redirect("core:job", public_id=job.public_id)
