"""Every write of the notify module, and its public interface for other apps:

    message_send(recipients=[user, …], subject=…, body=…, key=…, url=…, actions=[…], …)
    message_send_to_address(kind="sms", address="0912…", subject=…, body=…, key=…)

Both write the outbox rows in the caller's transaction and start sending once it commits.
A second call with the same `key` returns the first message and sends nothing.
"""

import secrets
from urllib.parse import urlparse

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.core import audit
from xaso.core.errors import DomainError, InvalidInput
from xaso.lib.ids import new_public_id
from xaso.notify import channels, dispatch
from xaso.notify.dispatch import DispatchResult, deliveries_dispatch, deliveries_sweep
from xaso.notify.models import Channel, Delivery, Kind, Message

__all__ = [
    "DispatchResult",
    "channel_create",
    "channel_delete",
    "channel_test",
    "deliveries_dispatch",
    "deliveries_sweep",
    "message_send",
    "message_send_to_address",
    "messages_send",
]

MAX_CHANNELS_PER_USER = 20
MAX_ACTIONS = 3


# --- Checks -------------------------------------------------------------------------------------
def _link(url: str, field: str) -> str:
    url = (url or "").strip()
    if not url:
        return ""
    parsed = urlparse(url)
    if len(url) > 500 or not (
        (parsed.scheme in {"http", "https"} and parsed.hostname) or url.startswith("/")
    ):
        raise InvalidInput(_("Liên kết không hợp lệ."), field=field)
    return url


def _clean_actions(actions) -> list[dict]:
    if not actions:
        return []
    if not isinstance(actions, list) or len(actions) > MAX_ACTIONS:
        raise InvalidInput(_("Tối đa %(n)s nút thao tác.") % {"n": MAX_ACTIONS}, field="actions")
    cleaned = []
    for action in actions:
        if not isinstance(action, dict):
            raise InvalidInput(_("Nút thao tác không hợp lệ."), field="actions")
        label = " ".join(str(action.get("label") or "").split())[:40]
        url = _link(str(action.get("url") or ""), "actions")
        method = str(action.get("method") or "GET").upper()
        if not label or not url or method not in {"GET", "POST"}:
            raise InvalidInput(_("Nút thao tác cần nhãn và liên kết."), field="actions")
        cleaned.append({"label": label, "url": url, "method": method})
    return cleaned


def _clean_message(*, subject: str, body: str, key: str, url: str, severity: str) -> dict:
    key = (key or "").strip()
    if not key or len(key) > 200:
        raise InvalidInput(_("Khoá chống gửi trùng phải có từ 1 đến 200 ký tự."), field="key")
    subject = " ".join((subject or "").split())[:200]
    if not subject:
        raise InvalidInput(_("Vui lòng nhập tiêu đề thông báo."), field="subject")
    if severity not in Message.Severity.values:
        raise InvalidInput(_("Mức độ thông báo không hợp lệ."), field="severity")
    return {
        "key": key,
        "subject": subject,
        "body": (body or "").strip()[:4000],
        "url": _link(url, "url"),
        "severity": severity,
    }


def _message_create(**fields) -> tuple[Message, bool]:
    """The message with this key: (existing, False) or (new, True). Safe under a race."""
    existing = Message.objects.filter(key=fields["key"]).first()
    if existing is not None:
        return existing, False
    try:
        with transaction.atomic():
            return Message.objects.create(**fields), True
    except IntegrityError:  # a concurrent send with the same key committed first
        return Message.objects.get(key=fields["key"]), False


def _queue(deliveries: list[Delivery]) -> None:
    now = timezone.now()
    for delivery in deliveries:
        delivery.next_attempt_at = now
    created = Delivery.objects.bulk_create(deliveries)
    ids = [delivery.pk for delivery in created]
    transaction.on_commit(lambda: dispatch.hand_off(ids), robust=True)


def _user_ids(recipients) -> list[int]:
    return sorted({getattr(user, "pk", user) for user in recipients})


# --- Sending ------------------------------------------------------------------------------------
@transaction.atomic
def message_send(
    *,
    recipients,
    subject: str,
    body: str,
    key: str,
    url: str = "",
    actions: list[dict] | None = None,
    severity: str = "normal",
    place_path: str = "",
) -> Message:
    """One delivery per active channel of each recipient (users or user ids)."""
    [message] = messages_send(
        [
            {
                "recipients": recipients,
                "subject": subject,
                "body": body,
                "key": key,
                "url": url,
                "actions": actions,
                "severity": severity,
                "place_path": place_path,
            }
        ]
    )
    return message


@transaction.atomic
def messages_send(items: list[dict]) -> list[Message]:
    """Several `message_send` at once (a dict of its keyword arguments each), with a few
    statements for all of them: one SELECT of the keys already sent, one INSERT of the
    messages, one SELECT of the channels, one INSERT of the deliveries."""
    wanted = []
    for item in items:
        fields = _clean_message(
            subject=item["subject"],
            body=item["body"],
            key=item["key"],
            url=item.get("url", ""),
            severity=item.get("severity", "normal"),
        )
        fields["actions"] = _clean_actions(item.get("actions"))
        fields["place_path"] = (item.get("place_path") or "")[:255]
        wanted.append((fields, _user_ids(item["recipients"])))
    existing = Message.objects.in_bulk(
        [fields["key"] for fields, _users in wanted], field_name="key"
    )
    new = {}
    for fields, users in wanted:
        if fields["key"] not in existing and fields["key"] not in new:
            new[fields["key"]] = (Message(**fields), users)
    try:
        with transaction.atomic():
            Message.objects.bulk_create([message for message, _users in new.values()])
    except IntegrityError:  # a concurrent send with one of the keys committed first
        new = {}
        for fields, users in wanted:
            message, created = _message_create(**fields)
            if created:
                new[fields["key"]] = (message, users)
            else:
                existing[fields["key"]] = message
    if new:
        everyone = sorted({user for _message, users in new.values() for user in users})
        targets = Channel.objects.filter(
            user_id__in=everyone, is_active=True, user__is_active=True
        ).only("pk", "kind", "user_id")
        by_user: dict[int, list[Channel]] = {}
        for channel in targets:
            by_user.setdefault(channel.user_id, []).append(channel)
        _queue(
            [
                Delivery(message=message, channel=channel, recipient_id=user, kind=channel.kind)
                for message, users in new.values()
                for user in users
                for channel in by_user.get(user, [])
            ]
        )
    return [
        new[fields["key"]][0] if fields["key"] in new else existing[fields["key"]]
        for fields, _users in wanted
    ]


@transaction.atomic
def message_send_to_address(
    *, kind: str, address: str, subject: str, body: str, key: str, url: str = ""
) -> Message:
    """A message to a citizen without an account: an SMS, a Zalo ZNS message or an e-mail."""
    fields = _clean_message(subject=subject, body=body, key=key, url=url, severity="normal")
    address = channels.clean_address(kind, address)
    message, created = _message_create(**fields)
    if created:
        delivery = Delivery(message=message, kind=kind)
        delivery.address = address
        _queue([delivery])
    return message


# --- Channels -----------------------------------------------------------------------------------
def _check_owner(user, by) -> None:
    if not (by.is_superuser or by.pk == user.pk):
        raise DomainError(_("Chỉ chủ tài khoản mới quản lý được kênh thông báo của mình."))


@transaction.atomic
def channel_create(*, user, kind: str, label: str, config: dict, by) -> Channel:
    """Register a channel. A webhook's signing secret is on `channel.secret`, this once only."""
    _check_owner(user, by)
    if kind not in Kind.values:
        raise InvalidInput(_("Loại kênh không hợp lệ."), field="kind")
    cleaned = channels.clean_config(kind, config if isinstance(config, dict) else {})
    label = " ".join((label or "").split())
    if len(label) > 100:
        raise InvalidInput(_("Tối đa %(n)s ký tự.") % {"n": 100}, field="label")
    fingerprint = channels.fingerprint(kind, cleaned)
    mine = Channel.objects.select_for_update().filter(user=user)
    if mine.filter(fingerprint=fingerprint).exists():
        raise DomainError(_("Kênh này đã được đăng ký."))
    if mine.count() >= MAX_CHANNELS_PER_USER:
        raise DomainError(
            _("Mỗi người tối đa %(n)s kênh nhận thông báo.") % {"n": MAX_CHANNELS_PER_USER}
        )
    secret = ""
    if kind == Kind.WEBHOOK:
        secret = secrets.token_urlsafe(32)
        cleaned["secret"] = secret
    channel = Channel(
        user=user,
        kind=kind,
        label=label or f"{Kind(kind).label} · {channels.summary(kind, cleaned)}"[:100],
        fingerprint=fingerprint,
    )
    channel.config = cleaned
    channel.save()
    audit.record(actor=by, verb="notify_channel.created", target=channel, changes={"kind": kind})
    channel.secret = secret
    return channel


@transaction.atomic
def channel_delete(*, channel: Channel, by) -> None:
    _check_owner(channel.user, by)
    channel.deliveries.filter(status=Delivery.Status.QUEUED).update(
        status=Delivery.Status.FAILED, last_error=_("Kênh đã bị xoá.")
    )
    audit.record(
        actor=by, verb="notify_channel.deleted", target=channel, changes={"kind": channel.kind}
    )
    channel.delete()


@transaction.atomic
def channel_test(*, channel: Channel, by) -> Message:
    """Send a test message to this one channel."""
    _check_owner(channel.user, by)
    if not channel.is_active:
        raise DomainError(_("Kênh đang tắt."))
    message = Message.objects.create(
        key=f"test:{channel.public_id}:{new_public_id()}",
        subject=_("XãSố: thử kênh thông báo"),
        body=_("Nếu bạn đọc được tin này, kênh “%(label)s” đã hoạt động.") % {"label": channel},
        severity=Message.Severity.NORMAL,
    )
    _queue([Delivery(message=message, channel=channel, recipient=channel.user, kind=channel.kind)])
    audit.record(actor=by, verb="notify_channel.tested", target=channel)
    return message
