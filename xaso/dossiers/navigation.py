from django.utils.translation import gettext_lazy as _

from xaso.accounts.permissions import user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.navigation import NavItem


def _can(capability: str):
    return lambda user: user.is_authenticated and user_has_anywhere(user, capability)


# The catalogue, calendar and signing key are tabs of the module (templates/dossiers/_module.html)
# for those with MANAGE_PROCEDURES, who also hold VIEW_DOSSIERS.
ITEMS = [
    NavItem(_("Một cửa"), "dossiers:queue", order=70, visible=_can(Capability.VIEW_DOSSIERS)),
]
