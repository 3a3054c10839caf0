"""The demo commune's community digital team: six months of household visits.

Visits go through `survey.actions.visit_record`, like a phone's, so the status tables and the
indicators come out of them exactly as they would in real use. Villages differ in how far along
they are, so that the dashboard's ranking and the smart-village verdicts have something to show.
"""

import datetime
import random

from xaso.accounts.models import User
from xaso.places.models import Household, Place
from xaso.survey import actions
from xaso.survey.actions import local_today
from xaso.survey.checklist import ADULT_AGE, RESIDENT_ITEMS
from xaso.survey.models import HouseholdStatus, ResidentStatus, StatusTally, Visit

SEED = 2026
# Village halls, for the dashboard's map (near the demo cameras of Quảng Tân).
VILLAGE_POINTS = [
    ("21.031200", "106.640900"),
    ("21.036100", "106.636800"),
    ("21.024300", "106.633100"),
    ("21.027900", "106.650600"),
    ("21.028100", "106.645200"),
    ("21.021700", "106.647000"),
    ("21.033800", "106.652100"),
    ("21.019500", "106.639400"),
]
# How far each village's residents have come: the chance of a yes for a person item.
VILLAGE_ADOPTION = [0.93, 0.88, 0.7, 0.62, 0.8, 0.55, 0.75, 0.66]
VISITED_SHARE = 0.7  # of households, over the six months
MONTHS = 6


def survey_demo_load(*, commune: Place, villages: list[Place], admin: User) -> dict[str, int]:
    for village, (latitude, longitude) in zip(villages, VILLAGE_POINTS, strict=False):
        if village.latitude is None:
            village.latitude, village.longitude = latitude, longitude
            village.save(update_fields=["latitude", "longitude"])
    if not Visit.objects.filter(village__parent=commune).exists():
        _visits(villages, admin)
    return {
        "visits": Visit.objects.filter(village__parent=commune).count(),
        "households": HouseholdStatus.objects.filter(village__parent=commune).count(),
    }


def survey_demo_delete(commune: Place) -> None:
    ResidentStatus.objects.filter(village__parent=commune).delete()
    HouseholdStatus.objects.filter(village__parent=commune).delete()
    StatusTally.objects.filter(village__parent=commune).delete()
    Visit.objects.filter(village__parent=commune).delete()


def _visits(villages: list[Place], admin: User) -> None:
    today = local_today()
    team_member = User.objects.filter(username="tocns").first() or admin
    for index, village in enumerate(villages):
        member = team_member if index == 0 else admin
        adoption = VILLAGE_ADOPTION[index % len(VILLAGE_ADOPTION)]
        households = Household.objects.filter(village=village).order_by("id")
        for position, household in enumerate(households.prefetch_related("residents")):
            # One generator per household: which households are visited, and how often, does
            # not depend on how many of their members are adults today.
            rng = random.Random(f"{SEED}-{index}-{position}")
            if rng.random() > VISITED_SHARE:
                continue
            first_day = today - datetime.timedelta(days=rng.randint(30, 30 * MONTHS))
            second_day = first_day + datetime.timedelta(days=rng.randint(7, 28))
            visited_twice = rng.random() < 0.4  # the team came back: more yes answers
            _visit(household, member, first_day, rng, adoption * 0.8, follow_up=True)
            if visited_twice:
                _visit(household, member, second_day, rng, adoption, follow_up=False)


def _visit(household, member, day, rng, chance: float, *, follow_up: bool) -> None:
    residents = {}
    for resident in household.residents.all():
        if resident.erased_at is not None or not _adult(resident.birth_date, day):
            continue
        items = {item: rng.random() < chance for item in RESIDENT_ITEMS}
        items["helped"] = [item for item, held in items.items() if held and rng.random() < 0.2]
        residents[resident.public_id] = items
    actions.visit_record(
        member=member,
        household=household,
        visited_on=day,
        notes="Hướng dẫn cài VNeID và thanh toán tiền điện qua ứng dụng ngân hàng.",
        answers={
            "household": {"fibre_broadband": rng.random() < chance + 0.05},
            "residents": residents,
        },
        idempotency_key=f"demo-{household.public_id}-{day.isoformat()}",
        follow_up_on=day + datetime.timedelta(days=21) if follow_up else None,
    )


def _adult(birth_date: datetime.date | None, day: datetime.date) -> bool:
    if birth_date is None:
        return True
    years = day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))
    return years >= ADULT_AGE
