"""Logged-in pages of traceability: dashboard, producers, areas and their diary, products, lots
and stamp runs. Each view: parse, select (scoped, with the capability the page needs), act,
render. The anonymous scan pages are in public_views.py.
"""

import functools
import json
import math
import operator
from pathlib import Path

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xaso.accounts.permissions import user_can, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.errors import DomainError
from xaso.core.forms import run_action, submitted
from xaso.lib.scan_geo import PROVINCE_SEATS
from xaso.places.selectors import organisations_for_user
from xaso.traceability import actions, public, selectors
from xaso.traceability.forms import (
    ActivateForm,
    AreaForm,
    CertificationForm,
    DiaryEntryForm,
    LotForm,
    ProducerForm,
    ProducerRegisterForm,
    ProductForm,
    RecallForm,
    StampRunForm,
    VoidForm,
)
from xaso.traceability.models import DiaryEntry, Lot, StampRun
from xaso.traceability.public import province_name

PAGE_SIZE = 25
VIEW = Capability.VIEW_TRACEABILITY
WRITE = Capability.MANAGE_PRODUCTION
CONFIRM = Capability.CONFIRM_PRODUCTION
EXPORT_KINDS = ("csv", "pdf")


def _require(user, capability: str) -> None:
    if not user_has_anywhere(user, capability):
        raise Http404


def _page(request, rows):
    return Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))


def _in(queryset, row) -> bool:
    """Whether a selector's queryset (e.g. the user's writable areas) holds this row."""
    return queryset.filter(pk=row.pk).exists()


def _files(request):
    return request.FILES if request.method == "POST" else None


# --- Dashboard ----------------------------------------------------------------------------------
def _scan_bars(rows: list[dict]) -> list[dict]:
    """Scans by province as bars of a CSS chart: the largest is 100% wide."""
    top = max((row["count"] for row in rows), default=0)
    return [
        {
            "name": province_name(row["province"]),
            "count": row["count"],
            "percent": max(1, round(row["count"] * 100 / top)) if top else 0,
        }
        for row in rows
    ]


@login_required
def dashboard(request):
    _require(request.user, VIEW)
    figures = selectors.dashboard_for_user(user=request.user)
    return render(
        request,
        "traceability/dashboard.html",
        {
            "d": figures,
            "bars": _scan_bars(figures["scans_by_province"]),
            "suspicious": [
                (stamp, province_name(stamp.first_province), province_name(stamp.last_province))
                for stamp in figures["suspicious"]
            ],
            "can_handle": _can_handle_reports(request.user),
        },
    )


def _can_handle_reports(user) -> bool:
    return user_has_anywhere(user, WRITE) or user_has_anywhere(user, CONFIRM)


@login_required
@require_POST
def report_handle(request, public_id):
    """The "đã xử lý" button of a counterfeit report: its producer, or an officer of its commune."""
    report = None
    for capability in (WRITE, CONFIRM):
        reports = selectors.reports_for_user(user=request.user, capability=capability)
        report = reports.filter(public_id=public_id).first()
        if report is not None:
            break
    if report is None:
        raise Http404
    try:
        actions.counterfeit_report_handle(report=report, by=request.user)
    except DomainError as error:
        if request.htmx:  # htmx swaps only a 2xx answer into the row
            return HttpResponse(format_html('<span class="error">{}</span>', error.message))
        messages.error(request, error.message)
    else:
        if request.htmx:
            return HttpResponse(format_html('<span class="ok">✔ {}</span>', _("Đã xử lý")))
        messages.success(request, _("Đã đánh dấu báo cáo là đã xử lý."))
    return redirect("traceability:dashboard")


# --- Producers ----------------------------------------------------------------------------------
@login_required
def producer_list(request):
    _require(request.user, VIEW)
    return render(
        request,
        "traceability/producer_list.html",
        {
            "page": _page(request, selectors.producers_for_user(user=request.user)),
            "can_register": user_has_anywhere(request.user, Capability.REGISTER_PRODUCERS),
        },
    )


@login_required
def producer_register(request):
    _require(request.user, Capability.REGISTER_PRODUCERS)
    organisations = organisations_for_user(
        user=request.user, capability=Capability.REGISTER_PRODUCERS
    ).filter(producer__isnull=True)
    form = ProducerRegisterForm(submitted(request), organisations=organisations)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        organisation = values.pop("organisation")
        producer = run_action(
            form,
            lambda: actions.producer_register(organisation=organisation, by=request.user, **values),
        )
        if producer:
            messages.success(request, _("Đã đăng ký cơ sở sản xuất."))
            return redirect("traceability:producer", public_id=producer.public_id)
    return render(
        request,
        "traceability/producer_form.html",
        {"form": form, "producer": None, "has_choices": organisations.exists()},
        status=400 if form.errors else 200,
    )


def _producer_page(request, producer, certification_form=None, status=200):
    user = request.user
    can_manage = _in(selectors.producers_for_user(user=user, capability=WRITE), producer)
    if can_manage and certification_form is None:
        certification_form = CertificationForm(
            areas=selectors.areas_for_user(user=user, capability=WRITE, producer=producer)
        )
    return render(
        request,
        "traceability/producer_detail.html",
        {
            "producer": producer,
            "certifications": selectors.certifications_for_user(user=user).filter(
                producer=producer
            ),
            "areas": selectors.areas_for_user(user=user, producer=producer),
            "products": selectors.products_for_user(user=user).filter(producer=producer),
            "can_manage": can_manage,
            "form": certification_form if can_manage else None,
        },
        status=status,
    )


@login_required
def producer_detail(request, public_id):
    producer = selectors.producer_get_for_user(user=request.user, public_id=public_id)
    return _producer_page(request, producer)


@login_required
def producer_edit(request, public_id):
    producer = selectors.producer_get_for_user(
        user=request.user, public_id=public_id, capability=WRITE
    )
    initial = {
        field: getattr(producer, field)
        for field in ProducerForm.base_fields
        if hasattr(producer, field)
    }
    form = ProducerForm(submitted(request), initial=initial)
    if (
        request.method == "POST"
        and form.is_valid()
        and run_action(
            form,
            lambda: actions.producer_update(
                producer=producer, by=request.user, **form.cleaned_data
            ),
        )
    ):
        messages.success(request, _("Đã lưu thông tin cơ sở."))
        return redirect("traceability:producer", public_id=producer.public_id)
    return render(
        request,
        "traceability/producer_form.html",
        {"form": form, "producer": producer, "has_choices": True},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def certification_create(request, public_id):
    producer = selectors.producer_get_for_user(
        user=request.user, public_id=public_id, capability=WRITE
    )
    areas = selectors.areas_for_user(user=request.user, capability=WRITE, producer=producer)
    form = CertificationForm(request.POST, areas=areas)
    if form.is_valid():
        values = dict(form.cleaned_data)
        area = values.pop("area")
        if run_action(
            form,
            lambda: actions.certification_create(
                producer=producer, area=area, by=request.user, **values
            ),
        ):
            messages.success(request, _("Đã thêm chứng nhận."))
            return redirect("traceability:producer", public_id=producer.public_id)
    return _producer_page(request, producer, certification_form=form, status=400)


# --- Growing areas ------------------------------------------------------------------------------
@login_required
def area_list(request):
    _require(request.user, VIEW)
    return render(
        request,
        "traceability/area_list.html",
        {
            "page": _page(request, selectors.areas_for_user(user=request.user)),
            "can_create": user_has_anywhere(request.user, WRITE),
        },
    )


def _area_initial(area) -> dict:
    initial = {field: getattr(area, field) for field in AreaForm.base_fields if field != "village"}
    initial["village"] = area.village.code
    initial["boundary"] = _boundary_text(area.boundary)
    return initial


def _boundary_text(boundary) -> str:
    return json.dumps(boundary, ensure_ascii=False) if boundary else ""


@login_required
def area_edit(request, public_id=None):
    user = request.user
    area, producers = None, None
    if public_id:
        area = selectors.area_get_for_user(user=user, public_id=public_id, capability=WRITE)
        villages = selectors.villages_for_producer(area.producer)
    else:
        producers = list(selectors.producers_for_user(user=user, capability=WRITE))
        if not producers:
            raise Http404
        villages = functools.reduce(
            operator.or_, (selectors.villages_for_producer(p) for p in producers)
        )
    villages = villages.order_by("path")
    form = AreaForm(
        submitted(request),
        producers=producers,
        villages=villages,
        initial=_area_initial(area) if area else {},
    )
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        values.pop("producer", None)
        village = values.pop("village")
        if area:
            saved = run_action(
                form,
                lambda: actions.area_update(area=area, village=village, by=user, **values),
            )
        else:
            saved = run_action(
                form,
                lambda: actions.area_create(
                    producer=form.chosen_producer(), village=village, by=user, **values
                ),
            )
        if saved:
            messages.success(request, _("Đã lưu vùng trồng."))
            return redirect("traceability:area", public_id=saved.public_id)
    context = {
        "form": form,
        "area": area,
        **_map_settings(area.village if area else villages.first()),
    }
    return render(
        request, "traceability/area_form.html", context, status=400 if form.errors else 200
    )


def _map_settings(village) -> dict:
    """Where the drawing map opens: the seat of the village's province (the map has no
    geocoder); tiles only when the operator configured a tile server."""
    province = village.path.split("/")[1] if village else ""
    latitude, longitude = PROVINCE_SEATS.get(province, (21.03, 105.85))
    return {"map_center": f"[{latitude}, {longitude}]", "map_tiles": settings.XASO_MAP_TILES}


def boundary_preview(boundary, size: int = 200, pad: int = 6) -> dict | None:
    """An SVG path of a Polygon / MultiPolygon, drawn server-side: no map, nothing fetched.

    Longitude is scaled by cos(latitude) so a square field looks square. Numbers are formatted
    here, as strings, so the template's number localisation ("2,5") never touches them.
    """
    if not boundary or boundary.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    polygons = boundary["coordinates"]
    if boundary["type"] == "Polygon":
        polygons = [polygons]
    rings = [ring for polygon in polygons for ring in polygon if ring]
    points = [position for ring in rings for position in ring]
    if not points:
        return None
    west, east = min(p[0] for p in points), max(p[0] for p in points)
    south, north = min(p[1] for p in points), max(p[1] for p in points)
    stretch = math.cos(math.radians((south + north) / 2))
    width, height = (east - west) * stretch, north - south
    scale = (size - 2 * pad) / (max(width, height) or 1e-9)

    def xy(position) -> str:
        x = pad + (position[0] - west) * stretch * scale
        y = pad + (north - position[1]) * scale
        return f"{x:.1f} {y:.1f}"

    path = " ".join("M" + " L".join(xy(p) for p in ring) + " Z" for ring in rings)
    box_width = f"{width * scale + 2 * pad:.0f}"
    box_height = f"{height * scale + 2 * pad:.0f}"
    return {"d": path, "width": box_width, "height": box_height}


def _area_for_diary(user, public_id: str):
    """(area, may manage it): producers write their own diary; a commune officer only records a
    harvest she lets through inside an interval."""
    for capability in (WRITE, CONFIRM):
        area = (
            selectors.areas_for_user(user=user, capability=capability)
            .filter(public_id=public_id)
            .first()
        )
        if area is not None:
            return area, capability == WRITE
    raise Http404


def _area_page(request, area, diary_form=None, status=200):
    user = request.user
    can_manage = _in(selectors.areas_for_user(user=user, capability=WRITE), area)
    can_confirm = user_can(user, CONFIRM, area.producer.place)
    if (can_manage or can_confirm) and diary_form is None:
        diary_form = DiaryEntryForm(can_override=can_confirm, officer_only=not can_manage)
    diary = selectors.diary_for_user(user=user, area=area)
    return render(
        request,
        "traceability/area_detail.html",
        {
            "area": area,
            "page": _page(request, diary),
            "boundary": boundary_preview(area.boundary),
            "can_manage": can_manage,
            "can_confirm": can_confirm,
            "form": diary_form if (can_manage or can_confirm) else None,
        },
        status=status,
    )


@login_required
def area_detail(request, public_id):
    return _area_page(request, selectors.area_get_for_user(user=request.user, public_id=public_id))


@login_required
@require_POST
def diary_create(request, public_id):
    user = request.user
    area, can_manage = _area_for_diary(user, public_id)
    form = DiaryEntryForm(
        request.POST,
        request.FILES,
        can_override=user_can(user, CONFIRM, area.producer.place),
        officer_only=not can_manage,
    )
    if form.is_valid():
        values = dict(form.cleaned_data)
        photo = values.pop("photo")
        reason = values.pop("guard_override_reason", "")
        if run_action(
            form,
            lambda: actions.diary_entry_create(
                area=area, by=user, photo=photo, guard_override_reason=reason, **values
            ),
        ):
            messages.success(request, _("Đã ghi nhật ký sản xuất."))
            return redirect("traceability:area", public_id=area.public_id)
    return _area_page(request, area, diary_form=form, status=400)


@login_required
@require_POST
def diary_countersign(request, public_id):
    entry = selectors.diary_entry_get_for_user(
        user=request.user, public_id=public_id, capability=CONFIRM
    )
    error = None
    try:
        actions.diary_entry_countersign(entry=entry, by=request.user)
    except DomainError as refused:
        error = refused.message
    if request.htmx:
        entry = selectors.diary_entry_get_for_user(user=request.user, public_id=public_id)
        return render(
            request,
            "traceability/area_detail.html#entry",
            {"entry": entry, "can_confirm": True, "error": error},
        )  # 200 even when refused: htmx swaps only a 2xx answer, and the entry shows why
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("Đã xác nhận công việc."))
    return redirect("traceability:area", public_id=entry.area.public_id)


# --- Products -----------------------------------------------------------------------------------
@login_required
def product_list(request):
    _require(request.user, VIEW)
    return render(
        request,
        "traceability/product_list.html",
        {
            "page": _page(request, selectors.products_for_user(user=request.user)),
            "can_create": user_has_anywhere(request.user, WRITE),
        },
    )


@login_required
def product_edit(request, public_id=None):
    user = request.user
    product, producers = None, None
    if public_id:
        product = selectors.product_get_for_user(user=user, public_id=public_id, capability=WRITE)
    else:
        producers = list(selectors.producers_for_user(user=user, capability=WRITE))
        if not producers:
            raise Http404
    initial = {}
    if product:
        initial = {
            field: getattr(product, field) for field in ProductForm.base_fields if field != "photo"
        }
    form = ProductForm(submitted(request), _files(request), producers=producers, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        values.pop("producer", None)
        photo = values.pop("photo")
        if product:
            saved = run_action(
                form,
                lambda: actions.product_update(product=product, by=user, photo=photo, **values),
            )
        else:
            saved = run_action(
                form,
                lambda: actions.product_create(
                    producer=form.chosen_producer(), by=user, photo=photo, **values
                ),
            )
        if saved:
            messages.success(request, _("Đã lưu sản phẩm."))
            return redirect("traceability:products")
    return render(
        request,
        "traceability/product_form.html",
        {"form": form, "product": product},
        status=400 if form.errors else 200,
    )


# --- Lots ---------------------------------------------------------------------------------------
@login_required
def lot_list(request):
    _require(request.user, VIEW)
    q = request.GET.get("q", "")
    context = {
        "page": _page(request, selectors.lots_for_user(user=request.user, q=q)),
        "q": q,
        "can_create": user_has_anywhere(request.user, WRITE),
    }
    template = "traceability/lot_list.html"
    if request.htmx and request.htmx.target == "results":
        template += "#results"
    return render(request, template, context)


@login_required
def lot_create(request):
    user = request.user
    _require(user, WRITE)
    products = selectors.products_for_user(user=user, capability=WRITE)
    if not products.exists():
        messages.error(request, _("Hãy thêm sản phẩm trước khi tạo lô hàng."))
        return redirect("traceability:products")
    harvests = selectors.diary_for_user(
        user=user, capability=WRITE, kind=DiaryEntry.Kind.HARVEST
    ).filter(status=DiaryEntry.Status.DONE, lot__isnull=True)
    form = LotForm(
        submitted(request),
        products=products,
        areas=selectors.areas_for_user(user=user, capability=WRITE),
        harvests=harvests,
        can_override=user_has_anywhere(user, CONFIRM),
    )
    if request.method == "POST" and form.is_valid():
        values = dict(form.cleaned_data)
        lot = run_action(form, lambda: actions.lot_create(by=user, **values))
        if lot:
            messages.success(request, _("Đã tạo lô hàng %(batch)s.") % {"batch": lot.batch})
            return redirect("traceability:lot", public_id=lot.public_id)
    return render(
        request, "traceability/lot_form.html", {"form": form}, status=400 if form.errors else 200
    )


def _with_counts(activations) -> list[tuple]:
    return [(a, a.last_serial - a.first_serial + 1) for a in activations]


def qr_svg(url: str) -> str:
    """The QR code of a link as inline SVG (segno's own markup: safe to insert as is)."""
    return mark_safe(segno.make(url, error="m").svg_inline(scale=4))


def _lot_page(request, lot, recall_form=None, status=200):
    user = request.user
    can_manage = _in(selectors.lots_for_user(user=user, capability=WRITE), lot)
    link = public.lot_link(lot)
    return render(
        request,
        "traceability/lot_detail.html",
        {
            "lot": lot,
            "link": link,
            "page_url": public.lot_page_url(lot),
            "epcis_url": reverse("traceability:public_lot_epcis", args=[lot.code]),
            "qr": qr_svg(link),
            "activations": _with_counts(
                lot.activations.select_related("run").order_by("activated_at", "id")
            ),
            "can_manage": can_manage,
            "recall_form": (recall_form or RecallForm())
            if can_manage and lot.status == Lot.Status.ACTIVE
            else None,
        },
        status=status,
    )


@login_required
def lot_detail(request, public_id):
    return _lot_page(request, selectors.lot_get_for_user(user=request.user, public_id=public_id))


@login_required
@require_POST
def lot_recall(request, public_id):
    lot = selectors.lot_get_for_user(user=request.user, public_id=public_id, capability=WRITE)
    form = RecallForm(request.POST)
    if form.is_valid() and run_action(
        form,
        lambda: actions.lot_recall(lot=lot, reason=form.cleaned_data["reason"], by=request.user),
    ):
        messages.success(request, _("Đã thu hồi lô hàng."))
        return redirect("traceability:lot", public_id=lot.public_id)
    return _lot_page(request, lot, recall_form=form, status=400)


# --- Stamp runs ---------------------------------------------------------------------------------
@login_required
def stamp_run_list(request):
    _require(request.user, VIEW)
    return render(
        request,
        "traceability/stamp_run_list.html",
        {
            "page": _page(request, selectors.stamp_runs_for_user(user=request.user)),
            "can_create": user_has_anywhere(request.user, WRITE),
        },
    )


@login_required
def stamp_run_create(request):
    user = request.user
    _require(user, WRITE)
    products = selectors.products_for_user(user=user, capability=WRITE)
    form = StampRunForm(
        submitted(request), products=products, initial={"product": request.GET.get("product")}
    )
    if request.method == "POST" and form.is_valid():
        run = run_action(form, lambda: actions.stamp_run_start(by=user, **form.cleaned_data))
        if run:
            return redirect("core:job", public_id=run.job.public_id)
    return render(
        request,
        "traceability/stamp_run_form.html",
        {"form": form},
        status=400 if form.errors else 200,
    )


def _run_page(request, run, *, activate_form=None, void_form=None, status=200):
    user = request.user
    can_manage = _in(selectors.stamp_runs_for_user(user=user, capability=WRITE), run)
    usable = run.status in (StampRun.Status.ISSUED, StampRun.Status.PRINTED)
    if can_manage and usable:
        lots = selectors.lots_for_user(user=user, capability=WRITE).filter(
            product=run.product, status=Lot.Status.ACTIVE
        )
        activate_form = activate_form or ActivateForm(lots=lots)
        void_form = void_form or VoidForm()
    manifest = run.manifest or {}
    return render(
        request,
        "traceability/stamp_run_detail.html",
        {
            "run": run,
            "manifest": manifest,
            "files": sorted((manifest.get("files") or {}).items()),
            "activations": _with_counts(
                run.activations.select_related("lot").order_by("first_serial")
            ),
            "can_manage": can_manage,
            "activate_form": activate_form if can_manage and usable else None,
            "void_form": void_form if can_manage and usable else None,
            "show_job": run.job_id and (user.is_superuser or run.job.started_by_id == user.pk),
        },
        status=status,
    )


@login_required
def stamp_run_detail(request, public_id):
    run = selectors.stamp_run_get_for_user(user=request.user, public_id=public_id)
    return _run_page(request, run)


def _run_for_write(request, public_id):
    return selectors.stamp_run_get_for_user(
        user=request.user, public_id=public_id, capability=WRITE
    )


@login_required
def stamp_export(request, public_id, kind):
    """The one-time print export (CSV or PDF): producers only, every download audited."""
    if kind not in EXPORT_KINDS:
        raise Http404
    run = _run_for_write(request, public_id)
    relative = run.csv_file if kind == "csv" else run.pdf_file
    if not relative:
        raise Http404
    root = Path(settings.MEDIA_ROOT).resolve()
    path = (root / relative).resolve()
    if root not in path.parents or not path.is_file():
        raise Http404
    actions.stamp_export_downloaded(run=run, file_kind=kind, by=request.user)
    return FileResponse(path.open("rb"), as_attachment=True, filename=path.name)


@login_required
@require_POST
def stamp_run_printed(request, public_id):
    run = _run_for_write(request, public_id)
    try:
        actions.stamp_run_mark_printed(run=run, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Đã ghi nhận in xong; tệp xuất đã được xoá."))
    return redirect("traceability:stamp_run", public_id=public_id)


@login_required
@require_POST
def stamp_run_void(request, public_id):
    run = _run_for_write(request, public_id)
    form = VoidForm(request.POST)
    if form.is_valid() and run_action(
        form,
        lambda: actions.stamp_run_void(
            run=run, reason=form.cleaned_data["reason"], by=request.user
        ),
    ):
        messages.success(request, _("Đã huỷ đợt tem."))
        return redirect("traceability:stamp_run", public_id=public_id)
    return _run_page(request, run, void_form=form, status=400)


@login_required
@require_POST
def stamp_run_activate(request, public_id):
    user = request.user
    run = _run_for_write(request, public_id)
    lots = selectors.lots_for_user(user=user, capability=WRITE).filter(
        product=run.product, status=Lot.Status.ACTIVE
    )
    form = ActivateForm(request.POST, lots=lots)
    if form.is_valid():
        values = dict(form.cleaned_data)
        lot = values.pop("lot")
        activation = run_action(
            form, lambda: actions.stamp_run_activate(run=run, lot=lot, by=user, **values)
        )
        if activation:
            messages.success(
                request,
                _("Đã kích hoạt tem số %(first)s–%(last)s cho lô %(batch)s.")
                % {
                    "first": activation.first_serial,
                    "last": activation.last_serial,
                    "batch": lot.batch,
                },
            )
            return redirect("traceability:stamp_run", public_id=public_id)
    return _run_page(request, run, activate_form=form, status=400)
