"""Notification channels and deliveries over JSON at /api/v1/notify/. Thin: parse, select, act.

Every signed-in user manages her own channels; deliveries are the caller's own (a superuser's:
everyone's). A webhook's signing secret is answered once, on creation, and never again.
"""

import datetime
from typing import Any

from ninja import Router, Schema, Status
from ninja.pagination import paginate
from pydantic import field_validator

from xaso.core.pagination import Pagination
from xaso.lib.text import clean_input
from xaso.notify import actions, channels, push, selectors

router = Router(tags=["notify"])
PREFIX = "/notify"
# Body fields a channel of each kind reads; others are ignored.
_KIND_FIELDS = ("url", "email", "subscription", "server", "topic", "token", "phone", "template_id")


class ChannelIn(Schema):
    kind: str
    label: str = ""
    url: str | None = None
    email: str | None = None
    subscription: dict[str, Any] | None = None
    server: str | None = None
    topic: str | None = None
    token: str | None = None
    phone: str | None = None
    template_id: str | None = None

    @field_validator("*", mode="before")
    @classmethod
    def _clean_text(cls, value):
        """NUL characters dropped from every string, lone surrogates refused (422)."""
        return clean_input(value)


class ChannelOut(Schema):
    id: str
    kind: str
    label: str
    summary: str
    is_active: bool
    created_at: datetime.datetime
    last_success_at: datetime.datetime | None
    last_error: str

    @staticmethod
    def resolve_id(channel) -> str:
        return channel.public_id

    @staticmethod
    def resolve_summary(channel) -> str:
        try:
            return channels.summary(channel.kind, channel.config)
        except Exception:  # undecryptable config (wrong XASO_FIELD_KEY): the list still opens
            return "⚠"


class ChannelCreatedOut(ChannelOut):
    # Only for a webhook, only in this answer: the HMAC-SHA256 key of X-Xaso-Signature.
    secret: str | None = None

    @staticmethod
    def resolve_secret(channel) -> str | None:
        return getattr(channel, "secret", "") or None


class DeliveryOut(Schema):
    id: str
    message: str
    subject: str
    severity: str
    kind: str
    channel: str | None
    channel_label: str | None
    status: str
    attempts: int
    last_error: str
    created_at: datetime.datetime
    next_attempt_at: datetime.datetime | None
    handed_at: datetime.datetime | None
    sent_at: datetime.datetime | None

    @staticmethod
    def resolve_id(delivery) -> str:
        return delivery.public_id

    @staticmethod
    def resolve_message(delivery) -> str:
        return delivery.message.public_id

    @staticmethod
    def resolve_subject(delivery) -> str:
        return delivery.message.subject

    @staticmethod
    def resolve_severity(delivery) -> str:
        return delivery.message.severity

    @staticmethod
    def resolve_channel(delivery) -> str | None:
        return delivery.channel.public_id if delivery.channel else None

    @staticmethod
    def resolve_channel_label(delivery) -> str | None:
        return delivery.channel.label if delivery.channel else None

    @staticmethod
    def resolve_next_attempt_at(delivery):
        return delivery.next_attempt_at if delivery.status == "queued" else None


class VapidOut(Schema):
    public_key: str


@router.get(f"{PREFIX}/channels", response=list[ChannelOut])
@paginate(Pagination)
def channel_list(request):
    return selectors.channels_for_user(user=request.auth)


@router.post(f"{PREFIX}/channels", response={201: ChannelCreatedOut})
def channel_create(request, payload: ChannelIn):
    config = payload.dict(include=set(_KIND_FIELDS), exclude_none=True)
    channel = actions.channel_create(
        user=request.auth, kind=payload.kind, label=payload.label, config=config, by=request.auth
    )
    return Status(201, channel)


@router.delete(f"{PREFIX}/channels/{{public_id}}", response={204: None})
def channel_delete(request, public_id: str):
    channel = selectors.channel_get_for_user(user=request.auth, public_id=public_id)
    actions.channel_delete(channel=channel, by=request.auth)
    return Status(204, None)


@router.post(f"{PREFIX}/channels/{{public_id}}/test", response={202: DeliveryOut})
def channel_test(request, public_id: str):
    channel = selectors.channel_get_for_user(user=request.auth, public_id=public_id)
    message = actions.channel_test(channel=channel, by=request.auth)
    return Status(202, message.deliveries.select_related("message", "channel").get())


@router.get(f"{PREFIX}/deliveries", response=list[DeliveryOut])
@paginate(Pagination)
def delivery_list(request, status: str = ""):
    return selectors.deliveries_for_user(user=request.auth, status=status)


@router.get(f"{PREFIX}/vapid-public-key", response=VapidOut)
def vapid_public_key(request):
    return {"public_key": push.vapid_public_key()}
