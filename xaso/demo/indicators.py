"""The demo province's indicators and criteria sets, and the facts its villages have shown.

The catalogue (xaso/indicators/catalogue.py) is loaded for Quảng Ninh. The demo commune has
recorded the yes/no criteria of a few villages, with their evidence, so that the assessment
pages show every kind of verdict: the first village has every fact (whether it is a smart
village then depends on its survey figures and cameras), the second lacks free Wi-Fi, the
third has only its digital team, the others have recorded nothing yet. The commune's telecom
figures for the last three periods are entered by hand, with their source, and the leader has
closed last month's period.
Loaded once: facts and values are added only if the commune has none.
"""

from django.conf import settings
from django.utils import timezone

from xaso.accounts.models import User
from xaso.indicators import actions
from xaso.indicators.catalogue import catalogue_load, model_commune_code, smart_village_code
from xaso.indicators.closing import demo_periods_close
from xaso.indicators.models import (
    CriteriaSet,
    CriterionFact,
    Indicator,
    ManualValue,
    PeriodClose,
)
from xaso.lib import periods
from xaso.places.models import Place

BROADBAND = "thue-bao-bang-rong-co-dinh"
# village index → {criterion code: (met, evidence)}
VILLAGE_FACTS = {
    0: {
        "to-cns": (True, "Quyết định thành lập tổ CNS số 15/QĐ-UBND; sổ sinh hoạt tháng"),
        "kenh-mxh": (True, "Nhóm Zalo “Thôn Đồng Tâm” (312 thành viên)"),
        "wifi": (True, "Ảnh chụp bộ phát Wi-Fi tại nhà văn hoá thôn, lắp 03/2026"),
        "dia-chi-so": (True, "Biên bản gắn biển địa chỉ số cho toàn bộ hộ, 08/2026"),
    },
    1: {
        "to-cns": (True, "Quyết định thành lập tổ CNS số 16/QĐ-UBND"),
        "kenh-mxh": (True, "Trang Facebook “Thôn Tân Hợp”"),
        "wifi": (False, "Chưa lắp đặt; dự kiến quý I/2027"),
    },
    2: {
        "to-cns": (True, "Quyết định thành lập tổ CNS số 17/QĐ-UBND"),
    },
}
COMMUNE_FACTS = {
    "trang-thong-tin": (True, "Trang thông tin điện tử của xã, cập nhật hằng tuần"),
}
# Subscriptions the telecom reported for the commune in the last three periods, oldest first.
BROADBAND_FIGURES = [1184, 1203, 1231]
BROADBAND_SOURCE = "Báo cáo của VNPT Quảng Ninh gửi UBND xã"


def indicators_demo_load(
    *, province: Place, commune: Place, villages: list[Place], admin
) -> dict[str, int]:
    catalogue_load(province=province, by=admin)
    village_set = CriteriaSet.objects.get(code=smart_village_code(province))
    commune_set = CriteriaSet.objects.get(code=model_commune_code(province))
    if not CriterionFact.objects.filter(place__path__startswith=commune.path).exists():
        for index, facts in VILLAGE_FACTS.items():
            _facts(village_set, villages[index % len(villages)], facts, admin)
        _facts(commune_set, commune, COMMUNE_FACTS, admin)
    broadband = Indicator.objects.filter(code=BROADBAND).first()
    if broadband and not ManualValue.objects.filter(indicator=broadband, place=commune).exists():
        _broadband(broadband, commune, admin)
    # The leader has signed off last month, so the dashboard shows a closed period beside the
    # live one.
    leader = User.objects.filter(username="lanhdao").first() or admin
    demo_periods_close(commune=commune, by=leader)
    return {
        "indicators": Indicator.objects.count(),
        "criteria_sets": CriteriaSet.objects.filter(province=province).count(),
    }


def indicators_demo_delete(commune: Place) -> None:
    """The commune's facts, typed-in values and closed periods; the catalogue is the
    province's, it stays."""
    PeriodClose.objects.filter(place__path__startswith=commune.path).delete()
    CriterionFact.objects.filter(place__path__startswith=commune.path).delete()
    ManualValue.objects.filter(place__path__startswith=commune.path).delete()


def _facts(criteria_set: CriteriaSet, place: Place, facts: dict, admin) -> None:
    criteria = {criterion.code: criterion for criterion in criteria_set.criteria.all()}
    for code, (met, evidence) in facts.items():
        if code in criteria:
            actions.criterion_fact_record(
                criterion=criteria[code], place=place, met=met, evidence=evidence, by=admin
            )


def _broadband(indicator: Indicator, commune: Place, admin) -> None:
    close_day = settings.XASO_PERIOD_CLOSE_DAY
    current = periods.containing(timezone.localdate(), close_day=close_day)
    recent = periods.previous(current, len(BROADBAND_FIGURES), close_day=close_day)
    for period, figure in zip(recent, BROADBAND_FIGURES, strict=True):
        if actions.period_closed(commune, period):
            continue
        actions.manual_value_enter(
            indicator=indicator,
            place=commune,
            period=period,
            values={"value": figure, "source": BROADBAND_SOURCE},
            by=admin,
        )
