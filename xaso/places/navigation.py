from django.utils.translation import gettext_lazy as _

from xaso.accounts.permissions import user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.navigation import NavItem


def _can(capability):
    return lambda user: user.is_authenticated and user_has_anywhere(user, capability)


ITEMS = [
    NavItem(_("Tổng quan"), "places:home", order=10),
    NavItem(_("Hộ gia đình"), "places:households", order=20, visible=_can(Capability.VIEW_PEOPLE)),
    NavItem(_("Nhân khẩu"), "places:residents", order=30, visible=_can(Capability.VIEW_PEOPLE)),
    NavItem(_("Tổ chức"), "places:organisations", order=40, visible=_can(Capability.VIEW_PEOPLE)),
    NavItem(
        _("Địa bàn"), "places:place_admin_root", order=80, visible=_can(Capability.MANAGE_PLACES)
    ),
]
