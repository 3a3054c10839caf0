from xaso.accounts.models import User
from xaso.accounts.permissions import EVERYWHERE, scope_paths
from xaso.accounts.roles import Capability
from xaso.core.selectors import audit_list


def audit_for_user(*, user, **filters):
    """The audit log the user may read, or None when she may read none of it.

    A superuser reads everything; an administrator at a place reads the entries recorded
    against that place's subtree.
    """
    paths = scope_paths(user, Capability.VIEW_AUDIT)
    if paths is not EVERYWHERE and not paths:
        return None
    return audit_list(place_paths=paths, **filters)


def users_for_admin(*, q: str = ""):
    users = User.objects.order_by("username")
    if q:
        users = users.filter(username__icontains=q) | users.filter(full_name__icontains=q)
    return users
