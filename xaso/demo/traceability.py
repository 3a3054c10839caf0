"""The demo commune's farm produce: three producers, their areas, diaries, products and lots,
and one stamp run activated on a lot, made through the traceability actions.

Dates count back from the day of loading, so the dashboard always shows a current season.
Loaded once: if the first producer exists, nothing is done.
"""

import datetime
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from xaso.places.models import Organisation, Place
from xaso.traceability import actions
from xaso.traceability.models import (
    Certification,
    CounterfeitReport,
    DiaryEntry,
    GrowingArea,
    Lot,
    Producer,
    Product,
    Scan,
    Stamp,
    StampActivation,
    StampRun,
)
from xaso.traceability.stamps import stamp_run_generate

DEMO_GTIN = "8931234567897"  # prefix 893 (GS1 Vietnam), valid check digit
DEMO_STAMPS = 130  # two 65-up sheets

PRODUCERS = [
    # organisation, kind, public name, public phone
    ("HTX Nông nghiệp Quảng Tân", "cooperative", "HTX Nông nghiệp Quảng Tân", "0203 3871 234"),
    ("HTX Dịch vụ Chè và Dược liệu Khe Vằn", "cooperative", "HTX Chè và Dược liệu Khe Vằn", ""),
    ("Hộ kinh doanh Nông sản Đức Thắng", "farm_household", "Nông sản Đức Thắng", ""),
]

# producer index, village index, code, name, crop, ha, days since planting
AREAS = [
    (0, 2, "VN-QN-06913-NA01", "Đồi na Khe Sâu", "Na dai", "4.2", 900),
    (0, 2, "VN-QN-06913-VA01", "Vườn vải Đồng Bông", "Vải thiều", "3.5", 1500),
    (1, 5, "VN-QN-06913-CH01", "Đồi chè Khe Vằn", "Chè xanh", "6.0", 2000),
    (1, 5, "VN-QN-06913-BK01", "Vườn ba kích Khe Vằn", "Ba kích tím", "1.8", 1100),
    (2, 3, "VN-QN-06913-RA01", "Ruộng rau Đức Thắng", "Rau cải", "0.6", 120),
]

# producer index, name, GTIN, OCOP points, shelf life days, unit
PRODUCTS = [
    (0, "Na dai Quảng Tân", DEMO_GTIN, 72, 7, "kg"),
    (0, "Vải thiều Quảng Tân", "", None, 5, "kg"),
    (1, "Chè xanh Khe Vằn", "", 78, 365, "hộp"),
    (1, "Ba kích tím Khe Vằn", "", 62, 730, "kg"),
    (2, "Rau cải sạch Đức Thắng", "", None, 3, "kg"),
]

# area index, product index, batch, harvest days ago (start, end), quantity
LOTS = [
    (0, 0, "NA-2026-01", (20, 19), "850"),
    (0, 0, "NA-2026-02", (8, 7), "620"),
    (1, 1, "VA-2026-01", (120, 116), "2400"),
    (2, 2, "CH-2026-07", (30, 28), "300"),
    (3, 3, "BK-2026-01", (60, 60), "180"),
    (4, 4, "RA-2026-11", (2, 2), "95"),
]


def _day(days_ago: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days_ago)


def traceability_demo_load(*, commune: Place, villages: list[Place], admin) -> dict:
    organisations = {
        o.name: o for o in Organisation.objects.filter(place__path__startswith=commune.path)
    }
    first = organisations[PRODUCERS[0][0]]
    if not Producer.objects.filter(organisation=first).exists():
        _load(commune, villages, organisations, admin)
    return _counts(commune)


def _load(commune, villages, organisations, admin) -> None:
    producers = [
        actions.producer_register(
            organisation=organisations[name],
            kind=kind,
            public_name=public_name,
            public_address=f"{organisations[name].place.name}, {commune.name}, Quảng Ninh",
            public_phone=phone,
            by=admin,
        )
        for name, kind, public_name, phone in PRODUCERS
    ]
    areas = [
        actions.area_create(
            producer=producers[p],
            village=villages[v],
            code=code,
            name=name,
            crop=crop,
            area_ha=ha,
            boundary=_square(index),
            planted_on=_day(planted),
            by=admin,
        )
        for index, (p, v, code, name, crop, ha, planted) in enumerate(AREAS)
    ]
    products = [
        actions.product_create(
            producer=producers[p],
            name=name,
            gtin=gtin,
            ocop_points=points,
            shelf_life_days=shelf,
            unit=unit,
            by=admin,
        )
        for p, name, gtin, points, shelf, unit in PRODUCTS
    ]
    _certify(producers, areas, admin)
    lots = []
    for area_index, product_index, batch, (start, end), quantity in LOTS:
        area = areas[area_index]
        _diary(area, harvest_days_ago=start, admin=admin)
        lots.append(
            actions.lot_create(
                product=products[product_index],
                area=area,
                batch=batch,
                harvest_start=_day(start),
                harvest_end=_day(end),
                quantity=Decimal(quantity),
                unit=products[product_index].unit,
                by=admin,
            )
        )
        _after_harvest(area, lots[-1], admin)
    _stamps(products[0], lots[1], admin)
    actions.lot_recall(
        lot=lots[2],
        reason="Phát hiện dư lượng thuốc BVTV vượt ngưỡng trong mẫu kiểm tra ngẫu nhiên.",
        by=admin,
    )


def _square(index: int) -> dict:
    """A small plot near Quảng Tân, one per area, so the maps show something plausible."""
    west, south, size = 107.02 + index * 0.004, 21.13 + index * 0.002, 0.0025
    ring = [[west, south], [west + size, south], [west + size, south + size], [west, south]]
    return {"type": "Polygon", "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring]]}


def _certify(producers, areas, admin) -> None:
    actions.certification_create(
        producer=producers[0],
        area=areas[0],
        scheme="vietgap",
        number="VietGAP-TT-24-08-22-0117",
        issuer="Trung tâm Chứng nhận Phù hợp (QUACERT)",
        valid_from=_day(700),
        valid_until=_day(-20),  # expires within the month: the dashboard warns
        by=admin,
    )
    actions.certification_create(
        producer=producers[1],
        area=areas[2],
        scheme="organic",
        number="HC-2025-0458",
        issuer="Trung tâm Kiểm nghiệm và Chứng nhận chất lượng TQC",
        valid_from=_day(300),
        valid_until=_day(-430),
        by=admin,
    )


def _diary(area: GrowingArea, *, harvest_days_ago: int, admin) -> None:
    """A season: fertilise, water, spray (safely before harvest), observe."""
    steps = [
        (harvest_days_ago + 90, "fertilising", "Bón phân chuồng hoai mục 2 tấn/ha", {}),
        (harvest_days_ago + 60, "irrigating", "Tưới nhỏ giọt", {}),
        (
            harvest_days_ago + 25,
            "spraying",
            "Phòng rệp sáp",
            {
                "pesticide": "Movento 150OD",
                "active_ingredient": "Spirotetramat",
                "dose": "10 ml/bình 16 lít",
                "pre_harvest_interval_days": 7,
            },
        ),
        (harvest_days_ago + 10, "observation", "Quả phát triển đều, không sâu bệnh", {}),
    ]
    for days_ago, kind, description, extra in steps:
        actions.diary_entry_create(
            area=area,
            kind=kind,
            occurred_on=_day(days_ago),
            description=description,
            by=admin,
            **extra,
        )


def _after_harvest(area: GrowingArea, lot: Lot, admin) -> None:
    """Packing, and an inspection the commune officer countersigns; the harvest too."""
    actions.diary_entry_create(
        area=area,
        kind="packing",
        occurred_on=lot.harvest_end,
        description="Đóng thùng carton 10 kg, dán tem truy xuất",
        by=admin,
    )
    inspection = actions.diary_entry_create(
        area=area,
        kind="inspection",
        occurred_on=lot.harvest_end,
        description="Cán bộ nông nghiệp xã kiểm tra nhật ký và lấy mẫu",
        by=admin,
    )
    actions.diary_entry_countersign(entry=inspection, by=admin)
    harvest = DiaryEntry.objects.get(pk=lot.harvest_id)
    actions.diary_entry_countersign(entry=harvest, by=admin)


def _stamps(product, lot: Lot, admin) -> None:
    """One run, generated here rather than by the worker, and activated on a lot."""
    run = StampRun.objects.create(
        producer=product.producer, product=product, count=DEMO_STAMPS, created_by=admin
    )
    stamp_run_generate(run, progress=lambda done, total: None)
    run.refresh_from_db()
    actions.stamp_run_activate(run=run, lot=lot, by=admin)


def traceability_demo_delete(commune: Place) -> None:
    """Remove the commune's traceability records, children first (foreign keys protect)."""
    producers = Producer.objects.filter(place__path__startswith=commune.path)
    runs = StampRun.objects.filter(producer__in=producers)
    lots = Lot.objects.filter(product__producer__in=producers)
    Scan.objects.filter(Q(stamp__run__in=runs) | Q(lot__in=lots)).delete()
    CounterfeitReport.objects.filter(producer__in=producers).delete()
    StampActivation.objects.filter(run__in=runs).delete()
    Stamp.objects.filter(run__in=runs).delete()
    runs.delete()
    lots.delete()
    DiaryEntry.objects.filter(area__producer__in=producers).delete()
    Certification.objects.filter(producer__in=producers).delete()
    Product.objects.filter(producer__in=producers).delete()
    GrowingArea.objects.filter(producer__in=producers).delete()
    producers.delete()


def _counts(commune: Place) -> dict:
    producers = Producer.objects.filter(place__path__startswith=commune.path)
    return {
        "producers": producers.count(),
        "areas": GrowingArea.objects.filter(producer__in=producers).count(),
        "lots": Lot.objects.filter(product__producer__in=producers).count(),
        "stamp_runs": StampRun.objects.filter(producer__in=producers).count(),
    }


def demo_stamp_codes(limit: int = 3) -> list[str]:
    """Plain codes of the demo run, read back from its print export (the only place they live)."""
    run = StampRun.objects.filter(product__gtin=DEMO_GTIN.zfill(14)).exclude(csv_file="").first()
    if run is None:
        return []
    path = Path(settings.MEDIA_ROOT) / run.csv_file
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        rows = [line.split(",")[1] for line in handle.readlines()[1 : limit + 1]]
    return rows
