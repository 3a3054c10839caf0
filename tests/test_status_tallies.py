"""The status tallies (survey/tallies.py) give the same counts as the status rows they sum.

Visits go through the survey actions (yes then no, late visits out of order, a conflict
resolved by applying, a batch with a refused visit, residents of several ages); then every
status spec the indicators may use is counted from the tallies and from the rows, for several
periods and places, and compared.
"""

import datetime
import io
import itertools

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests import survey_data as sd
from xaso.core.errors import InvalidInput
from xaso.indicators import catalogue, compute
from xaso.indicators.models import Indicator
from xaso.lib import periods
from xaso.survey import actions
from xaso.survey.actions import local_today
from xaso.survey.checklist import ALL_ITEMS, RESIDENT_ITEMS
from xaso.survey.models import StatusTally
from xaso.survey.tallies import tallies_rebuild

TODAY = local_today()


def days_ago(days: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=days)


def record(world, household, day, answers, *, username="tocns", **values):
    visit, _created = actions.visit_record(
        member=world.users[username],
        household=household,
        visited_on=day,
        notes="",
        answers=answers,
        idempotency_key=sd.new_key(),
        **values,
    )
    return visit


def visits(world):
    """A commune's year of visits through the actions."""
    family = sd.family(world)
    adult, child, unknown = (
        family.adult.public_id,
        family.child.public_id,
        family.unknown_age.public_id,
    )
    home = family.household
    record(
        world,
        home,
        days_ago(100),
        {
            "household": {"fibre_broadband": True},
            "residents": {
                adult: {"smartphone": True, "vneid_level2": True},
                child: {"smartphone": True},
                unknown: {"bank_or_wallet": True},
            },
        },
    )
    record(world, home, days_ago(40), {"residents": {adult: {"smartphone": False, "vssid": True}}})
    # A late visit, older than the last one: arrives after it.
    record(
        world,
        home,
        days_ago(70),
        {"residents": {adult: {"online_service": True}, child: {"smartphone": False}}},
    )
    # Someone else changes the household; a phone that saw version 3 conflicts, then the
    # leader applies its answers.
    record(
        world, home, days_ago(10), {"residents": {adult: {"vssid": False}}}, username="truongthon"
    )
    held = record(
        world,
        home,
        days_ago(5),
        {"residents": {adult: {"vssid": True, "cashless_utilities": True}}},
        base_version=3,
    )
    assert [conflict["item"] for conflict in held.conflicts] == ["vssid", "cashless_utilities"]
    actions.visit_conflicts_resolve(visit=held, apply=True, by=world.users["lanhdao"])

    # A batch: the middle visit (a household outside the member's village) is refused.
    first, second = sd.households(world, 2)
    queue = [
        _queued(first, days_ago(200), {"fibre_broadband": True}),
        _queued(world.household("Lê Văn Cường"), days_ago(20), {"fibre_broadband": True}),
        _queued(second, days_ago(35), {}),
    ]
    results = actions.visits_record(member=world.users["tocns"], visits=queue)
    assert [type(result).__name__ for result in results] == ["tuple", "PermissionDenied", "tuple"]

    cuong, dung = world.household("Lê Văn Cường"), world.household("Phạm Thị Dung")
    record(
        world,
        cuong,
        days_ago(150),
        {"residents": {cuong.residents.get().public_id: {"smartphone": True, "vssid": True}}},
        username="admin",
    )
    record(
        world,
        dung,
        days_ago(25),
        {"residents": {dung.residents.get().public_id: {"smartphone": True}}},
        username="admin",
    )
    return family


def _queued(household, day, household_answers) -> dict:
    return {
        "household": household,
        "visited_on": day,
        "notes": "",
        "answers": {"household": household_answers},
        "idempotency_key": sd.new_key(),
        "follow_up_on": None,
        "base_version": None,
    }


def every_status_spec() -> list[Indicator]:
    """One count per spec the catalogue's indicators use, and every other status spec (adults,
    others than adults, everyone; with or without each item)."""
    specs = []
    for adult, item in itertools.product([None, True, False], [None, *RESIDENT_ITEMS]):
        spec_filter = {"adult": adult} if adult is not None else {}
        if item:
            spec_filter["has"] = item
        specs.append({"source": "residents_surveyed", "filter": spec_filter})
    for item in [None, *ALL_ITEMS]:
        specs.append({"source": "households_surveyed", "filter": {"has": item} if item else {}})
    for indicator in Indicator.objects.all():
        specs += [spec for spec in (indicator.numerator, indicator.denominator) if spec]
    return [
        Indicator.objects.create(
            code=f"spec-{n}", name=f"Đếm {n}", method=Indicator.Method.COUNT, numerator=spec
        )
        for n, spec in enumerate(specs)
    ]


def some_periods() -> list[periods.Period]:
    current = periods.containing(TODAY)
    months = periods.previous(current, 9)
    quarters = periods.previous(periods.containing(TODAY, periods.QUARTER), 3)
    return [*months, *quarters, periods.containing(TODAY, periods.YEAR)]


def both_ways(run, monkeypatch):
    """`run()` counted from the status rows, then from the tallies (which it must read)."""
    results = []
    for from_tallies in (False, True):
        monkeypatch.setattr(compute, "COUNT_FROM_TALLIES", from_tallies)
        with CaptureQueriesContext(connection) as captured:
            results.append(run())
        read_tallies = any("survey_statustally" in query["sql"] for query in captured)
        assert read_tallies == from_tallies
    return results


def numbers(values) -> list:
    return [(v.indicator.code, v.place.code, v.period.key, v.numerator) for v in values]


@pytest.fixture
def surveyed(world):
    catalogue.catalogue_load(province=world.province, by=world.users["admin"])
    visits(world)
    return every_status_spec()


def test_tallies_count_what_the_rows_count(world, surveyed, monkeypatch):
    indicators = surveyed + list(Indicator.objects.filter(code__in=catalogue_codes()))
    places = [world.a1, world.a2, world.commune_a, world.commune_b, world.province]
    nonzero = 0
    for period in some_periods():
        for place in places:
            by_rows, by_tallies = both_ways(
                lambda p=place, q=period: compute.values_for_place(indicators, p, q), monkeypatch
            )
            assert numbers(by_tallies) == numbers(by_rows), (place.code, period.key)
            assert [v.value for v in by_tallies] == [v.value for v in by_rows]
            nonzero += sum(1 for v in by_rows if v.numerator)
        for parent in [world.commune_a, world.province]:
            by_rows, by_tallies = both_ways(
                lambda p=parent, q=period: compute.values_for_children(indicators, p, q),
                monkeypatch,
            )
            assert by_tallies.keys() == by_rows.keys()
            for child, values in by_rows.items():
                assert numbers(by_tallies[child]) == numbers(values), (child.code, period.key)
    assert nonzero > 100  # the visits left something to count


def catalogue_codes() -> list[str]:
    return [spec["code"] for spec in catalogue.INDICATORS]


def test_every_village_of_the_province_and_a_trend_agree(world, surveyed, monkeypatch):
    period = periods.containing(TODAY)
    by_rows, by_tallies = both_ways(
        lambda: compute.values_for_descendants(surveyed, world.province, "village", period),
        monkeypatch,
    )
    assert {p: numbers(v) for p, v in by_tallies.items()} == {
        p: numbers(v) for p, v in by_rows.items()
    }
    span = periods.previous(period, 12)
    for indicator in surveyed[:8]:
        by_rows, by_tallies = both_ways(
            lambda i=indicator: compute.values_over_periods(i, world.commune_a, span), monkeypatch
        )
        assert numbers(by_tallies) == numbers(by_rows)


def tally_table() -> set[tuple]:
    return set(
        StatusTally.objects.exclude(count=0).values_list("village", "month_end", "key", "count")
    )


def test_the_rebuild_gives_the_table_the_visits_wrote(world, surveyed):
    written = tally_table()
    assert len(written) > 30
    assert tallies_rebuild() == len(written)
    assert tally_table() == written
    tallies_rebuild(villages=[world.a1])
    assert tally_table() == written
    StatusTally.objects.all().delete()
    out = io.StringIO()
    call_command("survey_tallies_rebuild", stdout=out)
    assert tally_table() == written and f"{len(written)} dòng" in out.getvalue()


def test_a_refused_visit_leaves_no_tally(world):
    outside = _queued(world.household("Lê Văn Cường"), days_ago(3), {"fibre_broadband": True})
    bad = _queued(world.household("Nguyễn Văn An"), days_ago(3), {"fibre_broadband": True})
    bad["answers"] = {"residents": {"nobody-here": {"smartphone": True}}}
    results = actions.visits_record(member=world.users["tocns"], visits=[outside, bad])
    assert [type(result).__name__ for result in results] == ["PermissionDenied", "InvalidInput"]
    with pytest.raises(InvalidInput):
        actions.visit_record(member=world.users["tocns"], **{**bad, "idempotency_key": "k" * 10})
    assert not StatusTally.objects.exists()
    record(world, world.household("Nguyễn Văn An"), days_ago(3), {"household": {}})
    assert StatusTally.objects.filter(village=world.a1, key="h").get().count == 1
