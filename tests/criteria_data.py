"""Criteria sets for the criteria and admin-page tests: the catalogue of the province, with
Tân Hợp (A2) meeting the smart-village set and Đồng Tâm (A1) not (one adult in two has a
smartphone; no facts recorded). Figures are for PERIOD, fixed, so they never drift."""

import datetime
from collections.abc import Callable

from django.db import connection
from django.test.utils import CaptureQueriesContext

from xaso.indicators import catalogue
from xaso.indicators.models import CriteriaSet, Criterion, CriterionFact
from xaso.places import actions as places_actions
from xaso.safety.models import Camera
from xaso.survey.models import HouseholdStatus, ResidentStatus
from xaso.survey.tallies import tallies_rebuild

PERIOD = "2026-12"  # 15/11/2026 – 14/12/2026
VISITED = datetime.date(2026, 11, 3)


def _status(world, head_name: str, **items: datetime.date | None) -> None:
    household = world.household(head_name)
    common = {"village": household.village, "first_visited_on": VISITED}
    HouseholdStatus.objects.create(household=household, last_visited_on=VISITED, **common, **items)
    for resident in household.residents.all():
        ResidentStatus.objects.create(
            resident=resident, household=household, last_visited_on=VISITED, **common, **items
        )
    tallies_rebuild(villages=[household.village_id])  # rows written by hand, not by a visit


def build(world) -> tuple[CriteriaSet, CriteriaSet]:
    """The province's smart-village set and model-commune set, with data behind them."""
    counts = catalogue.catalogue_load(province=world.province, by=world.users["admin"])
    assert counts["indicators"] == 11 and counts["criteria_sets"] == 2
    _status(world, "Nguyễn Văn An")
    _status(world, "Trần Thị Bình", smartphone_on=VISITED, bank_or_wallet_on=VISITED)
    _status(world, "Lê Văn Cường", smartphone_on=VISITED, bank_or_wallet_on=VISITED)
    camera = Camera.objects.create(name="Ngã tư chợ", place=world.a2, is_black_spot=True)
    Camera.objects.filter(pk=camera.pk).update(
        created_at=datetime.datetime(2026, 10, 1, tzinfo=datetime.UTC)
    )
    village_set = CriteriaSet.objects.get(code=catalogue.smart_village_code(world.province))
    for criterion in village_set.criteria.filter(kind=Criterion.Kind.FACT):
        CriterionFact.objects.create(
            criterion=criterion,
            place=world.a2,
            met=True,
            evidence=f"Biên bản kiểm tra số 12/BB ({criterion.code})",
            recorded_by=world.users["lanhdao"],
        )
    commune_set = CriteriaSet.objects.get(code=catalogue.model_commune_code(world.province))
    return village_set, commune_set


def queries_with_more_villages(world, commune, run: Callable[[], object], *, more: int = 4):
    """How many queries `run` makes, before and after `more` villages are added to the commune
    (equal when nothing is queried village by village)."""

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            run()
        return len(captured)

    before = count()
    for number in range(more):
        places_actions.village_create(
            commune=commune, name=f"Thôn mới {number}", by=world.users["admin"]
        )
    return before, count()
