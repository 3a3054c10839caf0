from django.utils.translation import gettext_lazy as _

from xaso.accounts.permissions import user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.navigation import NavItem


def _can(capability: str):
    return lambda user: user.is_authenticated and user_has_anywhere(user, capability)


ITEMS = [
    NavItem(_("Thăm hộ"), "survey:visits", order=50, visible=_can(Capability.RECORD_VISITS)),
    NavItem(
        _("Tiến độ tổ CNS"), "survey:progress", order=55, visible=_can(Capability.OVERSEE_VISITS)
    ),
]
