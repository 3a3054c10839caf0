"""Working days of a Vietnamese state office, for statutory deadlines (Decree 118/2025).

A working day is Monday to Friday, minus the public holidays of the Labour Code 2019
(art. 112), minus compensatory days, plus or minus what the year's official notice says
(administrator overrides: a swapped Saturday becomes a working day, a bridge day a holiday).

- 1/1; Tết: five days, by default the eve (last day of the lunar year) and the first four
  days of the new year; Hùng Kings' day (10/3 lunar); 30/4; 1/5; 2/9 and one adjacent day.
- A holiday on a Saturday or Sunday gives a compensatory day off on the next working day
  (art. 111(3)).
- A dossier received after 15:00, or on a day that is not a working day, counts as received on
  the next working day; its due date is the n-th working day after that day.
"""

import datetime
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property

from xaso.lib import lunar

RECEIPT_CUTOFF = datetime.time(15, 0)
# Office hours, for counting the minutes a step used against the minutes it was allowed.
OFFICE_HOURS = (
    (datetime.time(7, 30), datetime.time(11, 30)),
    (datetime.time(13, 0), datetime.time(17, 0)),
)
MINUTES_PER_WORKING_DAY = sum(
    (end.hour * 60 + end.minute) - (start.hour * 60 + start.minute) for start, end in OFFICE_HOURS
)
ONE_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Override:
    """An official notice for one day: `working=True` makes it a working day, False a day off."""

    day: datetime.date
    working: bool
    note: str = ""


def _national_day_bridge(year: int) -> datetime.date:
    """The day joined to 2/9, chosen each year by the Prime Minister; by default the one that
    touches a weekend (Monday 1/9 or Friday 3/9), else 1/9."""
    before, after = datetime.date(year, 9, 1), datetime.date(year, 9, 3)
    if after.weekday() in (0, 4):  # 2/9 on a Sunday or a Thursday: take the Monday or Friday
        return after
    return before


def statutory_holidays(year: int) -> dict[datetime.date, str]:
    """The public holidays of `year` before compensatory days and overrides."""
    holidays = {datetime.date(year, 1, 1): "Tết Dương lịch"}
    tet = lunar.tet(year)
    holidays[tet - ONE_DAY] = "Tết Nguyên đán (giao thừa)"
    for offset in range(4):
        holidays[tet + offset * ONE_DAY] = f"Tết Nguyên đán (mùng {offset + 1})"
    holidays[lunar.hung_kings_day(year)] = "Giỗ Tổ Hùng Vương"
    holidays[datetime.date(year, 4, 30)] = "Ngày Chiến thắng"
    holidays[datetime.date(year, 5, 1)] = "Quốc tế Lao động"
    holidays[datetime.date(year, 9, 2)] = "Quốc khánh"
    holidays.setdefault(_national_day_bridge(year), "Quốc khánh (ngày liền kề)")
    return holidays


@dataclass
class WorkingCalendar:
    overrides: Iterable[Override] = field(default_factory=tuple)
    # Holidays per year, computed once per calendar (the lunar dates cost a little).
    _by_year: dict[int, dict[datetime.date, str]] = field(default_factory=dict, repr=False)

    @cached_property
    def _overrides(self) -> dict[datetime.date, Override]:
        return {override.day: override for override in self.overrides}

    def holidays(self, year: int) -> dict[datetime.date, str]:
        """Statutory holidays and their compensatory days (overrides not applied)."""
        return dict(self._holidays_cached(year))

    def _holidays_cached(self, year: int) -> dict[datetime.date, str]:
        if year not in self._by_year:
            self._by_year[year] = _with_compensatory_days(statutory_holidays(year))
        return self._by_year[year]

    def is_working_day(self, day: datetime.date) -> bool:
        override = self._overrides.get(day)
        if override is not None:
            return override.working
        if day.weekday() >= 5:
            return False
        return day not in self._holidays_cached(day.year)

    def day_off_reason(self, day: datetime.date) -> str:
        """Why a day is not a working day ("" when it is one)."""
        if self.is_working_day(day):
            return ""
        override = self._overrides.get(day)
        if override is not None:
            return override.note or "Nghỉ theo thông báo"
        return self._holidays_cached(day.year).get(day) or (
            "Thứ Bảy" if day.weekday() == 5 else "Chủ nhật"
        )

    def next_working_day(self, day: datetime.date) -> datetime.date:
        """The first working day strictly after `day`."""
        day += ONE_DAY
        while not self.is_working_day(day):
            day += ONE_DAY
        return day

    def add_working_days(self, day: datetime.date, count: int) -> datetime.date:
        """The `count`-th working day after `day` (`count` = 0 gives `day` itself)."""
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def received_on(self, moment: datetime.datetime) -> datetime.date:
        """The day a dossier counts as received: the same day before 15:00 on a working day,
        otherwise the next working day. `moment` must be in Vietnam's local time."""
        day = moment.date()
        if self.is_working_day(day) and moment.time() < RECEIPT_CUTOFF:
            return day
        return self.next_working_day(day)

    def due(
        self, moment: datetime.datetime, working_days: int
    ) -> tuple[datetime.date, datetime.date]:
        """(received on, due): the due date is the n-th working day after the receipt day."""
        received = self.received_on(moment)
        return received, self.add_working_days(received, working_days)

    def working_minutes(self, start: datetime.datetime, end: datetime.datetime) -> int:
        """Office-hour minutes of working days between two local, naive-or-aware datetimes."""
        if end <= start:
            return 0
        total, day = 0, start.date()
        while day <= end.date():
            if self.is_working_day(day):
                total += _office_minutes_on(day, start, end)
            day += ONE_DAY
        return total


def _with_compensatory_days(holidays: dict[datetime.date, str]) -> dict[datetime.date, str]:
    """Each holiday on a weekend gives the next weekday that is not itself a holiday."""
    result = dict(holidays)
    for day in sorted(holidays):
        if day.weekday() < 5:
            continue
        substitute = day + ONE_DAY
        while substitute.weekday() >= 5 or substitute in result:
            substitute += ONE_DAY
        result[substitute] = f"Nghỉ bù {holidays[day]}"
    return result


def _office_minutes_on(day: datetime.date, start: datetime.datetime, end: datetime.datetime) -> int:
    minutes = 0
    for opens, closes in OFFICE_HOURS:
        window_start = datetime.datetime.combine(day, opens, tzinfo=start.tzinfo)
        window_end = datetime.datetime.combine(day, closes, tzinfo=start.tzinfo)
        overlap = min(window_end, end) - max(window_start, start)
        minutes += max(0, int(overlap.total_seconds() // 60))
    return minutes
