"""Dates in the public pages' facts are ISO strings (they are also the JSON); show them the
Vietnamese way."""

import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def vn_date(value) -> str:
    """'2026-11-23' → '23/11/2026'; an ISO date-time → '14:05 23/11/2026' in local time."""
    if not value:
        return ""
    text = str(value)
    try:
        if len(text) <= 10:
            return datetime.date.fromisoformat(text).strftime("%d/%m/%Y")
        moment = timezone.localtime(datetime.datetime.fromisoformat(text))
    except ValueError:
        return text
    return moment.strftime("%H:%M %d/%m/%Y")


@register.filter
def vn_number(value) -> str:
    """'4.200' → '4,2': no trailing zeros, a decimal comma (a point groups thousands)."""
    try:
        number = Decimal(str(value)).normalize()
    except InvalidOperation:
        return str(value)
    return f"{number:f}".replace(".", ",")
