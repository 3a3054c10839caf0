from django.db import models
from django.utils.translation import gettext_lazy as _

from xaso.core.models import PublicIdModel


class Place(models.Model):
    """A node of the administrative tree: province → commune → village.

    `path` is the chain of codes from the root ("/22/06913/06913-01/"), so a subtree is a prefix
    query. A commune merged into another is re-hung under its successor: everything recorded
    against the old commune is then inside the new one's subtree.
    """

    class Kind(models.TextChoices):
        PROVINCE = "province", _("Tỉnh/thành phố")
        DISTRICT = "district", _("Huyện (trước 1/7/2025)")
        COMMUNE = "commune", _("Xã/phường/đặc khu")
        VILLAGE = "village", _("Thôn/ấp/bản/tổ dân phố")

    code = models.CharField(_("mã"), max_length=20, unique=True)
    name = models.CharField(_("tên"), max_length=150)
    kind = models.CharField(_("cấp"), max_length=10, choices=Kind.choices, db_index=True)
    # The word used locally: "tỉnh", "thành phố trung ương", "xã", "phường", "thôn", "ấp"…
    division_type = models.CharField(_("loại"), max_length=40, blank=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    path = models.CharField(max_length=255, unique=True)
    successor = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="predecessors",
        verbose_name=_("sáp nhập vào"),
    )
    merged_on = models.DateField(_("ngày sáp nhập"), null=True, blank=True)
    # A point for the place on maps (a village hall); optional.
    latitude = models.DecimalField(
        _("vĩ độ"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    longitude = models.DecimalField(
        _("kinh độ"), max_digits=9, decimal_places=6, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["path"]
        verbose_name = _("địa bàn")
        verbose_name_plural = _("địa bàn")

    def __str__(self) -> str:
        return self.name

    @property
    def is_merged(self) -> bool:
        return self.successor_id is not None


class Household(PublicIdModel):
    village = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="households", verbose_name=_("thôn")
    )
    code = models.CharField(_("mã hộ"), max_length=30, blank=True)
    head_name = models.CharField(_("chủ hộ"), max_length=150)
    address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    notes = models.TextField(_("ghi chú"), blank=True)
    # Lower-case text without diacritics, for search as one types.
    search_key = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["head_name", "id"]
        indexes = [
            models.Index(fields=["village", "head_name"]),
            # The list order plus the searched columns: a page stops after 25 rows in order,
            # and SQLite tests `search_key` on the index entry (bench/household_search.py).
            models.Index(
                fields=["head_name", "id", "village", "code", "search_key"],
                name="household_list_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["village", "code"],
                condition=~models.Q(code=""),
                name="household_code_unique_in_village",
            )
        ]
        verbose_name = _("hộ gia đình")
        verbose_name_plural = _("hộ gia đình")

    def __str__(self) -> str:
        return f"Hộ {self.head_name}"

    @property
    def member_count(self) -> int:
        """Residents whose data is not erased; uses the selectors' prefetch when present."""
        living = getattr(self, "living_residents", None)
        if living is None:
            return self.residents.filter(erased_at__isnull=True).count()
        return len(living)


class Resident(PublicIdModel):
    class Gender(models.TextChoices):
        MALE = "male", _("Nam")
        FEMALE = "female", _("Nữ")
        OTHER = "other", _("Khác")

    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="residents", verbose_name=_("hộ")
    )
    full_name = models.CharField(_("họ và tên"), max_length=150)
    gender = models.CharField(_("giới tính"), max_length=10, choices=Gender.choices)
    birth_date = models.DateField(_("ngày sinh"), null=True, blank=True)
    relation_to_head = models.CharField(_("quan hệ với chủ hộ"), max_length=50, blank=True)
    # Personal identifiers: ciphertext plus a keyed hash for exact lookup. See personal_data.py.
    cccd_encrypted = models.TextField(blank=True)
    cccd_hash = models.CharField(max_length=64, blank=True, db_index=True)
    phone_encrypted = models.TextField(blank=True)
    phone_hash = models.CharField(max_length=64, blank=True, db_index=True)
    search_key = models.CharField(max_length=300, blank=True)
    erased_at = models.DateTimeField(_("đã xoá dữ liệu lúc"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["full_name", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cccd_hash"], condition=~models.Q(cccd_hash=""), name="resident_cccd_unique"
            )
        ]
        verbose_name = _("nhân khẩu")
        verbose_name_plural = _("nhân khẩu")

    def __str__(self) -> str:
        return self.full_name


class Consent(models.Model):
    """A resident's consent to a purpose of processing (Law 91/2025/QH15), given or withdrawn."""

    class Purpose(models.TextChoices):
        RESIDENT_MANAGEMENT = "resident_management", _("Quản lý dân cư tại xã")
        CONTACT = "contact", _("Liên lạc qua điện thoại")
        DIGITAL_SUPPORT = "digital_support", _("Hỗ trợ chuyển đổi số")

    class Method(models.TextChoices):
        PAPER = "paper", _("Ký giấy")
        VERBAL = "verbal", _("Đồng ý bằng lời, có người chứng kiến")
        ELECTRONIC = "electronic", _("Điện tử")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("mục đích"), max_length=30, choices=Purpose.choices)
    given = models.BooleanField(_("đồng ý"), default=True)
    method = models.CharField(_("hình thức"), max_length=20, choices=Method.choices)
    note = models.CharField(_("ghi chú"), max_length=255, blank=True)
    recorded_by = models.ForeignKey(
        "accounts.User", null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-recorded_at", "-id"]
        verbose_name = _("sự đồng ý")
        verbose_name_plural = _("sự đồng ý")

    def __str__(self) -> str:
        return f"{self.resident} — {self.get_purpose_display()}"


class Organisation(PublicIdModel):
    class Kind(models.TextChoices):
        PEOPLES_COMMITTEE = "peoples_committee", _("UBND xã")
        HEALTH_STATION = "health_station", _("Trạm y tế")
        SCHOOL = "school", _("Trường học")
        POLICE = "police", _("Công an xã")
        COOPERATIVE = "cooperative", _("Hợp tác xã")
        HOUSEHOLD_BUSINESS = "household_business", _("Hộ kinh doanh")
        ENTERPRISE = "enterprise", _("Doanh nghiệp")
        OTHER = "other", _("Khác")

    place = models.ForeignKey(
        Place, on_delete=models.PROTECT, related_name="organisations", verbose_name=_("địa bàn")
    )
    name = models.CharField(_("tên"), max_length=200)
    kind = models.CharField(_("loại hình"), max_length=30, choices=Kind.choices)
    tax_code = models.CharField(_("mã số thuế"), max_length=14, blank=True)
    address = models.CharField(_("địa chỉ"), max_length=255, blank=True)
    phone = models.CharField(_("điện thoại cơ quan"), max_length=20, blank=True)
    representative = models.CharField(_("người đại diện"), max_length=150, blank=True)
    search_key = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        verbose_name = _("tổ chức")
        verbose_name_plural = _("tổ chức")

    def __str__(self) -> str:
        return self.name
