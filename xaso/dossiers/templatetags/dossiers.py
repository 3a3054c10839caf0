"""Small filters for the one-stop shop templates."""

from django import template

from xaso.accounts.permissions import user_has_anywhere
from xaso.lib.vn_money import format_vnd

register = template.Library()


@register.filter
def can_anywhere(user, capability: str) -> bool:
    """{% if user|can_anywhere:"manage_procedures" %}: the module's tabs."""
    return bool(user and user.is_authenticated and user_has_anywhere(user, capability))


@register.filter
def vnd(amount) -> str:
    """8000 → "8.000 ₫"."""
    return format_vnd(int(amount or 0))


@register.filter
def percent(share) -> str:
    """0.456 → "45,6 %"; None → "—"."""
    if share is None:
        return "—"
    return f"{share * 100:.1f}".replace(".", ",") + " %"
