"""Households to visit and visits to send, for the survey tests.

`family(world)` adds a household of village A1 with an adult, a child, a resident of unknown
birth date and an erased resident, through the places actions. `body(...)` is a visit as a
phone sends it; `post_visit(api, body, key)` sends it with its Idempotency-Key header.
"""

import datetime
import json
from dataclasses import dataclass

from xaso.lib.ids import new_public_id
from xaso.places import actions as places
from xaso.places.models import Household, Resident
from xaso.survey.actions import local_today


@dataclass
class Family:
    household: Household
    adult: Resident
    child: Resident
    unknown_age: Resident
    erased: Resident


def years_ago(years: int, *, days: int = 0) -> datetime.date:
    today = local_today()
    return today.replace(year=today.year - years) - datetime.timedelta(days=days)


def family(world, *, village=None, head: str = "Hoàng Văn Em") -> Family:
    admin = world.users["admin"]
    household = places.household_create(
        village=village or world.a1, head_name=head, address="Xóm 2", code="", by=admin
    )

    def resident(name: str, birth_date) -> Resident:
        return places.resident_create(
            household=household, full_name=name, gender="female", birth_date=birth_date, by=admin
        )

    adult = resident(head, datetime.date(1980, 3, 1))
    child = resident(f"{head} con", years_ago(10))
    unknown_age = resident(f"{head} bà", None)
    erased = resident(f"{head} cũ", datetime.date(1990, 1, 1))
    places.resident_erase(resident=erased, reason="Theo đơn yêu cầu", by=admin)
    erased.refresh_from_db()
    household.refresh_from_db()
    return Family(household, adult, child, unknown_age, erased)


def households(world, count: int, *, village=None) -> list[Household]:
    """`count` more households of a village, each with one adult resident."""
    made = []
    for n in range(count):
        household = places.household_create(
            village=village or world.a1, head_name=f"Hộ số {n}", by=world.users["admin"]
        )
        places.resident_create(
            household=household,
            full_name=f"Người số {n}",
            gender="male",
            birth_date=datetime.date(1970, 1, 1),
            by=world.users["admin"],
        )
        made.append(household)
    return made


def new_key() -> str:
    return f"phone-{new_public_id(16)}"


def body(household, *, visited_on=None, answers=None, **extra) -> dict:
    return {
        "household": household.public_id,
        "visited_on": (visited_on or local_today()).isoformat(),
        "notes": "Đã hướng dẫn cài VNeID",
        "answers": answers if answers is not None else {},
        **extra,
    }


def post_visit(api, payload: dict, key: str | None):
    headers = dict(api.headers)
    if key is not None:
        headers["Idempotency-Key"] = key
    return api.client.post(
        "/api/v1/survey/visits",
        json.dumps(payload, default=str),
        content_type="application/json",
        headers=headers,
    )
