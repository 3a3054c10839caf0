"""Vietnamese identifier formats: citizen identity card (CCCD) and phone numbers."""

import re

_CCCD = re.compile(r"^\d{12}$")
# Mobile numbers after the 2018 renumbering: 03x, 05x, 07x, 08x, 09x; landlines 02x.
_PHONE = re.compile(r"^0[235789]\d{8}$")


def normalize_cccd(raw: str) -> str | None:
    """Return the 12-digit CCCD number, or None when it is not one."""
    digits = re.sub(r"[\s.-]", "", raw or "")
    return digits if _CCCD.match(digits) else None


def normalize_phone(raw: str) -> str | None:
    """Return the phone number as 0xxxxxxxxx (from +84…, 84… or 0…), or None when invalid."""
    digits = re.sub(r"[\s.()-]", "", raw or "")
    if digits.startswith("+84"):
        digits = "0" + digits[3:]
    elif digits.startswith("84") and len(digits) == 11:
        digits = "0" + digits[2:]
    return digits if _PHONE.match(digits) else None
