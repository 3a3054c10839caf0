from django.utils.translation import gettext_lazy as _

from xaso.core.navigation import NavItem

ITEMS = [NavItem(_("Kênh thông báo"), "notify:channels", order=90)]
