"""The one-stop shop: procedures, dossiers and their signed steps, receipts and payments."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from xaso.core.models import PublicIdModel
from xaso.places.models import Place


class Procedure(PublicIdModel):
    """An administrative procedure of the national catalogue, as the commune handles it.

    `steps` lists the hand-offs: [{"name": "Tiếp nhận", "role": "one_stop_officer",
    "share": 10}, …] where `share` is the percentage of the processing time the step may use.
    `documents` lists the papers: [{"name": "Tờ khai đăng ký khai sinh", "required": true}, …].
    """

    class OnlineLevel(models.TextChoices):
        FULL = "full", _("Toàn trình")
        PARTIAL = "partial", _("Một phần")
        NONE = "none", _("Không trực tuyến")

    code = models.CharField(_("mã thủ tục"), max_length=30, unique=True)
    name = models.CharField(_("tên thủ tục"), max_length=300)
    field = models.CharField(_("lĩnh vực"), max_length=150)
    processing_days = models.PositiveSmallIntegerField(_("thời hạn (ngày làm việc)"))
    fee_name = models.CharField(_("tên phí, lệ phí"), max_length=200, blank=True)
    fee_amount = models.PositiveIntegerField(_("mức thu (đồng)"), default=0)
    documents = models.JSONField(_("thành phần hồ sơ"), default=list, blank=True)
    result_type = models.CharField(_("kết quả"), max_length=300, blank=True)
    online_level = models.CharField(
        _("mức trực tuyến"), max_length=10, choices=OnlineLevel.choices, default=OnlineLevel.FULL
    )
    steps = models.JSONField(_("các bước"), default=list, blank=True)
    is_active = models.BooleanField(_("đang áp dụng"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["field", "name"]
        verbose_name = _("thủ tục hành chính")
        verbose_name_plural = _("thủ tục hành chính")

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class CalendarOverride(models.Model):
    """One day of the year's official notice: a swapped working Saturday or an extra day off."""

    day = models.DateField(unique=True)
    working = models.BooleanField(_("là ngày làm việc"))
    note = models.CharField(_("ghi chú"), max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["day"]

    def __str__(self) -> str:
        return f"{self.day:%d/%m/%Y} {'làm việc' if self.working else 'nghỉ'}"


class DailyCounter(models.Model):
    """The last dossier number given on a day for an agency: codes are gapless per day."""

    agency = models.CharField(max_length=40)
    day = models.DateField()
    last_number = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "day"], name="daily_counter_once")]

    def __str__(self) -> str:
        return f"{self.agency} {self.day:%y%m%d} {self.last_number}"


class Dossier(PublicIdModel):
    class Channel(models.TextChoices):
        ONLINE = "online", _("Trực tuyến")
        COUNTER = "counter", _("Trực tiếp")
        POST = "post", _("Bưu chính")

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Mới nộp")
        RECEIVED = "received", _("Đã tiếp nhận")
        SUPPLEMENT = "supplement", _("Chờ bổ sung")
        REFUSED = "refused", _("Từ chối tiếp nhận")
        ASSIGNED = "assigned", _("Đã phân công")
        APPRAISED = "appraised", _("Đã thẩm định")
        APPROVED = "approved", _("Đã phê duyệt, ký")
        RESULT_ISSUED = "result_issued", _("Có kết quả")
        RETURNED = "returned", _("Đã trả kết quả")
        PAUSED = "paused", _("Tạm dừng")
        STOPPED = "stopped", _("Dừng xử lý")
        WITHDRAWN = "withdrawn", _("Rút hồ sơ")

    class Timeliness(models.TextChoices):
        EARLY = "early", _("Trước hạn")
        ON_TIME = "on_time", _("Đúng hạn")
        LATE = "late", _("Quá hạn")

    code = models.CharField(_("mã hồ sơ"), max_length=60, unique=True)
    # Only a keyed hash of the lookup secret printed on the slip is kept.
    secret_hash = models.CharField(max_length=64)
    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="dossiers")
    commune = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="dossiers")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    status = models.CharField(max_length=15, choices=Status.choices, default=Status.SUBMITTED)
    # Applicant: name in clear (it is on every form); identifiers encrypted with keyed hashes.
    applicant_name = models.CharField(_("người nộp"), max_length=150)
    applicant_address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    applicant_phone_encrypted = models.TextField(blank=True)
    applicant_phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    applicant_email_encrypted = models.TextField(blank=True)
    applicant_id_encrypted = models.TextField(blank=True)
    applicant_id_hash = models.CharField(max_length=64, blank=True, db_index=True)
    submitted_at = models.DateTimeField()
    received_at = models.DateTimeField(null=True, blank=True)
    received_on = models.DateField(null=True, blank=True)
    due = models.DateField(null=True, blank=True, db_index=True)
    extended_due = models.DateField(null=True, blank=True)
    extension_reason = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_dossiers",
    )
    # Status to go back to when a pause ends; working days used before the pause.
    resume_status = models.CharField(max_length=15, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    result_at = models.DateTimeField(null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_via = models.CharField(max_length=10, choices=Channel.choices, blank=True)
    timeliness = models.CharField(max_length=10, choices=Timeliness.choices, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    rating_comment = models.CharField(max_length=500, blank=True)
    search_key = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-id"]
        verbose_name = _("hồ sơ")
        verbose_name_plural = _("hồ sơ")
        indexes = [
            models.Index(fields=["commune", "status", "due"], name="dossier_queue_idx"),
            models.Index(fields=["assignee", "status", "due"], name="dossier_assignee_idx"),
        ]

    def __str__(self) -> str:
        return self.code

    @property
    def current_due(self):
        return self.extended_due or self.due


class DossierDocument(models.Model):
    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Hồ sơ nộp")
        SUPPLEMENT = "supplement", _("Bổ sung")
        RESULT = "result", _("Kết quả")
        FORM = "form", _("Biểu mẫu")

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SUBMITTED)
    name = models.CharField(max_length=300)  # the required document it answers, or a title
    file = models.FileField(upload_to="dossiers/%Y/%m/")
    content_type = models.CharField(max_length=100)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["uploaded_at", "id"]

    def __str__(self) -> str:
        return self.name


class DossierStep(models.Model):
    """One transition, signed with the commune's key and chained to the previous step.

    `record` is the canonical JSON that was signed (who, when, what, file hashes, the hash of
    the previous step); `record_hash` its SHA-256; `signature` the commune key's signature over
    `record_hash`. Changing any stored step breaks its own signature and every later link.
    """

    class Timeliness(models.TextChoices):
        EARLY = "early", _("Trước hạn")
        ON_TIME = "on_time", _("Đúng hạn")
        LATE = "late", _("Quá hạn")

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="steps")
    seq = models.PositiveIntegerField()
    action = models.CharField(max_length=30)
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    actor_name = models.CharField(max_length=150, blank=True)
    receiver_name = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField()
    note = models.TextField(blank=True)
    # Minutes this stage was allowed and took (office hours), and the verdict.
    minutes_allowed = models.PositiveIntegerField(null=True, blank=True)
    minutes_used = models.PositiveIntegerField(null=True, blank=True)
    timeliness = models.CharField(max_length=10, choices=Timeliness.choices, blank=True)
    record = models.JSONField()
    record_hash = models.CharField(max_length=64)
    previous_hash = models.CharField(max_length=64, blank=True)
    signature = models.TextField()
    key_fingerprint = models.CharField(max_length=64)

    class Meta:
        ordering = ["dossier", "seq"]
        constraints = [models.UniqueConstraint(fields=["dossier", "seq"], name="dossier_step_once")]

    def __str__(self) -> str:
        return f"{self.dossier_id}#{self.seq} {self.action}"


class SigningKey(models.Model):
    """The commune's signing identity: a private key (encrypted) and its X.509 certificate.

    Generated for the demo (with a small demo CA), or imported from the commune's PKCS#12.
    """

    commune = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="signing_keys")
    label = models.CharField(max_length=200)
    certificate_pem = models.TextField()
    chain_pem = models.TextField(blank=True)  # issuing CA certificates, PEM, in order
    private_key_encrypted = models.TextField()
    fingerprint = models.CharField(max_length=64, unique=True)  # SHA-256 of the certificate
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.label


class ReceiptSeries(models.Model):
    """A template symbol and series (e.g. 01BLP0-001, AA-26E) with its own gapless numbers."""

    commune = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="receipt_series")
    template_symbol = models.CharField(_("ký hiệu mẫu"), max_length=20)
    series = models.CharField(_("ký hiệu"), max_length=20)
    last_number = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["commune", "template_symbol", "series"], name="receipt_series_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.template_symbol} {self.series}"


class Receipt(PublicIdModel):
    """An electronic fee receipt. `public_id` is the verification code in its QR."""

    class Method(models.TextChoices):
        CASH = "cash", _("Tiền mặt")
        VIETQR = "vietqr", _("Chuyển khoản (VietQR)")

    class Status(models.TextChoices):
        ISSUED = "issued", _("Đã lập")
        CANCELLED = "cancelled", _("Đã huỷ")
        REPLACED = "replaced", _("Đã thay thế")

    series = models.ForeignKey(ReceiptSeries, on_delete=models.PROTECT, related_name="receipts")
    number = models.PositiveIntegerField()
    dossier = models.ForeignKey(
        Dossier, null=True, blank=True, on_delete=models.PROTECT, related_name="receipts"
    )
    payer_name = models.CharField(max_length=150)
    fee_name = models.CharField(max_length=200)
    amount = models.PositiveBigIntegerField()
    method = models.CharField(max_length=10, choices=Method.choices)
    collector = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    collector_name = models.CharField(max_length=150)
    issued_at = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    cancel_reason = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    replaces = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by"
    )
    pdf = models.FileField(upload_to="receipts/%Y/%m/", blank=True)

    class Meta:
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["series", "number"], name="receipt_number_once")
        ]

    def __str__(self) -> str:
        return f"{self.series} {self.number:07d}"


class Payment(PublicIdModel):
    class Method(models.TextChoices):
        CASH = "cash", _("Tiền mặt")
        VIETQR = "vietqr", _("Chuyển khoản (VietQR)")

    class Status(models.TextChoices):
        PENDING = "pending", _("Chờ thanh toán")
        PAID = "paid", _("Đã thanh toán")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="payments")
    fee_name = models.CharField(max_length=200)
    amount = models.PositiveBigIntegerField()
    method = models.CharField(max_length=10, choices=Method.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    vietqr_payload = models.TextField(blank=True)
    bank_reference = models.CharField(max_length=100, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    receipt = models.OneToOneField(
        Receipt, null=True, blank=True, on_delete=models.SET_NULL, related_name="payment"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["bank_reference"], condition=~Q(bank_reference=""), name="payment_ref_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.amount}"
