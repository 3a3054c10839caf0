"""Traceability records for tests, made through the actions: two producers in commune A (the
cooperative the `htx` persona represents, and a household business), one in commune B."""

import csv
import datetime
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from xaso.places import actions as places_actions
from xaso.places.models import Organisation
from xaso.traceability import actions
from xaso.traceability.models import GrowingArea, Lot, Producer, Product

GTIN = "8931234567897"  # valid check digit, prefix 893
SQUARE = {
    "type": "Polygon",
    "coordinates": [[[106.75, 21.05], [106.76, 21.05], [106.76, 21.06], [106.75, 21.05]]],
}


@dataclass
class Trace:
    producer_a: Producer
    producer_a2: Producer
    producer_b: Producer
    area_a: GrowingArea
    area_a2: GrowingArea
    area_b: GrowingArea
    product_a: Product
    product_a2: Product
    product_b: Product
    lot_a: Lot
    lot_b: Lot
    today: datetime.date


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


def build(world) -> Trace:
    admin = world.users["admin"]
    household_business = places_actions.organisation_create(
        place=world.a2, name="Hộ kinh doanh Na Tân Hợp", kind="household_business", by=admin
    )

    def producer(organisation: Organisation, name: str) -> Producer:
        return actions.producer_register(
            organisation=organisation,
            kind="cooperative",
            public_name=name,
            public_address=f"{organisation.place.name}, Quảng Ninh",
            by=admin,
        )

    producer_a = producer(world.organisation("HTX Nông nghiệp Quảng Tân"), "HTX Quảng Tân")
    producer_a2 = producer(household_business, "Na Tân Hợp")
    producer_b = producer(world.organisation("HTX Bên Kia"), "HTX Bên Kia")

    def area(owner, village, code):
        return actions.area_create(
            producer=owner,
            village=village,
            code=code,
            name=f"Vùng {code}",
            crop="Na dai",
            area_ha="2.5",
            boundary=SQUARE,
            planted_on=days_ago(400),
            by=admin,
        )

    area_a = area(producer_a, world.a1, "VN-QN-A-001")
    area_a2 = area(producer_a2, world.a2, "VN-QN-A-002")
    area_b = area(producer_b, world.b1, "VN-QN-B-001")
    product_a = actions.product_create(
        producer=producer_a,
        name="Na dai Quảng Tân",
        gtin=GTIN,
        ocop_points=75,
        shelf_life_days=7,
        by=admin,
    )
    product_a2 = actions.product_create(producer=producer_a2, name="Na bở Tân Hợp", by=admin)
    product_b = actions.product_create(producer=producer_b, name="Vải Bên Kia", by=admin)
    actions.diary_entry_create(
        area=area_a,
        kind="spraying",
        occurred_on=days_ago(30),
        pesticide="Regent 800WG",
        active_ingredient="Fipronil",
        dose="1 g/bình 16 l",
        pre_harvest_interval_days=14,
        by=admin,
    )
    lot_a = actions.lot_create(
        product=product_a,
        area=area_a,
        harvest_start=days_ago(10),
        harvest_end=days_ago(9),
        quantity=Decimal("120"),
        unit="kg",
        batch="NA2026A",
        by=admin,
    )
    lot_b = actions.lot_create(
        product=product_b, area=area_b, harvest_start=days_ago(5), quantity="50", by=admin
    )
    return Trace(
        producer_a,
        producer_a2,
        producer_b,
        area_a,
        area_a2,
        area_b,
        product_a,
        product_a2,
        product_b,
        lot_a,
        lot_b,
        timezone.localdate(),
    )


def printed_codes(run) -> list[str]:
    """A stamp run's plain codes, from its one-time CSV export (the only place they exist)."""
    with (Path(settings.MEDIA_ROOT) / run.csv_file).open(encoding="utf-8") as handle:
        return [row["code"] for row in csv.DictReader(handle)]
