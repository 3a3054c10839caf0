"""The lunar calendar for UTC+7 and the working-day calendar behind statutory deadlines."""

import datetime

import pytest

from xaso.lib import lunar
from xaso.lib.calendar import Override, WorkingCalendar, statutory_holidays

D = datetime.date


def at(year, month, day, hour=9, minute=0) -> datetime.datetime:
    return datetime.datetime(year, month, day, hour, minute)


# --- Lunar calendar -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "year, tet, hung_kings",
    [
        (2024, D(2024, 2, 10), D(2024, 4, 18)),
        (2025, D(2025, 1, 29), D(2025, 4, 7)),
        (2026, D(2026, 2, 17), D(2026, 4, 26)),
        (2027, D(2027, 2, 6), D(2027, 4, 16)),
    ],
)
def test_tet_and_the_hung_kings_day_fall_on_the_dates_vietnam_keeps(year, tet, hung_kings):
    assert lunar.tet(year) == tet
    assert lunar.hung_kings_day(year) == hung_kings


def test_tet_1985_is_computed_for_utc_plus_7_not_china_time():
    assert lunar.tet(1985) == D(1985, 1, 21)  # 20/2/1985 in China (UTC+8)


@pytest.mark.parametrize(
    "year, month, first_day",
    [(2020, 4, D(2020, 5, 23)), (2023, 2, D(2023, 3, 22)), (2025, 6, D(2025, 7, 25))],
)
def test_leap_months_begin_where_the_almanac_says(year, month, first_day):
    assert lunar.lunar_to_solar(year, month, 1, is_leap_month=True) == first_day
    assert lunar.solar_to_lunar(first_day) == lunar.LunarDate(year, month, 1, True)


def test_a_leap_month_that_does_not_exist_is_refused():
    with pytest.raises(ValueError):
        lunar.lunar_to_solar(2024, 2, 1, is_leap_month=True)
    with pytest.raises(ValueError):
        lunar.lunar_to_solar(2023, 5, 1, is_leap_month=True)
    with pytest.raises(ValueError):
        lunar.lunar_to_solar(2026, 1, 31)


def test_every_day_from_2000_to_2035_round_trips_through_the_lunar_calendar():
    day = D(2000, 1, 1)
    while day < D(2036, 1, 1):
        moon = lunar.solar_to_lunar(day)
        assert 1 <= moon.day <= 30
        back = lunar.lunar_to_solar(
            moon.year, moon.month, moon.day, is_leap_month=moon.is_leap_month
        )
        assert back == day, (day, moon)
        day += datetime.timedelta(days=1)


# --- Holidays -----------------------------------------------------------------------------------
def test_the_statutory_holidays_of_2026():
    holidays = statutory_holidays(2026)
    assert sorted(holidays) == [
        D(2026, 1, 1),
        D(2026, 2, 16),  # eve of Tết
        D(2026, 2, 17),
        D(2026, 2, 18),
        D(2026, 2, 19),
        D(2026, 2, 20),
        D(2026, 4, 26),  # Hùng Kings (a Sunday)
        D(2026, 4, 30),
        D(2026, 5, 1),
        D(2026, 9, 1),
        D(2026, 9, 2),
    ]


def test_a_holiday_on_a_sunday_gives_the_monday_off():
    calendar = WorkingCalendar()
    assert not calendar.is_working_day(D(2026, 4, 27))
    assert calendar.day_off_reason(D(2026, 4, 27)) == "Nghỉ bù Giỗ Tổ Hùng Vương"


def test_a_compensatory_day_skips_days_that_are_holidays_already():
    # 2024: 2/9 is a Monday and 1/9 a Sunday; the day off for 1/9 moves past 2/9 to 3/9.
    calendar = WorkingCalendar()
    assert not calendar.is_working_day(D(2024, 9, 2))
    assert not calendar.is_working_day(D(2024, 9, 3))
    assert calendar.is_working_day(D(2024, 9, 4))


def test_an_administrator_override_swaps_a_saturday_and_adds_a_bridge_day():
    calendar = WorkingCalendar(
        overrides=[
            Override(D(2026, 2, 7), working=True, note="Làm bù"),
            Override(D(2026, 2, 13), working=False, note="Nghỉ Tết (thông báo 2026)"),
        ]
    )
    assert calendar.is_working_day(D(2026, 2, 7))
    assert not calendar.is_working_day(D(2026, 2, 13))
    assert calendar.day_off_reason(D(2026, 2, 13)) == "Nghỉ Tết (thông báo 2026)"


# --- Deadlines ----------------------------------------------------------------------------------
def test_a_dossier_received_before_15h_on_a_working_day_counts_that_day():
    assert WorkingCalendar().due(at(2026, 11, 23, 14, 59), 3) == (D(2026, 11, 23), D(2026, 11, 26))


def test_a_dossier_received_at_15h_or_later_counts_from_the_next_working_day():
    calendar = WorkingCalendar()
    assert calendar.due(at(2026, 11, 23, 15, 0), 1) == (D(2026, 11, 24), D(2026, 11, 25))
    assert calendar.due(at(2026, 11, 27, 16, 30), 1) == (D(2026, 11, 30), D(2026, 12, 1))


def test_a_dossier_received_on_a_saturday_counts_from_monday():
    assert WorkingCalendar().due(at(2026, 11, 28, 9), 2) == (D(2026, 11, 30), D(2026, 12, 2))


def test_a_deadline_crosses_tet_without_counting_it():
    # Friday 13/2/2026 after 15:00; Tết runs Monday 16 to Friday 20.
    assert WorkingCalendar().due(at(2026, 2, 13, 16), 3) == (D(2026, 2, 23), D(2026, 2, 26))


def test_a_deadline_crosses_the_hung_kings_day_and_its_compensatory_monday():
    # Friday 24/4/2026; Sunday 26/4 is the Hùng Kings' day, Monday 27/4 its day off.
    assert WorkingCalendar().due(at(2026, 4, 24, 10), 2) == (D(2026, 4, 24), D(2026, 4, 29))


def test_a_deadline_crosses_30_april_and_1_may():
    # Wednesday 29/4/2026, 3 working days: Thursday 30/4 and Friday 1/5 are holidays.
    assert WorkingCalendar().due(at(2026, 4, 29, 8), 3) == (D(2026, 4, 29), D(2026, 5, 6))


def test_working_minutes_count_office_hours_of_working_days_only():
    calendar = WorkingCalendar()
    # Friday 13:00 to Monday 09:30: 4 hours on Friday, 2 hours on Monday.
    assert calendar.working_minutes(at(2026, 11, 27, 13), at(2026, 11, 30, 9, 30)) == 360
    assert calendar.working_minutes(at(2026, 11, 30, 12), at(2026, 11, 30, 12, 45)) == 0
    assert calendar.working_minutes(at(2026, 11, 30, 10), at(2026, 11, 30, 9)) == 0
