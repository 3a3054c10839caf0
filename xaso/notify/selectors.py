"""Reads of the notify module: a user sees her own channels and deliveries (a superuser, all)."""

from django.http import Http404

from xaso.notify.models import Channel, Delivery


def channels_for_user(*, user):
    return Channel.objects.filter(user=user).order_by("created_at", "id")


def channel_get_for_user(*, user, public_id: str) -> Channel:
    """The user's own channel; another user's channel answers like an unknown one."""
    if "\x00" in public_id:
        raise Http404
    channel = (
        channels_for_user(user=user).filter(public_id=public_id).select_related("user").first()
    )
    if channel is None:
        raise Http404
    return channel


def deliveries_for_user(*, user, status: str = ""):
    rows = Delivery.objects.all() if user.is_superuser else Delivery.objects.filter(recipient=user)
    if status:
        rows = rows.filter(status=status.replace("\x00", ""))
    return rows.select_related("message", "channel").order_by("-created_at", "-id")
