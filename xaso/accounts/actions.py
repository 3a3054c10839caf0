from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from xaso.accounts.models import Membership, User
from xaso.accounts.permissions import forget_cached_memberships
from xaso.accounts.roles import Role
from xaso.core import audit
from xaso.core.errors import DomainError, InvalidInput

# Which kind of place each role is granted at. Administrators may sit anywhere.
_ROLE_PLACE_KINDS = {
    Role.COMMUNE_LEADER: {"commune"},
    Role.ONE_STOP_OFFICER: {"commune"},
    Role.POLICE_OFFICER: {"commune", "village"},
    Role.VILLAGE_HEAD: {"village"},
    Role.DIGITAL_TEAM: {"village", "commune"},
    Role.PRODUCER: {"commune", "village"},
    Role.EXTENSION_OFFICER: {"commune"},
    Role.SPECIALIST: {"commune"},
    Role.MERCHANT: {"commune", "village"},
    Role.PROVINCE_VIEWER: {"province"},
}


@transaction.atomic
def membership_grant(*, user: User, place, role: str, organisation=None, by) -> Membership:
    allowed_kinds = _ROLE_PLACE_KINDS.get(role)
    if allowed_kinds is not None and place.kind not in allowed_kinds:
        raise DomainError(_("Vai trò này không thể gán tại cấp địa bàn đã chọn."), field="place")
    if role == Role.PRODUCER and organisation is None:
        raise DomainError(_("Người sản xuất phải gắn với một tổ chức."), field="organisation")
    membership, created = Membership.objects.get_or_create(
        user=user,
        place=place,
        role=role,
        defaults={"organisation": organisation, "granted_by": by},
    )
    if not created:
        raise DomainError(_("Người dùng đã có vai trò này tại địa bàn này."))
    audit.record(
        actor=by,
        verb="membership.granted",
        target=membership,
        changes={"user": user.username, "place": place.code, "role": role},
        place_path=place.path,
    )
    forget_cached_memberships(user)
    return membership


@transaction.atomic
def membership_revoke(*, membership: Membership, by) -> None:
    audit.record(
        actor=by,
        verb="membership.revoked",
        target=membership,
        changes={"user": membership.user.username, "role": membership.role},
        place_path=membership.place.path,
    )
    membership.delete()
    forget_cached_memberships(membership.user)


@transaction.atomic
def user_create(*, username: str, full_name: str, password: str, by) -> User:
    username = (username or "").strip()
    if not username:
        raise InvalidInput(_("Vui lòng nhập tên đăng nhập."), field="username")
    if User.objects.filter(username__iexact=username).exists():
        raise InvalidInput(_("Tên đăng nhập này đã có người dùng."), field="username")
    user = User(username=username, full_name=" ".join((full_name or "").split()))
    try:
        validate_password(password, user)
    except ValidationError as error:
        raise InvalidInput(" ".join(error.messages), field="password") from error
    user.set_password(password)
    user.save()
    audit.record(actor=by, verb="user.created", target=user, changes={"username": username})
    return user
