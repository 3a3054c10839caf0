"""Per-village monthly tallies of the status tables, kept in step with them.

A status row counts under a few keys, each from a date on: a resident row under "r" from its
first visit, and under "r.<item>" from the later of its first visit and `<item>_on`; an adult
row also under "r.adult" and "r.adult.<item>"; a household row under "h" and "h.<item>" the
same way. Those are exactly the rows that indicators/sources.py counts for the sources
`residents_surveyed` (filters adult, has) and `households_surveyed` (filter has): a row counts
in period P iff its date <= P.end. `StatusTally` holds, per village, monthly period (its last
day, XASO_PERIOD_CLOSE_DAY) and key, how many rows start counting in that month; a count at
the end of P is the sum of the months ending on or before P.end.

survey.actions snapshots a household's contributions before and after changing its status rows
and adds the difference in the same transaction (`tallies_add`). `tallies_rebuild` recounts
them from the status rows: after changing XASO_PERIOD_CLOSE_DAY (`xaso survey_tallies_rebuild`),
or to repair.
"""

import datetime
from collections import Counter

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, Min

from xaso.lib import periods
from xaso.survey.checklist import HOUSEHOLD_ITEMS, RESIDENT_ITEMS
from xaso.survey.models import HouseholdStatus, ResidentStatus, StatusTally

RESIDENT, HOUSEHOLD = "r", "h"
HOUSEHOLD_STATUS_ITEMS = [*HOUSEHOLD_ITEMS, *RESIDENT_ITEMS]  # the `<item>_on` of HouseholdStatus
_BATCH_ROWS = 200  # 4 parameters a row: under SQLite's oldest limit of 999

Snapshot = Counter  # {(village id, month end, key): rows}


def month_end(day: datetime.date) -> datetime.date:
    """The last day of the monthly period that contains `day`."""
    return periods.containing(day, "month", close_day=settings.XASO_PERIOD_CLOSE_DAY).end


def resident_contributions(row: ResidentStatus) -> list[tuple[str, datetime.date]]:
    """(key, date from which it counts) of one ResidentStatus row."""
    first = row.first_visited_on
    prefixes = [RESIDENT, f"{RESIDENT}.adult"] if row.adult else [RESIDENT]
    found = [(prefix, first) for prefix in prefixes]
    for item in RESIDENT_ITEMS:
        held_on = getattr(row, f"{item}_on")
        if held_on is not None:
            found += [(f"{prefix}.{item}", max(first, held_on)) for prefix in prefixes]
    return found


def household_contributions(row: HouseholdStatus) -> list[tuple[str, datetime.date]]:
    """(key, date from which it counts) of one HouseholdStatus row."""
    first = row.first_visited_on
    found = [(HOUSEHOLD, first)]
    for item in HOUSEHOLD_STATUS_ITEMS:
        held_on = getattr(row, f"{item}_on")
        if held_on is not None:
            found.append((f"{HOUSEHOLD}.{item}", max(first, held_on)))
    return found


def snapshot(status: HouseholdStatus | None, residents) -> Snapshot:
    """The tally contributions of a household's status row and of its residents' rows
    (`resident.adoption`), as loaded under the household lock: no query. survey.actions takes
    one before changing them and one after (the same objects, as written)."""
    counted: Snapshot = Counter()
    months: dict[datetime.date, datetime.date] = {}
    rows = [(getattr(resident, "adoption", None), resident_contributions) for resident in residents]
    for row, contributions in [*rows, (status, household_contributions)]:
        if row is None:
            continue
        for key, day in contributions(row):
            if day not in months:
                months[day] = month_end(day)
            counted[(row.village_id, months[day], key)] += 1
    return counted


def snapshot_diff(before: Snapshot, after: Snapshot) -> dict[tuple, int]:
    """{(village id, month end, key): change}, without the unchanged ones."""
    changes = {slot: after.get(slot, 0) - before.get(slot, 0) for slot in before.keys() | after}
    return {slot: change for slot, change in changes.items() if change}


def changes_merge(into: dict[tuple, int], changes: dict[tuple, int]) -> None:
    for slot, change in changes.items():
        into[slot] = into.get(slot, 0) + change


def tallies_add(changes: dict[tuple, int]) -> None:
    """Add the changes to the tallies: one INSERT … ON CONFLICT DO UPDATE per 200 slots. The
    slots in order, so that two transactions lock the tally rows they share in the same order
    (never in a circle)."""
    slots = sorted((slot, change) for slot, change in changes.items() if change)
    table = connection.ops.quote_name(StatusTally._meta.db_table)
    adapt = connection.ops.adapt_datefield_value
    for start in range(0, len(slots), _BATCH_ROWS):
        batch = slots[start : start + _BATCH_ROWS]
        params = []
        for (village_id, month, key), change in batch:
            params += [village_id, adapt(month), key, change]
        values = ", ".join(["(%s, %s, %s, %s)"] * len(batch))
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} (village_id, month_end, key, count) VALUES {values} "
                "ON CONFLICT (village_id, month_end, key) "
                f"DO UPDATE SET count = {table}.count + excluded.count",
                params,
            )


# --- Recounting from the status rows ------------------------------------------------------------
@transaction.atomic
def tallies_rebuild(*, villages=None) -> int:
    """Delete the tallies (of `villages`, ids or places, or all) and count them again from the
    status rows, with set-based SQL (15–24 s for a million households on PostgreSQL). Returns the
    number of tally rows written."""
    village_ids = None if villages is None else [getattr(v, "pk", v) for v in villages]
    tallies = StatusTally.objects.all()
    if village_ids is not None:
        tallies = tallies.filter(village_id__in=village_ids)
    tallies.delete()
    if village_ids == []:
        return 0
    ends = _month_ends()
    if not ends:
        return 0
    table = connection.ops.quote_name(StatusTally._meta.db_table)
    written = 0
    with connection.cursor() as cursor:
        for status_table, key, day_sql, where in _rebuild_parts():
            month_sql, month_params = _month_case(day_sql, ends)
            in_villages, village_params = "", []
            if village_ids is not None:
                in_villages = f" AND village_id IN ({', '.join(['%s'] * len(village_ids))})"
                village_params = village_ids
            cursor.execute(
                f"INSERT INTO {table} (village_id, month_end, key, count) "
                f"SELECT village_id, {month_sql}, %s, COUNT(*) FROM {status_table} "
                f"WHERE {where}{in_villages} GROUP BY 1, 2",
                [*month_params, key, *village_params],
            )
            written += cursor.rowcount
    return written


def _rebuild_parts():
    """(table, key, SQL of the day it counts from, SQL condition) for every key."""
    residents, households = ResidentStatus._meta.db_table, HouseholdStatus._meta.db_table
    first = "first_visited_on"
    for table, prefix, condition, items in [
        (residents, RESIDENT, "1 = 1", RESIDENT_ITEMS),
        (residents, f"{RESIDENT}.adult", _true("adult"), RESIDENT_ITEMS),
        (households, HOUSEHOLD, "1 = 1", HOUSEHOLD_STATUS_ITEMS),
    ]:
        yield table, prefix, first, condition
        for item in items:
            held = f"{condition} AND {item}_on IS NOT NULL"
            yield table, f"{prefix}.{item}", _later(first, f"{item}_on"), held


def _true(column: str) -> str:
    return f"{column} = {'1' if connection.vendor == 'sqlite' else 'TRUE'}"


def _later(first: str, other: str) -> str:
    return f"(CASE WHEN {other} > {first} THEN {other} ELSE {first} END)"


def _month_ends() -> list[datetime.date]:
    """Every month end from the earliest date in the status tables to the latest."""
    days = []
    for model, items in [
        (ResidentStatus, RESIDENT_ITEMS),
        (HouseholdStatus, HOUSEHOLD_STATUS_ITEMS),
    ]:
        fields = ["first_visited_on", *(f"{item}_on" for item in items)]
        aggregates = {f"min_{f}": Min(f) for f in fields} | {f"max_{f}": Max(f) for f in fields}
        days += [day for day in model.objects.aggregate(**aggregates).values() if day]
    if not days:
        return []
    ends = [month_end(min(days))]
    last = month_end(max(days))
    while ends[-1] < last:
        ends.append(month_end(ends[-1] + datetime.timedelta(days=1)))
    return ends


def _month_case(day_sql: str, ends: list[datetime.date]) -> tuple[str, list]:
    """SQL mapping a day to the end of its month: a CASE over the sorted month ends."""
    adapt = connection.ops.adapt_datefield_value
    branches = " ".join(f"WHEN {day_sql} <= %s THEN %s" for _end in ends)
    params = []
    for end in ends:
        params += [adapt(end), adapt(end)]
    cast = "" if connection.vendor == "sqlite" else "::date"
    return f"(CASE {branches} END){cast}", params
