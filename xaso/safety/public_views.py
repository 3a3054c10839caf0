"""Anonymous pages: a resident reports something to the commune police from a phone.

/phan-anh/         the form (works without JavaScript; a small script fills the position)
/phan-anh/<code>/  the report's status by its tracking code; nothing personal

No account, no session, no cookie: the pages render without the request, the form is
CSRF-exempt (there is no session to protect) and rate-limited per client address instead; a
hidden idempotency key makes a double submit one report.
"""

from django import forms
from django.conf import settings
from django.http import HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from xaso.core import ratelimit
from xaso.core.errors import DomainError
from xaso.core.middleware import client_ip
from xaso.lib.ids import new_public_id
from xaso.places.models import Place
from xaso.safety import reports

# Action fields that the form names differently.
_FORM_FIELDS = {"place": "commune"}


def _contact_valid(value: str) -> None:
    if "@" in value:
        forms.EmailField().clean(value)
    elif not reports.PHONE_RE.fullmatch(value):
        raise forms.ValidationError(_("Nhập số điện thoại hoặc địa chỉ email hợp lệ."))


class ReportForm(forms.Form):
    commune = forms.ChoiceField(label=_("Xã/phường"))
    # Not a ChoiceField: a village of another commune (the select changed without JavaScript)
    # falls back to the commune instead of refusing the report.
    village = forms.CharField(
        label=_("Thôn/tổ dân phố (nếu biết)"), max_length=20, required=False, widget=forms.Select
    )
    service_code = forms.ChoiceField(
        label=_("Sự việc"),
        choices=[("", _("— Chọn loại sự việc —"))]
        + [(code, reports.service_name(code)) for code in reports.SERVICE_CODES],
    )
    description = forms.CharField(
        label=_("Mô tả"),
        max_length=reports.DESCRIPTION_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    photo = forms.FileField(label=_("Ảnh (không bắt buộc)"), required=False)
    latitude = forms.CharField(label=_("Vĩ độ"), max_length=20, required=False)
    longitude = forms.CharField(label=_("Kinh độ"), max_length=20, required=False)
    address = forms.CharField(label=_("Địa điểm, địa chỉ"), max_length=255, required=False)
    contact_name = forms.CharField(label=_("Họ tên"), max_length=150, required=False)
    contact = forms.CharField(
        label=_("Số điện thoại hoặc email"),
        max_length=200,
        required=False,
        validators=[_contact_valid],
    )
    idempotency_key = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)

    def __init__(self, *args, communes, commune: Place | None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["commune"].choices = [("", _("— Chọn xã —"))] + [
            (place.code, place.name) for place in communes
        ]
        villages = commune.children.filter(kind=Place.Kind.VILLAGE) if commune else []
        self.fields["village"].widget.choices = [("", _("— Không rõ —"))] + [
            (place.code, place.name) for place in villages
        ]
        if commune is not None:
            self.fields["commune"].initial = commune.code
        self.fields["idempotency_key"].initial = new_public_id(24)

    def place(self) -> Place | None:
        commune = reports.report_commune(self.cleaned_data["commune"])
        code = self.cleaned_data.get("village")
        if commune is not None and code:
            village = commune.children.filter(kind=Place.Kind.VILLAGE, code=code).first()
            return village or commune
        return commune


def _page(template: str, context: dict, status: int = 200) -> HttpResponse:
    """Rendered without the request: no context processors, no session, no cookie."""
    response = HttpResponse(render_to_string(template, context), status=status)
    response["Cache-Control"] = "no-store"
    return response


def _client(request) -> str:
    return client_ip(request) or "unknown"


def _chosen_commune(request, communes: list[Place]) -> Place | None:
    code = (request.POST.get("commune") or request.GET.get("xa") or "").strip()
    chosen = next((place for place in communes if place.code == code), None)
    return chosen or reports.default_commune()


@csrf_exempt  # anonymous, no session to protect; rate-limited per client instead
@require_http_methods(["GET", "HEAD", "POST"])
def report_form(request):
    communes = list(reports.report_communes())
    commune = _chosen_commune(request, communes)
    if request.method != "POST":
        form = ReportForm(communes=communes, commune=commune)
        return _page("safety/public/report_form.html", _context(form, communes, commune))
    limit = settings.XASO_REPORTS_PER_HOUR
    if not ratelimit.allow(
        scope="citizen-report", key=_client(request), limit=limit, window_seconds=3600
    ):
        return _page("safety/public/too_many.html", {}, status=429)
    form = ReportForm(request.POST, request.FILES, communes=communes, commune=commune)
    if form.is_valid():
        data = form.cleaned_data
        key = data["idempotency_key"].strip()
        try:
            report = reports.citizen_report_submit(
                place=form.place(),
                service_code=data["service_code"],
                description=data["description"],
                latitude=data["latitude"] or None,
                longitude=data["longitude"] or None,
                address=data["address"],
                photo=data["photo"],
                contact_name=data["contact_name"],
                contact=data["contact"],
                idempotency_key=f"web:{key}" if key else "",
            )
        except DomainError as error:
            field = _FORM_FIELDS.get(error.field or "", error.field)
            form.add_error(field if field in form.fields else None, error.message)
        else:
            url = reverse("safety_public:report_status", args=[report.public_id])
            return HttpResponseRedirect(f"{url}?moi=1", status=303)
    return _page("safety/public/report_form.html", _context(form, communes, commune), 400)


def _context(form: ReportForm, communes: list[Place], commune: Place | None) -> dict:
    return {
        "form": form,
        "single_commune": commune if len(communes) == 1 else None,
        "commune": commune,
        "photo_max_mb": round(reports.photo_max_bytes() / 1024 / 1024, 1),
    }


@require_http_methods(["GET", "HEAD"])
def report_status(request, code: str):
    limit = settings.XASO_REPORT_LOOKUP_MISSES_PER_MINUTE
    if ratelimit.exceeded(scope="citizen-report-miss", key=_client(request), limit=limit):
        return _page("safety/public/too_many.html", {}, status=429)
    report = reports.citizen_report_public_get(code)
    if report is None:
        ratelimit.allow(scope="citizen-report-miss", key=_client(request), limit=limit)
        return _page("safety/public/report_status.html", {"code": code[:20]}, status=404)
    context = {
        "report": report,
        "commune": reports.commune_of(report.place),
        "service_name": reports.service_name(report.service_code),
        "just_sent": request.GET.get("moi") == "1",
    }
    return _page("safety/public/report_status.html", context)
