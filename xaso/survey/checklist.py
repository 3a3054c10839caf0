"""The digital-adoption checklist a community digital team member ticks on a household visit.

Each resident answers the person items; the household answers the household items. The codes
are the keys of a visit's `answers` and the column names of the status tables
(`<code>_on`: the date from which the answer has been yes), so they never change once used.
"""

from django.utils.translation import gettext_lazy as _

RESIDENT_ITEMS = {
    "smartphone": _("Có điện thoại thông minh"),
    "vneid_level2": _("Đã kích hoạt VNeID mức 2"),
    "bank_or_wallet": _("Có tài khoản ngân hàng hoặc ví điện tử"),
    "cashless_utilities": _("Trả tiền điện, nước không dùng tiền mặt"),
    "vssid": _("Đã cài VssID"),
    "online_service": _("Đã dùng dịch vụ công trực tuyến"),
}
HOUSEHOLD_ITEMS = {
    "fibre_broadband": _("Có Internet cáp quang tại nhà"),
}
ALL_ITEMS = {**RESIDENT_ITEMS, **HOUSEHOLD_ITEMS}

# An adult for the checklist's shares: 15 and over, the working-age floor of the Labour Code.
ADULT_AGE = 15
