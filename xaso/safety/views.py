"""Officer pages of the safety command centre: the live centre, incidents and their workflow,
snapshots (always through a view, every view audited), the one-click acknowledge link,
cameras, rules, duty shifts, statistics with exports, and citizen reports.

Each view: parse, select (scoped, with the capability the page needs), act, render.
"""

import functools
import json
import mimetypes
import operator
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from xaso.accounts.models import User
from xaso.accounts.permissions import user_can, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core import ratelimit
from xaso.core.errors import DomainError
from xaso.core.forms import run_action, submitted
from xaso.core.middleware import client_ip
from xaso.lib.scan_geo import PROVINCE_SEATS
from xaso.places.models import Place
from xaso.places.selectors import households_for_user, organisations_for_user
from xaso.safety import actions, alerts, exports, reports, selectors
from xaso.safety.forms import (
    CameraForm,
    DutyShiftForm,
    HoldForm,
    IncidentFilterForm,
    IncidentReportForm,
    NoteForm,
    PeriodForm,
    ReportCloseForm,
    ReportLinkForm,
    ReportOpenForm,
    RuleForm,
    TransitionForm,
)
from xaso.safety.models import Camera, CitizenReport, Incident

PAGE_SIZE = 25
LIVE_LIMIT = 50  # newest incidents on the command centre
MAP_CAMERAS = 500
VIEW = Capability.VIEW_SAFETY
MANAGE = Capability.MANAGE_CAMERAS
HANDLE = Capability.HANDLE_INCIDENTS
SNAPSHOTS = Capability.VIEW_SNAPSHOTS
TOKEN_SESSION_KEY = "safety.camera_token"
ACK_ATTEMPTS_PER_MINUTE = 30

# Which fields each workflow step asks for, and how its note is called.
STEP_FIELDS = {
    "acknowledge": (),
    "dispatch": ("assignee", "note"),
    "resolve": ("note",),
    "close": ("note",),
    "reject": ("note",),
    "duplicate": ("duplicate_of", "note"),
}
NOTE_LABELS = {"resolve": _("Kết quả xử lý"), "reject": _("Lý do không xử lý")}

CHECK_LABELS = {
    "label": _("Đối tượng"),
    "min_score": _("Độ tin cậy tối thiểu"),
    "zone": _("Vùng"),
    "min_duration_seconds": _("Thời lượng tối thiểu (giây)"),
    "hours": _("Khung giờ"),
    "min_count": _("Số lần tối thiểu"),
}


def _require(user, capability: str) -> None:
    if not user_has_anywhere(user, capability):
        raise Http404


def _page(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _status(form_or_forms) -> int:
    forms = form_or_forms if isinstance(form_or_forms, list | tuple) else [form_or_forms]
    return 400 if any(form is not None and form.errors for form in forms) else 200


def _point(latitude, longitude):
    if latitude is None or longitude is None:
        return None
    return [float(latitude), float(longitude)]


def _map_center(user) -> str:
    """Where an empty map opens: the seat of the user's (first) province."""
    paths = selectors.safety_places_for_user(user=user).values_list("path", flat=True)[:1]
    province = paths[0].split("/")[1] if paths else ""
    latitude, longitude = PROVINCE_SEATS.get(province, (21.03, 105.85))
    return json.dumps([latitude, longitude])


def _camera_markers(cameras) -> list[dict]:
    markers = []
    for camera in cameras:
        point = _point(camera.latitude, camera.longitude)
        if point:
            markers.append(
                {
                    "name": camera.name,
                    "at": point,
                    "status": camera.status,
                    "status_label": camera.get_status_display(),
                    "black_spot": camera.is_black_spot,
                    "url": reverse("safety:camera", args=[camera.public_id]),
                }
            )
    return markers


def _incident_markers(incidents) -> list[dict]:
    markers = []
    for incident in incidents:
        point = _point(incident.latitude, incident.longitude)
        if point:
            markers.append(
                {
                    "name": incident.title,
                    "at": point,
                    "severity": incident.severity,
                    "status_label": incident.get_status_display(),
                    "url": reverse("safety:incident", args=[incident.public_id]),
                }
            )
    return markers


# --- Command centre -----------------------------------------------------------------------------
def _centre_context(request, cursor: str) -> dict:
    """`cursor` is read before the rows, so a change in between shows on the next poll."""
    user = request.user
    form = IncidentFilterForm(request.GET, places=selectors.safety_places_for_user(user=user))
    incidents = []
    if form.is_valid():
        incidents = list(
            selectors.incidents_for_user(user=user, **form.selector_filters())[:LIVE_LIMIT]
        )
    cameras = selectors.cameras_for_user(user=user).filter(
        is_active=True, latitude__isnull=False, longitude__isnull=False
    )[:MAP_CAMERAS]
    filters = {key: value for key, value in request.GET.items() if key in form.fields and value}
    return {
        "form": form,
        "incidents": incidents,
        "cursor": cursor,
        "filters": urlencode(filters),
        "live_url": reverse("safety:centre_live") + "?" + urlencode({**filters, "since": cursor}),
        "map_data": {
            "cameras": _camera_markers(cameras),
            "incidents": _incident_markers(incidents),
        },
        "now": timezone.now(),
    }


@login_required
def centre(request):
    _require(request.user, VIEW)
    context = _centre_context(request, selectors.safety_cursor_for_user(user=request.user))
    context.update(
        map_center=_map_center(request.user),
        map_tiles=settings.XASO_MAP_TILES,
        can_report=user_has_anywhere(request.user, HANDLE),
    )
    return render(request, "safety/centre.html", context, status=_status(context["form"]))


@login_required
def centre_live(request):
    """The live part of the command centre, polled every few seconds: 204 while nothing in
    the user's scope changed since the cursor the page holds, else the list and map data."""
    _require(request.user, VIEW)
    cursor = selectors.safety_cursor_for_user(user=request.user)
    if request.GET.get("since") == cursor:
        return HttpResponse(status=204)
    context = _centre_context(request, cursor)
    return render(request, "safety/centre.html#live", context, status=_status(context["form"]))


# --- Incidents ----------------------------------------------------------------------------------
def _checks(incident: Incident) -> list[dict]:
    checks = []
    for check in (incident.explanation or {}).get("checks", []):
        if isinstance(check, dict):
            checks.append(
                {
                    "label": CHECK_LABELS.get(check.get("name"), check.get("name")),
                    "expected": check.get("expected", ""),
                    "actual": check.get("actual", ""),
                    "ok": bool(check.get("ok")),
                }
            )
    return checks


def _step_forms(user, incident, *, failed_action: str = "", failed_form=None) -> list[dict]:
    if not user_can(user, HANDLE, incident.place):
        return []
    handlers = selectors.incident_handlers_for_place(place=incident.place)
    steps = []
    for action, (starts, _new, _stamp) in actions.TRANSITIONS.items():
        if incident.status not in starts:
            continue
        form = failed_form if action == failed_action else None
        form = form or TransitionForm(handlers=handlers, incidents=Incident.objects.none())
        if action in NOTE_LABELS:
            form.fields["note"].label = NOTE_LABELS[action]
            form.fields["note"].required = True
        steps.append(
            {
                "action": action,
                "label": actions.ACTION_LABELS[action],
                "form": form,
                "fields": [form[name] for name in STEP_FIELDS[action]],
                "open": action == failed_action,
            }
        )
    return steps


def _incident_page(request, public_id, *, failed_action="", failed_form=None, note_form=None):
    user = request.user
    incident = selectors.incident_detail_for_user(user=user, public_id=public_id)
    can_handle = user_can(user, HANDLE, incident.place)
    steps = list(incident.steps.all())
    labels, statuses = actions.ACTION_LABELS, dict(Incident.Status.choices)
    point = _point(incident.latitude, incident.longitude)
    step_forms = _step_forms(user, incident, failed_action=failed_action, failed_form=failed_form)
    context = {
        "incident": incident,
        "checks": _checks(incident),
        "explanation": incident.explanation or {},
        "events": list(incident.events.all()),
        "reports": list(incident.reports.all()),
        "timeline": [
            (step, labels.get(step.action, step.action), statuses.get(step.status, step.status))
            for step in steps
        ],
        "can_handle": can_handle,
        "can_view_snapshots": user_can(user, SNAPSHOTS, incident.place),
        "step_forms": step_forms,
        # A step refused from a status that no longer offers it: say why above the buttons.
        "step_errors": (
            failed_form.non_field_errors()
            if failed_form is not None and failed_action not in {f["action"] for f in step_forms}
            else []
        ),
        "note_form": (note_form or NoteForm()) if can_handle else None,
        "point": point,
        "point_json": json.dumps(point),
        "map_data": {
            "cameras": _camera_markers([incident.camera] if incident.camera else []),
            "incidents": _incident_markers([incident]),
        },
        "map_tiles": settings.XASO_MAP_TILES,
    }
    status = _status([failed_form, note_form])
    return render(request, "safety/incident_detail.html", context, status=status)


@login_required
def incident_detail(request, public_id):
    return _incident_page(request, public_id)


def _incident_for_handling(request, public_id) -> Incident:
    incident = selectors.incident_get_for_user(user=request.user, public_id=public_id)
    if not user_can(request.user, HANDLE, incident.place):
        raise PermissionDenied
    return incident


@login_required
@require_POST
def incident_step(request, public_id, action):
    if action not in actions.TRANSITIONS:
        raise Http404
    user = request.user
    incident = _incident_for_handling(request, public_id)
    form = TransitionForm(
        request.POST,
        handlers=selectors.incident_handlers_for_place(place=incident.place),
        incidents=selectors.incidents_for_user(user=user).exclude(pk=incident.pk),
    )
    if action in NOTE_LABELS:
        form.fields["note"].required = True
    if form.is_valid() and run_action(
        form,
        lambda: actions.incident_transition(
            incident=incident,
            action=action,
            by=user,
            note=form.cleaned_data["note"],
            assignee=form.cleaned_data["assignee"] if action == "dispatch" else None,
            duplicate_of=form.cleaned_data["duplicate_of"] if action == "duplicate" else None,
        ),
    ):
        messages.success(request, _("Đã cập nhật vụ việc: %(step)s.") % {"step": _label(action)})
        return redirect("safety:incident", public_id=public_id)
    return _incident_page(request, public_id, failed_action=action, failed_form=form)


def _label(action: str) -> str:
    return str(actions.ACTION_LABELS.get(action, action)).lower()


@login_required
@require_POST
def incident_note(request, public_id):
    incident = _incident_for_handling(request, public_id)
    form = NoteForm(request.POST, request.FILES)
    if form.is_valid() and run_action(
        form,
        lambda: actions.incident_note_add(
            incident=incident,
            note=form.cleaned_data["note"],
            photo=form.cleaned_data["photo"],
            by=request.user,
        ),
    ):
        messages.success(request, _("Đã thêm ghi chú."))
        return redirect("safety:incident", public_id=public_id)
    return _incident_page(request, public_id, note_form=form)


@login_required
@require_POST
def incident_hold(request, public_id):
    incident = _incident_for_handling(request, public_id)
    form = HoldForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Yêu cầu không hợp lệ."))
        return redirect("safety:incident", public_id=public_id)
    hold = form.cleaned_data["hold"]
    actions.incident_hold(
        incident=incident, hold=hold, note=form.cleaned_data["note"], by=request.user
    )
    if hold:
        messages.success(request, _("Ảnh của vụ việc được giữ làm bằng chứng, không bị xoá."))
    else:
        messages.success(request, _("Đã bỏ giữ bằng chứng; ảnh sẽ được xoá theo thời hạn."))
    return redirect("safety:incident", public_id=public_id)


@login_required
def incident_new(request):
    user = request.user
    _require(user, HANDLE)
    form = IncidentReportForm(
        submitted(request),
        places=selectors.safety_places_for_user(user=user, capability=HANDLE),
        initial={"place": request.GET.get("dia-ban")},
    )
    if request.method == "POST" and form.is_valid():
        incident = run_action(form, lambda: actions.incident_report(by=user, **form.cleaned_data))
        if incident:
            messages.success(request, _("Đã mở vụ việc."))
            return redirect("safety:incident", public_id=incident.public_id)
    return render(request, "safety/incident_form.html", {"form": form}, status=_status(form))


# --- Evidence: snapshots and photos, only through these views, every view audited ----------------
def _image_response(field) -> FileResponse:
    try:
        handle = field.open("rb")
    except (FileNotFoundError, ValueError) as missing:
        raise Http404 from missing
    kind = mimetypes.guess_type(field.name)[0] or "application/octet-stream"
    response = FileResponse(handle, content_type=kind)
    # Never cached: every look is a new audit row, and a shared cache must not keep it.
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def snapshot(request, event_id):
    event = selectors.event_get_for_user(user=request.user, event_id=event_id)
    if not event.snapshot:
        raise Http404
    response = _image_response(event.snapshot)
    actions.snapshot_viewed(event=event, by=request.user)
    return response


@login_required
def step_photo(request, public_id, step_id):
    incident = selectors.incident_get_for_user(
        user=request.user, public_id=public_id, capability=SNAPSHOTS
    )
    step = incident.steps.filter(pk=step_id).exclude(photo="").first()
    if step is None:
        raise Http404
    response = _image_response(step.photo)
    actions.evidence_photo_viewed(
        kind="incident_photo", target=incident, place_path=incident.place.path, by=request.user
    )
    return response


@login_required
def report_photo(request, public_id):
    report = selectors.citizen_report_get_for_user(
        user=request.user, public_id=public_id, capability=SNAPSHOTS
    )
    if not report.photo:
        raise Http404
    response = _image_response(report.photo)
    actions.evidence_photo_viewed(
        kind="report_photo", target=report, place_path=report.place.path, by=request.user
    )
    return response


# --- Acknowledge from a notification (signed link, no login) ------------------------------------
@csrf_exempt  # a signed one-time link opened from ntfy / web push actions: the token is the proof
@require_http_methods(["GET", "POST"])
def ack(request, token):
    if not ratelimit.allow(
        scope="incident-ack", key=client_ip(request) or "unknown", limit=ACK_ATTEMPTS_PER_MINUTE
    ):
        return render(request, "safety/ack.html", {"refused": True}, status=429)
    read = alerts.ack_token_read(token)
    user = User.objects.filter(pk=read[1], is_active=True).first() if read else None
    if user is None:
        return render(request, "safety/ack.html", {"invalid": True}, status=400)
    incident = selectors.incident_get_for_user(user=user, public_id=read[0])
    context = {"incident": incident, "user_shown": user, "token": token}
    if request.method == "POST" and incident.status == Incident.Status.NEW:
        try:
            incident = actions.incident_transition(incident=incident, action="acknowledge", by=user)
            context.update(incident=incident, acknowledged=True)
        except DomainError as error:
            incident.refresh_from_db()
            context.update(incident=incident, error=error.message)
    return render(request, "safety/ack.html", context)


# --- Cameras ------------------------------------------------------------------------------------
@login_required
def camera_list(request):
    user = request.user
    _require(user, VIEW)
    q, status = request.GET.get("q", ""), request.GET.get("status", "")
    if status not in Camera.Status.values:
        status = ""
    cameras = selectors.cameras_for_user(user=user, q=q, status=status)
    context = {
        "page": _page(request, cameras),
        "q": q,
        "status": status,
        "statuses": Camera.Status.choices,
        "can_manage": user_has_anywhere(user, MANAGE),
        "map_data": {"cameras": _camera_markers(cameras[:MAP_CAMERAS]), "incidents": []},
        "map_center": _map_center(user),
        "map_tiles": settings.XASO_MAP_TILES,
    }
    return render(request, "safety/camera_list.html", context)


@login_required
def camera_detail(request, public_id):
    user = request.user
    camera = selectors.camera_get_for_user(user=user, public_id=public_id)
    can_manage = user_can(user, MANAGE, camera.place)
    token = None
    shown = request.session.get(TOKEN_SESSION_KEY)
    if can_manage and shown and shown.get("camera") == camera.public_id:
        token = shown["token"]
        del request.session[TOKEN_SESSION_KEY]  # shown once
    context = {
        "camera": camera,
        "rules": selectors.rules_for_user(user=user, camera=camera),
        "incidents": selectors.incidents_for_user(user=user).filter(camera=camera)[:10],
        "can_manage": can_manage,
        "token": token,
    }
    return render(request, "safety/camera_detail.html", context)


def _camera_initial(camera: Camera) -> dict:
    initial = {
        field: getattr(camera, field)
        for field in CameraForm.base_fields
        if hasattr(camera, field) and field not in {"place", "owner_household", "zones"}
    }
    initial.update(
        place=camera.place.code,
        owner_household=camera.owner_household.public_id if camera.owner_household else "",
        owner_organisation=(
            camera.owner_organisation.public_id if camera.owner_organisation else None
        ),
        zones=json.dumps(camera.zones, ensure_ascii=False) if camera.zones else "",
    )
    return initial


def _household_choices(user, chosen: str, q: str = "") -> list[tuple[str, str]]:
    households = households_for_user(user=user, q=q)
    rows = list(households[:50])
    if chosen and all(row.public_id != chosen for row in rows):
        rows = list(households_for_user(user=user).filter(public_id=chosen)) + rows
    return [("", _("— Chọn —"))] + [
        (row.public_id, f"{row.head_name} · {row.village.name}") for row in rows
    ]


@login_required
def camera_edit(request, public_id=None):
    user = request.user
    camera = None
    if public_id:
        camera = selectors.camera_get_for_user(user=user, public_id=public_id, capability=MANAGE)
    else:
        _require(user, MANAGE)
    form = CameraForm(
        submitted(request),
        places=selectors.safety_places_for_user(user=user, capability=MANAGE),
        organisations=organisations_for_user(user=user),
        initial=_camera_initial(camera) if camera else {},
    )
    chosen = form["owner_household"].value() or ""
    form.fields["owner_household"].widget = _household_widget(_household_choices(user, chosen))
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        place = values.pop("place")
        household_id = values.pop("owner_household")
        values["owner_household"] = (
            households_for_user(user=user).filter(public_id=household_id).first()
            if household_id
            else None
        )
        if camera:
            saved = run_action(
                form,
                lambda: actions.camera_update(
                    camera=camera, values={**values, "place": place}, by=user
                ),
            )
        else:
            saved = run_action(
                form, lambda: actions.camera_register(place=place, values=values, by=user)
            )
            if saved:
                saved, token = saved
                request.session[TOKEN_SESSION_KEY] = {"camera": saved.public_id, "token": token}
        if saved:
            messages.success(request, _("Đã lưu camera."))
            return redirect("safety:camera", public_id=saved.public_id)
    context = {"form": form, "camera": camera}
    return render(request, "safety/camera_form.html", context, status=_status(form))


def _household_widget(choices):
    return forms.Select(choices=choices, attrs={"id": "id_owner_household", "autocomplete": "off"})


@login_required
def household_options(request):
    """The household choices of the camera form, searched as you type (HTMX)."""
    _require(request.user, MANAGE)
    choices = _household_choices(request.user, "", q=request.GET.get("q", ""))
    return render(request, "safety/camera_form.html#household_options", {"choices": choices})


@login_required
@require_POST
def camera_token_rotate(request, public_id):
    camera = selectors.camera_get_for_user(
        user=request.user, public_id=public_id, capability=MANAGE
    )
    token = actions.camera_token_rotate(camera=camera, by=request.user)
    request.session[TOKEN_SESSION_KEY] = {"camera": camera.public_id, "token": token}
    messages.success(request, _("Đã tạo mã kết nối mới; mã cũ không còn dùng được."))
    return redirect("safety:camera", public_id=camera.public_id)


# --- Rules --------------------------------------------------------------------------------------
@login_required
def rule_edit(request, camera_id=None, public_id=None):
    user = request.user
    rule = None
    if public_id:
        rule = selectors.rule_get_for_user(user=user, public_id=public_id, capability=MANAGE)
        camera = rule.camera
        initial = {field: getattr(rule, field) for field in RuleForm.base_fields}
    else:
        camera = selectors.camera_get_for_user(user=user, public_id=camera_id, capability=MANAGE)
        initial = {}
    form = RuleForm(submitted(request), initial=initial)
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        if rule:
            saved = run_action(form, lambda: actions.rule_update(rule=rule, values=values, by=user))
        else:
            saved = run_action(
                form, lambda: actions.rule_create(camera=camera, values=values, by=user)
            )
        if saved:
            messages.success(request, _("Đã lưu quy tắc cảnh báo."))
            return redirect("safety:camera", public_id=camera.public_id)
    context = {"form": form, "rule": rule, "camera": camera}
    return render(request, "safety/rule_form.html", context, status=_status(form))


# --- Duty shifts --------------------------------------------------------------------------------
def _shift_users(user):
    communes = selectors.safety_places_for_user(user=user, capability=MANAGE).filter(
        kind=Place.Kind.COMMUNE
    )[:20]
    handlers = [selectors.incident_handlers_for_place(place=place) for place in communes]
    if not handlers:
        return User.objects.none()
    return functools.reduce(operator.or_, handlers).distinct().order_by("username")


@login_required
def duty(request):
    user = request.user
    _require(user, VIEW)
    can_manage = user_has_anywhere(user, MANAGE)
    form = None
    if can_manage:
        form = DutyShiftForm(
            submitted(request),
            users=_shift_users(user),
            places=selectors.safety_places_for_user(user=user, capability=MANAGE),
        )
    elif request.method == "POST":
        raise PermissionDenied
    if form is not None and request.method == "POST" and form.is_valid():
        shift = run_action(form, lambda: actions.duty_shift_add(by=user, **form.cleaned_data))
        if shift:
            messages.success(request, _("Đã thêm ca trực."))
            return redirect("safety:duty")
    context = {
        "page": _page(request, selectors.duty_shifts_for_user(user=user)),
        "form": form,
        "now": timezone.now(),
    }
    return render(request, "safety/duty.html", context, status=_status(form))


# --- Statistics and exports ---------------------------------------------------------------------
BAR_WIDTH, BAR_GAP, CHART_HEIGHT = 28, 8, 140


def _bar_chart(rows: list[tuple[str, int]]) -> dict | None:
    """Vertical bars as inline SVG, computed here: no chart library, nothing fetched."""
    if not rows:
        return None
    top = max(count for _label, count in rows) or 1
    bars = []
    for index, (label, count) in enumerate(rows):
        height = max(2, round(count * CHART_HEIGHT / top))
        x = index * (BAR_WIDTH + BAR_GAP)
        bars.append(
            {
                "label": label,
                "count": count,
                "x": str(x),
                "y": str(CHART_HEIGHT - height + 16),
                "height": str(height),
                "mid": str(x + BAR_WIDTH // 2),
                "top": str(CHART_HEIGHT - height + 12),
            }
        )
    width = len(rows) * (BAR_WIDTH + BAR_GAP)
    return {"bars": bars, "width": str(width), "height": str(CHART_HEIGHT + 36)}


def _period(request):
    form = PeriodForm(request.GET)
    if not form.is_valid():
        return form, None, None
    return form, form.cleaned_data.get("since"), form.cleaned_data.get("until")


@login_required
def statistics(request):
    user = request.user
    _require(user, VIEW)
    form, since, until = _period(request)
    figures = None
    if not form.errors:
        figures = selectors.incident_statistics(user=user, since=since, until=until)
    months = [
        (f"{timezone.localtime(row['month']):%m/%Y}" if row["month"] else "—", row["count"])
        for row in (figures or {}).get("by_month", [])
        if row["month"] is not None
    ]
    query = urlencode({key: value for key, value in request.GET.items() if value})
    context = {
        "form": form,
        "figures": figures,
        "month_chart": _bar_chart(months),
        "query": query,
    }
    return render(request, "safety/statistics.html", context, status=_status(form))


@login_required
def export(request, kind):
    user = request.user
    _require(user, VIEW)
    if kind not in exports.KINDS:
        raise Http404
    form, since, until = _period(request)
    if form.errors:
        context = {"form": form, "figures": None, "month_chart": None, "query": ""}
        return render(request, "safety/statistics.html", context, status=400)
    rows = exports.incident_rows(
        selectors.incident_rows_for_export(user=user, since=since, until=until)
    )
    content = exports.write(kind, rows)
    actions.incidents_exported(by=user, file_kind=kind, count=len(rows), since=since, until=until)
    stamp = timezone.localdate().strftime("%Y%m%d")
    response = HttpResponse(content, content_type=exports.CONTENT_TYPES[kind])
    response["Content-Disposition"] = f'attachment; filename="vu-viec-{stamp}.{kind}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Citizen reports ----------------------------------------------------------------------------
@login_required
def report_list(request):
    user = request.user
    _require(user, VIEW)
    status = request.GET.get("status", CitizenReport.Status.OPEN)
    if status not in CitizenReport.Status.values:
        status = ""
    page = _page(request, selectors.citizen_reports_for_user(user=user, status=status))
    rows = [
        (report, user_can(user, HANDLE, report.place), user_can(user, SNAPSHOTS, report.place))
        for report in page
    ]
    context = {
        "page": page,
        "rows": rows,
        "status": status,
        "statuses": CitizenReport.Status.choices,
        "open_form": ReportOpenForm(),
    }
    return render(request, "safety/report_list.html", context)


def _report_for_handling(request, public_id) -> CitizenReport:
    report = selectors.citizen_report_get_for_user(user=request.user, public_id=public_id)
    if not user_can(request.user, HANDLE, report.place):
        raise PermissionDenied
    return report


def _report_done(request, form, message: str):
    if form.errors:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("safety:reports")
    messages.success(request, message)
    return redirect("safety:reports")


@login_required
@require_POST
def report_link(request, public_id):
    report = _report_for_handling(request, public_id)
    form = ReportLinkForm(request.POST, incidents=selectors.incidents_for_user(user=request.user))
    if form.is_valid():
        run_action(
            form,
            lambda: reports.citizen_report_link(
                report=report, incident=form.cleaned_data["incident"], by=request.user
            ),
        )
    return _report_done(request, form, _("Đã gắn phản ánh với vụ việc."))


@login_required
@require_POST
def report_open(request, public_id):
    report = _report_for_handling(request, public_id)
    form = ReportOpenForm(request.POST)
    incident = None
    if form.is_valid():
        incident = run_action(
            form,
            lambda: reports.citizen_report_to_incident(
                report=report, by=request.user, **form.cleaned_data
            ),
        )
    if incident:
        messages.success(request, _("Đã mở vụ việc từ phản ánh."))
        return redirect("safety:incident", public_id=incident.public_id)
    return _report_done(request, form, "")


@login_required
@require_POST
def report_close(request, public_id):
    report = _report_for_handling(request, public_id)
    form = ReportCloseForm(request.POST)
    if form.is_valid():
        run_action(
            form,
            lambda: reports.citizen_report_close(
                report=report, note=form.cleaned_data["note"], by=request.user
            ),
        )
    return _report_done(request, form, _("Đã đóng phản ánh; người gửi xem được kết quả."))
