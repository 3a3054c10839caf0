from django.utils.translation import gettext_lazy as _

from xaso.accounts.permissions import user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.navigation import NavItem


def _can(capability: str):
    return lambda user: user.is_authenticated and user_has_anywhere(user, capability)


# Entering values and facts, and the definitions, are tabs of the criteria pages
# (templates/indicators/admin_tabs.html).
ITEMS = [
    NavItem(
        _("Chỉ tiêu"), "indicators:dashboard", order=75, visible=_can(Capability.VIEW_INDICATORS)
    ),
    NavItem(
        _("Tiêu chí"),
        "indicator_admin:criteria",
        order=76,
        visible=_can(Capability.VIEW_INDICATORS),
    ),
]
