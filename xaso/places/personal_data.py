"""Reading and writing the encrypted identifiers of a resident (CCCD number, phone).

Values are normalised before they are hashed, so "+84 912 345 678" and "0912345678" find the
same resident. Masking decrypts in memory only; the clear value is never stored or logged.
"""

import logging

from django.conf import settings
from django.utils.translation import gettext as _

from xaso.core.errors import DomainError
from xaso.lib import crypto
from xaso.lib.text import mask
from xaso.places.models import Resident

logger = logging.getLogger(__name__)

IDENTIFIER_FIELDS = ("cccd", "phone")


def _secret() -> str:
    return settings.FIELD_ENCRYPTION_KEY


def lookup_hash(field: str, normalized_value: str) -> str:
    # The field name is part of the hashed text so a phone never matches a CCCD.
    return crypto.lookup_hash(f"{field}:{normalized_value}", secret=_secret())


def set_identifier(resident: Resident, field: str, normalized_value: str) -> None:
    """Set the ciphertext and hash of `field` on the instance (the caller saves)."""
    if normalized_value:
        encrypted = crypto.encrypt(normalized_value, secret=_secret())
        hashed = lookup_hash(field, normalized_value)
    else:
        encrypted = hashed = ""
    setattr(resident, f"{field}_encrypted", encrypted)
    setattr(resident, f"{field}_hash", hashed)


def clear_value(resident: Resident, field: str) -> str:
    encrypted = getattr(resident, f"{field}_encrypted")
    if not encrypted:
        return ""
    try:
        return crypto.decrypt(encrypted, secret=_secret())
    except crypto.DecryptionError as error:
        logger.error(
            "cannot decrypt %s of resident %s: check XASO_FIELD_KEY", field, resident.public_id
        )
        raise DomainError(
            _("Không giải mã được dữ liệu này: khoá mã hoá (XASO_FIELD_KEY) không khớp.")
        ) from error


UNREADABLE = "⚠ không giải mã được"


def masked_value(resident: Resident, field: str) -> str:
    """The value with all but its last 3 characters hidden, for lists and detail pages.

    A value encrypted under another key (a wrong or lost XASO_FIELD_KEY) shows a warning in
    place of the number instead of breaking the whole page.
    """
    try:
        value = clear_value(resident, field)
    except DomainError:
        return UNREADABLE
    return mask(value, keep_start=0, keep_end=3) if value else ""
