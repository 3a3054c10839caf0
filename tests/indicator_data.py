"""Indicators and surveyed households for the dashboard, report and period-close tests.

Periods are taken from today (the close day of the settings), so the "last" period has always
ended and the "current" one never has. In the last period the digital team surveyed every
household of the test world: in village A1 one adult of two has a smartphone, in A2 and B1
every adult has one. So commune A stands at 2/3 = 66,7 %, A1 at 50 %, A2 at 100 %, the province
at 3/4 = 75 %; each village had one visit (A1: two).
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings

from xaso.indicators.closing import local_today
from xaso.indicators.models import Indicator
from xaso.lib import periods
from xaso.survey.models import HouseholdStatus, ResidentStatus, Visit
from xaso.survey.tallies import tallies_rebuild


def current_period() -> periods.Period:
    return periods.containing(local_today(), close_day=settings.XASO_PERIOD_CLOSE_DAY)


def last_period() -> periods.Period:
    return periods.previous(current_period(), 2, close_day=settings.XASO_PERIOD_CLOSE_DAY)[0]


@dataclass
class Data:
    smartphone: Indicator
    visits: Indicator
    online: Indicator
    last: periods.Period
    current: periods.Period


def visit(world, head_name: str, day: datetime.date, *, key: str) -> Visit:
    household = world.household(head_name)
    return Visit.objects.create(
        household=household,
        village=household.village,
        member=world.users["tocns"],
        visited_on=day,
        idempotency_key=key,
        content_hash="0" * 64,
    )


def _surveyed(world, head_name: str, *, day: datetime.date, smartphone: bool) -> None:
    household = world.household(head_name)
    HouseholdStatus.objects.create(
        household=household,
        village=household.village,
        first_visited_on=day,
        last_visited_on=day,
        smartphone_on=day if smartphone else None,
    )
    ResidentStatus.objects.create(
        resident=household.residents.get(),
        household=household,
        village=household.village,
        first_visited_on=day,
        last_visited_on=day,
        smartphone_on=day if smartphone else None,
    )
    tallies_rebuild(villages=[household.village_id])  # rows written by hand, not by a visit


def survey_last_period(world) -> None:
    """Every household of the world surveyed and visited early in the last period."""
    day = last_period().start + datetime.timedelta(days=2)
    heads = [
        ("Nguyễn Văn An", False),
        ("Trần Thị Bình", True),
        ("Lê Văn Cường", True),
        ("Phạm Thị Dung", True),
    ]
    for number, (head, has_phone) in enumerate(heads):
        _surveyed(world, head, day=day, smartphone=has_phone)
        visit(world, head, day, key=f"seed-{number}")


def build(world) -> Data:
    smartphone = Indicator.objects.create(
        code="smartphone",
        name="Người lớn có điện thoại thông minh",
        method=Indicator.Method.RATIO,
        numerator={"source": "residents_surveyed", "filter": {"adult": True, "has": "smartphone"}},
        denominator={"source": "residents_surveyed", "filter": {"adult": True}},
        targets={"village": 90, "commune": 60},
        position=1,
    )
    visits = Indicator.objects.create(
        code="visits",
        name="Lượt thăm hộ của tổ CNS",
        unit="lượt",
        method=Indicator.Method.COUNT,
        numerator={"source": "visits"},
        position=2,
    )
    online = Indicator.objects.create(
        code="online-dossiers",
        name="Hồ sơ trực tuyến",
        method=Indicator.Method.RATIO,
        numerator={"source": "dossiers", "filter": {"channel": "online"}},
        denominator={"source": "dossiers"},
        targets={"commune": 60, "province": 95},
        position=3,
    )
    survey_last_period(world)
    world.a1.latitude, world.a1.longitude = Decimal("21.0501"), Decimal("107.1702")
    world.a1.save(update_fields=["latitude", "longitude"])
    return Data(
        smartphone=smartphone,
        visits=visits,
        online=online,
        last=last_period(),
        current=current_period(),
    )
