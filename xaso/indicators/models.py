"""Indicators, their targets and hand-entered values, closed periods, and criteria sets.

An indicator is data: a numerator and a denominator, each a count over one of the sources in
`sources.py` with a filter, or a value typed in with its source. Nothing here is computed and
stored ahead of a question, except the values a leader freezes when she closes a period.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Indicator(models.Model):
    class Method(models.TextChoices):
        RATIO = "ratio", _("Tỷ lệ (tử số / mẫu số)")
        COUNT = "count", _("Số đếm")
        MANUAL = "manual", _("Nhập tay, có nguồn")

    class PeriodKind(models.TextChoices):
        MONTH = "month", _("Tháng")
        QUARTER = "quarter", _("Quý")
        YEAR = "year", _("Năm")

    code = models.SlugField(_("mã"), max_length=60, unique=True)
    name = models.CharField(_("tên chỉ tiêu"), max_length=255)
    unit = models.CharField(_("đơn vị"), max_length=30, default="%")
    description = models.TextField(_("mô tả, cách tính"), blank=True)
    method = models.CharField(_("cách tính"), max_length=10, choices=Method.choices)
    # {"source": "residents_surveyed", "filter": {"adult": true, "has": "smartphone"}}
    numerator = models.JSONField(_("tử số"), default=dict, blank=True)
    denominator = models.JSONField(_("mẫu số"), default=dict, blank=True)
    period_kind = models.CharField(
        _("kỳ"), max_length=10, choices=PeriodKind.choices, default=PeriodKind.MONTH
    )
    # {"village": 90, "commune": 60, "province": 95}: the target for each kind of place.
    targets = models.JSONField(_("chỉ tiêu theo cấp"), default=dict, blank=True)
    higher_is_better = models.BooleanField(_("càng cao càng tốt"), default=True)
    source_note = models.CharField(_("nguồn số liệu"), max_length=255, blank=True)
    published = models.BooleanField(_("công bố dữ liệu mở"), default=False)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("chỉ tiêu")
        verbose_name_plural = _("chỉ tiêu")

    def __str__(self) -> str:
        return self.name


class ManualValue(models.Model):
    """A value a person typed in for a place and period, with where it came from."""

    indicator = models.ForeignKey(Indicator, on_delete=models.CASCADE, related_name="entries")
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=10)  # "2026-11", "2026-Q4", "2026"
    numerator = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    denominator = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    value = models.DecimalField(max_digits=14, decimal_places=2)
    source = models.CharField(_("nguồn"), max_length=255)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    entered_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "place", "period"], name="manual_value_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.place_id} {self.period}: {self.value}"


class PeriodClose(models.Model):
    """A leader's sign-off of a place's values for one period; after it they never change."""

    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=10)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(auto_now_add=True)
    values_sha256 = models.CharField(max_length=64)  # of the frozen values, canonical JSON
    signature = models.TextField(blank=True)  # base64, by the commune's signing key

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["place", "period"], name="period_closed_once")
        ]

    def __str__(self) -> str:
        return f"Chốt kỳ {self.period} ({self.place_id})"


class FrozenValue(models.Model):
    close = models.ForeignKey(PeriodClose, on_delete=models.CASCADE, related_name="values")
    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="+")
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    period = models.CharField(max_length=10)
    value = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    numerator = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    denominator = models.DecimalField(max_digits=14, decimal_places=2, null=True)
    target = models.DecimalField(max_digits=14, decimal_places=2, null=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["indicator", "place", "period"], name="frozen_value_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.place_id} {self.period}: {self.value}"


class CriteriaSet(models.Model):
    """A province's smart-village criteria, or the model-commune criteria of Decision 319."""

    code = models.SlugField(_("mã"), max_length=60, unique=True)
    name = models.CharField(_("tên bộ tiêu chí"), max_length=255)
    place_kind = models.CharField(_("áp dụng cho"), max_length=10)  # "village" or "commune"
    # The province that set it; None for a national set.
    province = models.ForeignKey(
        "places.Place", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    legal_basis = models.CharField(_("căn cứ"), max_length=255, blank=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Criterion(models.Model):
    class Kind(models.TextChoices):
        INDICATOR = "indicator", _("Ngưỡng của một chỉ tiêu")
        FACT = "fact", _("Có/không, kèm minh chứng")
        CHILDREN = "children", _("Số thôn đạt một bộ tiêu chí")

    criteria_set = models.ForeignKey(CriteriaSet, on_delete=models.CASCADE, related_name="criteria")
    code = models.CharField(_("mã"), max_length=30)
    name = models.CharField(_("tiêu chí"), max_length=255)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    indicator = models.ForeignKey(
        Indicator, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    threshold = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    # For CHILDREN: at least `threshold` villages below the place meet `child_set`.
    child_set = models.ForeignKey(
        CriteriaSet, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "code"]
        constraints = [
            models.UniqueConstraint(fields=["criteria_set", "code"], name="criterion_code_once")
        ]

    def __str__(self) -> str:
        return f"{self.code}. {self.name}"


class CriterionFact(models.Model):
    """A yes/no criterion recorded for one place, with its evidence."""

    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="facts")
    place = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    met = models.BooleanField(_("đạt"))
    evidence = models.TextField(_("minh chứng"))
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["criterion", "place"], name="criterion_fact_once")
        ]

    def __str__(self) -> str:
        return f"{self.criterion_id} {self.place_id}: {self.met}"
