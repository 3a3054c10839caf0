"""Citizen reports (the public form and Open311) and the keys of Open311 applications.

Every write about a report is here, with the same conventions as `actions.py`: keyword-only
arguments, one transaction, an audit row, alerts after commit. A few public reads (the communes
that take reports, a report by its tracking code) live here too, because the two public
interfaces (`public_views.py`, `open311.py`) share them and they need no user scope.

Settings (settings.py, "Citizen reports"): XASO_REPORTS_OPEN_INCIDENTS, XASO_OPEN311_JURISDICTION,
XASO_REPORT_PHOTO_MAX_BYTES.
"""

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from xaso.accounts.permissions import user_can
from xaso.accounts.roles import Capability
from xaso.core import audit
from xaso.core.errors import DomainError, InvalidInput
from xaso.lib import crypto
from xaso.places.models import Place
from xaso.safety import actions, alerts
from xaso.safety.models import OPEN_STATUSES, CitizenReport, Incident, IncidentStep, Open311Key

# The incident categories a resident may report (a camera fault is for the cameras to say).
SERVICE_CODES = (
    Incident.Category.TRAFFIC_ACCIDENT,
    Incident.Category.TRAFFIC_VIOLATION,
    Incident.Category.SECURITY,
    Incident.Category.FIRE,
    Incident.Category.FLOODING,
    Incident.Category.CROWDING,
    Incident.Category.OTHER,
)
DESCRIPTION_MAX = 4000  # the Open311 limit
PHOTO_MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding
PHOTO_MAGIC = {b"\xff\xd8\xff": "jpg", b"\x89PNG\r\n\x1a\n": "png"}
# Rough bounding box of Viet Nam, islands included: a coordinate outside is a mistake.
VIETNAM_LAT, VIETNAM_LON = (8.0, 24.0), (102.0, 118.0)


def photo_max_bytes() -> int:
    return settings.XASO_REPORT_PHOTO_MAX_BYTES


def service_name(code: str) -> str:
    return str(Incident.Category(code).label) if code in Incident.Category.values else code


def _encrypt(value: str) -> str:
    return crypto.encrypt(value, secret=settings.FIELD_ENCRYPTION_KEY) if value else ""


def _decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return crypto.decrypt(token, secret=settings.FIELD_ENCRYPTION_KEY)
    except crypto.DecryptionError as error:
        raise DomainError(
            _("Không giải mã được dữ liệu này: khoá mã hoá (XASO_FIELD_KEY) không khớp.")
        ) from error


# --- Public reads -----------------------------------------------------------------------------
def report_communes() -> QuerySet:
    """Communes that take reports: those with villages or cameras (i.e. run on this site)."""
    served = Q(children__kind=Place.Kind.VILLAGE) | Q(cameras__isnull=False)
    ids = Place.objects.filter(served, kind=Place.Kind.COMMUNE).values("pk")
    return Place.objects.filter(pk__in=ids).order_by("name", "code")


def report_commune(code: str) -> Place | None:
    code = str(code or "").replace("\x00", "").strip()[:20]
    if not code:
        return None
    return report_communes().filter(code=code).first()


def default_commune() -> Place | None:
    """XASO_OPEN311_JURISDICTION if set, else the one commune the site serves, else None."""
    configured = settings.XASO_OPEN311_JURISDICTION.strip()
    if configured:
        return report_commune(configured)
    communes = list(report_communes()[:2])
    return communes[0] if len(communes) == 1 else None


def commune_of(place: Place) -> Place:
    return place if place.kind == Place.Kind.COMMUNE else place.parent


def citizen_reports_public() -> QuerySet:
    """Every report, for the anonymous interfaces: they must show only public fields."""
    return CitizenReport.objects.select_related("place", "place__parent").order_by(
        "-created_at", "-id"
    )


_CODE = re.compile(r"[0-9a-z]{1,20}")


def citizen_report_public_get(code: str) -> CitizenReport | None:
    code = str(code or "").strip().lower()
    if not _CODE.fullmatch(code):
        return None
    return citizen_reports_public().filter(public_id=code).first()


# A phone number as people write it: "0912 345 678", "+84-912.345.678".
PHONE_RE = re.compile(r"\+?\d[\d .-]{6,18}\d")
_NUMBERS = re.compile(r"(?<!\d)\+?\d[\d .-]*\d(?!\d)")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def _hide_phone(match: re.Match) -> str:
    digits = sum(char.isdigit() for char in match.group())
    return "…" if digits >= 9 else match.group()  # a date (8 digits) stays


def redact(text: str) -> str:
    """Hide phone numbers and e-mail addresses a reporter typed into free text."""
    return _NUMBERS.sub(_hide_phone, _EMAIL.sub("…", text or ""))


# --- Checks -----------------------------------------------------------------------------------
def _report_place(place: Place | None) -> Place:
    if place is None or place.kind not in {Place.Kind.COMMUNE, Place.Kind.VILLAGE}:
        raise InvalidInput(_("Vui lòng chọn xã hoặc thôn."), field="place")
    if not report_communes().filter(pk=commune_of(place).pk).exists():
        raise InvalidInput(_("Xã này chưa nhận phản ánh qua XãSố."), field="place")
    return place


def _service_code(code: str) -> str:
    code = str(code or "").strip()
    if not code:
        raise InvalidInput(_("Vui lòng chọn loại sự việc."), field="service_code")
    if code not in SERVICE_CODES:
        raise InvalidInput(
            _("Loại sự việc không hợp lệ: %(code)s.") % {"code": code[:40]}, field="service_code"
        )
    return code


def _location(latitude, longitude, address: str) -> dict:
    values = {"latitude": latitude, "longitude": longitude}
    lat = actions._coordinate(values, "latitude", 90)
    lon = actions._coordinate(values, "longitude", 180)
    if (lat is None) != (lon is None):
        field = "longitude" if lon is None else "latitude"
        raise InvalidInput(_("Cần cả vĩ độ và kinh độ."), field=field)
    if lat is not None and not (
        VIETNAM_LAT[0] <= lat <= VIETNAM_LAT[1] and VIETNAM_LON[0] <= lon <= VIETNAM_LON[1]
    ):
        raise InvalidInput(_("Vị trí nằm ngoài lãnh thổ Việt Nam."), field="latitude")
    address = actions._text({"address": address}, "address", max_length=255)
    if lat is None and not address:
        raise InvalidInput(
            _("Vui lòng cho biết vị trí: bật định vị trên điện thoại hoặc nhập địa chỉ."),
            field="address",
        )
    return {"latitude": lat, "longitude": lon, "address": address}


def _description(text: str) -> str:
    text = "\n".join(line.strip() for line in str(text or "").strip().splitlines()).strip()
    if not text:
        raise InvalidInput(_("Vui lòng mô tả sự việc."), field="description")
    if len(text) > DESCRIPTION_MAX:
        raise InvalidInput(_("Tối đa %(n)s ký tự.") % {"n": DESCRIPTION_MAX}, field="description")
    return text


def photo_check(photo) -> tuple[bytes, str] | None:
    """The photo's bytes and extension, once it is proven to be a JPEG or PNG image.

    Accepts an uploaded file or bytes. The size and the pixel count are checked before the
    image is decoded (with OpenCV), so a huge or forged file costs no memory.
    """
    if photo is None:
        return None
    limit = photo_max_bytes()
    too_big = _("Ảnh quá lớn (tối đa %(mb)s MB).") % {"mb": round(limit / 1024 / 1024, 1)}
    if isinstance(photo, bytes | bytearray):
        data = bytes(photo)
    else:
        if getattr(photo, "size", 0) and photo.size > limit:
            raise InvalidInput(too_big, field="photo")
        photo.seek(0)
        data = photo.read(limit + 1)
    if not data:
        return None
    if len(data) > limit:
        raise InvalidInput(too_big, field="photo")
    extension = next((ext for magic, ext in PHOTO_MAGIC.items() if data.startswith(magic)), None)
    not_image = _("Tệp đã chọn không phải ảnh JPEG hoặc PNG hợp lệ.")
    if extension is None:
        raise InvalidInput(not_image, field="photo")
    size = _png_size(data) if extension == "png" else _jpeg_size(data)
    if size is None or not all(size):
        raise InvalidInput(not_image, field="photo")
    if size[0] * size[1] > PHOTO_MAX_PIXELS:
        raise InvalidInput(_("Ảnh có độ phân giải quá lớn."), field="photo")
    import cv2  # heavy: imported only when a photo comes
    import numpy

    image = cv2.imdecode(numpy.frombuffer(data, dtype=numpy.uint8), cv2.IMREAD_GRAYSCALE)
    if image is None or image.size == 0:
        raise InvalidInput(not_image, field="photo")
    return data, extension


def _png_size(data: bytes) -> tuple[int, int] | None:
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the first SOF marker."""
    index = 2
    while index + 9 < len(data):
        if data[index] != 0xFF:
            return None
        marker = data[index + 1]
        if marker == 0xFF:  # fill byte
            index += 1
            continue
        if marker in (0x01, *range(0xD0, 0xD9)):  # markers without a length
            index += 2
            continue
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height = int.from_bytes(data[index + 5 : index + 7], "big")
            width = int.from_bytes(data[index + 7 : index + 9], "big")
            return width, height
        index += 2 + int.from_bytes(data[index + 2 : index + 4], "big")
    return None


# --- Reports ----------------------------------------------------------------------------------
def opens_incident(place: Place) -> bool:
    """The commune's policy: does a new report open an incident at once?"""
    policy = settings.XASO_REPORTS_OPEN_INCIDENTS.strip().lower()
    if policy in {"", "all", "*"}:
        return True
    if policy == "none":
        return False
    codes = {code.strip() for code in policy.split(",") if code.strip()}
    return commune_of(place).code in codes


@transaction.atomic
def citizen_report_submit(
    *,
    place: Place,
    service_code: str,
    description: str,
    latitude=None,
    longitude=None,
    address: str = "",
    photo=None,
    contact_name: str = "",
    contact: str = "",
    api_client: str = "",
    idempotency_key: str = "",
) -> CitizenReport:
    """A resident's report. Opens an incident at once when the commune's policy says so.

    A second submission with the same `idempotency_key` returns the first report unchanged.
    The caller namespaces the key (the web form and each Open311 application apart).
    """
    # NUL characters are refused by PostgreSQL; they carry no meaning in any of these.
    description, address, contact_name, contact, idempotency_key = (
        str(value or "").replace("\x00", "")
        for value in (description, address, contact_name, contact, idempotency_key)
    )
    idempotency_key = idempotency_key.strip()[:100]
    if idempotency_key:
        existing = CitizenReport.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
    place = _report_place(place)
    report = CitizenReport(
        place=place,
        service_code=_service_code(service_code),
        description=_description(description),
        contact_name_encrypted=_encrypt(
            actions._text({"contact_name": contact_name}, "contact_name", max_length=150)
        ),
        contact_encrypted=_encrypt(actions._text({"contact": contact}, "contact", max_length=200)),
        api_client=str(api_client or "")[:100],
        idempotency_key=idempotency_key,
        **_location(latitude, longitude, address),
    )
    checked = photo_check(photo)
    if checked is not None:
        data, extension = checked
        report.photo.save(f"{report.public_id}.{extension}", ContentFile(data), save=False)
    try:
        with transaction.atomic():
            report.save()
    except IntegrityError:  # the same key, submitted concurrently
        if not idempotency_key:
            raise
        if report.photo:
            report.photo.delete(save=False)
        return CitizenReport.objects.get(idempotency_key=idempotency_key)
    audit.record(
        actor=None,
        verb="citizen_report.submitted",
        target=report,
        changes={"service_code": report.service_code, "api_client": report.api_client},
        place_path=place.path,
    )
    if opens_incident(place):
        _open_incident(report, by=None)
    return report


def _open_incident(
    report: CitizenReport, *, by, category: str | None = None, severity: str = "medium"
) -> Incident:
    category = category or report.service_code
    if category not in Incident.Category.values:
        raise InvalidInput(_("Loại vụ việc không hợp lệ."), field="category")
    if severity not in Incident.Severity.values:
        raise InvalidInput(_("Mức độ không hợp lệ."), field="severity")
    title = _("%(category)s (người dân phản ánh) tại %(place)s") % {
        "category": Incident.Category(category).label,
        "place": report.place.name,
    }
    incident = actions._incident_create(
        category=category,
        severity=severity,
        title=title,
        place=report.place,
        at=report.created_at or timezone.now(),
        explanation={
            "citizen_report": report.public_id,
            "source": report.api_client or "web",
        },
        description=report.description,
        latitude=report.latitude,
        longitude=report.longitude,
    )
    _attach(report, incident, by=by)
    audit.record(
        actor=by,
        verb="incident.opened",
        target=incident,
        changes={"citizen_report": report.public_id},
        place_path=report.place.path,
    )
    transaction.on_commit(lambda: alerts.incident_opened(incident))
    return incident


def _attach(report: CitizenReport, incident: Incident, *, by) -> None:
    report.incident = incident
    report.save(update_fields=["incident", "updated_at"])
    IncidentStep.objects.create(
        incident=incident,
        at=timezone.now(),
        actor=by if getattr(by, "pk", None) else None,
        action="report",
        status=incident.status,
        data={"report": report.public_id},
    )


def _require_handler(by, report: CitizenReport) -> None:
    if not user_can(by, Capability.HANDLE_INCIDENTS, report.place):
        raise DomainError(_("Bạn không có quyền xử lý phản ánh này."))


def _locked(report: CitizenReport) -> CitizenReport:
    return CitizenReport.objects.select_for_update().select_related("place").get(pk=report.pk)


@transaction.atomic
def citizen_report_link(*, report: CitizenReport, incident: Incident, by) -> CitizenReport:
    """Join the report to an existing incident. An incident the report alone opened, still
    open, becomes a duplicate of that one (the officer chose it "instead")."""
    report = _locked(report)
    _require_handler(by, report)
    if incident is None or not user_can(by, Capability.HANDLE_INCIDENTS, incident.place):
        raise InvalidInput(_("Vui lòng chọn vụ việc."), field="incident")
    if report.incident_id == incident.pk:
        raise DomainError(_("Phản ánh đã gắn với vụ việc này."))
    previous = report.incident
    _attach(report, incident, by=by)
    audit.record(
        actor=by,
        verb="citizen_report.linked",
        target=report,
        changes={"incident": [previous.public_id if previous else None, incident.public_id]},
        place_path=report.place.path,
    )
    if (
        previous is not None
        and previous.explanation.get("citizen_report") == report.public_id
        and previous.status in OPEN_STATUSES
        and not previous.reports.exists()
    ):
        actions.incident_transition(
            incident=previous, action="duplicate", by=by, duplicate_of=incident
        )
    return report


@transaction.atomic
def citizen_report_to_incident(
    *, report: CitizenReport, by, category: str | None = None, severity: str = "medium"
) -> Incident:
    """Open an incident from a report that has none (the commune's policy did not)."""
    report = _locked(report)
    _require_handler(by, report)
    if report.incident_id is not None:
        raise DomainError(_("Phản ánh đã gắn với một vụ việc."))
    return _open_incident(report, by=by, category=category, severity=severity)


def _public_note(note: str, *, required: bool) -> str:
    note = " ".join(str(note or "").split())
    if required and not note:
        raise InvalidInput(_("Vui lòng ghi kết quả để báo cho người phản ánh."), field="note")
    if len(note) > 500:
        raise InvalidInput(_("Tối đa %(n)s ký tự.") % {"n": 500}, field="note")
    return note


@transaction.atomic
def citizen_report_note(*, report: CitizenReport, note: str, by) -> CitizenReport:
    """Set the public status note the reporter reads on the tracking page and in Open311."""
    report = _locked(report)
    _require_handler(by, report)
    report.status_notes = _public_note(note, required=True)
    report.save(update_fields=["status_notes", "updated_at"])
    audit.record(actor=by, verb="citizen_report.noted", target=report, place_path=report.place.path)
    return report


@transaction.atomic
def citizen_report_close(*, report: CitizenReport, note: str, by) -> CitizenReport:
    """Processed: the status becomes closed with a public note for the reporter."""
    report = _locked(report)
    _require_handler(by, report)
    if report.status == CitizenReport.Status.CLOSED:
        raise DomainError(_("Phản ánh này đã được xử lý."))
    report.status = CitizenReport.Status.CLOSED
    report.status_notes = _public_note(note, required=True)
    report.save(update_fields=["status", "status_notes", "updated_at"])
    audit.record(
        actor=by,
        verb="citizen_report.closed",
        target=report,
        changes={"status": [CitizenReport.Status.OPEN, CitizenReport.Status.CLOSED]},
        place_path=report.place.path,
    )
    return report


def citizen_report_contact(*, report: CitizenReport, by) -> dict:
    """The reporter's contact for an officer who handles the report; every reveal is audited."""
    _require_handler(by, report)
    name, contact = _decrypt(report.contact_name_encrypted), _decrypt(report.contact_encrypted)
    audit.record(
        actor=by,
        verb="citizen_report.contact_revealed",
        target=report,
        place_path=report.place.path,
    )
    return {"name": name, "contact": contact}


# --- Open311 keys -----------------------------------------------------------------------------
def _key_digest(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


@transaction.atomic
def open311_key_create(*, name: str) -> tuple[Open311Key, str]:
    """A key for one Open311 application: `o311_<prefix>_<secret>`, shown once."""
    name = actions._text({"name": name}, "name", required=_("Vui lòng đặt tên."), max_length=100)
    if Open311Key.objects.filter(name=name).exists():
        raise DomainError(_("Đã có khoá mang tên này."), field="name")
    prefix = secrets.token_hex(4)
    plain = f"o311_{prefix}_{secrets.token_urlsafe(32)}"
    key = Open311Key.objects.create(name=name, prefix=prefix, key_hash=_key_digest(plain))
    audit.record(actor=None, verb="open311_key.created", target=key)
    return key, plain


@transaction.atomic
def open311_key_revoke(*, prefix: str) -> Open311Key:
    key = Open311Key.objects.filter(prefix=str(prefix).strip(), revoked_at__isnull=True).first()
    if key is None:
        raise DomainError(_("Không có khoá đang hiệu lực với tiền tố này."), field="prefix")
    key.revoked_at = timezone.now()
    key.save(update_fields=["revoked_at"])
    audit.record(actor=None, verb="open311_key.revoked", target=key)
    return key


def open311_key_check(plain: str) -> Open311Key | None:
    """The active key `plain` belongs to, or None."""
    parts = str(plain or "").strip().split("_", 2)
    if len(parts) != 3 or parts[0] != "o311" or len(parts[1]) != 8:
        return None
    key = Open311Key.objects.filter(prefix=parts[1], revoked_at__isnull=True).first()
    if key is None or not hmac.compare_digest(key.key_hash, _key_digest("_".join(parts))):
        return None
    return key
