"""Cameras, the events they send, the rules that read them, incidents and citizen reports."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xaso.core.models import PublicIdModel
from xaso.places.models import Household, Organisation, Place


class Camera(PublicIdModel):
    """A camera the commune police know of: the commune's own or one volunteered by a family."""

    class OwnerKind(models.TextChoices):
        COMMUNE = "commune", _("UBND xã / Công an xã")
        HOUSEHOLD = "household", _("Hộ gia đình")
        ORGANISATION = "organisation", _("Cơ quan, tổ chức")

    class Status(models.TextChoices):
        UNKNOWN = "unknown", _("Chưa kết nối")
        ONLINE = "online", _("Hoạt động")
        OFFLINE = "offline", _("Mất tín hiệu")

    name = models.CharField(_("tên camera"), max_length=150)
    # Its place: a village, or the commune itself for a camera between villages.
    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="cameras", verbose_name=_("địa bàn")
    )
    owner_kind = models.CharField(
        _("chủ sở hữu"), max_length=15, choices=OwnerKind.choices, default=OwnerKind.COMMUNE
    )
    owner_household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.PROTECT, related_name="cameras"
    )
    owner_organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="cameras"
    )
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_black_spot = models.BooleanField(_("điểm đen giao thông"), default=False)
    # The camera's name in Frigate (MQTT topics and payloads), and a vendor id (Hikvision
    # channel or serial). Blank when unused; unique when set.
    frigate_name = models.CharField(_("tên trong Frigate"), max_length=64, blank=True)
    vendor_id = models.CharField(_("mã thiết bị của hãng"), max_length=64, blank=True)
    # Stream address and credentials: Fernet ciphertext (lib.crypto), never sent to a browser.
    stream_url_encrypted = models.TextField(blank=True)
    credentials_encrypted = models.TextField(blank=True)
    # Per-camera token for the HTTP event endpoints: only its keyed hash is stored.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    # Household cameras: consent of the family, signage, what the camera must not look at.
    consent_given_by = models.CharField(_("người đồng ý"), max_length=150, blank=True)
    consent_given_on = models.DateField(_("ngày đồng ý"), null=True, blank=True)
    has_signage = models.BooleanField(_("có biển thông báo ghi hình"), default=False)
    privacy_notes = models.TextField(_("ghi chú riêng tư"), blank=True)
    # Zones for the built-in motion detector: [{"name": "lan-duong", "polygon": [[x, y], …]}]
    # with x, y as fractions of the frame (0–1).
    zones = models.JSONField(default=list, blank=True)
    heartbeat_seconds = models.PositiveIntegerField(_("chu kỳ tín hiệu (giây)"), default=300)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UNKNOWN)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(_("đang sử dụng"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("camera")
        verbose_name_plural = _("camera")
        constraints = [
            models.UniqueConstraint(
                fields=["frigate_name"],
                condition=~Q(frigate_name=""),
                name="camera_unique_frigate_name",
            ),
            models.UniqueConstraint(
                fields=["vendor_id"], condition=~Q(vendor_id=""), name="camera_unique_vendor_id"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Incident(PublicIdModel):
    class Category(models.TextChoices):
        TRAFFIC_ACCIDENT = "traffic_accident", _("Tai nạn giao thông")
        TRAFFIC_VIOLATION = "traffic_violation", _("Vi phạm giao thông")
        SECURITY = "security", _("An ninh trật tự")
        FIRE = "fire", _("Cháy nổ")
        FLOODING = "flooding", _("Ngập lụt")
        CROWDING = "crowding", _("Tụ tập đông người")
        CAMERA_FAULT = "camera_fault", _("Camera mất tín hiệu")
        OTHER = "other", _("Khác")

    class Severity(models.TextChoices):
        LOW = "low", _("Thấp")
        MEDIUM = "medium", _("Trung bình")
        HIGH = "high", _("Cao")
        CRITICAL = "critical", _("Khẩn cấp")

    class Status(models.TextChoices):
        NEW = "new", _("Mới")
        ACKNOWLEDGED = "acknowledged", _("Đã tiếp nhận")
        DISPATCHED = "dispatched", _("Đã điều lực lượng")
        RESOLVED = "resolved", _("Đã xử lý")
        CLOSED = "closed", _("Đã đóng")
        REJECTED = "rejected", _("Không xử lý")
        DUPLICATE = "duplicate", _("Trùng lặp")

    category = models.CharField(_("loại"), max_length=20, choices=Category.choices)
    severity = models.CharField(
        _("mức độ"), max_length=10, choices=Severity.choices, default=Severity.MEDIUM
    )
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.NEW)
    title = models.CharField(_("tiêu đề"), max_length=200)
    description = models.TextField(_("mô tả"), blank=True)
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="incidents")
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    camera = models.ForeignKey(
        Camera, null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    rule = models.ForeignKey(
        "Rule", null=True, blank=True, on_delete=models.SET_NULL, related_name="incidents"
    )
    # Why it was opened: the rule's conditions and the evidence that met them.
    explanation = models.JSONField(default=dict, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_incidents",
    )
    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates"
    )
    # Keeps snapshots past the retention period (evidence for a case).
    on_hold = models.BooleanField(_("giữ bằng chứng"), default=False)
    # 0: the on-duty officers were told; 1: the commune leader; 2: the province contact.
    escalation_level = models.PositiveSmallIntegerField(default=0)
    opened_at = models.DateTimeField(db_index=True)
    last_event_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        verbose_name = _("vụ việc")
        verbose_name_plural = _("vụ việc")
        indexes = [models.Index(fields=["status", "opened_at"])]

    def __str__(self) -> str:
        return self.title

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


OPEN_STATUSES = (
    Incident.Status.NEW,
    Incident.Status.ACKNOWLEDGED,
    Incident.Status.DISPATCHED,
)


class Rule(PublicIdModel):
    """When events of a camera become an incident. Every condition left empty matches all."""

    name = models.CharField(_("tên quy tắc"), max_length=150, blank=True)
    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="rules")
    zone = models.CharField(_("vùng"), max_length=64, blank=True)
    label = models.CharField(_("đối tượng"), max_length=40, blank=True)  # person, car, motion…
    min_score = models.FloatField(_("độ tin cậy tối thiểu"), default=0)
    min_duration_seconds = models.PositiveIntegerField(_("thời lượng tối thiểu (giây)"), default=0)
    # Hours of day (local time) during which the rule fires; start > end wraps past midnight.
    hour_from = models.PositiveSmallIntegerField(null=True, blank=True)
    hour_to = models.PositiveSmallIntegerField(null=True, blank=True)
    # Crowding: how many matching events inside the window before an incident opens.
    min_count = models.PositiveIntegerField(_("số lần tối thiểu"), default=1)
    # Matching events within this window join the open incident instead of opening another.
    window_minutes = models.PositiveIntegerField(_("cửa sổ gộp (phút)"), default=10)
    category = models.CharField(max_length=20, choices=Incident.Category.choices)
    severity = models.CharField(
        max_length=10, choices=Incident.Severity.choices, default=Incident.Severity.MEDIUM
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["camera", "id"]
        verbose_name = _("quy tắc cảnh báo")
        verbose_name_plural = _("quy tắc cảnh báo")

    def __str__(self) -> str:
        return self.name or f"{self.camera} · {self.label or '*'}"


class CameraEvent(models.Model):
    """One detection, stored once however often it is delivered (source + camera + source_id)."""

    class Source(models.TextChoices):
        FRIGATE = "frigate", "Frigate"
        WEBHOOK = "webhook", _("Webhook")
        ISAPI = "isapi", "Hikvision ISAPI"
        MOTION = "motion", _("Bộ phát hiện chuyển động")

    camera = models.ForeignKey(Camera, on_delete=models.CASCADE, related_name="events")
    source = models.CharField(max_length=10, choices=Source.choices)
    source_id = models.CharField(max_length=100)
    label = models.CharField(max_length=40, blank=True)
    score = models.FloatField(null=True, blank=True)
    zones = models.JSONField(default=list, blank=True)
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    snapshot = models.FileField(upload_to="safety/snapshots/%Y/%m/", blank=True)
    snapshot_deleted_at = models.DateTimeField(null=True, blank=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    # The payload as received (Frigate's "after", the webhook body, the ISAPI fields).
    raw = models.JSONField(default=dict, blank=True)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["camera", "source", "source_id"], name="camera_event_once"
            )
        ]
        indexes = [models.Index(fields=["camera", "started_at"])]

    def __str__(self) -> str:
        return f"{self.camera_id}:{self.source}:{self.source_id}"

    @property
    def duration_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return (self.ended_at - self.started_at).total_seconds()


class IncidentStep(models.Model):
    """The incident's timeline: every change of state, note, photo and joined event."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    action = models.CharField(max_length=30)  # opened, event, acknowledged, note, escalated…
    status = models.CharField(max_length=15, blank=True)  # status after the step
    note = models.TextField(blank=True)
    photo = models.ImageField(upload_to="safety/incidents/%Y/%m/", blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.incident_id} {self.action}"


class DutyShift(models.Model):
    """Who is on duty for a commune's alerts. Without a current shift, every officer is told."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty_shifts"
    )
    place = models.ForeignKey(Place, on_delete=models.CASCADE, related_name="duty_shifts")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return f"{self.user} {self.starts_at:%d/%m %H:%M}–{self.ends_at:%H:%M}"


class CitizenReport(PublicIdModel):
    """A report from a resident without an account (web form or an Open311 app).

    `public_id` is the tracking code shown to the reporter and the Open311 service_request_id.
    """

    class Status(models.TextChoices):
        OPEN = "open", _("Đã tiếp nhận")
        CLOSED = "closed", _("Đã xử lý")

    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="citizen_reports")
    service_code = models.CharField(max_length=20)  # one of Incident.Category
    description = models.TextField()
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    address = models.CharField(max_length=255, blank=True)
    photo = models.ImageField(upload_to="safety/reports/%Y/%m/", blank=True)
    # Optional name and contact of the reporter, both encrypted (XASO_FIELD_KEY); never shown
    # on public pages or in Open311 answers, revealed to a handling officer with an audit entry.
    contact_name_encrypted = models.TextField(blank=True)
    contact_encrypted = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    status_notes = models.CharField(max_length=500, blank=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    # Which Open311 application sent it (blank: the web form).
    api_client = models.CharField(max_length=100, blank=True)
    # A retried submission with the same key returns the first report.
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("phản ánh của người dân")
        verbose_name_plural = _("phản ánh của người dân")
        constraints = [
            models.UniqueConstraint(
                fields=["idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="citizen_report_once",
            )
        ]

    def __str__(self) -> str:
        return f"{self.public_id} {self.get_status_display()}"


class Open311Key(models.Model):
    """An application allowed to POST Open311 requests; only a hash of its key is stored."""

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=8, unique=True)
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return self.name
