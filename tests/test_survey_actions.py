"""Recording visits through the actions: idempotency under concurrency, the status rules, and
how many queries a visit costs."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied
from django.db import OperationalError, connection, connections

from tests import survey_data as sd
from tests import world as world_module
from xaso.places import actions as places
from xaso.survey import actions
from xaso.survey.actions import local_today
from xaso.survey.models import HouseholdStatus, ResidentStatus, Visit


def record(world, household, *, username="tocns", key=None, **values):
    values.setdefault("visited_on", local_today())
    values.setdefault("notes", "")
    values.setdefault("answers", {})
    return actions.visit_record(
        member=world.users[username],
        household=household,
        idempotency_key=key or sd.new_key(),
        **values,
    )


def test_the_content_hash_does_not_depend_on_the_order_of_keys():
    values = {
        "household": "h1",
        "visited_on": datetime.date(2026, 1, 2),
        "notes": "",
        "follow_up_on": None,
        "base_version": None,
    }
    one = actions.content_hash(answers={"household": {"a": True}, "residents": {}}, **values)
    two = actions.content_hash(answers={"residents": {}, "household": {"a": True}}, **values)
    other = actions.content_hash(answers={"residents": {}, "household": {"a": False}}, **values)
    assert one == two != other and len(one) == 64


def test_the_visit_stores_its_content_hash_and_household_version(world):
    family = sd.family(world)
    visit, created = record(world, family.household, key="action-key-1")
    again, created_again = record(world, family.household, key="action-key-1")
    assert (created, created_again) == (True, False) and again.pk == visit.pk
    assert len(visit.content_hash) == 64 and visit.household_version == 1


def test_a_resident_turning_fifteen_on_the_visit_day_is_an_adult(world):
    family = sd.family(world)
    day = local_today()
    fifteen = places.resident_create(
        household=family.household,
        full_name="Vừa đủ",
        gender="male",
        birth_date=sd.years_ago(15),
        by=world.users["admin"],
    )
    almost = places.resident_create(
        household=family.household,
        full_name="Chưa đủ",
        gender="male",
        birth_date=sd.years_ago(15, days=-1),
        by=world.users["admin"],
    )
    answers = {"residents": {fifteen.public_id: {}, almost.public_id: {}}}
    record(world, family.household, visited_on=day, answers=answers)
    assert ResidentStatus.objects.get(resident=fifteen).adult is True
    assert ResidentStatus.objects.get(resident=almost).adult is False


def test_a_household_outside_the_member_villages_is_refused_by_the_action(world):
    with pytest.raises(PermissionDenied):
        record(world, world.household("Lê Văn Cường"))
    assert not Visit.objects.exists()


def test_applying_held_back_answers_skips_a_resident_erased_since(world):
    family = sd.family(world)
    record(
        world,
        family.household,
        username="truongthon",
        answers={"residents": {family.child.public_id: {"vssid": True}}},
    )
    visit, _ = record(
        world,
        family.household,
        base_version=0,
        answers={"residents": {family.child.public_id: {"vssid": False}}},
    )
    assert [conflict["item"] for conflict in visit.conflicts] == ["vssid"]
    places.resident_erase(resident=family.child, reason="Theo đơn", by=world.users["admin"])
    resolved = actions.visit_conflicts_resolve(
        visit=visit, apply=True, by=world.users["truongthon"]
    )
    assert resolved.conflicts_resolved_at is not None
    # The erased child no longer counts for the household.
    assert HouseholdStatus.objects.get(household=family.household).vssid_on is None


def test_a_visit_costs_a_fixed_number_of_queries_whatever_the_household_size(
    world, django_assert_max_num_queries
):
    small, large = sd.family(world), sd.family(world, head="Đinh Thị Lớn")
    for n in range(12):
        places.resident_create(
            household=large.household,
            full_name=f"Thành viên {n}",
            gender="male",
            by=world.users["admin"],
        )
    record(world, small.household)  # memberships cached on the user, like one request

    def everyone_says_yes(household):
        residents = household.residents.filter(erased_at__isnull=True)
        return {"residents": {r.public_id: {"smartphone": True, "vssid": False} for r in residents}}

    with django_assert_max_num_queries(20) as few:
        record(world, small.household, answers=everyone_says_yes(small.household))
    with django_assert_max_num_queries(len(few.captured_queries)):
        record(world, large.household, answers=everyone_says_yes(large.household))
    with django_assert_max_num_queries(len(few.captured_queries)):  # existing rows: an update
        record(world, large.household, answers=everyone_says_yes(large.household))


# --- Concurrency ------------------------------------------------------------------------------
THREADS = 8


def _at_once(work) -> tuple[list, list]:
    """Run `work(index)` in THREADS threads released together; (results, errors). On SQLite the
    in-memory test database refuses a second writer at once ("table is locked") instead of
    making it wait as a file database does: that attempt is rolled back and retried."""
    start = threading.Barrier(THREADS)
    results, errors = [None] * THREADS, []

    def run(index: int) -> None:
        try:
            start.wait()
            while True:
                try:
                    results[index] = work(index)
                    break
                except OperationalError as error:
                    if connection.vendor != "sqlite" or "locked" not in str(error):
                        raise
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_the_same_visit_sent_at_once_from_many_connections_is_stored_once(
    world_rebuilt_afterwards, transactional_db
):
    world = world_module.World.load()
    household = world.household("Nguyễn Văn An")
    resident = world.resident("Nguyễn Văn An")
    answers = {"residents": {resident.public_id: {"smartphone": True}}}
    results, errors = _at_once(
        lambda _index: record(world, household, key="raced-key-01", answers=answers)
    )
    assert errors == []
    assert len({visit.pk for visit, _created in results}) == 1
    assert sorted(created for _visit, created in results) == [False] * (THREADS - 1) + [True]
    assert Visit.objects.count() == 1
    assert HouseholdStatus.objects.get(household=household).version == 1


def test_visits_to_one_household_at_once_are_applied_one_after_another(
    world_rebuilt_afterwards, transactional_db
):
    world = world_module.World.load()
    household = world.household("Nguyễn Văn An")
    resident = world.resident("Nguyễn Văn An")
    results, errors = _at_once(
        lambda index: record(
            world,
            household,
            username=("tocns", "truongthon")[index % 2],
            answers={"residents": {resident.public_id: {"smartphone": True}}},
        )
    )
    assert errors == []
    versions = sorted(visit.household_version for visit, _created in results)
    assert versions == list(range(1, THREADS + 1))
    status = HouseholdStatus.objects.get(household=household)
    assert status.version == THREADS and status.smartphone_on == local_today()
    assert ResidentStatus.objects.get(resident=resident).smartphone_on == local_today()


def test_batches_over_the_same_households_in_opposite_orders_all_get_through(
    world_rebuilt_afterwards, transactional_db
):
    """Each batch holds its households' locks until it commits: taken in id order, two phones
    syncing the same households never deadlock."""
    world = world_module.World.load()
    houses = [world.household("Nguyễn Văn An"), world.household("Trần Thị Bình")]
    houses += sd.households(world, 2)

    def batch(index: int):
        order = houses if index % 2 else houses[::-1]
        visits = [
            {"household": house, "visited_on": local_today(), "notes": "", "answers": {},
             "idempotency_key": sd.new_key(), "follow_up_on": None, "base_version": None}
            for house in order
        ]  # fmt: skip
        member = world.users[("tocns", "truongthon")[index % 2]]
        return actions.visits_record(member=member, visits=visits)

    results, errors = _at_once(batch)
    assert errors == []
    assert all(created for outcomes in results for _visit, created in outcomes)
    assert Visit.objects.count() == THREADS * len(houses)
    versions = HouseholdStatus.objects.filter(household__in=houses).values_list(
        "version", flat=True
    )
    assert list(versions) == [THREADS] * len(houses)
