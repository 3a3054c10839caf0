"""Recording household visits and keeping the adoption status tables in step with them.

A visit arrives from a phone, often long after it was made and sometimes twice: the phone's
`idempotency_key` makes a retry return the first visit, and the household status `version`
the phone saw tells whether someone else has changed the household since (a conflict, held back
for the team leader instead of silently overwritten). One visit is one transaction: the visit,
the status rows it changes and its audit row are written together or not at all.
"""

import datetime
import hashlib
import json
import zoneinfo

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.permissions import user_can
from xaso.accounts.roles import Capability
from xaso.core import audit
from xaso.core.errors import DomainError, InvalidInput
from xaso.places.models import Household, Resident
from xaso.survey import tallies
from xaso.survey.checklist import ADULT_AGE, ALL_ITEMS, HOUSEHOLD_ITEMS, RESIDENT_ITEMS
from xaso.survey.models import HouseholdStatus, ResidentStatus, Visit

NOTES_MAX_LENGTH = 2000
KEY_MIN_LENGTH, KEY_MAX_LENGTH = 8, 100
VERSION_MAX = 2**31 - 1  # a positive integer column on every database


def local_today() -> datetime.date:
    """Today in Vietnam (settings.TIME_ZONE), whatever time zone the request activated."""
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def content_hash(
    *, household: str, visited_on, notes: str, follow_up_on, base_version, answers: dict
) -> str:
    """sha256 of the visit's canonical JSON: a replayed key must carry the same content."""
    body = {
        "household": household,
        "visited_on": _iso(visited_on),
        "notes": notes,
        "follow_up_on": _iso(follow_up_on),
        "base_version": base_version,
        "answers": answers,
    }
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _iso(value) -> str | None:
    return value.isoformat() if isinstance(value, datetime.date) else value


# --- Recording a visit ------------------------------------------------------------------------
def visit_record(
    *,
    member,
    household: Household,
    visited_on: datetime.date,
    notes: str,
    answers: dict,
    idempotency_key: str,
    follow_up_on: datetime.date | None = None,
    base_version: int | None = None,
) -> tuple[Visit, bool]:
    """Store a visit and apply its answers; (visit, created).

    The same key again returns the first visit (created False) if the content is the same, and
    is refused (DomainError → 409) if it differs. A household outside the member's villages is
    PermissionDenied; every malformed value is InvalidInput naming what is wrong.
    """
    values = _visit_values(
        household=household,
        visited_on=visited_on,
        notes=notes,
        answers=answers,
        idempotency_key=idempotency_key,
        follow_up_on=follow_up_on,
        base_version=base_version,
    )
    existing = _visit_by_key(values["idempotency_key"])
    if existing is not None:
        return _replayed(existing, member=member, values=values), False
    return _insert_or_replay(member, values)


def visits_record(*, member, visits: list[dict]) -> list[tuple[Visit, bool] | Exception]:
    """Record a phone's queue: what `visit_record(member=member, **values)` does for each, all
    in one transaction (one commit for the lot) and each in its own savepoint, so a refused
    visit is returned as its refusal (DomainError, InvalidInput or PermissionDenied) without
    stopping or half-writing the others. Results come back in the order given.

    The keys already stored are looked up in one query. Households are locked in ascending id
    order (a household's own visits keep their order), so two batches touching the same
    households never wait for each other in a circle.
    """
    keys = {visit.get("idempotency_key") for visit in visits}
    known = {
        visit.idempotency_key: visit
        for visit in Visit.objects.select_related("household", "village", "member").filter(
            idempotency_key__in=[key.strip() for key in keys if isinstance(key, str)]
        )
    }
    results: list = [None] * len(visits)
    order = sorted(range(len(visits)), key=lambda index: visits[index]["household"].pk)
    with transaction.atomic():
        changes: dict = {}  # to the status tallies, of the visits whose savepoint held
        for index in order:
            try:
                values = _visit_values(**visits[index])
                existing = known.get(values["idempotency_key"])
                if existing is not None:
                    results[index] = _replayed(existing, member=member, values=values), False
                else:
                    results[index] = _insert_or_replay(member, values, changes)
            except (DomainError, PermissionDenied) as refusal:
                results[index] = refusal
        tallies.tallies_add(changes)  # one statement for the batch
    return results


def _visit_values(
    *, household, visited_on, notes, answers, idempotency_key, follow_up_on, base_version
) -> dict:
    """The visit's fields as it will be stored, and the hash of its content."""
    values = {
        "household": household,
        "visited_on": visited_on,
        "notes": _notes(notes),
        "follow_up_on": follow_up_on,
        "base_version": base_version,
        "answers": answers if answers is not None else {},
        "idempotency_key": idempotency_key_clean(idempotency_key),
    }
    values["content_hash"] = content_hash(
        **{field: values[field] for field in ("visited_on", "notes", "follow_up_on")},
        household=household.public_id,
        base_version=base_version,
        answers=values["answers"],
    )
    return values


def _insert_or_replay(member, values: dict, changes: dict | None = None) -> tuple[Visit, bool]:
    """The visit inserted, or the one another request stored first with the same key. In a
    batch (`changes` given) the visit's changes to the status tallies are merged into
    `changes` once its savepoint has held; alone, they are written with the visit."""
    try:
        visit, visit_changes = _visit_insert(
            member=member, values=values, batch=changes is not None
        )
    except IntegrityError:
        # The same key sent twice at once: the other request committed its visit first, and
        # this one's transaction (a savepoint inside a batch) was rolled back whole.
        existing = _visit_by_key(values["idempotency_key"])
        if existing is None:
            raise
        return _replayed(existing, member=member, values=values), False
    if changes is not None:
        tallies.changes_merge(changes, visit_changes)
    return visit, True


@transaction.atomic
def _visit_insert(*, member, values: dict, batch: bool) -> tuple[Visit, dict]:
    """The visit stored and applied, and the changes it makes to the status tallies (written
    here unless in a `batch`, whose caller writes those of all its visits at once)."""
    household, visited_on = values["household"], values["visited_on"]
    follow_up_on, base_version = values["follow_up_on"], values["base_version"]
    if not user_can(member, Capability.RECORD_VISITS, household.village):
        raise PermissionDenied(_("Hộ này không thuộc thôn bạn được giao đến thăm."))
    _check_dates(visited_on, follow_up_on)
    if base_version is not None and not (
        isinstance(base_version, int) and 0 <= base_version <= VERSION_MAX
    ):
        raise InvalidInput(_("Phiên bản hộ không hợp lệ."), field="base_version")

    status = _lock_household(household.pk)
    residents = {
        resident.public_id: resident
        for resident in Resident.objects.filter(household=household).select_related("adoption")
    }
    before = tallies.snapshot(status, residents.values())
    visit = Visit(
        village=household.village,
        member=member,
        household_version=(status.version if status else 0) + 1,
        **values,
    )
    visit.answers = _clean_answers(values["answers"], residents)
    visit.conflicts = _conflicts(visit, status, residents)
    visit.save()  # the first write: a key another request has just stored fails here
    late, status = _apply(visit, status, residents)
    changes = tallies.snapshot_diff(before, tallies.snapshot(status, residents.values()))
    if not batch:
        tallies.tallies_add(changes)
    audit.record(
        actor=member,
        verb="visit.recorded",
        target=visit,
        changes={
            "household": household.public_id,
            "visited_on": visited_on.isoformat(),
            "conflicts": len(visit.conflicts),
            "late": late,
        },
        place_path=household.village.path,
    )
    return visit, changes


def _lock_household(household_id: int) -> HouseholdStatus | None:
    """Lock the household row, then read its status: visits to one household are applied one
    after another (FOR NO KEY UPDATE: a row merely referring to the household, such as a new
    resident, does not wait). Two statements, not one with a join: on PostgreSQL a row read in
    the same statement as a lock it waited for comes from before the wait."""
    list(Household.objects.select_for_update(no_key=True).filter(pk=household_id).values_list("pk"))
    return HouseholdStatus.objects.filter(household_id=household_id).first()


def _visit_by_key(key: str) -> Visit | None:
    return (
        Visit.objects.select_related("household", "village", "member")
        .filter(idempotency_key=key)
        .first()
    )


def _replayed(existing: Visit, *, member, values: dict) -> Visit:
    if existing.member_id != member.pk or existing.content_hash != values["content_hash"]:
        raise DomainError(
            _(
                "Khoá Idempotency-Key này đã được dùng cho một lượt thăm khác nội dung; "
                "hãy tạo khoá mới cho lượt thăm mới."
            )
        )
    return existing


def idempotency_key_clean(key) -> str:
    key = key.strip() if isinstance(key, str) else ""
    if not key:
        raise InvalidInput(_("Thiếu khoá Idempotency-Key của lượt thăm."), field="idempotency_key")
    if not KEY_MIN_LENGTH <= len(key) <= KEY_MAX_LENGTH or not key.isprintable():
        raise InvalidInput(
            _("Khoá Idempotency-Key phải dài từ 8 đến 100 ký tự in được."),
            field="idempotency_key",
        )
    return key


def _notes(notes) -> str:
    notes = (notes or "").strip()
    if len(notes) > NOTES_MAX_LENGTH:
        raise InvalidInput(
            _("Ghi chú dài quá %(max)s ký tự.") % {"max": NOTES_MAX_LENGTH}, field="notes"
        )
    return notes


def _check_dates(visited_on, follow_up_on) -> None:
    if not isinstance(visited_on, datetime.date):
        raise InvalidInput(_("Vui lòng nhập ngày thăm."), field="visited_on")
    if visited_on > local_today():
        raise InvalidInput(_("Ngày thăm không được ở tương lai."), field="visited_on")
    if follow_up_on is not None and follow_up_on < visited_on:
        raise InvalidInput(_("Ngày hẹn quay lại không được trước ngày thăm."), field="follow_up_on")


def _clean_answers(answers, residents: dict[str, Resident]) -> dict:
    """The answers with every key checked against the checklist; "helped" sorted, no repeats;
    answers about a resident whose data was erased dropped."""
    if not isinstance(answers, dict):
        raise InvalidInput(_("Câu trả lời phải là một đối tượng JSON."), field="answers")
    unknown = set(answers) - {"household", "residents"}
    if unknown:
        raise InvalidInput(
            _("Phần câu trả lời không có trong mẫu: %(part)s.") % {"part": sorted(unknown)[0]},
            field="answers",
        )
    cleaned = {}
    if "household" in answers:
        cleaned["household"] = _item_answers(answers["household"], HOUSEHOLD_ITEMS, helped=False)
    if "residents" in answers:
        given = answers["residents"]
        if not isinstance(given, dict):
            raise InvalidInput(_("Câu trả lời về nhân khẩu phải là một đối tượng JSON."))
        cleaned["residents"] = {}
        for public_id, items in given.items():
            resident = residents.get(public_id)
            if resident is not None and resident.erased_at is not None:
                # Erased on request since the phone cached the household: nothing more is
                # recorded about the person, and the rest of the visit still counts.
                continue
            if resident is None:
                raise InvalidInput(
                    _("Nhân khẩu %(id)s không thuộc hộ này.") % {"id": public_id[:20]},
                    field="answers",
                )
            cleaned["residents"][public_id] = _item_answers(items, RESIDENT_ITEMS, helped=True)
    return cleaned


def _item_answers(items, allowed: dict, *, helped: bool) -> dict:
    if not isinstance(items, dict):
        raise InvalidInput(_("Câu trả lời phải là một đối tượng JSON."), field="answers")
    cleaned = {}
    for item, value in items.items():
        if helped and item == "helped":
            cleaned["helped"] = _helped(value)
            continue
        if item not in allowed:
            raise InvalidInput(
                _("Mục “%(item)s” không có trong danh sách kiểm tra.") % {"item": item[:40]},
                field="answers",
            )
        if not isinstance(value, bool):
            raise InvalidInput(
                _("Câu trả lời cho mục “%(item)s” phải là có hoặc không.") % {"item": item},
                field="answers",
            )
        cleaned[item] = value
    return cleaned


def _helped(value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise InvalidInput(_("“helped” phải là danh sách mã mục."), field="answers")
    for item in value:
        if item not in ALL_ITEMS:
            raise InvalidInput(
                _("Mục hỗ trợ “%(item)s” không có trong danh sách kiểm tra.") % {"item": item[:40]},
                field="answers",
            )
    return sorted(set(value))


# --- Conflicts --------------------------------------------------------------------------------
def _conflicts(visit: Visit, status: HouseholdStatus | None, residents) -> list[dict]:
    """Answers that differ from a status someone else changed after the phone last saw it."""
    if status is None or visit.base_version is None or visit.base_version >= status.version:
        return []
    if visit.visited_on < status.last_visited_on:
        return []  # a late visit changes nothing anyway
    changed_by_others = (
        Visit.objects.filter(
            household_id=visit.household_id, household_version__gt=visit.base_version
        )
        .exclude(member=visit.member)
        .exists()
    )
    if not changed_by_others:
        return []
    conflicts = []
    for item, recorded in _answered(visit.answers.get("household", {})):
        current = getattr(status, f"{item}_on") is not None
        if recorded != current:
            conflicts.append(
                {"resident": "", "item": item, "recorded": recorded, "current": current}
            )
    for public_id, items in visit.answers.get("residents", {}).items():
        row = getattr(residents[public_id], "adoption", None)
        if row is None:
            continue  # nobody has answered for this resident yet: nothing to overwrite
        for item, recorded in _answered(items):
            current = getattr(row, f"{item}_on") is not None
            if recorded != current:
                conflicts.append(
                    {"resident": public_id, "item": item, "recorded": recorded, "current": current}
                )
    return conflicts


def _answered(items: dict):
    return ((item, value) for item, value in items.items() if item != "helped")


def _held_back(visit: Visit) -> set[tuple[str, str]]:
    return {(conflict["resident"], conflict["item"]) for conflict in visit.conflicts}


# --- Applying answers to the status tables ----------------------------------------------------
def _apply(
    visit: Visit, status: HouseholdStatus | None, residents: dict[str, Resident]
) -> tuple[bool, HouseholdStatus]:
    """Write the visit's answers into the status rows; (late, the household's status row).
    Late: older than the household's last visit, in which case no newer answer is overwritten."""
    held = _held_back(visit)
    day = visit.visited_on
    new_rows, changed_rows = [], []
    for public_id, items in visit.answers.get("residents", {}).items():
        resident = residents[public_id]
        row = getattr(resident, "adoption", None)
        if row is None:
            row = ResidentStatus(
                resident=resident,
                household_id=visit.household_id,
                village_id=visit.village_id,
                first_visited_on=day,
                last_visited_on=day,
            )
            resident.adoption = row
            new_rows.append(row)
        else:
            changed_rows.append(row)
            row.first_visited_on = min(row.first_visited_on, day)
            if day < row.last_visited_on:
                continue  # newer answers stand
            row.household_id, row.village_id = visit.household_id, visit.village_id
            row.last_visited_on = day
        row.adult = _is_adult(resident.birth_date, day)
        for item, value in _answered(items):
            if (public_id, item) not in held:
                _set_item(row, item, value, day)
    _upsert(new_rows + changed_rows)

    late = status is not None and day < status.last_visited_on
    created = status is None
    if created:
        status = HouseholdStatus(
            household_id=visit.household_id,
            village_id=visit.village_id,
            first_visited_on=day,
            last_visited_on=day,
        )
    status.version = visit.household_version
    status.first_visited_on = min(status.first_visited_on, day)
    if not late:
        status.village_id = visit.village_id
        status.last_visited_on = day
        status.last_visit, status.last_member_id = visit, visit.member_id
        status.follow_up_on = visit.follow_up_on
        for item, value in _answered(visit.answers.get("household", {})):
            if ("", item) not in held:
                _set_item(status, item, value, day)
    _person_items_from_residents(status, residents.values())
    status.save(force_insert=created)
    return late, status


_RESIDENT_STATUS_FIELDS = [
    "household",
    "village",
    "adult",
    "first_visited_on",
    "last_visited_on",
    *(f"{item}_on" for item in RESIDENT_ITEMS),
]


def _upsert(rows: list[ResidentStatus]) -> None:
    """New and changed resident rows in one INSERT … ON CONFLICT UPDATE (an UPDATE with a CASE
    per field and row costs far more to build than to run)."""
    if rows:
        ResidentStatus.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["resident"],
            update_fields=_RESIDENT_STATUS_FIELDS,
        )


def _set_item(row, item: str, value: bool, day: datetime.date) -> None:
    """Yes keeps the date it first became yes; no clears it."""
    field = f"{item}_on"
    if not value:
        setattr(row, field, None)
    elif getattr(row, field) is None:
        setattr(row, field, day)


def _person_items_from_residents(status: HouseholdStatus, residents) -> None:
    """Each person item of the household: the earliest day any of its residents had it."""
    rows = [
        getattr(resident, "adoption", None) for resident in residents if resident.erased_at is None
    ]
    rows = [row for row in rows if row is not None]
    for item in RESIDENT_ITEMS:
        days = [getattr(row, f"{item}_on") for row in rows if getattr(row, f"{item}_on")]
        setattr(status, f"{item}_on", min(days) if days else None)


def _is_adult(birth_date: datetime.date | None, on: datetime.date) -> bool:
    if birth_date is None:
        return True
    age = on.year - birth_date.year - ((on.month, on.day) < (birth_date.month, birth_date.day))
    return age >= ADULT_AGE


# --- Resolving conflicts ----------------------------------------------------------------------
@transaction.atomic
def visit_conflicts_resolve(*, visit: Visit, apply: bool, by) -> Visit:
    """The team leader decides: apply the held-back answers (`apply`), or keep the current ones."""
    visit = Visit.objects.select_for_update().get(pk=visit.pk)
    if not visit.has_open_conflicts:
        raise DomainError(_("Lượt thăm này không có xung đột nào cần giải quyết."))
    if apply:
        _apply_held_back(visit)
    visit.conflicts_resolved_at, visit.conflicts_resolved_by = timezone.now(), by
    visit.save(update_fields=["conflicts_resolved_at", "conflicts_resolved_by"])
    audit.record(
        actor=by,
        verb="visit.conflicts_resolved",
        target=visit,
        changes={"apply": apply, "conflicts": visit.conflicts},
        place_path=visit.village.path,
    )
    return visit


def _apply_held_back(visit: Visit) -> None:
    status = _lock_household(visit.household_id)
    residents = list(
        Resident.objects.filter(household_id=visit.household_id).select_related("adoption")
    )
    before = tallies.snapshot(status, residents)
    by_id = {resident.public_id: resident for resident in residents}
    changed_rows = {}  # by resident: two held-back items of one person are one row to write
    for conflict in visit.conflicts:
        if conflict["resident"]:
            resident = by_id.get(conflict["resident"])
            row = getattr(resident, "adoption", None) if resident else None
            if row is None:
                continue  # the resident has left the household or been erased since
            _set_item(row, conflict["item"], conflict["recorded"], visit.visited_on)
            changed_rows[row.pk] = row
        else:
            _set_item(status, conflict["item"], conflict["recorded"], visit.visited_on)
    _upsert(list(changed_rows.values()))
    _person_items_from_residents(status, residents)
    status.version += 1
    status.save()
    tallies.tallies_add(tallies.snapshot_diff(before, tallies.snapshot(status, residents)))
