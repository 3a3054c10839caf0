"""Reporting periods: a month ("2026-11"), a quarter ("2026-Q4") or a year ("2026").

Vietnamese statistical reports commonly close on the 14th: the November period runs from 15
October to 14 November. `close_day` says which day of the month ends a period; 0 means the
calendar month. A quarter is its three monthly periods, a year its twelve.
"""

import datetime
import re
from dataclasses import dataclass

MONTH, QUARTER, YEAR = "month", "quarter", "year"
KINDS = (MONTH, QUARTER, YEAR)
_PATTERNS = (
    (MONTH, re.compile(r"^(\d{4})-(\d{2})$")),
    (QUARTER, re.compile(r"^(\d{4})-Q([1-4])$")),
    (YEAR, re.compile(r"^(\d{4})$")),
)
ONE_DAY = datetime.timedelta(days=1)


class PeriodError(ValueError):
    """A period key that does not parse; the message is Vietnamese, for the user."""


@dataclass(frozen=True)
class Period:
    key: str  # "2026-11", "2026-Q4", "2026"
    kind: str
    start: datetime.date  # first day, inclusive
    end: datetime.date  # last day, inclusive

    def contains(self, day: datetime.date) -> bool:
        return self.start <= day <= self.end

    def label(self) -> str:
        """How a Vietnamese report names the period: "Tháng 11/2026", "Quý IV/2026", "Năm 2026"."""
        year = self.key[:4]
        if self.kind == MONTH:
            return f"Tháng {int(self.key[5:])}/{year}"
        if self.kind == QUARTER:
            return f"Quý {('I', 'II', 'III', 'IV')[int(self.key[-1]) - 1]}/{year}"
        return f"Năm {year}"


def _month_end(year: int, month: int, close_day: int) -> datetime.date:
    """Last day of the monthly period named (year, month)."""
    if close_day:
        return datetime.date(year, month, close_day)
    first_of_next = datetime.date(year + month // 12, month % 12 + 1, 1)
    return first_of_next - ONE_DAY


def _month_start(year: int, month: int, close_day: int) -> datetime.date:
    previous_year, previous_month = (year - 1, 12) if month == 1 else (year, month - 1)
    if close_day:
        return _month_end(previous_year, previous_month, close_day) + ONE_DAY
    return datetime.date(year, month, 1)


def parse(key: str, *, close_day: int = 14) -> Period:
    """The period a key names; PeriodError with a Vietnamese message when it names none."""
    if not 0 <= close_day <= 28:
        raise PeriodError("Ngày chốt kỳ phải từ 1 đến 28 (0 là hết tháng).")
    key = (key or "").strip().upper()
    for kind, pattern in _PATTERNS:
        match = pattern.match(key)
        if not match:
            continue
        year = int(match.group(1))
        if kind == MONTH:
            first_month = last_month = int(match.group(2))
            if not 1 <= first_month <= 12:
                break
        elif kind == QUARTER:
            last_month = int(match.group(2)) * 3
            first_month = last_month - 2
        else:
            first_month, last_month = 1, 12
        return Period(
            key=key,
            kind=kind,
            start=_month_start(year, first_month, close_day),
            end=_month_end(year, last_month, close_day),
        )
    raise PeriodError(
        f"Kỳ báo cáo “{key}” không hợp lệ: dùng YYYY-MM (tháng), YYYY-Qn (quý) hoặc YYYY (năm)."
    )


def containing(day: datetime.date, kind: str = MONTH, *, close_day: int = 14) -> Period:
    """The period of `kind` that contains `day`."""
    year, month = day.year, day.month
    if close_day and day.day > close_day:  # after the close day: next month's period
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    if kind == MONTH:
        return parse(f"{year}-{month:02d}", close_day=close_day)
    if kind == QUARTER:
        return parse(f"{year}-Q{(month - 1) // 3 + 1}", close_day=close_day)
    return parse(str(year), close_day=close_day)


def previous(period: Period, count: int, *, close_day: int = 14) -> list[Period]:
    """The `count` periods of the same kind ending with `period`, oldest first (for trends)."""
    periods = [period]
    while len(periods) < count:
        periods.append(containing(periods[-1].start - ONE_DAY, period.kind, close_day=close_day))
    return list(reversed(periods))
