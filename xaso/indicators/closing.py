"""Closing a period: the commune leader freezes and signs off her commune's values.

`period_close` counts every indicator for the commune and for each of its villages, stores the
figures as FrozenValue rows, and signs the SHA-256 of their canonical JSON with the commune's
key (the one that signs dossier steps). From then on the engine reads those rows instead of
counting (compute.py), so a visit synced late or a household added afterwards no longer moves
the figures of a period that was signed off.

A province is never closed: its values are live roll-ups of the records of every commune.
"""

import datetime
import hashlib
import json
import zoneinfo
from dataclasses import dataclass
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.permissions import user_can
from xaso.accounts.roles import Capability
from xaso.core import audit
from xaso.core.errors import DomainError, InvalidInput
from xaso.dossiers import signing
from xaso.dossiers.models import SigningKey
from xaso.indicators import compute
from xaso.indicators.models import FrozenValue, Indicator, PeriodClose
from xaso.lib import periods
from xaso.places.models import Place

CENTS = Decimal("0.01")


def local_today() -> datetime.date:
    return timezone.localdate(timezone=zoneinfo.ZoneInfo(settings.TIME_ZONE))


def period_parse(key: str) -> periods.Period:
    """The period a key names, with the deployment's close day; InvalidInput when none."""
    try:
        return periods.parse(key, close_day=settings.XASO_PERIOD_CLOSE_DAY)
    except periods.PeriodError as error:
        raise InvalidInput(str(error), field="period") from error


def period_ended(period: periods.Period, *, today: datetime.date | None = None) -> bool:
    """Whether the period's last day (its close day, e.g. the 14th) is behind us."""
    return (today or local_today()) > period.end


# --- canonical form ---------------------------------------------------------------------------


def _cents(number) -> str | None:
    return None if number is None else str(Decimal(number).quantize(CENTS))


def _canonical(*, commune_code: str, period_key: str, closed_by: str, rows) -> bytes:
    """The exact bytes hashed and signed. `rows` are (indicator code, place code, value,
    numerator, denominator, target); numbers as strings with two decimals, as stored."""
    values = sorted(
        (
            {
                "indicator": indicator,
                "place": place,
                "value": _cents(value),
                "numerator": _cents(numerator),
                "denominator": _cents(denominator),
                "target": _cents(target),
            }
            for indicator, place, value, numerator, denominator, target in rows
        ),
        key=lambda row: (row["place"], row["indicator"]),
    )
    record = {
        "commune": commune_code,
        "period": period_key,
        "closed_by": closed_by,
        "values": values,
    }
    return json.dumps(record, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


# --- closing ------------------------------------------------------------------------------------


def period_close_check(
    *, commune: Place, period: periods.Period, by, today: datetime.date | None = None
) -> None:
    """Raise the reason why `by` may not close `period` for `commune` (the page asks first)."""
    today = today or local_today()
    if commune.kind != Place.Kind.COMMUNE:
        raise DomainError(_("Chỉ chốt số liệu được ở cấp xã, phường."), field="place")
    if not user_can(by, Capability.CLOSE_PERIODS, commune):
        raise PermissionDenied(
            _("Bạn không có quyền chốt số liệu của %(place)s.") % {"place": commune.name}
        )
    if not period_ended(period, today=today):
        raise DomainError(
            _("%(period)s chưa kết thúc (đến hết ngày %(end)s); chỉ chốt được sau ngày đó.")
            % {"period": period.label(), "end": f"{period.end:%d/%m/%Y}"},
            field="period",
        )
    if PeriodClose.objects.filter(place=commune, period=period.key).exists():
        raise DomainError(
            _("Số liệu %(period)s của %(place)s đã được chốt.")
            % {"period": period.label(), "place": commune.name},
            field="period",
        )


@transaction.atomic
def period_close(
    *, commune: Place, period_key: str, by, today: datetime.date | None = None
) -> PeriodClose:
    """Freeze and sign off every indicator of `commune` and its villages for one period."""
    period = period_parse(period_key)
    period_close_check(commune=commune, period=period, by=by, today=today)
    indicators = list(Indicator.objects.all())
    values = compute.values_for_place(indicators, commune, period)
    for row in compute.values_for_children(indicators, commune, period).values():
        values.extend(row)
    # What says nothing at a level (dossiers of a village) is not frozen: it stays "not
    # applicable" when counted again.
    values = [value for value in values if value.applicable or value.value is not None]
    canonical = _canonical(
        commune_code=commune.code,
        period_key=period.key,
        closed_by=by.username,
        rows=[
            (v.indicator.code, v.place.code, v.value, v.numerator, v.denominator, v.target)
            for v in values
        ],
    )
    digest = hashlib.sha256(canonical).hexdigest()
    key = signing.signing_key_for(commune)
    try:
        with transaction.atomic():  # two leaders closing at once: the second one is refused
            close = PeriodClose.objects.create(
                place=commune,
                period=period.key,
                closed_by=by,
                values_sha256=digest,
                signature=signing.sign_hash(key, digest),
            )
    except IntegrityError as error:
        raise DomainError(
            _("Số liệu %(period)s của %(place)s đã được chốt.")
            % {"period": period.label(), "place": commune.name},
            field="period",
        ) from error
    FrozenValue.objects.bulk_create(
        FrozenValue(
            close=close,
            indicator=value.indicator,
            place=value.place,
            period=period.key,
            value=value.value,
            numerator=value.numerator,
            denominator=value.denominator,
            target=value.target,
        )
        for value in values
    )
    audit.record(
        actor=by,
        verb="period.closed",
        target=close,
        place_path=commune.path,
        changes={"period": period.key, "sha256": digest, "values": len(values)},
    )
    return close


# --- reading a sign-off -------------------------------------------------------------------------


@dataclass(frozen=True)
class SignOff:
    close: PeriodClose
    commune: Place
    closed_by: str
    closed_at: datetime.datetime  # local time
    hash_matches: bool  # the frozen rows still hash to what was signed
    signature_valid: bool  # and the commune's certificate verifies the signature
    signer: str  # the certificate's label

    @property
    def valid(self) -> bool:
        return self.hash_matches and self.signature_valid


def period_close_verify(close: PeriodClose) -> SignOff:
    """Recount nothing: hash the stored rows again and check the signature over that hash."""
    rows = close.values.values_list(
        "indicator__code", "place__code", "value", "numerator", "denominator", "target"
    )
    canonical = _canonical(
        commune_code=close.place.code,
        period_key=close.period,
        closed_by=close.closed_by.username,
        rows=list(rows),
    )
    hash_matches = hashlib.sha256(canonical).hexdigest() == close.values_sha256
    signer = ""
    valid = False
    for key in SigningKey.objects.filter(commune=close.place).order_by("-is_active", "-id"):
        if signing.signature_valid(key.certificate_pem, close.values_sha256, close.signature):
            valid, signer = True, key.label
            break
    return SignOff(
        close=close,
        commune=close.place,
        closed_by=close.closed_by.full_name or close.closed_by.username,
        closed_at=timezone.localtime(close.closed_at),
        hash_matches=hash_matches,
        signature_valid=valid,
        signer=signer,
    )


def sign_off_for(place: Place, period: periods.Period) -> SignOff | None:
    """The sign-off that froze `place`'s values: its own commune's (a village's parent)."""
    commune = place if place.kind == Place.Kind.COMMUNE else None
    if place.kind == Place.Kind.VILLAGE:
        commune = place.parent
    if commune is None:
        return None
    close = (
        PeriodClose.objects.filter(place=commune, period=period.key)
        .select_related("place", "closed_by")
        .first()
    )
    return period_close_verify(close) if close else None


def communes_closed(province: Place, period: periods.Period) -> tuple[int, int]:
    """(closed, all) communes of a province for the period, for the note on its pages."""
    communes = Place.objects.filter(kind=Place.Kind.COMMUNE, parent=province)
    closed = PeriodClose.objects.filter(place__in=communes, period=period.key).count()
    return closed, communes.count()


# --- demo ---------------------------------------------------------------------------------------


def demo_periods_close(*, commune: Place, by, count: int = 1) -> list[PeriodClose]:
    """For `xaso demo`: close the last `count` ended monthly periods of the demo commune, so the
    dashboard shows a signed-off period beside the live one. Skips those already closed."""
    today = local_today()
    current = periods.containing(today, close_day=settings.XASO_PERIOD_CLOSE_DAY)
    ended = periods.previous(current, count + 1, close_day=settings.XASO_PERIOD_CLOSE_DAY)[:-1]
    closes = []
    for period in ended:
        if not PeriodClose.objects.filter(place=commune, period=period.key).exists():
            closes.append(period_close(commune=commune, period_key=period.key, by=by, today=today))
    return closes
