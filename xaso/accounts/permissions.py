"""Who may do what where.

A membership's place covers its whole subtree, so "may this user do X at place P" is "does one
of the user's memberships that grants X sit at P or above it". Places carry a materialised path
("/22/06913/06913-01/"), which makes both questions a string prefix test.
"""

from django.db.models import Q

from xaso.accounts.models import Membership
from xaso.accounts.roles import roles_with

EVERYWHERE = None  # scope of a superuser


def _memberships(user) -> list[tuple[str, str]]:
    """(role, place path) pairs of the user, loaded once per user object (i.e. per request)."""
    cached = getattr(user, "_xaso_memberships", None)
    if cached is None:
        cached = list(Membership.objects.filter(user=user).values_list("role", "place__path"))
        user._xaso_memberships = cached
    return cached


def memberships(user) -> list[tuple[str, str]]:
    """The user's (role, place path) pairs, cached on the user object."""
    return _memberships(user) if user.is_authenticated else []


def scope_paths(user, capability: str) -> list[str] | None:
    """Place paths under which the user has `capability`; None means everywhere."""
    if not user.is_authenticated or not user.is_active:
        return []
    if user.is_superuser:
        return EVERYWHERE
    allowed_roles = roles_with(capability)
    return sorted({path for role, path in _memberships(user) if role in allowed_roles})


def scope_filter(user, capability: str, path_field: str) -> Q:
    """A queryset filter keeping rows whose place path lies under the user's scope.

    `path_field` names the place path from the model being filtered, e.g. "village__path" for
    households. Every selector of every app scopes its reads with this.
    """
    paths = scope_paths(user, capability)
    if paths is EVERYWHERE:
        # Always true, but not an empty Q(): `Q(x) | Q()` is just Q(x) in Django, which would
        # silently narrow a superuser's scope wherever a selector ORs this with something.
        return ~Q(pk__in=[])
    under_any = Q(pk__in=[])
    for path in paths:
        under_any |= Q(**{f"{path_field}__startswith": path})
    return under_any


def user_can(user, capability: str, place) -> bool:
    paths = scope_paths(user, capability)
    if paths is EVERYWHERE:
        return True
    return any(place.path.startswith(path) for path in paths)


def user_has_anywhere(user, capability: str) -> bool:
    paths = scope_paths(user, capability)
    return paths is EVERYWHERE or bool(paths)


def forget_cached_memberships(user) -> None:
    if hasattr(user, "_xaso_memberships"):
        del user._xaso_memberships
