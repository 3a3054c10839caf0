"""The Vietnamese lunisolar calendar (âm lịch), computed for UTC+7.

The calendar is astronomical: a month begins on the local day of a new moon, and the month
that holds the winter solstice is month 11. When 13 new moons separate two months 11, the
first month that contains no principal solar term (a 30° step of the sun's longitude) is the
leap month. The time zone matters: Vietnam counts days at UTC+7, China at UTC+8, so a new moon
near midnight can start a month a day apart — Tết 1985 fell on 21/1 in Vietnam, 20/2 in China.

New moons and the sun's longitude use the low-precision series of Jean Meeus, "Astronomical
Algorithms" (chapters 25 and 49), accurate to minutes: enough to name the day.
"""

import datetime
import math
from dataclasses import dataclass
from functools import lru_cache

VIETNAM_UTC_OFFSET_HOURS = 7
SYNODIC_MONTH = 29.530588853
# Julian day number of the mean new moon of 1900-01-01 (Meeus's k = 0 reference used below).
NEW_MOON_EPOCH_JD = 2415021.076998695


@dataclass(frozen=True)
class LunarDate:
    year: int
    month: int
    day: int
    is_leap_month: bool = False


def _jd(day: datetime.date) -> int:
    """Julian day number of a Gregorian date (proleptic)."""
    return day.toordinal() + 1721425


def _date(jd: int) -> datetime.date:
    return datetime.date.fromordinal(jd - 1721425)


def _new_moon(k: int) -> float:
    """Julian day (UT, fractional) of the k-th new moon after 1900-01-01."""
    t = k / 1236.85  # Julian centuries from 1900
    t2, t3 = t * t, t * t * t
    rad = math.pi / 180
    mean = 2415020.75933 + 29.53058868 * k + 0.0001178 * t2 - 0.000000155 * t3
    mean += 0.00033 * math.sin((166.56 + 132.87 * t - 0.009173 * t2) * rad)
    sun_anomaly = 359.2242 + 29.10535608 * k - 0.0000333 * t2 - 0.00000347 * t3
    moon_anomaly = 306.0253 + 385.81691806 * k + 0.0107306 * t2 + 0.00001236 * t3
    moon_latitude = 21.2964 + 390.67050646 * k - 0.0016528 * t2 - 0.00000239 * t3
    m, mp, f = sun_anomaly * rad, moon_anomaly * rad, moon_latitude * rad
    correction = (0.1734 - 0.000393 * t) * math.sin(m) + 0.0021 * math.sin(2 * m)
    correction += -0.4068 * math.sin(mp) + 0.0161 * math.sin(2 * mp) - 0.0004 * math.sin(3 * mp)
    correction += 0.0104 * math.sin(2 * f) - 0.0051 * math.sin(m + mp)
    correction += -0.0074 * math.sin(m - mp) + 0.0004 * math.sin(2 * f + m)
    correction += -0.0004 * math.sin(2 * f - m) - 0.0006 * math.sin(2 * f + mp)
    correction += 0.0010 * math.sin(2 * f - mp) + 0.0005 * math.sin(m + 2 * mp)
    return mean + correction - _delta_t_days(t)


def _delta_t_days(t: float) -> float:
    """Terrestrial minus universal time, in days, by a polynomial fit around 1900."""
    if t < -11:
        return 0.001 + 0.000839 * t + 0.0002261 * t**2 - 0.00000845 * t**3 - 0.000000081 * t**4
    return -0.000278 + 0.000265 * t + 0.000262 * t**2


def _new_moon_day(k: int) -> int:
    """The local (UTC+7) Julian day number on which the k-th new moon falls."""
    return int(_new_moon(k) + 0.5 + VIETNAM_UTC_OFFSET_HOURS / 24)


def _sun_longitude(jd_ut: float) -> float:
    """The sun's true longitude in radians, 0 ≤ L < 2π, at a UT Julian day."""
    t = (jd_ut - 2451545.0) / 36525  # Julian centuries from J2000
    rad = math.pi / 180
    mean_anomaly = 357.52910 + 35999.05030 * t - 0.0001559 * t * t - 0.00000048 * t**3
    mean_longitude = 280.46645 + 36000.76983 * t + 0.0003032 * t * t
    centre = (1.914600 - 0.004817 * t - 0.000014 * t * t) * math.sin(rad * mean_anomaly)
    centre += (0.019993 - 0.000101 * t) * math.sin(2 * rad * mean_anomaly)
    centre += 0.000290 * math.sin(3 * rad * mean_anomaly)
    longitude = (mean_longitude + centre) * rad
    return longitude % (2 * math.pi)


def _solar_term(day_jd: int) -> int:
    """Which of the 12 principal-term sectors (0–11) the sun is in at the start of a local day."""
    midnight_ut = day_jd - 0.5 - VIETNAM_UTC_OFFSET_HOURS / 24
    return int(_sun_longitude(midnight_ut) / math.pi * 6)


@lru_cache(maxsize=512)
def _month_11_start(year: int) -> int:
    """Local Julian day on which month 11 of the lunar year that ends in `year` begins.

    Month 11 holds the winter solstice (sun longitude 270°, sector 9): take the last new moon
    before 31 December; if the sun has already passed 270° on that day, the solstice lies in
    the month before.
    """
    k = int((_jd(datetime.date(year, 12, 31)) - 2415021) / SYNODIC_MONTH)
    start = _new_moon_day(k)
    if _solar_term(start) >= 9:
        start = _new_moon_day(k - 1)
    return start


def _leap_month_offset(month_11_start: int) -> int:
    """Index (1–13) after month 11 of the first month that holds no principal term."""
    k = int((month_11_start - NEW_MOON_EPOCH_JD) / SYNODIC_MONTH + 0.5)
    previous = _solar_term(_new_moon_day(k + 1))
    for index in range(2, 15):
        term = _solar_term(_new_moon_day(k + index))
        if term == previous:
            return index - 1
        previous = term
    return 14  # unreachable for real years


def solar_to_lunar(day: datetime.date) -> LunarDate:
    day_jd = _jd(day)
    k = int((day_jd - NEW_MOON_EPOCH_JD) / SYNODIC_MONTH)
    month_start = _new_moon_day(k + 1)
    if month_start > day_jd:
        month_start = _new_moon_day(k)
    a11 = _month_11_start(day.year)
    b11 = a11
    if a11 >= month_start:
        lunar_year = day.year
        a11 = _month_11_start(day.year - 1)
    else:
        lunar_year = day.year + 1
        b11 = _month_11_start(day.year + 1)
    lunar_day = day_jd - month_start + 1
    difference = int((month_start - a11) / 29)
    is_leap = False
    lunar_month = difference + 11
    if b11 - a11 > 365:  # 13 months between the two months 11: one is leap
        leap_index = _leap_month_offset(a11)
        if difference >= leap_index:
            lunar_month = difference + 10
            is_leap = difference == leap_index
    if lunar_month > 12:
        lunar_month -= 12
    if lunar_month >= 11 and difference < 4:
        lunar_year -= 1
    return LunarDate(lunar_year, lunar_month, lunar_day, is_leap)


def lunar_to_solar(
    year: int, month: int, day: int, *, is_leap_month: bool = False
) -> datetime.date:
    """The Gregorian date of a lunar date; ValueError if it does not exist."""
    if month < 11:
        a11, b11 = _month_11_start(year - 1), _month_11_start(year)
    else:
        a11, b11 = _month_11_start(year), _month_11_start(year + 1)
    k = int(0.5 + (a11 - NEW_MOON_EPOCH_JD) / SYNODIC_MONTH)
    offset = month - 11
    if offset < 0:
        offset += 12
    if b11 - a11 > 365:
        leap_offset = _leap_month_offset(a11)
        leap_month = (leap_offset - 3) % 12 + 1  # the month number that is doubled
        if is_leap_month and month != leap_month:
            raise ValueError(f"month {month} of {year} is not a leap month")
        if is_leap_month or offset >= leap_offset:
            offset += 1
    elif is_leap_month:
        raise ValueError(f"lunar year {year} has no leap month")
    month_start = _new_moon_day(k + offset)
    next_start = _new_moon_day(k + offset + 1)
    if not 1 <= day <= next_start - month_start:
        raise ValueError(f"lunar month {month}/{year} has {next_start - month_start} days")
    return _date(month_start + day - 1)


def tet(year: int) -> datetime.date:
    """Mùng 1 Tết: the first day of the lunar year that begins in `year`."""
    return lunar_to_solar(year, 1, 1)


def last_day_of_lunar_year(year: int) -> datetime.date:
    """The eve of Tết (the 29th or 30th of month 12): the day before `tet(year)`."""
    return tet(year) - datetime.timedelta(days=1)


def hung_kings_day(year: int) -> datetime.date:
    """Giỗ Tổ Hùng Vương, the 10th day of the 3rd lunar month."""
    return lunar_to_solar(year, 3, 10)
