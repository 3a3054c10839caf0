"""Traceability records: producers, growing areas, certifications, products, the farm diary,
lots, anti-counterfeit stamps and the scans of both.

A producer is an organisation of the commune (a cooperative, a household business, a farming
household registered as one); everything else hangs off a producer, and the producer's place
decides who may see it. Stamps keep only a keyed hash of their code (see stamps.py).
"""

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from xaso.core.models import PublicIdModel
from xaso.lib.ids import new_public_id
from xaso.places.models import Organisation, Place

CERTIFICATE_WARNING_DAYS = 30


class Producer(PublicIdModel):
    class Kind(models.TextChoices):
        COOPERATIVE = "cooperative", _("Hợp tác xã")
        FARM_HOUSEHOLD = "farm_household", _("Hộ nông dân")
        ENTERPRISE = "enterprise", _("Doanh nghiệp")

    organisation = models.OneToOneField(
        Organisation, on_delete=models.PROTECT, related_name="producer"
    )
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="producers")
    kind = models.CharField(_("loại hình"), max_length=20, choices=Kind.choices)
    # What the public page shows: only what the producer chose to publish.
    public_name = models.CharField(_("tên công bố"), max_length=200)
    public_address = models.CharField(_("địa chỉ công bố"), max_length=255)
    public_phone = models.CharField(_("điện thoại công bố"), max_length=20, blank=True)
    description = models.TextField(_("giới thiệu"), blank=True)
    gs1_company_prefix = models.CharField(_("mã doanh nghiệp GS1"), max_length=12, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["public_name", "id"]
        verbose_name = _("cơ sở sản xuất")
        verbose_name_plural = _("cơ sở sản xuất")

    def __str__(self) -> str:
        return self.public_name


class GrowingArea(PublicIdModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Đang hoạt động")
        SUSPENDED = "suspended", _("Tạm dừng")
        REVOKED = "revoked", _("Đã thu hồi mã")

    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="areas")
    village = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="growing_areas", verbose_name=_("thôn")
    )
    code = models.CharField(_("mã vùng trồng"), max_length=40, unique=True)
    name = models.CharField(_("tên vùng"), max_length=150)
    crop = models.CharField(_("cây trồng"), max_length=100)
    area_ha = models.DecimalField(_("diện tích (ha)"), max_digits=9, decimal_places=3)
    # A GeoJSON geometry (Polygon or MultiPolygon, WGS 84), checked by geojson.py.
    boundary = models.JSONField(_("ranh giới"), null=True, blank=True)
    planted_on = models.DateField(_("ngày trồng / xuống giống"), null=True, blank=True)
    status = models.CharField(
        _("trạng thái"), max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("vùng trồng")
        verbose_name_plural = _("vùng trồng")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Certification(PublicIdModel):
    class Scheme(models.TextChoices):
        VIETGAP = "vietgap", _("VietGAP")
        ORGANIC = "organic", _("Hữu cơ (TCVN 11041)")
        GLOBALGAP = "globalgap", _("GlobalG.A.P.")
        OTHER = "other", _("Khác")

    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="certifications")
    area = models.ForeignKey(
        GrowingArea,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="certifications",
        verbose_name=_("vùng trồng"),
    )
    scheme = models.CharField(_("chứng nhận"), max_length=10, choices=Scheme.choices)
    number = models.CharField(_("số giấy chứng nhận"), max_length=60)
    issuer = models.CharField(_("tổ chức cấp"), max_length=200)
    valid_from = models.DateField(_("hiệu lực từ"))
    valid_until = models.DateField(_("hiệu lực đến"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["valid_until", "id"]
        verbose_name = _("chứng nhận")
        verbose_name_plural = _("chứng nhận")

    def __str__(self) -> str:
        return f"{self.get_scheme_display()} {self.number}"

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_until

    @property
    def expires_soon(self) -> bool:
        today = timezone.localdate()
        return today <= self.valid_until <= today + timedelta(days=CERTIFICATE_WARNING_DAYS)

    @property
    def expired(self) -> bool:
        return self.valid_until < timezone.localdate()


def ocop_stars(points: int | None) -> int:
    """OCOP stars from the evaluation points (Decision 148/QĐ-TTg, 2023); 0 below 50."""
    if points is None:
        return 0
    for stars, threshold in ((5, 90), (4, 70), (3, 50)):
        if points >= threshold:
            return stars
    return 0


class Product(PublicIdModel):
    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="products")
    name = models.CharField(_("tên sản phẩm"), max_length=200)
    photo = models.ImageField(_("ảnh"), upload_to="traceability/products/", blank=True)
    # Stored as GTIN-14, so "8931234567896" and "08931234567896" are the same product.
    gtin = models.CharField(_("mã GTIN"), max_length=14, blank=True)
    ocop_points = models.PositiveSmallIntegerField(_("điểm OCOP"), null=True, blank=True)
    shelf_life_days = models.PositiveIntegerField(_("hạn sử dụng (ngày)"), null=True, blank=True)
    unit = models.CharField(_("đơn vị tính"), max_length=20, default="kg")
    description = models.TextField(_("mô tả"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["gtin"], condition=~models.Q(gtin=""), name="product_gtin_unique"
            )
        ]
        verbose_name = _("sản phẩm")
        verbose_name_plural = _("sản phẩm")

    def __str__(self) -> str:
        return self.name

    @property
    def ocop_stars(self) -> int:
        return ocop_stars(self.ocop_points)


class DiaryEntry(PublicIdModel):
    class Kind(models.TextChoices):
        SEEDING = "seeding", _("Gieo trồng")
        FERTILISING = "fertilising", _("Bón phân")
        SPRAYING = "spraying", _("Phun thuốc BVTV")
        IRRIGATING = "irrigating", _("Tưới nước")
        OBSERVATION = "observation", _("Quan sát")
        HARVEST = "harvest", _("Thu hoạch")
        PACKING = "packing", _("Đóng gói")
        INSPECTION = "inspection", _("Kiểm tra")

    class Status(models.TextChoices):
        PLANNED = "planned", _("Kế hoạch")
        DONE = "done", _("Đã thực hiện")

    area = models.ForeignKey(
        GrowingArea, on_delete=models.PROTECT, related_name="diary", verbose_name=_("vùng trồng")
    )
    kind = models.CharField(_("công việc"), max_length=12, choices=Kind.choices)
    status = models.CharField(
        _("tình trạng"), max_length=8, choices=Status.choices, default=Status.DONE
    )
    occurred_on = models.DateField(_("ngày"))
    description = models.CharField(_("nội dung"), max_length=500, blank=True)
    photo = models.ImageField(_("ảnh"), upload_to="traceability/diary/", blank=True)
    # Spraying only: the pesticide and its pre-harvest interval (thời gian cách ly).
    pesticide = models.CharField(_("tên thuốc"), max_length=150, blank=True)
    active_ingredient = models.CharField(_("hoạt chất"), max_length=150, blank=True)
    dose = models.CharField(_("liều lượng"), max_length=100, blank=True)
    pre_harvest_interval_days = models.PositiveSmallIntegerField(
        _("thời gian cách ly (ngày)"), null=True, blank=True
    )
    # Harvest only: how much came off the area.
    quantity = models.DecimalField(
        _("sản lượng"), max_digits=12, decimal_places=3, null=True, blank=True
    )
    unit = models.CharField(_("đơn vị"), max_length=20, blank=True)
    # A harvest inside an interval, allowed by a commune officer with a written reason.
    guard_override_reason = models.CharField(_("lý do cho phép"), max_length=500, blank=True)
    guard_override_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    countersigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    countersigned_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["occurred_on", "id"]
        indexes = [models.Index(fields=["area", "kind", "occurred_on"])]
        verbose_name = _("nhật ký sản xuất")
        verbose_name_plural = _("nhật ký sản xuất")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.occurred_on:%d/%m/%Y}"

    @property
    def safe_from(self) -> date | None:
        """First day a harvest is allowed after this spraying."""
        if self.kind != self.Kind.SPRAYING or self.pre_harvest_interval_days is None:
            return None
        return self.occurred_on + timedelta(days=self.pre_harvest_interval_days)


def new_lot_code() -> str:
    # 12 Crockford characters (60 bits): short in a QR code, not guessable from a neighbour.
    return new_public_id(12).upper()


class Lot(PublicIdModel):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Đang lưu hành")
        RECALLED = "recalled", _("Đã thu hồi")

    code = models.CharField(_("mã truy xuất"), max_length=16, unique=True, default=new_lot_code)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lots")
    area = models.ForeignKey(GrowingArea, on_delete=models.PROTECT, related_name="lots")
    harvest = models.OneToOneField(
        DiaryEntry, null=True, blank=True, on_delete=models.PROTECT, related_name="lot"
    )
    # GS1 AI 10 (batch/lot): up to 20 characters of GS1's character set 82.
    batch = models.CharField(_("số lô"), max_length=20)
    quantity = models.DecimalField(_("số lượng"), max_digits=12, decimal_places=3)
    unit = models.CharField(_("đơn vị"), max_length=20)
    harvest_start = models.DateField(_("thu hoạch từ"))
    harvest_end = models.DateField(_("thu hoạch đến"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ACTIVE)
    recall_reason = models.CharField(_("lý do thu hồi"), max_length=500, blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    guard_override_reason = models.CharField(_("lý do cho phép"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-harvest_end", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["product", "batch"], name="lot_batch_unique"),
        ]
        verbose_name = _("lô hàng")
        verbose_name_plural = _("lô hàng")

    def __str__(self) -> str:
        return f"{self.product} — lô {self.batch}"

    @property
    def best_before(self) -> date | None:
        days = self.product.shelf_life_days
        return self.harvest_end + timedelta(days=days) if days else None


class StampRun(PublicIdModel):
    """A print run of anti-counterfeit stamps for one product, numbered 1…count."""

    class Status(models.TextChoices):
        GENERATING = "generating", _("Đang tạo")
        ISSUED = "issued", _("Đã phát hành, chờ in")
        PRINTED = "printed", _("Đã in")
        VOID = "void", _("Đã huỷ")
        FAILED = "failed", _("Lỗi")

    producer = models.ForeignKey(Producer, on_delete=models.PROTECT, related_name="stamp_runs")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="stamp_runs")
    count = models.PositiveIntegerField(_("số tem"))
    layout = models.CharField(_("khổ tem"), max_length=4, default="65")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.GENERATING)
    job = models.ForeignKey(
        "core.Job", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The one-time print export, relative to MEDIA_ROOT; deleted once printed or voided.
    csv_file = models.CharField(max_length=200, blank=True)
    pdf_file = models.CharField(max_length=200, blank=True)
    manifest = models.JSONField(default=dict, blank=True)
    void_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("đợt phát hành tem")
        verbose_name_plural = _("đợt phát hành tem")

    def __str__(self) -> str:
        return f"Đợt tem {self.public_id} ({self.count})"


class StampActivation(models.Model):
    """Serials first…last of a run bound to a lot: one row, however many stamps it covers."""

    run = models.ForeignKey(StampRun, on_delete=models.PROTECT, related_name="activations")
    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="activations")
    first_serial = models.PositiveIntegerField()
    last_serial = models.PositiveIntegerField()
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    activated_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "first_serial"]

    def __str__(self) -> str:
        return f"Tem {self.first_serial}–{self.last_serial} → lô {self.lot_id}"


class Stamp(models.Model):
    """One printed code, known only by its keyed hash, with the counters its scans update."""

    # Indexes: a run's stamps are found through stamp_serial_unique (run first), and a hash
    # only by equality: no index of its own for the run, no LIKE index for the hash. Each
    # index costs every one of a million-code run's inserts, and every counter update.
    run = models.ForeignKey(
        StampRun, on_delete=models.PROTECT, related_name="stamps", db_index=False
    )
    serial = models.PositiveIntegerField()
    code_hash = models.CharField(max_length=32)
    scan_count = models.PositiveIntegerField(default=0)
    first_scan_at = models.DateTimeField(null=True, blank=True)
    first_province = models.CharField(max_length=2, blank=True)
    last_scan_at = models.DateTimeField(null=True, blank=True)
    last_province = models.CharField(max_length=2, blank=True)
    suspicious = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "serial"], name="stamp_serial_unique"),
            models.UniqueConstraint(fields=["code_hash"], name="stamp_code_hash_unique"),
        ]

    def __str__(self) -> str:
        return f"Tem số {self.serial} của đợt {self.run_id}"


class Scan(models.Model):
    """One look at a public page by a stamp code or a lot code. Append-only."""

    class Result(models.TextChoices):
        VALID = "valid", _("Chính hãng")
        NOT_ACTIVATED = "not_activated", _("Chưa kích hoạt")
        RECALLED = "recalled", _("Đã thu hồi")
        VOID = "void", _("Đã huỷ")
        SUSPICIOUS = "suspicious", _("Nghi vấn")
        UNKNOWN = "unknown", _("Không tồn tại")
        LOT = "lot", _("Xem lô hàng")

    scanned_at = models.DateTimeField(default=timezone.now, db_index=True)
    stamp = models.ForeignKey(
        Stamp, null=True, blank=True, on_delete=models.CASCADE, related_name="scans"
    )
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.CASCADE, related_name="scans"
    )
    result = models.CharField(max_length=14, choices=Result.choices)
    province = models.CharField(max_length=2, blank=True)
    # Keyed hash of the client address: counts distinct clients, never reveals who.
    ip_hash = models.CharField(max_length=16, blank=True)

    class Meta:
        ordering = ["-scanned_at", "-id"]

    def __str__(self) -> str:
        return f"Lượt quét {self.scanned_at:%d/%m/%Y %H:%M} ({self.result})"


class ScanBatch(models.Model):
    """A segment of the scan journal that has been applied (traceability/scan_journal.py).

    Written in the transaction that inserts the segment's scans, so a segment left on disk by
    a process that died after the commit is recognised and never applied twice."""

    name = models.CharField(max_length=120, unique=True)
    scans = models.PositiveIntegerField()
    applied_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.scans})"


class CounterfeitReport(PublicIdModel):
    """A "báo hàng giả" from whoever scanned a stamp, for the producer and the commune."""

    stamp = models.ForeignKey(
        Stamp, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    lot = models.ForeignKey(
        Lot, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    producer = models.ForeignKey(
        Producer, null=True, blank=True, on_delete=models.SET_NULL, related_name="reports"
    )
    place = models.ForeignKey(Place, on_delete=models.PROTECT, related_name="+")
    code_shown = models.CharField(max_length=30, blank=True)
    message = models.TextField(_("mô tả"), blank=True)
    where_bought = models.CharField(_("nơi mua"), max_length=255, blank=True)
    contact = models.CharField(_("liên hệ"), max_length=100, blank=True)
    province = models.CharField(max_length=2, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("báo hàng giả")
        verbose_name_plural = _("báo hàng giả")

    def __str__(self) -> str:
        return f"Báo hàng giả {self.created_at:%d/%m/%Y}"


class CapturedEpcisEvent(models.Model):
    """An EPCIS event received from a partner through the capture endpoint."""

    event_id = models.CharField(max_length=255, unique=True)
    event_type = models.CharField(max_length=40)
    event_time = models.DateTimeField()
    biz_step = models.CharField(max_length=255, blank=True)
    epcs = models.JSONField(default=list)
    event = models.JSONField()
    captured_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    captured_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-event_time", "-id"]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id}"
