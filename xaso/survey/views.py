"""Pages of the community digital team: the offline visit app, its service worker, and the
team leader's progress page with the conflicts to resolve.

The visit app is a server-rendered shell; static/survey/visits.js keeps the village's
households and the queue of visits on the phone and talks to the JSON API (api.py); signing
out takes them off the phone, after asking if visits are unsent (core/static/core/logout.js).
The progress page works without JavaScript. Each view: parse, select, act, render.
"""

import hashlib
import json
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from xaso.accounts.roles import Capability
from xaso.core.errors import DomainError
from xaso.places.models import Resident
from xaso.places.selectors import villages_for_user
from xaso.survey import actions, selectors
from xaso.survey.actions import local_today
from xaso.survey.checklist import ALL_ITEMS, HOUSEHOLD_ITEMS, RESIDENT_ITEMS

_SERVICE_WORKER = Path(__file__).parent / "static" / "survey" / "sw.js"
# What the phone needs to open the app with no network: the page first, then its files.
_SHELL_STATIC = [
    "core/xaso.css",
    "survey/visits.js",
    "django_htmx/htmx-2.min.js",
    "core/logout.js",
]
PROGRESS_WEEKS = 8
CONFLICTS_SHOWN = 50


def _villages(user, capability: str) -> list:
    villages = list(villages_for_user(user=user, capability=capability))
    if not villages:
        raise PermissionDenied
    return villages


# --- The visit app ------------------------------------------------------------------------------
@login_required
def visit_app(request):
    villages = _villages(request.user, Capability.RECORD_VISITS)
    api_root = reverse("api:api-root")
    config = {
        "user": request.user.pk,
        "villages": [{"code": v.code, "name": v.name} for v in villages],
        "residentItems": [[code, str(label)] for code, label in RESIDENT_ITEMS.items()],
        "householdItems": [[code, str(label)] for code, label in HOUSEHOLD_ITEMS.items()],
        "households": f"{api_root}survey/households",
        "batch": f"{api_root}survey/visits/batch",
        "newHousehold": reverse("places:household_new"),
        "serviceWorker": reverse("survey:service_worker"),
        "scope": reverse("survey:visits"),
    }
    return render(
        request,
        "survey/visits.html",
        {
            "config": config,
            "household_items": HOUSEHOLD_ITEMS,
            "today": local_today(),
        },
    )


@require_GET
@cache_control(no_cache=True)
def service_worker(request):
    """The visit app's service worker, with the list of files to keep and a version that
    changes whenever one of them does, so that phones install the new app shell."""
    shell = [reverse("survey:visits"), *(static(name) for name in _SHELL_STATIC)]
    digest = hashlib.sha256("\n".join(shell).encode())
    for name in _SHELL_STATIC:
        found = finders.find(name)
        if found:
            digest.update(Path(found).read_bytes())
    source = _SERVICE_WORKER.read_text(encoding="utf-8")
    source = source.replace('"__VERSION__"', json.dumps(digest.hexdigest()[:16]), 1)
    source = source.replace('["__SHELL__"]', json.dumps(shell), 1)
    source = source.replace('"__STATIC_URL__"', json.dumps(settings.STATIC_URL), 1)
    return HttpResponse(source, content_type="text/javascript; charset=utf-8")


# --- The team leader's progress ----------------------------------------------------------------
@login_required
def progress(request):
    villages = _villages(request.user, Capability.OVERSEE_VISITS)
    wanted = request.GET.get("village") or villages[0].code
    village = next((v for v in villages if v.code == wanted), None)
    if village is None:
        raise PermissionDenied
    report = selectors.visit_progress_for_user(
        user=request.user, place=village.code, weeks=PROGRESS_WEEKS
    )
    open_conflicts = list(
        selectors.visits_for_user(user=request.user, village=village.code)
        .filter(conflicts_resolved_at__isnull=True)
        .exclude(conflicts=[])[:CONFLICTS_SHOWN]
    )
    return render(
        request,
        "survey/progress.html",
        {
            "villages": villages,
            "village": village,
            "report": report,
            "items": _share_rows(report["weeks"]),
            "visit_bars": _visit_bars(report["weeks"]),
            "conflicts": _conflict_rows(open_conflicts),
        },
    )


def _share_rows(weeks: list[dict]) -> list[dict]:
    """One row per checklist item: its label and its share in each week, oldest first."""
    return [
        {"label": label, "shares": [week["shares"].get(code, 0) for week in weeks]}
        for code, label in ALL_ITEMS.items()
    ]


def _visit_bars(weeks: list[dict]) -> dict:
    """Geometry of the small SVG bar chart of visits per week."""
    width, height, bar, top = 36, 120, 24, 16
    peak = max((week["visits"] for week in weeks), default=0) or 1
    bars = []
    for n, week in enumerate(weeks):
        size = round((height - top - 16) * week["visits"] / peak)
        y = height - 16 - size
        bars.append(
            {
                "x": n * width + 6,
                "y": y,
                "height": size,
                "mid": n * width + 6 + bar // 2,
                "top": y - 3,
                "visits": week["visits"],
                "label": week["week_start"],
            }
        )
    return {"width": width * len(weeks) + 12, "height": height, "bar": bar, "bars": bars}


def _resident_names(visits: list) -> dict[str, str]:
    """Names of the residents the conflicts mention, in one query (the visits are scoped)."""
    wanted = {c["resident"] for visit in visits for c in visit.conflicts if c["resident"]}
    if not wanted:
        return {}
    return dict(Resident.objects.filter(public_id__in=wanted).values_list("public_id", "full_name"))


def _conflict_rows(visits: list) -> list[dict]:
    """Each visit with open conflicts, its disagreements named: who and which item."""
    names = _resident_names(visits)
    rows = []
    for visit in visits:
        rows.append(
            {
                "visit": visit,
                "items": [
                    {
                        "who": names.get(conflict["resident"], _("Cả hộ"))
                        if conflict["resident"]
                        else _("Cả hộ"),
                        "item": ALL_ITEMS.get(conflict["item"], conflict["item"]),
                        "recorded": conflict["recorded"],
                        "current": conflict["current"],
                    }
                    for conflict in visit.conflicts
                ],
            }
        )
    return rows


@login_required
@require_POST
def conflict_resolve(request, public_id):
    visit = selectors.visit_get_for_user(
        user=request.user, public_id=public_id, capability=Capability.OVERSEE_VISITS
    )
    apply = request.POST.get("apply") == "1"
    try:
        actions.visit_conflicts_resolve(visit=visit, apply=apply, by=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request,
            _("Đã áp dụng câu trả lời của lượt thăm.")
            if apply
            else _("Đã giữ nguyên trạng thái hiện tại."),
        )
    return redirect(f"{reverse('survey:progress')}?village={visit.village.code}")
