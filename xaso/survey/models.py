"""Household visits by the community digital team, and the adoption status they leave behind.

A `Visit` is what a team member recorded, kept as sent. The status tables hold each resident's
and each household's current checklist, one row each, so that indicators count rows instead of
searching visit histories: `<item>_on` is the date from which the answer has been yes (null: no
or never asked), which also answers "how many had it at the end of a past period".
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from xaso.core.models import PublicIdModel


class Visit(PublicIdModel):
    household = models.ForeignKey(
        "places.Household", on_delete=models.PROTECT, related_name="visits"
    )
    # The household's village when the visit was made: scope and statistics without a join.
    village = models.ForeignKey(
        "places.Place", on_delete=models.PROTECT, related_name="+", verbose_name=_("thôn")
    )
    member = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("người đến thăm"),
    )
    visited_on = models.DateField(_("ngày thăm"))
    notes = models.TextField(_("ghi chú"), blank=True)
    follow_up_on = models.DateField(_("hẹn quay lại"), null=True, blank=True)
    # {"household": {item: bool}, "residents": {resident public id: {item: bool, "helped": [item]}}}
    answers = models.JSONField(default=dict)
    # Sent by the phone: a retry with the same key returns this visit instead of a second one.
    idempotency_key = models.CharField(max_length=100, unique=True)
    content_hash = models.CharField(max_length=64)  # of the payload: a replay must match it
    # The household status version the phone saw; another visit since then may conflict.
    base_version = models.PositiveIntegerField(null=True, blank=True)
    # The household status version this visit produced: "the visits since version n" are
    # the household's visits with a higher number (conflict detection).
    household_version = models.PositiveIntegerField(null=True, blank=True)
    # [{"resident": id or "", "item": code, "recorded": bool, "current": bool}]: answers that
    # disagree with a newer visit by someone else, held back until a person decides.
    conflicts = models.JSONField(default=list, blank=True)
    conflicts_resolved_at = models.DateTimeField(null=True, blank=True)
    conflicts_resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        # Also survey_visit_day (visited_on, village_id) INCLUDE (id) on PostgreSQL, made by
        # migration 0003: a province's visits of a period counted from that index alone.
        ordering = ["-visited_on", "-id"]
        indexes = [
            models.Index(fields=["village", "visited_on"]),
            models.Index(fields=["household", "visited_on"]),
            models.Index(fields=["village", "follow_up_on"]),
            models.Index(fields=["village", "created_at"]),
        ]
        verbose_name = _("lượt thăm hộ")
        verbose_name_plural = _("lượt thăm hộ")

    def __str__(self) -> str:
        return f"Thăm {self.household_id} ngày {self.visited_on:%d/%m/%Y}"

    @property
    def has_open_conflicts(self) -> bool:
        return bool(self.conflicts) and self.conflicts_resolved_at is None


class ResidentStatus(models.Model):
    """One resident's checklist as last recorded."""

    resident = models.OneToOneField(
        "places.Resident", primary_key=True, on_delete=models.CASCADE, related_name="adoption"
    )
    household = models.ForeignKey("places.Household", on_delete=models.CASCADE, related_name="+")
    village = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    adult = models.BooleanField(default=True)  # 15 or over when last visited
    smartphone_on = models.DateField(null=True, blank=True)
    vneid_level2_on = models.DateField(null=True, blank=True)
    bank_or_wallet_on = models.DateField(null=True, blank=True)
    cashless_utilities_on = models.DateField(null=True, blank=True)
    vssid_on = models.DateField(null=True, blank=True)
    online_service_on = models.DateField(null=True, blank=True)
    first_visited_on = models.DateField()
    last_visited_on = models.DateField()

    class Meta:
        indexes = [models.Index(fields=["village", "first_visited_on"])]

    def __str__(self) -> str:
        return f"Trạng thái số của cư dân {self.resident_id}"


class HouseholdStatus(models.Model):
    """One household's checklist: its own items, and for each person item the first day any
    member had it ("households paying electricity without cash")."""

    household = models.OneToOneField(
        "places.Household", primary_key=True, on_delete=models.CASCADE, related_name="adoption"
    )
    village = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    # +1 per visit recorded (late ones too) and per conflict resolution that changed answers:
    # a phone that saw an older version may hold answers someone else has since changed.
    version = models.PositiveIntegerField(default=0)
    last_visit = models.ForeignKey(
        Visit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_member = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    fibre_broadband_on = models.DateField(null=True, blank=True)
    smartphone_on = models.DateField(null=True, blank=True)
    vneid_level2_on = models.DateField(null=True, blank=True)
    bank_or_wallet_on = models.DateField(null=True, blank=True)
    cashless_utilities_on = models.DateField(null=True, blank=True)
    vssid_on = models.DateField(null=True, blank=True)
    online_service_on = models.DateField(null=True, blank=True)
    first_visited_on = models.DateField()
    last_visited_on = models.DateField()
    follow_up_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["village", "first_visited_on"]),
            models.Index(fields=["village", "follow_up_on"]),
        ]

    def __str__(self) -> str:
        return f"Trạng thái số của hộ {self.household_id}"


class StatusTally(models.Model):
    """How many status rows of a village count under `key` from the monthly period ending on
    `month_end` (survey/tallies.py): written in the transaction that changes the status rows,
    so that a province sums its villages' months instead of scanning millions of rows."""

    village = models.ForeignKey("places.Place", on_delete=models.PROTECT, related_name="+")
    month_end = models.DateField()
    key = models.CharField(max_length=40)  # "r", "r.adult.smartphone", "h.fibre_broadband", …
    count = models.IntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["village", "month_end", "key"], name="survey_statustally_unique"
            )
        ]
        # WHERE key IN (…) AND month_end <= D [AND village_id IN …] GROUP BY key[, village]
        indexes = [models.Index(fields=["key", "month_end", "village"], name="survey_tally_key")]

    def __str__(self) -> str:
        return f"{self.key} {self.village_id} {self.month_end}: {self.count}"
