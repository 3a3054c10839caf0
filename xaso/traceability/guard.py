"""The pre-harvest-interval guard (thời gian cách ly).

A harvest on day d from an area is unsafe when some spraying of that area happened on or before
d and its interval has not run out by d. For a harvest over several days [start, end], it is
unsafe when any of its days is: a spraying on or before `end` whose first safe day is after
`start`.
"""

from dataclasses import dataclass
from datetime import date

from django.utils.translation import gettext as _

from xaso.core.errors import DomainError
from xaso.traceability.models import DiaryEntry, GrowingArea


@dataclass(frozen=True)
class GuardVerdict:
    safe: bool
    spraying: DiaryEntry | None = None  # the spraying whose interval is broken, latest-ending
    last_spraying: DiaryEntry | None = None  # the latest spraying before the harvest, if any

    @property
    def first_safe_day(self) -> date | None:
        return self.spraying.safe_from if self.spraying else None


class PreHarvestIntervalError(DomainError):
    """Refusal of a harvest inside an interval; names the spraying and the first safe day."""

    def __init__(self, area: GrowingArea, spraying: DiaryEntry):
        self.spraying = spraying
        super().__init__(refusal_message(area, spraying), field="harvest_start")


def refusal_message(area: GrowingArea, spraying: DiaryEntry) -> str:
    return _(
        "Chưa được thu hoạch: vùng %(area)s phun %(pesticide)s ngày %(sprayed)s, thời gian cách "
        "ly %(days)s ngày. Ngày thu hoạch an toàn sớm nhất là %(safe)s."
    ) % {
        "area": area.code,
        "pesticide": spraying.pesticide or _("thuốc BVTV"),
        "sprayed": f"{spraying.occurred_on:%d/%m/%Y}",
        "days": spraying.pre_harvest_interval_days,
        "safe": f"{spraying.safe_from:%d/%m/%Y}",
    }


def harvest_verdict(area: GrowingArea, start: date, end: date | None = None) -> GuardVerdict:
    end = end or start
    sprayings = list(
        DiaryEntry.objects.filter(
            area=area,
            kind=DiaryEntry.Kind.SPRAYING,
            status=DiaryEntry.Status.DONE,
            occurred_on__lte=end,
        ).order_by("occurred_on", "id")
    )
    breaking = [
        spraying
        for spraying in sprayings
        if spraying.safe_from is not None and spraying.safe_from > start
    ]
    worst = max(breaking, key=lambda spraying: spraying.safe_from, default=None)
    last = sprayings[-1] if sprayings else None
    return GuardVerdict(safe=worst is None, spraying=worst, last_spraying=last)


def harvest_check(area: GrowingArea, start: date, end: date | None = None) -> GuardVerdict:
    """The verdict, raising PreHarvestIntervalError when the harvest is inside an interval."""
    verdict = harvest_verdict(area, start, end)
    if not verdict.safe:
        raise PreHarvestIntervalError(area, verdict.spraying)
    return verdict
