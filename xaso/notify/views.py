"""The "Kênh nhận thông báo" page, and the PWA files (service worker and manifest).

Each view: parse, select (the user's own channels), act, render.
"""

from pathlib import Path

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.http import require_GET, require_POST

from xaso.core.forms import run_action, submitted
from xaso.notify import actions, channels, push, selectors
from xaso.notify.forms import KIND_FIELDS, ChannelForm

RECENT_DELIVERIES = 20
_SERVICE_WORKER = Path(__file__).parent / "static" / "notify" / "sw.js"


def _rows(user):
    rows = []
    for channel in selectors.channels_for_user(user=user):
        try:
            summary = channels.summary(channel.kind, channel.config)
        except Exception:  # undecryptable (wrong XASO_FIELD_KEY): the page still opens
            summary = _("⚠ không giải mã được")
        rows.append((channel, summary))
    return rows


@login_required
def channel_list(request):
    form = ChannelForm(submitted(request), initial={"kind": "ntfy"})
    secret = None
    if request.method == "POST" and form.is_valid():
        channel = run_action(
            form,
            lambda: actions.channel_create(
                user=request.user,
                kind=form.cleaned_data["kind"],
                label=form.cleaned_data["label"],
                config=form.config(),
                by=request.user,
            ),
        )
        if channel is not None and not channel.secret:
            messages.success(request, _("Đã thêm kênh “%(label)s”.") % {"label": channel})
            return redirect("notify:channels")
        if channel is not None:  # a webhook: its signing secret is shown on this page, once
            secret, form = channel.secret, ChannelForm(initial={"kind": "ntfy"})
    deliveries = selectors.deliveries_for_user(user=request.user)
    if request.user.is_superuser:
        deliveries = deliveries.filter(recipient=request.user)
    return render(
        request,
        "notify/channels.html",
        {
            "channels": _rows(request.user),
            "form": form,
            "fields": [
                (form[name], " ".join(k for k, names in KIND_FIELDS.items() if name in names))
                for name in form.fields
            ],
            "deliveries": deliveries[:RECENT_DELIVERIES],
            "secret": secret,
            "vapid_public_key": push.vapid_public_key(),
        },
        status=400 if request.method == "POST" and secret is None else 200,
    )


@login_required
@require_POST
def channel_test(request, public_id):
    channel = selectors.channel_get_for_user(user=request.user, public_id=public_id)
    actions.channel_test(channel=channel, by=request.user)
    messages.success(request, _("Đã gửi tin thử tới “%(label)s”.") % {"label": channel})
    return redirect("notify:channels")


@login_required
@require_POST
def channel_delete(request, public_id):
    channel = selectors.channel_get_for_user(user=request.user, public_id=public_id)
    label = str(channel)
    actions.channel_delete(channel=channel, by=request.user)
    messages.success(request, _("Đã xoá kênh “%(label)s”.") % {"label": label})
    return redirect("notify:channels")


@require_GET
@cache_control(no_cache=True)
def service_worker(request):
    response = HttpResponse(_SERVICE_WORKER.read_bytes(), content_type="text/javascript")
    response["Service-Worker-Allowed"] = "/"
    return response


@require_GET
@cache_control(max_age=3600)
def manifest(request):
    return JsonResponse(
        {
            "name": "XãSố",
            "short_name": "XãSố",
            "description": _("Nền tảng mở cho xã nông thôn mới thông minh"),
            "lang": "vi",
            "dir": "ltr",
            "start_url": "/",
            "scope": "/",
            "display": "standalone",
            "background_color": "#ffffff",
            "theme_color": "#0b6e4f",
            "icons": [{"src": static("notify/icon.svg"), "sizes": "any", "type": "image/svg+xml"}],
        },
        content_type="application/manifest+json",
        json_dumps_params={"ensure_ascii": False},
    )
