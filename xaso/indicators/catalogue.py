"""The default indicators and criteria sets, as data an administrator then edits.

They follow ../shared/DOMAIN.md ("New-rural programme and smart villages"): the indicators the
source articles name, a province's smart-village criteria as provinces commonly set them, and
the model-commune criteria of Decision 319/QĐ-TTg (8/3/2022). The DOMAIN notes say "verify":
each province issues its own criteria and thresholds, so everything here is a starting point
that the administrator's pages (and the JSON import) change, not a rule written in code.

`catalogue_load` creates what is missing and leaves what exists as the administrator left it
(`overwrite=True` puts the defaults back), so loading it twice changes nothing.
"""

from django.db import transaction

from xaso.indicators import actions
from xaso.indicators.models import CriteriaSet, Criterion, Indicator
from xaso.places.models import Place

ADULT = {"adult": True}

INDICATORS: list[dict] = [
    {
        "code": "nguoi-lon-co-smartphone",
        "name": "Người từ 15 tuổi trở lên có điện thoại thông minh",
        "method": "ratio",
        "numerator": {"source": "residents_surveyed", "filter": ADULT | {"has": "smartphone"}},
        "denominator": {"source": "residents_surveyed", "filter": ADULT},
        "targets": {"village": 90, "commune": 90},
        "source_note": "Phiếu khảo sát hộ của tổ công nghệ số cộng đồng",
        "description": "Trên số người từ 15 tuổi trở lên đã được tổ CNS khảo sát.",
    },
    {
        "code": "ho-thanh-toan-dien-nuoc-khong-tien-mat",
        "name": "Hộ trả tiền điện, nước không dùng tiền mặt",
        "method": "ratio",
        "numerator": {"source": "households_surveyed", "filter": {"has": "cashless_utilities"}},
        "denominator": {"source": "households_surveyed"},
        "source_note": "Phiếu khảo sát hộ của tổ công nghệ số cộng đồng",
        "description": "Hộ có ít nhất một thành viên trả tiền điện hoặc nước qua ngân hàng, "
        "ví điện tử; trên số hộ đã được khảo sát.",
    },
    {
        "code": "ho-co-tai-khoan-thanh-toan",
        "name": "Hộ có tài khoản ngân hàng hoặc ví điện tử",
        "method": "ratio",
        "numerator": {"source": "households_surveyed", "filter": {"has": "bank_or_wallet"}},
        "denominator": {"source": "households_surveyed"},
        "targets": {"village": 90, "commune": 90},
        "source_note": "Phiếu khảo sát hộ của tổ công nghệ số cộng đồng",
        "description": "Hộ có ít nhất một thành viên có tài khoản thanh toán điện tử.",
    },
    {
        "code": "nguoi-lon-vneid-muc-2",
        "name": "Người từ 15 tuổi trở lên đã kích hoạt VNeID mức 2",
        "method": "ratio",
        "numerator": {"source": "residents_surveyed", "filter": ADULT | {"has": "vneid_level2"}},
        "denominator": {"source": "residents_surveyed", "filter": ADULT},
        "source_note": "Phiếu khảo sát hộ của tổ công nghệ số cộng đồng",
    },
    {
        "code": "ho-so-truc-tuyen",
        "name": "Hồ sơ thủ tục hành chính tiếp nhận trực tuyến",
        "method": "ratio",
        "numerator": {"source": "dossiers", "filter": {"channel": "online"}},
        "denominator": {"source": "dossiers"},
        "targets": {"commune": 60, "province": 95},
        "source_note": "Hồ sơ tiếp nhận tại bộ phận một cửa của xã",
        "description": "Trên tổng số hồ sơ tiếp nhận trong kỳ (mọi kênh).",
    },
    {
        "code": "ho-so-dung-han",
        "name": "Hồ sơ giải quyết đúng hạn và trước hạn",
        "method": "ratio",
        "numerator": {"source": "dossiers", "filter": {"in_time": True}},
        "denominator": {"source": "dossiers", "filter": {"finished": True}},
        "source_note": "Hồ sơ tiếp nhận tại bộ phận một cửa của xã",
        "description": "Trên số hồ sơ tiếp nhận trong kỳ đã có kết quả.",
    },
    {
        "code": "ho-co-cap-quang",
        "name": "Hộ có Internet cáp quang tại nhà",
        "method": "ratio",
        "numerator": {"source": "households_surveyed", "filter": {"has": "fibre_broadband"}},
        "denominator": {"source": "households_surveyed"},
        "source_note": "Phiếu khảo sát hộ của tổ công nghệ số cộng đồng",
    },
    {
        "code": "ho-da-duoc-khao-sat",
        "name": "Hộ đã được tổ công nghệ số đến khảo sát",
        "method": "ratio",
        "numerator": {"source": "households_surveyed"},
        "denominator": {"source": "households"},
        "targets": {"village": 100, "commune": 100, "province": 100},
        "source_note": "Sổ hộ của xã và phiếu khảo sát của tổ CNS",
        "description": "Độ phủ của khảo sát: hộ đã được thăm ít nhất một lần trên tổng số hộ.",
    },
    {
        "code": "camera-diem-den",
        "name": "Camera an ninh tại điểm đen, ngã ba, ngã tư",
        "unit": "camera",
        "method": "count",
        "numerator": {"source": "cameras", "filter": {"black_spot": True, "active": True}},
        "source_note": "Danh sách camera của công an xã",
        # Where cameras watch is not published: counts by village would map the gaps.
        "published": False,
    },
    {
        "code": "luot-tham-ho",
        "name": "Lượt thăm hộ của tổ công nghệ số trong kỳ",
        "unit": "lượt",
        "method": "count",
        "numerator": {"source": "visits"},
        "source_note": "Phiếu khảo sát hộ của tổ công nghệ số cộng đồng",
    },
    {
        "code": "thue-bao-bang-rong-co-dinh",
        "name": "Thuê bao Internet băng rộng cố định",
        "unit": "thuê bao",
        "method": "manual",
        "source_note": "Số liệu doanh nghiệp viễn thông (VNPT, Viettel, FPT…) báo cáo hằng tháng",
        "description": "Nhập tay theo báo cáo của doanh nghiệp viễn thông, ghi rõ nguồn.",
        "published": False,
    },
]
for _position, _row in enumerate(INDICATORS, start=1):
    _row.setdefault("position", _position * 10)
    # Aggregates counted from our own records are open data; a telecom's figures are theirs.
    _row.setdefault("published", _row["method"] != "manual")


def smart_village_code(province: Place) -> str:
    return f"thon-thong-minh-{province.code}"


def model_commune_code(province: Place) -> str:
    return f"xa-kieu-mau-{province.code}"


def criteria_sets(province: Place) -> list[dict]:
    """The two default sets of a province, each with its criteria (an indicator by code, a
    child set by code)."""
    village_set = smart_village_code(province)
    return [
        {
            "code": village_set,
            "name": f"Thôn thông minh — {province.name}",
            "place_kind": Place.Kind.VILLAGE,
            "legal_basis": "Bộ tiêu chí thôn thông minh do UBND tỉnh ban hành "
            "(mẫu; cần đối chiếu quyết định của tỉnh)",
            "criteria": [
                {
                    "code": "to-cns",
                    "name": "Có tổ công nghệ số cộng đồng hoạt động thường xuyên",
                    "kind": Criterion.Kind.FACT,
                },
                {
                    "code": "kenh-mxh",
                    "name": "Có ít nhất một kênh mạng xã hội (nhóm Zalo, trang Facebook) "
                    "để thông tin cho người dân",
                    "kind": Criterion.Kind.FACT,
                },
                {
                    "code": "wifi",
                    "name": "Có Wi-Fi miễn phí tại nhà văn hoá thôn",
                    "kind": Criterion.Kind.FACT,
                },
                {
                    "code": "smartphone",
                    "name": "Từ 90 % người từ 15 tuổi trở lên có điện thoại thông minh",
                    "kind": Criterion.Kind.INDICATOR,
                    "indicator": "nguoi-lon-co-smartphone",
                    "threshold": 90,
                },
                {
                    "code": "thanh-toan",
                    "name": "Từ 90 % hộ có tài khoản thanh toán điện tử",
                    "kind": Criterion.Kind.INDICATOR,
                    "indicator": "ho-co-tai-khoan-thanh-toan",
                    "threshold": 90,
                },
                {
                    "code": "camera",
                    "name": "Có camera an ninh tại ngã ba, ngã tư chính",
                    "kind": Criterion.Kind.INDICATOR,
                    "indicator": "camera-diem-den",
                    "threshold": 1,
                },
                {
                    "code": "dia-chi-so",
                    "name": "100 % hộ có địa chỉ số",
                    "kind": Criterion.Kind.FACT,
                },
            ],
        },
        {
            "code": model_commune_code(province),
            "name": f"Xã nông thôn mới kiểu mẫu: chuyển đổi số — {province.name}",
            "place_kind": Place.Kind.COMMUNE,
            "legal_basis": "Quyết định 319/QĐ-TTg ngày 08/3/2022 (mẫu; cần đối chiếu hướng dẫn "
            "của tỉnh)",
            "criteria": [
                {
                    "code": "thon-thong-minh",
                    "name": "Có ít nhất một thôn thông minh",
                    "kind": Criterion.Kind.CHILDREN,
                    "child_set": village_set,
                    "threshold": 1,
                },
                {
                    "code": "ho-so-truc-tuyen",
                    "name": "Từ 60 % hồ sơ thủ tục hành chính tiếp nhận trực tuyến",
                    "kind": Criterion.Kind.INDICATOR,
                    "indicator": "ho-so-truc-tuyen",
                    "threshold": 60,
                },
                {
                    "code": "ho-so-dung-han",
                    "name": "Từ 95 % hồ sơ giải quyết đúng hạn",
                    "kind": Criterion.Kind.INDICATOR,
                    "indicator": "ho-so-dung-han",
                    "threshold": 95,
                },
                {
                    "code": "trang-thong-tin",
                    "name": "Xã có trang thông tin điện tử cập nhật thường xuyên",
                    "kind": Criterion.Kind.FACT,
                },
            ],
        },
    ]


@transaction.atomic
def catalogue_load(*, province: Place, by, overwrite: bool = False) -> dict[str, int]:
    """Create the default indicators and the province's two criteria sets where missing.

    Returns how many the catalogue holds and how many rows this call created.
    """
    created = 0
    indicators = {indicator.code: indicator for indicator in Indicator.objects.all()}
    for row in INDICATORS:
        existing = indicators.get(row["code"])
        if existing is None or overwrite:
            indicators[row["code"]] = actions.indicator_save(values=row, by=by, indicator=existing)
            created += existing is None
    sets = criteria_sets(province)
    saved_sets: dict[str, CriteriaSet] = {}
    for definition in sets:
        existing = CriteriaSet.objects.filter(code=definition["code"]).first()
        if existing is not None and not overwrite:
            saved_sets[existing.code] = existing
            continue
        criteria_set = actions.criteria_set_save(
            values=definition | {"province": province}, by=by, criteria_set=existing
        )
        saved_sets[criteria_set.code] = criteria_set
        created += existing is None
        for position, row in enumerate(definition["criteria"], start=1):
            values = row | {
                "position": position * 10,
                "indicator": indicators.get(row.get("indicator", "")),
                "child_set": saved_sets.get(row.get("child_set", "")),
            }
            criterion = criteria_set.criteria.filter(code=row["code"]).first()
            actions.criterion_save(
                criteria_set=criteria_set, values=values, by=by, criterion=criterion
            )
            created += criterion is None
    return {"indicators": len(INDICATORS), "criteria_sets": len(sets), "created": created}
