"""Citizens' pages of the one-stop shop, no login: online submission (/nop-ho-so/) and the
lookup by code and secret (/tra-cuu-ho-so/) with the rating, the supplement and the result.

Phone first and without JavaScript. Submissions and lookups are rate-limited per client, like
the public API (api.public_dossier_submit / public_dossier_lookup). A wrong secret answers
exactly like an unknown code. The lookup shows labels and times of the steps, never an
officer's name or a note.
"""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from xaso.core import ratelimit
from xaso.core.errors import DomainError
from xaso.core.middleware import client_ip
from xaso.dossiers import actions, api, printing, selectors
from xaso.dossiers.forms import (
    ApplicantForm,
    CommuneChoiceForm,
    LookupForm,
    RateForm,
    SupplementForm,
)
from xaso.dossiers.models import Dossier, Procedure
from xaso.dossiers.views import act, no_store, pdf_response

S = Dossier.Status
NOT_FOUND = _("Không tìm thấy hồ sơ với mã hồ sơ và mã tra cứu này.")


def _allowed(request, scope: str, limit: int, window: int = 60) -> bool:
    return ratelimit.allow(
        scope=scope, key=client_ip(request) or "unknown", limit=limit, window_seconds=window
    )


def _too_many(request, template: str, context: dict):
    context = {**context, "too_many": True}
    return no_store(render(request, template, context, status=429))


def _online_procedures():
    return selectors.procedures_active().exclude(online_level=Procedure.OnlineLevel.NONE)


# --- Online submission --------------------------------------------------------------------------
def submit_start(request):
    chosen = request.GET.get("thu-tuc", "")
    if chosen:
        return redirect("dossiers:submit_form", code=chosen)
    procedures = list(_online_procedures())
    fields: dict[str, list] = {}
    for procedure in procedures:
        fields.setdefault(procedure.field, []).append(procedure)
    context = {"fields": fields.items(), "commune": request.GET.get("xa", "")[:20]}
    return render(request, "dossiers/public/submit_start.html", context)


@require_http_methods(["GET", "POST"])
def submit_form(request, code):
    procedure = _online_procedures().filter(code=code).first()
    if procedure is None:
        raise Http404
    communes = selectors.communes_online()
    data = request.POST if request.method == "POST" else None
    initial = request.GET.get("xa") or (communes.first().code if communes.count() == 1 else "")
    commune_form = CommuneChoiceForm(data, communes=communes, initial={"commune": initial})
    form = ApplicantForm(data, request.FILES or None, procedure=procedure)
    context = {"procedure": procedure, "form": form, "commune_form": commune_form}
    if request.method == "POST":
        if not _allowed(request, "dossier-submit", api.PUBLIC_SUBMISSIONS_PER_HOUR, 3600):
            return _too_many(request, "dossiers/public/submit_form.html", context)
        if form.is_valid() & commune_form.is_valid():
            created = act(
                form,
                lambda: actions.dossier_submit(
                    procedure=procedure,
                    commune=commune_form.cleaned_data["commune"],
                    applicant=form.applicant(),
                    uploads=form.uploads(),
                    channel=Dossier.Channel.ONLINE,
                ),
                fields={**form.error_fields, "documents": None},
            )
            if created:
                dossier, secret = created
                done = {"dossier": dossier, "secret": secret}
                # Shown once: only the secret's hash is stored; the page is never cached.
                return no_store(
                    render(request, "dossiers/public/submit_done.html", done, status=201)
                )
    status = 400 if form.errors or commune_form.errors else 200
    return render(request, "dossiers/public/submit_form.html", context, status=status)


# --- Lookup -------------------------------------------------------------------------------------
def _public_steps(dossier: Dossier) -> list[dict]:
    # What happened and when; no officer names, no notes.
    return [
        {"label": actions.ACTION_LABELS.get(step.action, step.action), "at": step.at}
        for step in dossier.steps.order_by("seq").only("action", "at")
    ]


def _found_context(dossier: Dossier, form) -> dict:
    code, secret = form.cleaned_data["code"], form.cleaned_data["secret"]
    initial = {"code": code, "secret": secret}
    return {
        "dossier": dossier,
        "steps": _public_steps(dossier),
        "due": dossier.current_due,
        "credentials": initial,
        "rate_form": RateForm(initial=initial)
        if dossier.status == S.RETURNED and dossier.rating is None
        else None,
        "supplement_form": SupplementForm(initial=initial, procedure=dossier.procedure)
        if dossier.status == S.SUPPLEMENT
        else None,
        "result_online": dossier.status == S.RETURNED
        and dossier.returned_via == Dossier.Channel.ONLINE,
    }


def _lookup(request, form_class, **form_kwargs):
    """(form, dossier or None, refusal or None): the posted form, and the dossier found by code
    and secret; a refusal (rate limit, bad input, not found) as a response."""
    form = form_class(request.POST, request.FILES or None, **form_kwargs)
    if not _allowed(request, "dossier-lookup", api.PUBLIC_LOOKUPS_PER_MINUTE):
        return form, None, _too_many(request, "dossiers/public/lookup.html", {"form": form})
    lookup_form = LookupForm(request.POST)
    if not lookup_form.is_valid():
        return form, None, no_store(_invalid(request, lookup_form))
    dossier = selectors.dossier_public(
        code=lookup_form.cleaned_data["code"], secret=lookup_form.cleaned_data["secret"]
    )
    if dossier is None:
        # The same answer for an unknown code and a wrong secret.
        lookup_form.add_error(None, NOT_FOUND)
        page = render(request, "dossiers/public/lookup.html", {"form": lookup_form}, status=404)
        return form, None, no_store(page)
    return form, dossier, None


def _invalid(request, form):
    return render(request, "dossiers/public/lookup.html", {"form": form}, status=400)


@require_http_methods(["GET", "POST"])
def lookup(request):
    if request.method == "GET":
        form = LookupForm(initial={"code": request.GET.get("ma", "")[:60]})
        return no_store(render(request, "dossiers/public/lookup.html", {"form": form}))
    form, dossier, refused = _lookup(request, LookupForm)
    if refused:
        return refused
    if not form.is_valid():
        return no_store(_invalid(request, form))
    context = {"form": form, **_found_context(dossier, form)}
    return no_store(render(request, "dossiers/public/lookup.html", context))


def _found_page(request, dossier, lookup_form, *, status=200, **extra):
    context = {"form": lookup_form, **_found_context(dossier, lookup_form), **extra}
    return no_store(render(request, "dossiers/public/lookup.html", context, status=status))


@require_POST
def rate(request):
    form, dossier, refused = _lookup(request, RateForm)
    if refused:
        return refused
    lookup_form = LookupForm(request.POST)
    lookup_form.is_valid()
    if form.is_valid() and act(
        form,
        lambda: actions.dossier_rate(
            dossier=dossier,
            rating=form.cleaned_data["rating"],
            comment=form.cleaned_data["comment"],
        ),
    ):
        dossier.refresh_from_db()
        messages.success(request, _("Cảm ơn ông/bà đã đánh giá."))
        return _found_page(request, dossier, lookup_form)
    return _found_page(request, dossier, lookup_form, status=400, rate_form=form)


@require_POST
def supplement(request):
    code = request.POST.get("code", "").strip()[:60]
    procedure = Procedure.objects.filter(dossiers__code=code).first()
    form, dossier, refused = _lookup(request, SupplementForm, procedure=procedure)
    if refused:
        return refused
    lookup_form = LookupForm(request.POST)
    lookup_form.is_valid()
    if form.is_valid() and act(
        form,
        lambda: actions.dossier_supplement(dossier=dossier, uploads=form.uploads()),
        fields={"documents": None},
    ):
        dossier.refresh_from_db()
        messages.success(
            request, _("Đã gửi giấy tờ bổ sung. Cán bộ một cửa sẽ tiếp nhận lại hồ sơ.")
        )
        return _found_page(request, dossier, lookup_form)
    return _found_page(request, dossier, lookup_form, status=400, supplement_form=form)


@require_POST
def result(request):
    _form, dossier, refused = _lookup(request, LookupForm)
    if refused:
        return refused
    if dossier.status != S.RETURNED or dossier.returned_via != Dossier.Channel.ONLINE:
        raise Http404
    try:
        data = printing.result_pdf(dossier)
    except DomainError as error:
        raise Http404 from error
    return pdf_response(data, f"ket-qua-{dossier.code}.pdf")
