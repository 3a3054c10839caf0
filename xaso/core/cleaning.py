"""Checks every action applies to what a person typed, with the reason in Vietnamese."""

from django.utils.translation import gettext as _

from xaso.core.errors import InvalidInput


def clean_text(values: dict, field: str, *, required: str = "", max_length: int = 255) -> str:
    """`values[field]` with runs of spaces folded; `required` is the message when it is empty."""
    value = " ".join(str(values.get(field) or "").split())
    if required and not value:
        raise InvalidInput(required, field=field)
    if len(value) > max_length:
        raise InvalidInput(_("Tối đa %(n)s ký tự.") % {"n": max_length}, field=field)
    return value
