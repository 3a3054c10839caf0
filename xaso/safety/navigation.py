from django.utils.translation import gettext_lazy as _

from xaso.accounts.permissions import user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.navigation import NavItem


def _can_view(user) -> bool:
    return user.is_authenticated and user_has_anywhere(user, Capability.VIEW_SAFETY)


ITEMS = [NavItem(_("An ninh trật tự"), "safety:centre", order=60, visible=_can_view)]
