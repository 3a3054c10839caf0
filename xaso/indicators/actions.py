"""Every write of indicators: definitions, hand-entered values, criteria sets, their criteria
and yes/no facts. Rules raise InvalidInput (a format, 422) or DomainError (a state, 409).

Definitions are shared by every province, so any administrator (MANAGE_INDICATORS somewhere)
edits them; a criteria set belongs to its province and is edited by that province's
administrators. Values and facts are entered at a place by those who hold
ENTER_INDICATOR_VALUES there, never into a period that place (or its commune) has closed.
"""

import re
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.permissions import user_can, user_has_anywhere
from xaso.accounts.roles import Capability
from xaso.core import audit
from xaso.core.cleaning import clean_text as _text
from xaso.core.errors import DomainError, InvalidInput
from xaso.core.records import save_unique
from xaso.indicators.models import (
    CriteriaSet,
    Criterion,
    CriterionFact,
    Indicator,
    ManualValue,
    PeriodClose,
)
from xaso.indicators.sources import check_spec
from xaso.lib.periods import Period
from xaso.places.models import Place

MANAGE = Capability.MANAGE_INDICATORS
ENTER = Capability.ENTER_INDICATOR_VALUES
TARGET_KINDS = ("village", "commune", "province")
SET_KINDS = (Place.Kind.VILLAGE, Place.Kind.COMMUNE)
CODE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
LARGEST = Decimal("999999999999.99")  # 14 digits, 2 decimals: the columns' limit
CENT = Decimal("0.01")


# --- Shared checks ----------------------------------------------------------------------------
def _code(values: dict, field: str = "code", *, max_length: int = 60) -> str:
    code = str(values.get(field) or "").strip()
    if not code:
        raise InvalidInput(_("Vui lòng nhập mã."), field=field)
    if len(code) > max_length or not CODE.match(code):
        raise InvalidInput(
            _("Mã chỉ gồm chữ thường không dấu, chữ số và dấu gạch ngang (tối đa %(n)s ký tự).")
            % {"n": max_length},
            field=field,
        )
    return code


def _choice(values: dict, field: str, choices, default: str = "") -> str:
    value = str(values.get(field) or default)
    if value not in choices:
        allowed = ", ".join(str(choice) for choice in choices)
        raise InvalidInput(
            _("Giá trị “%(value)s” không hợp lệ; chọn một trong: %(allowed)s.")
            % {"value": value, "allowed": allowed},
            field=field,
        )
    return value


def number_parse(value, *, field: str, required: bool = False) -> Decimal | None:
    """A number a person typed or sent: finite, within the columns' 14 digits, two decimals.
    A comma is read as the Vietnamese decimal separator ("87,5")."""
    if isinstance(value, str):
        value = value.strip()
    if value is None or value == "":
        if required:
            raise InvalidInput(_("Vui lòng nhập số."), field=field)
        return None
    if isinstance(value, bool):
        raise InvalidInput(_("Phải là một số."), field=field)
    try:
        number = Decimal(str(value).strip().replace(",", "."))
    except (InvalidOperation, ValueError) as error:
        raise InvalidInput(_("Phải là một số."), field=field) from error
    if not number.is_finite() or abs(number) > LARGEST:
        raise InvalidInput(_("Số nằm ngoài giới hạn cho phép."), field=field)
    return number.quantize(CENT)


def _json_number(number: Decimal) -> int | float:
    return int(number) if number == number.to_integral_value() else float(number)


def _bool(values: dict, field: str, default: bool = False) -> bool:
    value = values.get(field, default)
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "on", "yes", "có", "co"}
    return bool(value)


def _position(values: dict) -> int:
    position = values.get("position") or 0
    if isinstance(position, str) and position.strip().isdigit():
        position = int(position)
    if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position < 2**31:
        raise InvalidInput(_("Thứ tự phải là số nguyên không âm."), field="position")
    return position


def _require_manager(user) -> None:
    if not user_has_anywhere(user, MANAGE):
        raise PermissionDenied(_("Chỉ quản trị viên được sửa định nghĩa chỉ tiêu."))


def _save(instance, cleaned: dict, *, by, verb: str, duplicate: str):
    """Create `instance` (unsaved) or update it with `cleaned`, and audit it; a row that did
    not change is left alone, so loading the catalogue twice writes nothing."""
    created = instance.pk is None
    changes = {} if created else audit.field_changes(instance, cleaned)
    if not created and not changes:
        return instance
    for field, value in cleaned.items():
        setattr(instance, field, value)
    save_unique(instance, duplicate_message=duplicate, field="code")
    audit.record(
        actor=by,
        verb=f"{verb}.created" if created else f"{verb}.updated",
        target=instance,
        changes=changes or {"code": instance.code},
    )
    return instance


# --- Indicators -------------------------------------------------------------------------------
def _targets(values: dict, *, method: str) -> dict:
    targets = values.get("targets") or {}
    if not isinstance(targets, dict):
        raise InvalidInput(_("Chỉ tiêu theo cấp phải là một đối tượng JSON."), field="targets")
    cleaned = {}
    for kind, target in targets.items():
        if kind not in TARGET_KINDS:
            raise InvalidInput(
                _("Cấp “%(kind)s” không hợp lệ; chỉ dùng village, commune, province.")
                % {"kind": kind},
                field="targets",
            )
        number = number_parse(target, field="targets")
        if number is None:
            continue
        if number < 0:
            raise InvalidInput(_("Chỉ tiêu không được âm."), field="targets")
        if method == Indicator.Method.RATIO and number > 100:
            raise InvalidInput(_("Chỉ tiêu tỷ lệ phải từ 0 đến 100 (%)."), field="targets")
        cleaned[kind] = _json_number(number)
    return cleaned


def _specs(values: dict, method: str) -> tuple[dict, dict]:
    if method == Indicator.Method.MANUAL:
        return {}, {}
    numerator = values.get("numerator") or {}
    if not numerator:
        raise InvalidInput(_("Vui lòng chọn nguồn dữ liệu cho tử số."), field="numerator")
    check_spec(numerator, field_name="numerator")
    numerator = {"source": numerator["source"], "filter": dict(numerator.get("filter") or {})}
    if method == Indicator.Method.COUNT:
        return numerator, {}
    denominator = values.get("denominator") or {}
    if not denominator:
        raise InvalidInput(_("Chỉ tiêu tỷ lệ cần mẫu số."), field="denominator")
    check_spec(denominator, field_name="denominator")
    denominator = {
        "source": denominator["source"],
        "filter": dict(denominator.get("filter") or {}),
    }
    return numerator, denominator


# /opendata/catalog.json would hide the open-data file of an indicator with this code.
RESERVED_CODES = {"catalog"}


def _indicator_code(values: dict) -> str:
    code = _code(values)
    if code in RESERVED_CODES:
        raise InvalidInput(
            _("Mã “%(code)s” đã dành riêng; chọn mã khác.") % {"code": code}, field="code"
        )
    return code


def indicator_values(values: dict, *, code: str | None = None) -> dict:
    """The checked fields of an indicator definition (API body, form or catalogue row)."""
    method = _choice(values, "method", Indicator.Method.values)
    numerator, denominator = _specs(values, method)
    position = _position(values)
    return {
        "code": code or _indicator_code(values),
        "name": _text(values, "name", required=_("Vui lòng nhập tên chỉ tiêu.")),
        "unit": _text(values, "unit", max_length=30) or "%",
        "description": str(values.get("description") or "").strip(),
        "method": method,
        "numerator": numerator,
        "denominator": denominator,
        "period_kind": _choice(
            values, "period_kind", Indicator.PeriodKind.values, Indicator.PeriodKind.MONTH
        ),
        "targets": _targets(values, method=method),
        "higher_is_better": _bool(values, "higher_is_better", True),
        "source_note": _text(values, "source_note"),
        "published": _bool(values, "published"),
        "position": position,
    }


@transaction.atomic
def indicator_save(*, values: dict, by, indicator: Indicator | None = None) -> Indicator:
    """Create an indicator, or update `indicator` (its code stays what it is)."""
    _require_manager(by)
    cleaned = indicator_values(values, code=indicator.code if indicator else None)
    return _save(
        indicator or Indicator(),
        cleaned,
        by=by,
        verb="indicator",
        duplicate=_("Mã chỉ tiêu đã tồn tại."),
    )


@transaction.atomic
def indicators_import(*, rows: list, by) -> dict[str, int]:
    """Definitions as exported (a list of objects): all or nothing, the bad row named."""
    _require_manager(by)
    if not isinstance(rows, list):
        raise InvalidInput(_("Tệp phải là một danh sách chỉ tiêu (JSON)."), field="file")
    counts = {"created": 0, "updated": 0}
    for line, row in enumerate(rows, start=1):
        try:
            if not isinstance(row, dict):
                raise InvalidInput(_("Mỗi chỉ tiêu phải là một đối tượng JSON."))
            existing = Indicator.objects.filter(code=_code(row)).first()
            indicator_save(values=row, by=by, indicator=existing)
        except InvalidInput as error:
            raise InvalidInput(
                _("Chỉ tiêu thứ %(line)s: %(message)s") % {"line": line, "message": error.message},
                field=error.field,
            ) from error
        counts["updated" if existing else "created"] += 1
    return counts


# --- Hand-entered values ----------------------------------------------------------------------
def period_closed(place: Place, period: Period) -> bool:
    """Has the place, or a place above it (its commune), closed this period?"""
    codes = [code for code in place.path.split("/") if code]
    return PeriodClose.objects.filter(place__code__in=codes, period=period.key).exists()


@transaction.atomic
def manual_value_enter(
    *, indicator: Indicator, place: Place, period: Period, values: dict, by
) -> ManualValue:
    """Record (or correct) a value typed in for a place and period, with its source."""
    if not user_can(by, ENTER, place):
        raise PermissionDenied(_("Bạn không được nhập số liệu cho địa bàn này."))
    if indicator.method != Indicator.Method.MANUAL:
        raise DomainError(
            _("Chỉ tiêu “%(name)s” được tính từ dữ liệu của hệ thống, không nhập tay.")
            % {"name": indicator.name},
            field="indicator",
        )
    if period.kind != indicator.period_kind:
        raise InvalidInput(
            _("Chỉ tiêu này báo cáo theo %(kind)s; kỳ “%(key)s” không phù hợp.")
            % {"kind": indicator.get_period_kind_display().lower(), "key": period.key},
            field="period",
        )
    if period.start > timezone.localdate():
        raise InvalidInput(_("Kỳ báo cáo chưa bắt đầu."), field="period")
    if period_closed(place, period):
        raise DomainError(
            _("Kỳ %(period)s đã chốt số liệu; không thể nhập hoặc sửa.")
            % {"period": period.label()},
            field="period",
        )
    value = number_parse(values.get("value"), field="value", required=True)
    numerator = number_parse(values.get("numerator"), field="numerator")
    denominator = number_parse(values.get("denominator"), field="denominator")
    if denominator is not None and denominator <= 0:
        raise InvalidInput(_("Mẫu số phải lớn hơn 0."), field="denominator")
    if any(number is not None and number < 0 for number in (value, numerator)):
        raise InvalidInput(_("Số liệu không được âm."), field="value")
    source = _text(values, "source", required=_("Vui lòng ghi nguồn số liệu."))
    entry = ManualValue.objects.filter(
        indicator=indicator, place=place, period=period.key
    ).first() or ManualValue(indicator=indicator, place=place, period=period.key)
    new = {
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "source": source,
        "entered_by": by,
    }
    changes = audit.field_changes(entry, new) if entry.pk else {}
    for field, field_value in new.items():
        setattr(entry, field, field_value)
    entry.save()
    audit.record(
        actor=by,
        verb="indicator_value.entered",
        target=indicator,
        changes=changes or {"place": place.code, "period": period.key, "value": str(value)},
        place_path=place.path,
    )
    return entry


# --- Criteria sets ----------------------------------------------------------------------------
def _require_set_manager(user, province: Place | None) -> None:
    allowed = (
        user_has_anywhere(user, MANAGE) if province is None else user_can(user, MANAGE, province)
    )
    if not allowed:
        raise PermissionDenied(_("Bạn không được sửa bộ tiêu chí của tỉnh này."))


@transaction.atomic
def criteria_set_save(*, values: dict, by, criteria_set: CriteriaSet | None = None) -> CriteriaSet:
    province = values.get("province")
    if province is not None and (
        not isinstance(province, Place) or province.kind != Place.Kind.PROVINCE
    ):
        raise InvalidInput(_("Vui lòng chọn một tỉnh."), field="province")
    _require_set_manager(by, province)
    if criteria_set is not None:
        _require_set_manager(by, criteria_set.province)
    cleaned = {
        "code": criteria_set.code if criteria_set else _code(values),
        "name": _text(values, "name", required=_("Vui lòng nhập tên bộ tiêu chí.")),
        "place_kind": _choice(values, "place_kind", SET_KINDS),
        "province": province,
        "legal_basis": _text(values, "legal_basis"),
    }
    if (
        criteria_set is not None
        and cleaned["place_kind"] != criteria_set.place_kind
        and criteria_set.criteria.exists()
    ):
        raise DomainError(
            _("Bộ tiêu chí đã có tiêu chí; không đổi được cấp áp dụng."), field="place_kind"
        )
    return _save(
        criteria_set or CriteriaSet(),
        cleaned,
        by=by,
        verb="criteria_set",
        duplicate=_("Mã bộ tiêu chí đã tồn tại."),
    )


def _criterion_values(criteria_set: CriteriaSet, values: dict) -> dict:
    kind = _choice(values, "kind", Criterion.Kind.values)
    cleaned = {
        "code": _code(values, max_length=30),
        "name": _text(values, "name", required=_("Vui lòng nhập tên tiêu chí.")),
        "kind": kind,
        "indicator": None,
        "threshold": number_parse(values.get("threshold"), field="threshold"),
        "child_set": None,
        "position": _position(values),
    }
    if kind == Criterion.Kind.INDICATOR:
        indicator = values.get("indicator")
        if not isinstance(indicator, Indicator):
            raise InvalidInput(_("Vui lòng chọn chỉ tiêu."), field="indicator")
        cleaned["indicator"] = indicator
    elif kind == Criterion.Kind.CHILDREN:
        child_set = values.get("child_set")
        if not isinstance(child_set, CriteriaSet) or child_set.place_kind != Place.Kind.VILLAGE:
            raise InvalidInput(_("Vui lòng chọn một bộ tiêu chí cấp thôn."), field="child_set")
        if criteria_set.place_kind != Place.Kind.COMMUNE:
            raise InvalidInput(_("Chỉ bộ tiêu chí cấp xã mới đếm được số thôn đạt."), field="kind")
        cleaned["child_set"] = child_set
        if cleaned["threshold"] is None:
            cleaned["threshold"] = Decimal(1)
        if cleaned["threshold"] < 1 or cleaned["threshold"] != cleaned["threshold"].to_integral():
            raise InvalidInput(_("Số thôn phải là số nguyên từ 1 trở lên."), field="threshold")
    else:
        cleaned["threshold"] = None
    return cleaned


@transaction.atomic
def criterion_save(
    *, criteria_set: CriteriaSet, values: dict, by, criterion: Criterion | None = None
) -> Criterion:
    _require_set_manager(by, criteria_set.province)
    cleaned = _criterion_values(criteria_set, values)
    return _save(
        criterion or Criterion(criteria_set=criteria_set),
        cleaned,
        by=by,
        verb="criterion",
        duplicate=_("Bộ tiêu chí đã có tiêu chí với mã này."),
    )


@transaction.atomic
def criterion_delete(*, criterion: Criterion, by) -> None:
    _require_set_manager(by, criterion.criteria_set.province)
    audit.record(
        actor=by,
        verb="criterion.deleted",
        target=criterion.criteria_set,
        changes={"criterion": criterion.code},
    )
    criterion.delete()


@transaction.atomic
def criterion_fact_record(
    *, criterion: Criterion, place: Place, met: bool, evidence: str, by
) -> CriterionFact:
    """A yes/no criterion for one place, with what shows it (a photo's place, a link, a
    minute's number…). Recording it again replaces the previous answer."""
    if not user_can(by, ENTER, place):
        raise PermissionDenied(_("Bạn không được ghi nhận tiêu chí cho địa bàn này."))
    criteria_set = criterion.criteria_set
    if criterion.kind != Criterion.Kind.FACT:
        raise DomainError(
            _("Tiêu chí “%(name)s” được đánh giá tự động, không ghi nhận tay.")
            % {"name": criterion.name},
            field="criterion",
        )
    if place.kind != criteria_set.place_kind:
        raise InvalidInput(
            _("Bộ tiêu chí này áp dụng cho cấp %(kind)s.")
            % {"kind": Place.Kind(criteria_set.place_kind).label.lower()},
            field="place",
        )
    if criteria_set.province_id and not place.path.startswith(criteria_set.province.path):
        raise InvalidInput(_("Địa bàn không thuộc tỉnh của bộ tiêu chí."), field="place")
    if not isinstance(met, bool):
        raise InvalidInput(_("Vui lòng chọn đạt hoặc chưa đạt."), field="met")
    evidence = str(evidence or "").strip()
    if not evidence:
        raise InvalidInput(_("Vui lòng ghi minh chứng."), field="evidence")
    if len(evidence) > 2000:
        raise InvalidInput(_("Tối đa %(n)s ký tự.") % {"n": 2000}, field="evidence")
    fact = CriterionFact.objects.filter(criterion=criterion, place=place).first()
    new = {"met": met, "evidence": evidence, "recorded_by": by}
    if fact is not None and fact.met == met and fact.evidence == evidence:
        return fact
    changes = audit.field_changes(fact, new) if fact else {}
    fact = fact or CriterionFact(criterion=criterion, place=place)
    for field, value in new.items():
        setattr(fact, field, value)
    fact.save()
    audit.record(
        actor=by,
        verb="criterion_fact.recorded",
        target=criteria_set,
        changes=changes or {"criterion": criterion.code, "place": place.code, "met": met},
        place_path=place.path,
    )
    return fact
