"""Every write to places and people: one transaction, one audit row each."""

import datetime

from django.db import transaction
from django.db.models import Value
from django.db.models.functions import Concat, Substr
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from xaso.core import audit, jobs
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.models import AuditEntry
from xaso.core.records import save_unique
from xaso.lib.text import search_key
from xaso.lib.vn import normalize_cccd, normalize_phone
from xaso.places import personal_data
from xaso.places.models import Consent, Household, Organisation, Place, Resident
from xaso.places.tasks import households_export_job, places_load_job

VILLAGE_DIVISION_TYPES = ("thôn", "ấp", "bản", "tổ dân phố", "khu phố", "buôn", "sóc", "làng")


# --- The place tree -----------------------------------------------------------------------------
@transaction.atomic
def village_create(*, commune: Place, name: str, division_type: str = "thôn", by) -> Place:
    name = " ".join((name or "").split())
    if commune.kind != Place.Kind.COMMUNE:
        raise InvalidInput(
            _("Thôn chỉ được tạo dưới một xã, phường hoặc đặc khu."), field="commune"
        )
    if not name:
        raise InvalidInput(_("Vui lòng nhập tên thôn."), field="name")
    if division_type not in VILLAGE_DIVISION_TYPES:
        raise InvalidInput(_("Loại thôn không hợp lệ."), field="division_type")
    # casefold in Python: SQLite's case-insensitive match folds ASCII letters only ("Đ").
    sibling_names = Place.objects.filter(parent=commune).values_list("name", flat=True)
    if any(sibling.casefold() == name.casefold() for sibling in sibling_names):
        raise InvalidInput(_("Xã đã có một thôn cùng tên."), field="name")
    code = _next_village_code(commune)
    village = Place.objects.create(
        code=code,
        name=name,
        kind=Place.Kind.VILLAGE,
        division_type=division_type,
        parent=commune,
        path=f"{commune.path}{code}/",
    )
    audit.record(actor=by, verb="village.created", target=village, place_path=village.path)
    return village


def _next_village_code(commune: Place) -> str:
    # Village codes are local: "<commune code>-<nn>", numbered in order of creation.
    taken = set(
        Place.objects.filter(code__startswith=f"{commune.code}-").values_list("code", flat=True)
    )
    number = 1
    while f"{commune.code}-{number:02d}" in taken:
        number += 1
    return f"{commune.code}-{number:02d}"


@transaction.atomic
def commune_merge(*, old: Place, into: Place, merged_on: datetime.date, by) -> Place:
    """Record that `old` was merged into `into`.

    The old commune and its subtree are re-hung under the new one, so every record kept against
    the old commune or its villages now rolls up into the new commune (see docs/decisions).
    """
    if old.kind != Place.Kind.COMMUNE or into.kind != Place.Kind.COMMUNE:
        raise InvalidInput(_("Chỉ có thể sáp nhập xã vào xã."), field="into")
    if old.pk == into.pk or into.path.startswith(old.path):
        raise InvalidInput(_("Không thể sáp nhập một xã vào chính nó."), field="into")
    if old.is_merged:
        raise DomainError(_("Xã này đã được sáp nhập trước đó."))
    old_path, new_path = old.path, f"{into.path}{old.code}/"
    _rehang(Place.objects.filter(path__startswith=old_path), "path", old_path, new_path)
    # Audit rows follow the tree, so the new commune's administrators read the old one's log.
    _rehang(
        AuditEntry.objects.filter(place_path__startswith=old_path), "place_path", old_path, new_path
    )
    old.refresh_from_db(fields=["path"])
    old.parent, old.successor, old.merged_on = into, into, merged_on
    old.save(update_fields=["parent", "successor", "merged_on"])
    audit.record(
        actor=by,
        verb="commune.merged",
        target=old,
        changes={"into": into.code, "old_path": old_path, "new_path": new_path},
        place_path=into.path,
    )
    return old


def _rehang(rows, path_field: str, old_prefix: str, new_prefix: str) -> None:
    """Replace the prefix `old_prefix` of `path_field` with `new_prefix`, in one UPDATE."""
    rows.update(**{path_field: Concat(Value(new_prefix), Substr(path_field, len(old_prefix) + 1))})


# --- Households ---------------------------------------------------------------------------------
def _clean_household(values: dict) -> dict:
    cleaned = {
        "head_name": " ".join((values.get("head_name") or "").split()),
        "code": (values.get("code") or "").strip(),
        "address": (values.get("address") or "").strip(),
        "notes": (values.get("notes") or "").strip(),
    }
    if not cleaned["head_name"]:
        raise InvalidInput(_("Vui lòng nhập họ tên chủ hộ."), field="head_name")
    return cleaned


@transaction.atomic
def household_create(*, village: Place, by, **values) -> Household:
    if village.kind != Place.Kind.VILLAGE:
        raise InvalidInput(_("Hộ gia đình phải thuộc một thôn."), field="village")
    cleaned = _clean_household(values)
    household = Household(village=village, **cleaned)
    household.search_key = search_key(household.head_name, household.address, household.code)
    save_unique(household, duplicate_message=_("Mã hộ đã tồn tại trong thôn."), field="code")
    audit.record(actor=by, verb="household.created", target=household, place_path=village.path)
    return household


@transaction.atomic
def household_update(*, household: Household, by, village: Place | None = None, **values):
    current = {f: getattr(household, f) for f in ("head_name", "code", "address", "notes")}
    cleaned = _clean_household({**current, **values})
    if village is not None:
        if village.kind != Place.Kind.VILLAGE:
            raise InvalidInput(_("Hộ gia đình phải thuộc một thôn."), field="village")
        cleaned["village"] = village
    changes = audit.field_changes(household, cleaned)
    if not changes:
        return household
    for field, value in cleaned.items():
        setattr(household, field, value)
    household.search_key = search_key(household.head_name, household.address, household.code)
    save_unique(
        household,
        update_fields=[*cleaned, "search_key", "updated_at"],
        duplicate_message=_("Mã hộ đã tồn tại trong thôn."),
        field="code",
    )
    audit.record(
        actor=by,
        verb="household.updated",
        target=household,
        changes=changes,
        place_path=household.village.path,
    )
    return household


# --- Residents ----------------------------------------------------------------------------------
def _clean_resident(values: dict) -> dict:
    cleaned = {
        "full_name": " ".join((values.get("full_name") or "").split()),
        "gender": values.get("gender") or "",
        "birth_date": values.get("birth_date"),
        "relation_to_head": (values.get("relation_to_head") or "").strip(),
    }
    if not cleaned["full_name"]:
        raise InvalidInput(_("Vui lòng nhập họ và tên."), field="full_name")
    if cleaned["gender"] not in Resident.Gender.values:
        raise InvalidInput(_("Giới tính không hợp lệ."), field="gender")
    birth_date = cleaned["birth_date"]
    if birth_date and birth_date > timezone.localdate():
        raise InvalidInput(_("Ngày sinh không được ở tương lai."), field="birth_date")
    if birth_date and birth_date.year < 1900:
        raise InvalidInput(_("Ngày sinh không hợp lệ."), field="birth_date")
    return cleaned


def _clean_identifiers(values: dict) -> dict[str, str]:
    """Normalise the CCCD and phone given in `values` (only those present)."""
    cleaned = {}
    if "cccd" in values:
        raw = (values["cccd"] or "").strip()
        cleaned["cccd"] = normalize_cccd(raw) if raw else ""
        if cleaned["cccd"] is None:
            raise InvalidInput(_("Số CCCD phải gồm đúng 12 chữ số."), field="cccd")
    if "phone" in values:
        raw = (values["phone"] or "").strip()
        cleaned["phone"] = normalize_phone(raw) if raw else ""
        if cleaned["phone"] is None:
            raise InvalidInput(
                _("Số điện thoại không hợp lệ (10 chữ số, bắt đầu bằng 0 hoặc +84)."),
                field="phone",
            )
    return cleaned


_DUPLICATE_CCCD = gettext_noop("Số CCCD này đã được đăng ký cho một nhân khẩu khác.")


@transaction.atomic
def resident_create(*, household: Household, by, **values) -> Resident:
    resident = Resident(household=household, **_clean_resident(values))
    for field, value in _clean_identifiers(values).items():
        personal_data.set_identifier(resident, field, value)
    resident.search_key = search_key(resident.full_name)
    save_unique(resident, duplicate_message=_(_DUPLICATE_CCCD), field="cccd")
    audit.record(
        actor=by,
        verb="resident.created",
        target=resident,
        place_path=household.village.path,
    )
    return resident


@transaction.atomic
def resident_update(*, resident: Resident, by, household: Household | None = None, **values):
    if resident.erased_at:
        raise DomainError(_("Dữ liệu của nhân khẩu này đã bị xoá theo yêu cầu."))
    current = {
        f: getattr(resident, f) for f in ("full_name", "gender", "birth_date", "relation_to_head")
    }
    cleaned = _clean_resident({**current, **values})
    if household is not None:
        cleaned["household"] = household
    changes = audit.field_changes(resident, cleaned)
    update_fields = list(cleaned)
    for field, value in _clean_identifiers(values).items():
        if value != personal_data.clear_value(resident, field):
            # The log says that an identifier changed, never what it was or became.
            changes[field] = ["•••", "•••"]
            personal_data.set_identifier(resident, field, value)
            update_fields += [f"{field}_encrypted", f"{field}_hash"]
    if not changes:
        return resident
    for field, value in cleaned.items():
        setattr(resident, field, value)
    resident.search_key = search_key(resident.full_name)
    save_unique(
        resident,
        update_fields=[*update_fields, "search_key", "updated_at"],
        duplicate_message=_(_DUPLICATE_CCCD),
        field="cccd",
    )
    audit.record(
        actor=by,
        verb="resident.updated",
        target=resident,
        changes=changes,
        place_path=resident.household.village.path,
    )
    return resident


@transaction.atomic
def resident_reveal(*, resident: Resident, field: str, reason: str = "", by) -> str:
    """Return the clear value of an identifier; the reveal itself is written to the audit log."""
    if field not in personal_data.IDENTIFIER_FIELDS:
        raise InvalidInput(_("Trường dữ liệu không hợp lệ."), field="field")
    value = personal_data.clear_value(resident, field)
    audit.record(
        actor=by,
        verb=f"resident.{field}_revealed",
        target=resident,
        changes={"reason": reason[:255]},
        place_path=resident.household.village.path,
    )
    return value


@transaction.atomic
def consent_record(
    *, resident: Resident, purpose: str, given: bool, method: str, note: str = "", by
) -> Consent:
    if resident.erased_at:
        raise DomainError(_("Dữ liệu của nhân khẩu này đã bị xoá theo yêu cầu."))
    if purpose not in Consent.Purpose.values:
        raise InvalidInput(_("Mục đích không hợp lệ."), field="purpose")
    if method not in Consent.Method.values:
        raise InvalidInput(_("Hình thức ghi nhận không hợp lệ."), field="method")
    consent = Consent.objects.create(
        resident=resident,
        purpose=purpose,
        given=given,
        method=method,
        note=note.strip()[:255],
        recorded_by=by,
    )
    audit.record(
        actor=by,
        verb="consent.given" if given else "consent.withdrawn",
        target=resident,
        changes={"purpose": purpose, "method": method},
        place_path=resident.household.village.path,
    )
    return consent


@transaction.atomic
def resident_export(*, resident: Resident, by) -> dict:
    """Everything held about a resident, in clear, for a data-subject access request."""
    audit.record(
        actor=by,
        verb="resident.exported",
        target=resident,
        place_path=resident.household.village.path,
    )
    household = resident.household
    return {
        "id": resident.public_id,
        "full_name": resident.full_name,
        "gender": resident.gender,
        "birth_date": resident.birth_date.isoformat() if resident.birth_date else None,
        "relation_to_head": resident.relation_to_head,
        "cccd": personal_data.clear_value(resident, "cccd"),
        "phone": personal_data.clear_value(resident, "phone"),
        "household": {
            "id": household.public_id,
            "code": household.code,
            "head_name": household.head_name,
            "address": household.address,
            "village": household.village.code,
            "village_name": household.village.name,
        },
        "consents": [
            {
                "purpose": consent.purpose,
                "given": consent.given,
                "method": consent.method,
                "note": consent.note,
                "recorded_at": consent.recorded_at.isoformat(),
            }
            for consent in resident.consents.all()
        ],
        "created_at": resident.created_at.isoformat(),
        "updated_at": resident.updated_at.isoformat(),
        "erased_at": resident.erased_at.isoformat() if resident.erased_at else None,
    }


@transaction.atomic
def resident_erase(*, resident: Resident, reason: str, by) -> Resident:
    """Erase a resident's personal data on request (docs/decisions/0008).

    The row stays, anonymous, so counts and the audit trail keep their history. Consents go
    with the data they were about. Earlier audit rows about the resident keep who did what and
    when, but lose the name and the changed values they recorded.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput(
            _("Vui lòng ghi rõ lý do xoá (ví dụ: theo đơn yêu cầu ngày …)."), field="reason"
        )
    if resident.erased_at:
        raise DomainError(_("Dữ liệu của nhân khẩu này đã được xoá trước đó."))
    erased_label = _("(đã xoá theo yêu cầu)")
    household = resident.household
    # The household is named after its head: that name goes too.
    if resident.relation_to_head == "Chủ hộ" or household.head_name == resident.full_name:
        household.head_name = erased_label
        household.search_key = search_key(household.address, household.code)
        household.save(update_fields=["head_name", "search_key", "updated_at"])
    AuditEntry.objects.filter(
        target_type=resident._meta.label_lower, target_id=resident.public_id
    ).update(target_label=erased_label, changes={})
    resident.full_name = erased_label
    resident.birth_date = None
    resident.relation_to_head = ""
    resident.gender = Resident.Gender.OTHER
    for field in personal_data.IDENTIFIER_FIELDS:
        personal_data.set_identifier(resident, field, "")
    resident.search_key = ""
    resident.erased_at = timezone.now()
    resident.save(
        update_fields=[
            "full_name",
            "birth_date",
            "relation_to_head",
            "gender",
            "cccd_encrypted",
            "cccd_hash",
            "phone_encrypted",
            "phone_hash",
            "search_key",
            "erased_at",
            "updated_at",
        ]
    )
    resident.consents.all().delete()
    audit.record(
        actor=by,
        verb="resident.erased",
        target=resident,
        changes={"reason": reason[:255]},
        place_path=resident.household.village.path,
    )
    return resident


# --- Organisations ------------------------------------------------------------------------------
_ORGANISATION_FIELDS = ("name", "kind", "tax_code", "address", "phone", "representative")


def _clean_organisation(values: dict) -> dict:
    cleaned = {f: " ".join(str(values.get(f) or "").split()) for f in _ORGANISATION_FIELDS}
    if not cleaned["name"]:
        raise InvalidInput(_("Vui lòng nhập tên tổ chức."), field="name")
    if cleaned["kind"] not in Organisation.Kind.values:
        raise InvalidInput(_("Loại hình tổ chức không hợp lệ."), field="kind")
    tax_code = cleaned["tax_code"].replace(" ", "")
    if tax_code and not (tax_code.replace("-", "").isdigit() and len(tax_code) in (10, 14)):
        raise InvalidInput(
            _("Mã số thuế gồm 10 chữ số (hoặc 10 chữ số, gạch nối và 3 chữ số)."), field="tax_code"
        )
    cleaned["tax_code"] = tax_code
    if cleaned["phone"] and normalize_phone(cleaned["phone"]) is None:
        raise InvalidInput(_("Số điện thoại không hợp lệ."), field="phone")
    return cleaned


@transaction.atomic
def organisation_create(*, place: Place, by, **values) -> Organisation:
    if place.kind not in (Place.Kind.COMMUNE, Place.Kind.VILLAGE):
        raise InvalidInput(_("Tổ chức phải thuộc một xã hoặc một thôn."), field="place")
    organisation = Organisation(place=place, **_clean_organisation(values))
    organisation.search_key = search_key(organisation.name, organisation.address)
    organisation.save()
    audit.record(actor=by, verb="organisation.created", target=organisation, place_path=place.path)
    return organisation


@transaction.atomic
def organisation_update(*, organisation: Organisation, by, place: Place | None = None, **values):
    current = {f: getattr(organisation, f) for f in _ORGANISATION_FIELDS}
    cleaned = _clean_organisation({**current, **values})
    if place is not None:
        if place.kind not in (Place.Kind.COMMUNE, Place.Kind.VILLAGE):
            raise InvalidInput(_("Tổ chức phải thuộc một xã hoặc một thôn."), field="place")
        cleaned["place"] = place
    changes = audit.field_changes(organisation, cleaned)
    if not changes:
        return organisation
    for field, value in cleaned.items():
        setattr(organisation, field, value)
    organisation.search_key = search_key(organisation.name, organisation.address)
    organisation.save(update_fields=[*cleaned, "search_key", "updated_at"])
    audit.record(
        actor=by,
        verb="organisation.updated",
        target=organisation,
        changes=changes,
        place_path=organisation.place.path,
    )
    return organisation


# --- Jobs ---------------------------------------------------------------------------------------
def households_export_start(*, village: str = "", q: str = "", by):
    """Start a CSV export of the households `by` may see, filtered like the list page.

    The job keeps the filters, not the rows: the worker selects again, with the user's scope as
    it is when the job runs.
    """
    return jobs.job_start(
        kind="households.export",
        label=_("Xuất danh sách hộ gia đình"),
        task=households_export_job,
        by=by,
        params={"village": village, "q": q},
    )


def places_load_start(*, by):
    return jobs.job_start(
        kind="places.load",
        label=_("Nạp danh mục địa giới hành chính"),
        task=places_load_job,
        by=by,
    )
