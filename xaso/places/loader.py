"""Load the official tree of provinces and communes from the `vietnam-provinces` package."""

from collections.abc import Callable

from django.db import transaction
from vietnam_provinces import Province, Ward

from xaso.places.models import Place


def province_code(number: int) -> str:
    return f"{int(number):02d}"


def commune_code(number: int) -> str:
    return f"{int(number):05d}"


@transaction.atomic
def official_places_load(progress: Callable[[int, int], None] | None = None) -> dict[str, int]:
    """Create or update the 34 provinces and 3,321 communes. Safe to run again.

    Communes already merged into a successor keep their place in the tree: the official list
    knows nothing of local merges.
    """
    provinces = list(Province.iter_all())
    wards = list(Ward.iter_all())
    existing = {
        place.code: place
        for place in Place.objects.filter(kind__in=[Place.Kind.PROVINCE, Place.Kind.COMMUNE])
    }
    created = updated = 0
    total = len(provinces) + len(wards)

    province_places = {}
    for source in provinces:
        code = province_code(source.code)
        place, was_created, was_changed = _upsert(
            existing,
            code=code,
            name=source.name,
            kind=Place.Kind.PROVINCE,
            division_type=source.division_type.value,
            parent=None,
        )
        province_places[int(source.code)] = place
        created += was_created
        updated += was_changed

    new_communes = []
    for index, source in enumerate(wards, start=1):
        parent = province_places[int(source.province_code)]
        code = commune_code(source.code)
        fields = dict(
            name=source.name, kind=Place.Kind.COMMUNE, division_type=source.division_type.value
        )
        place = existing.get(code)
        if place is None:
            new_communes.append(
                Place(code=code, parent=parent, path=f"{parent.path}{code}/", **fields)
            )
        elif _apply(place, fields):
            place.save(update_fields=list(fields))
            updated += 1
        if progress and index % 500 == 0:
            progress(len(provinces) + index, total)
    Place.objects.bulk_create(new_communes, batch_size=1000)
    created += len(new_communes)
    return {
        "created": created,
        "updated": updated,
        "provinces": len(provinces),
        "communes": len(wards),
    }


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
