"""The indicator engine counts the records of a place and its children for a period."""

import datetime
from decimal import Decimal

import pytest

from xaso.core.errors import InvalidInput
from xaso.indicators import compute
from xaso.indicators.models import FrozenValue, Indicator, ManualValue, PeriodClose
from xaso.indicators.sources import check_spec
from xaso.lib import periods
from xaso.places import actions as places_actions
from xaso.survey.models import HouseholdStatus, ResidentStatus
from xaso.survey.tallies import tallies_rebuild

NOVEMBER = periods.parse("2026-11")  # 15/10/2026 – 14/11/2026
OCTOBER = periods.parse("2026-10")


def _smartphone_share() -> Indicator:
    return Indicator.objects.create(
        code="smartphone",
        name="Người lớn có điện thoại thông minh",
        method=Indicator.Method.RATIO,
        numerator={"source": "residents_surveyed", "filter": {"adult": True, "has": "smartphone"}},
        denominator={"source": "residents_surveyed", "filter": {"adult": True}},
        targets={"village": 90, "commune": 80},
    )


def _surveyed(world, head_name: str, *, visited: datetime.date, smartphone: datetime.date | None):
    household = world.household(head_name)
    resident = household.residents.get()
    HouseholdStatus.objects.create(
        household=household,
        village=household.village,
        first_visited_on=visited,
        last_visited_on=visited,
        smartphone_on=smartphone,
    )
    ResidentStatus.objects.create(
        resident=resident,
        household=household,
        village=household.village,
        first_visited_on=visited,
        last_visited_on=visited,
        smartphone_on=smartphone,
    )
    tallies_rebuild(villages=[household.village_id])  # rows written by hand, not by a visit


@pytest.fixture
def surveyed_world(world):
    _surveyed(world, "Nguyễn Văn An", visited=datetime.date(2026, 10, 1), smartphone=None)
    _surveyed(
        world,
        "Trần Thị Bình",
        visited=datetime.date(2026, 10, 1),
        smartphone=datetime.date(2026, 11, 2),
    )
    _surveyed(
        world,
        "Lê Văn Cường",
        visited=datetime.date(2026, 11, 3),
        smartphone=datetime.date(2026, 11, 3),
    )
    _surveyed(
        world,
        "Phạm Thị Dung",
        visited=datetime.date(2026, 11, 3),
        smartphone=datetime.date(2026, 11, 3),
    )
    return world


def test_a_ratio_counts_the_place_and_rolls_up(surveyed_world):
    world = surveyed_world
    indicator = _smartphone_share()

    [village] = compute.values_for_place([indicator], world.a1, NOVEMBER)
    [commune] = compute.values_for_place([indicator], world.commune_a, NOVEMBER)
    [province] = compute.values_for_place([indicator], world.province, NOVEMBER)

    assert (village.numerator, village.denominator, village.value) == (1, 2, 50)
    assert village.target == 90 and village.meets_target is False
    assert (commune.numerator, commune.denominator) == (2, 3)
    assert commune.value == Decimal("66.7")
    assert (province.numerator, province.denominator) == (3, 4)
    assert province.target is None and province.meets_target is None


def test_a_past_period_counts_what_was_true_at_its_end(surveyed_world):
    indicator = _smartphone_share()

    [village] = compute.values_for_place([indicator], surveyed_world.a1, OCTOBER)

    assert (village.numerator, village.denominator, village.value) == (0, 2, 0)


def test_children_come_from_one_grouped_count(surveyed_world, django_assert_max_num_queries):
    world = surveyed_world
    indicator = _smartphone_share()

    with django_assert_max_num_queries(3):
        by_child = compute.values_for_children([indicator], world.commune_a, NOVEMBER)
    values = {place.code: row[0] for place, row in by_child.items()}

    assert (values[world.a1.code].numerator, values[world.a1.code].denominator) == (1, 2)
    assert (values[world.a2.code].numerator, values[world.a2.code].denominator) == (1, 1)
    assert values[world.a2.code].meets_target is True

    communes = compute.values_for_children([indicator], world.province, NOVEMBER)
    by_code = {place.code: row[0] for place, row in communes.items()}
    assert by_code[world.commune_a.code].denominator == 3
    assert by_code[world.commune_b.code].denominator == 1
    empty = [
        row[0]
        for place, row in communes.items()
        if place.id not in {world.commune_a.id, world.commune_b.id}
    ]
    assert empty and all(value.denominator == 0 and value.value is None for value in empty)


def test_a_village_has_no_dossier_share(world):
    indicator = Indicator.objects.create(
        code="online",
        name="Hồ sơ trực tuyến",
        method=Indicator.Method.RATIO,
        numerator={"source": "dossiers", "filter": {"channel": "online"}},
        denominator={"source": "dossiers"},
    )

    [village] = compute.values_for_place([indicator], world.a1, NOVEMBER)
    [commune] = compute.values_for_place([indicator], world.commune_a, NOVEMBER)

    assert village.applicable is False and village.value is None
    assert commune.applicable is True and commune.denominator == 0


def test_a_village_has_no_dossier_share_beside_indicators_it_has(surveyed_world):
    world = surveyed_world
    online = Indicator.objects.create(
        code="online",
        name="Hồ sơ trực tuyến",
        method=Indicator.Method.RATIO,
        numerator={"source": "dossiers", "filter": {"channel": "online"}},
        denominator={"source": "dossiers"},
    )

    by_village = compute.values_for_children(
        [_smartphone_share(), online], world.commune_a, NOVEMBER
    )
    smartphone, dossiers = by_village[world.a1]

    assert smartphone.applicable and smartphone.denominator == 2
    assert dossiers.applicable is False and dossiers.denominator is None


def test_a_closed_period_reads_the_frozen_value(surveyed_world):
    world = surveyed_world
    indicator = _smartphone_share()
    close = PeriodClose.objects.create(
        place=world.commune_a, period="2026-11", closed_by=world.users["lanhdao"], values_sha256="x"
    )
    FrozenValue.objects.create(
        close=close,
        indicator=indicator,
        place=world.a1,
        period="2026-11",
        numerator=9,
        denominator=10,
        value=90,
        target=90,
    )

    [village] = compute.values_for_place([indicator], world.a1, NOVEMBER)

    assert village.frozen and village.value == 90 and village.meets_target is True


def test_a_manual_value_rolls_up_from_its_entries(world):
    indicator = Indicator.objects.create(
        code="broadband", name="Thuê bao băng rộng", method=Indicator.Method.MANUAL
    )
    for village, numerator in [(world.a1, 30), (world.a2, 10)]:
        ManualValue.objects.create(
            indicator=indicator,
            place=village,
            period="2026-11",
            numerator=numerator,
            denominator=40,
            value=numerator * 100 / 40,
            source="VNPT",
            entered_by=world.users["lanhdao"],
        )

    [commune] = compute.values_for_place([indicator], world.commune_a, NOVEMBER)

    assert (commune.numerator, commune.denominator, commune.value) == (40, 80, 50)


@pytest.mark.parametrize(
    "spec",
    [
        {"source": "nowhere"},
        {"source": "residents_surveyed", "filter": {"colour": "red"}},
        {"source": "residents_surveyed", "filter": {"has": "tivi"}},
        {"source": "dossiers", "filter": {"channel": "pigeon"}},
    ],
)
def test_a_bad_definition_is_refused_in_vietnamese(spec):
    with pytest.raises(InvalidInput) as refused:
        check_spec(spec, field_name="numerator")
    assert refused.value.message


def test_households_source_counts_households_of_the_place(world):
    places_actions.household_create(village=world.a1, head_name="Hộ mới", by=world.users["quantri"])
    indicator = Indicator.objects.create(
        code="households",
        name="Số hộ",
        unit="hộ",
        method=Indicator.Method.COUNT,
        numerator={"source": "households"},
    )

    [village] = compute.values_for_place(
        [indicator], world.a1, periods.containing(datetime.date.today())
    )

    assert village.value == 3
