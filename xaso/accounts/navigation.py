from django.utils.translation import gettext_lazy as _

from xaso.accounts.permissions import user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core.navigation import NavItem

ITEMS = [
    NavItem(
        _("Phân quyền"),
        "accounts:memberships",
        order=85,
        visible=lambda user: (
            user.is_authenticated and user_has_anywhere(user, Capability.MANAGE_PLACES)
        ),
    ),
    NavItem(
        _("Nhật ký"),
        "accounts:audit",
        order=90,
        visible=lambda user: (
            user.is_authenticated and user_has_anywhere(user, Capability.VIEW_AUDIT)
        ),
    ),
]
