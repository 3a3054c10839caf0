from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from xaso.accounts import selectors
from xaso.accounts.actions import membership_grant, membership_revoke, user_create
from xaso.accounts.forms import AuditFilterForm, LoginForm, MembershipForm, UserCreateForm
from xaso.accounts.models import Membership
from xaso.accounts.permissions import scope_filter, user_can, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core import audit, ratelimit
from xaso.core.forms import run_action, submitted
from xaso.core.middleware import client_ip


def login_view(request):
    form = LoginForm(request, data=submitted(request))
    status = 200
    if request.method == "POST":
        allowed = ratelimit.allow(
            scope="login",
            key=client_ip(request) or "unknown",
            limit=settings.XASO_LOGIN_ATTEMPTS_PER_MINUTE,
        )
        if not allowed:
            form.add_error(None, _("Bạn đã thử đăng nhập quá nhiều lần. Vui lòng chờ một phút."))
            status = 429
        elif form.is_valid():
            user = form.get_user()
            login(request, user)
            audit.record(actor=user, verb="user.logged_in", target=user)
            return redirect(_safe_next(request))
        else:
            status = 400
    return render(request, "accounts/login.html", {"form": form}, status=status)


@require_POST
def logout_view(request):
    if request.user.is_authenticated:
        audit.record(actor=request.user, verb="user.logged_out", target=request.user)
    logout(request)
    return redirect(settings.LOGOUT_REDIRECT_URL)


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return "/"


# --- Administration: role grants and the audit log ----------------------------------------------
def _require(user, capability: str) -> None:
    if not user_has_anywhere(user, capability):
        raise Http404


@login_required
def membership_list(request):
    _require(request.user, Capability.MANAGE_PLACES)
    form = MembershipForm(submitted(request))
    if request.method == "POST" and form.is_valid():
        place = form.cleaned_data["place"]
        if not user_can(request.user, Capability.MANAGE_PLACES, place):
            form.add_error("place", _("Bạn không quản lý địa bàn này."))
        elif run_action(
            form,
            lambda: membership_grant(
                user=form.cleaned_data["user"],
                place=place,
                role=form.cleaned_data["role"],
                organisation=form.cleaned_data["organisation"],
                by=request.user,
            ),
        ):
            messages.success(request, _("Đã phân quyền."))
            return redirect("accounts:memberships")
    memberships = Membership.objects.select_related("user", "place", "organisation").order_by(
        "user__username", "role"
    )
    memberships = memberships.filter(
        scope_filter(request.user, Capability.MANAGE_PLACES, "place__path")
    )
    return render(
        request,
        "accounts/memberships.html",
        {"form": form, "memberships": memberships, "user_form": UserCreateForm()},
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def user_new(request):
    _require(request.user, Capability.MANAGE_PLACES)
    form = UserCreateForm(request.POST)
    if form.is_valid() and run_action(
        form, lambda: user_create(by=request.user, **form.cleaned_data)
    ):
        messages.success(
            request,
            _("Đã tạo tài khoản %(username)s; hãy cấp vai trò cho tài khoản.")
            % {"username": form.cleaned_data["username"]},
        )
    else:
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            messages.error(request, f"{label}: {' '.join(errors)}" if label else " ".join(errors))
    return redirect("accounts:memberships")


@login_required
@require_POST
def membership_delete(request, pk: int):
    _require(request.user, Capability.MANAGE_PLACES)
    membership = Membership.objects.select_related("place", "user").filter(pk=pk).first()
    if membership is None or not user_can(request.user, Capability.MANAGE_PLACES, membership.place):
        raise Http404
    membership_revoke(membership=membership, by=request.user)
    messages.success(request, _("Đã thu hồi quyền."))
    return redirect("accounts:memberships")


@login_required
def audit_log(request):
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.audit_for_user(user=request.user, **{k: v for k, v in filters.items() if v})
    if entries is None:
        raise Http404
    page = Paginator(entries.select_related(None), 50).get_page(request.GET.get("page"))
    return render(request, "accounts/audit.html", {"form": form, "page": page})
