"""The notification outbox: channels a user receives on, messages, and one delivery per
(message, channel). Secrets (webhook URLs and signing keys, phone numbers, push subscriptions)
are stored encrypted with XASO_FIELD_KEY (lib.crypto); see decision 0012.
"""

import json

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xaso.core.models import PublicIdModel
from xaso.lib import crypto


class Kind(models.TextChoices):
    WEBHOOK = "webhook", _("Webhook")
    EMAIL = "email", _("Thư điện tử")
    WEBPUSH = "webpush", _("Thông báo trình duyệt")
    NTFY = "ntfy", _("ntfy")
    ZALO = "zalo", _("Zalo (ZNS)")
    SMS = "sms", _("Tin nhắn SMS")


def _encrypt(plain: str) -> str:
    return crypto.encrypt(plain, secret=settings.FIELD_ENCRYPTION_KEY)


def _decrypt(token: str) -> str:
    return crypto.decrypt(token, secret=settings.FIELD_ENCRYPTION_KEY)


class Channel(PublicIdModel):
    """One way to reach one user: a webhook, an e-mail address, a browser subscription, …"""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notify_channels"
    )
    kind = models.CharField(_("loại kênh"), max_length=10, choices=Kind.choices)
    label = models.CharField(_("tên gọi"), max_length=100, blank=True)
    # JSON of the kind's settings, Fernet ciphertext: read through `config`.
    config_encrypted = models.TextField()
    # Keyed hash of the kind and its address (URL, e-mail, endpoint, topic, phone): one user
    # cannot register the same destination twice.
    fingerprint = models.CharField(max_length=64)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["user", "fingerprint"], name="notify_channel_once")
        ]
        verbose_name = _("kênh nhận thông báo")
        verbose_name_plural = _("kênh nhận thông báo")

    def __str__(self) -> str:
        return self.label or self.get_kind_display()

    @property
    def config(self) -> dict:
        return json.loads(_decrypt(self.config_encrypted))

    @config.setter
    def config(self, value: dict) -> None:
        self.config_encrypted = _encrypt(json.dumps(value, ensure_ascii=False))


class Message(PublicIdModel):
    """One notification, written once (the outbox row); its deliveries carry it out."""

    class Severity(models.TextChoices):
        LOW = "low", _("Thấp")
        NORMAL = "normal", _("Bình thường")
        HIGH = "high", _("Cao")
        URGENT = "urgent", _("Khẩn")

    # The sender's idempotency key: a second send with the same key returns this message.
    key = models.CharField(max_length=200, unique=True)
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)
    actions = models.JSONField(default=list, blank=True)  # [{"label", "url", "method"?}]
    severity = models.CharField(max_length=10, choices=Severity.choices, default=Severity.NORMAL)
    place_path = models.CharField(max_length=255, blank=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("thông báo")
        verbose_name_plural = _("thông báo")

    def __str__(self) -> str:
        return self.subject


class Delivery(PublicIdModel):
    """One message to one channel (or to one direct address), with its attempts."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Đang chờ gửi")
        SENDING = "sending", _("Đang gửi")
        SENT = "sent", _("Đã gửi")
        FAILED = "failed", _("Gửi không được")

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey(
        Channel, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="notify_deliveries",
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A direct send (a citizen without an account): the phone number or e-mail, encrypted.
    address_encrypted = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField()
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    # handed_at: the successful attempt began (claimed, handed to the channel's sender);
    # sent_at: the channel accepted it. Latency figures are measured to handed_at.
    handed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("lượt gửi")
        verbose_name_plural = _("lượt gửi")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notify_delivery_due_idx")
        ]

    def __str__(self) -> str:
        return f"{self.message_id} → {self.kind} ({self.status})"

    @property
    def address(self) -> str:
        return _decrypt(self.address_encrypted) if self.address_encrypted else ""

    @address.setter
    def address(self, value: str) -> None:
        self.address_encrypted = _encrypt(value) if value else ""
