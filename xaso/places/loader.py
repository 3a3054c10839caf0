"""Load the official tree of provinces and communes from the `vietnam-provinces` package."""

from collections.abc import Callable

from django.db import transaction
from vietnam_provinces import Province, Ward

from xaso.places.models import Place


def province_code(number: int) -> str:
    return f"{int(number):02d}"


def commune_code(number: int) -> str:
    return f"{int(number):05d}"


def official_places_load(progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Create or update the 34 provinces and 3,321 communes. Safe to run again.

    One transaction per province, so a job's progress is visible while it loads and an
    interrupted load resumes where it stopped. Communes merged into a successor keep their place
    in the tree: the official list knows nothing of local merges.
    """
    provinces = list(Province.iter_all())
    existing = {
        place.code: place
        for place in Place.objects.filter(kind__in=[Place.Kind.PROVINCE, Place.Kind.COMMUNE])
    }
    totals = {"created": 0, "updated": 0, "provinces": len(provinces), "communes": 0}
    for done, source in enumerate(provinces, start=1):
        with transaction.atomic():
            created, updated, communes = _load_province(source, existing)
        totals["created"] += created
        totals["updated"] += updated
        totals["communes"] += communes
        if progress:
            progress(done, len(provinces))
    return totals


def _load_province(source: Province, existing: dict[str, Place]) -> tuple[int, int, int]:
    """Upsert one province and its communes; return (created, updated, communes)."""
    province, created, updated = _upsert(
        existing,
        code=province_code(source.code),
        name=source.name,
        kind=Place.Kind.PROVINCE,
        division_type=source.division_type.value,
        parent=None,
    )
    wards = list(Ward.iter_by_province(source.code))
    new_communes = []
    for ward in wards:
        code = commune_code(ward.code)
        fields = dict(
            name=ward.name, kind=Place.Kind.COMMUNE, division_type=ward.division_type.value
        )
        place = existing.get(code)
        if place is None:
            new_communes.append(
                Place(code=code, parent=province, path=f"{province.path}{code}/", **fields)
            )
        elif _apply(place, fields):
            place.save(update_fields=list(fields))
            updated += 1
    Place.objects.bulk_create(new_communes, batch_size=1000)
    return created + len(new_communes), updated, len(wards)


def _upsert(existing, *, code, parent, **fields):
    place = existing.get(code)
    if place is None:
        path = f"{parent.path if parent else '/'}{code}/"
        place = Place.objects.create(code=code, parent=parent, path=path, **fields)
        return place, 1, 0
    if _apply(place, fields):
        place.save(update_fields=list(fields))
        return place, 0, 1
    return place, 0, 0


def _apply(place: Place, fields: dict) -> bool:
    changed = False
    for name, value in fields.items():
        if getattr(place, name) != value:
            setattr(place, name, value)
            changed = True
    return changed
