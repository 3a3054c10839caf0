"""Citizen reports from the public form /phan-anh/, and the officers' actions on them."""

import cv2
import numpy
import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile

from xaso.core.errors import DomainError, InvalidInput
from xaso.core.models import AuditEntry
from xaso.lib import crypto
from xaso.safety import actions, reports
from xaso.safety.models import CitizenReport, Incident

PHONE, EMAIL, NAME = "0912 777 888", "bao.tin@example.vn", "Hoàng Văn Báo"


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()  # rate-limit counters live in the cache
    yield
    cache.clear()


def jpeg(width: int = 40, height: int = 30) -> bytes:
    image = numpy.zeros((height, width, 3), dtype=numpy.uint8)
    image[:, : width // 2] = (0, 0, 255)
    ok, encoded = cv2.imencode(".jpg", image)
    assert ok
    return encoded.tobytes()


def form_data(world, **overrides) -> dict:
    data = {
        "commune": world.commune_a.code,
        "village": world.a1.code,
        "service_code": "traffic_accident",
        "description": "Xe máy va chạm với ô tô ở ngã ba chợ, một người bị thương.",
        "latitude": "21.012345",
        "longitude": "107.123456",
        "address": "Ngã ba chợ Quảng Tân",
        "contact_name": NAME,
        "contact": PHONE,
        "idempotency_key": "k" * 24,
    }
    data.update(overrides)
    return data


def submit(client, data, photo: bytes | None = None, name: str = "anh.jpg", **extra):
    if photo is not None:
        data = {**data, "photo": SimpleUploadedFile(name, photo, content_type="image/jpeg")}
    return client.post("/phan-anh/", data, **extra)


# --- The form ---------------------------------------------------------------------------------
def test_the_form_lists_the_communes_served_and_preselects_one_by_its_code(client, world):
    page = client.get("/phan-anh/")
    assert page.status_code == 200
    html = page.content.decode()
    assert world.commune_a.name in html and world.commune_b.name in html
    assert world.a1.name not in html  # villages only once a commune is chosen
    assert page["Cache-Control"] == "no-store"  # each render carries its own idempotency key
    assert "sessionid" not in page.cookies and "csrftoken" not in page.cookies

    chosen = client.get(f"/phan-anh/?xa={world.commune_a.code}").content.decode()
    assert f'<option value="{world.commune_a.code}" selected>' in chosen
    assert world.a1.name in chosen and world.b1.name not in chosen


def test_the_configured_default_commune_is_preselected(client, world, settings):
    settings.XASO_OPEN311_JURISDICTION = world.commune_b.code
    html = client.get("/phan-anh/").content.decode()
    assert f'<option value="{world.commune_b.code}" selected>' in html
    assert world.b1.name in html


def test_a_report_with_a_photo_gets_a_tracking_code_and_opens_an_incident(
    client, world, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = submit(client, form_data(world), photo=jpeg())
    assert response.status_code == 303
    report = CitizenReport.objects.get()
    assert response["Location"] == f"/phan-anh/{report.public_id}/?moi=1"
    assert report.place == world.a1 and report.service_code == "traffic_accident"
    assert report.photo.name.endswith(f"{report.public_id}.jpg")
    assert report.photo.read() == jpeg()
    # The contact is encrypted at rest.
    assert PHONE not in report.contact_encrypted
    assert crypto.decrypt(report.contact_encrypted, secret="test-field-key-not-for-production")
    incident = report.incident
    assert incident is not None
    assert incident.category == "traffic_accident" and incident.severity == "medium"
    assert incident.place == world.a1 and str(incident.latitude) == "21.012345"
    assert incident.explanation["citizen_report"] == report.public_id
    assert [step.action for step in incident.steps.all()] == ["opened", "report"]
    assert callbacks, "the police are alerted after commit"
    assert AuditEntry.objects.filter(verb="citizen_report.submitted").count() == 1

    status = client.get(response["Location"])
    html = status.content.decode()
    assert status.status_code == 200
    assert report.public_id in html and "Đã gửi phản ánh" in html
    assert "Đã tiếp nhận" in html and "Tai nạn giao thông" in html


def test_the_incident_alert_reaches_the_commune_police(
    client, world, django_capture_on_commit_callbacks
):
    from xaso.safety import alerts

    with django_capture_on_commit_callbacks(execute=True):
        submit(client, form_data(world))
    incident = CitizenReport.objects.get().incident
    assert world.users["congan"] in alerts.recipients(incident, 0)
    assert world.users["canbo_b"] not in alerts.recipients(incident, 0)


def test_a_text_file_named_like_a_photo_is_refused(client, world):
    response = submit(client, form_data(world), photo=b"not really an image\n" * 10)
    assert response.status_code == 400
    assert "không phải ảnh JPEG hoặc PNG" in response.content.decode()
    assert not CitizenReport.objects.exists()


def test_a_file_that_only_starts_like_a_jpeg_is_refused_after_decoding(client, world):
    forged = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF" + b"\x00" * 200
    response = submit(client, form_data(world), photo=forged)
    assert response.status_code == 400
    assert "không phải ảnh" in response.content.decode()
    assert not CitizenReport.objects.exists()


def test_a_photo_over_the_size_limit_is_refused(client, world, settings):
    settings.XASO_REPORT_PHOTO_MAX_BYTES = 300
    response = submit(client, form_data(world), photo=jpeg(200, 200))
    assert response.status_code == 400
    assert "Ảnh quá lớn" in response.content.decode()


def test_a_png_is_accepted(client, world):
    _ok, png = cv2.imencode(".png", numpy.full((10, 10), 200, dtype=numpy.uint8))
    response = submit(client, form_data(world), photo=png.tobytes(), name="a.png")
    assert response.status_code == 303
    assert CitizenReport.objects.get().photo.name.endswith(".png")


def test_a_report_needs_a_position_or_an_address(client, world):
    data = form_data(world, latitude="", longitude="", address="")
    response = submit(client, data)
    assert response.status_code == 400
    assert "Vui lòng cho biết vị trí" in response.content.decode()
    assert not CitizenReport.objects.exists()

    only_address = submit(client, {**data, "address": "Cầu Đồng Tâm", "idempotency_key": "x"})
    assert only_address.status_code == 303


def test_a_position_outside_viet_nam_or_not_a_number_is_refused(client, world):
    for lat, lon in [("48.85", "2.35"), ("abc", "107.1"), ("21.0", "")]:
        response = submit(client, form_data(world, latitude=lat, longitude=lon))
        assert response.status_code == 400, (lat, lon)
    assert not CitizenReport.objects.exists()


def test_a_bad_contact_and_a_missing_category_are_form_errors(client, world):
    assert submit(client, form_data(world, contact="gọi tôi")).status_code == 400
    assert submit(client, form_data(world, service_code="camera_fault")).status_code == 400
    assert submit(client, form_data(world, description="  ")).status_code == 400
    assert not CitizenReport.objects.exists()


def test_a_village_of_another_commune_falls_back_to_the_commune(client, world):
    response = submit(client, form_data(world, village=world.b1.code))
    assert response.status_code == 303
    assert CitizenReport.objects.get().place == world.commune_a


def test_a_double_submit_makes_one_report(client, world):
    first = submit(client, form_data(world), photo=jpeg())
    second = submit(client, form_data(world), photo=jpeg())
    assert first.status_code == second.status_code == 303
    assert first["Location"] == second["Location"]
    assert CitizenReport.objects.count() == 1
    assert Incident.objects.count() == 1


def test_too_many_reports_from_one_address_get_a_429_page(client, world, settings):
    settings.XASO_REPORTS_PER_HOUR = 2
    for number in range(2):
        assert submit(client, form_data(world, idempotency_key=f"n{number}")).status_code == 303
    refused = submit(client, form_data(world, idempotency_key="n3"))
    assert refused.status_code == 429
    assert "quá nhiều" in refused.content.decode()
    assert CitizenReport.objects.count() == 2
    other = submit(client, form_data(world, idempotency_key="n4"), REMOTE_ADDR="10.9.9.9")
    assert other.status_code == 303


# --- The tracking page ------------------------------------------------------------------------
def test_the_tracking_page_shows_the_status_and_nothing_personal(client, world):
    contact = f"{PHONE} · {EMAIL}"
    report = reports.citizen_report_submit(
        place=world.a2,
        service_code="security",
        description="Có người lạ đi thử khoá xe. Gọi tôi 0912777888.",
        address="Nhà văn hoá thôn",
        contact_name=NAME,
        contact=contact,
    )
    html = client.get(f"/phan-anh/{report.public_id}/").content.decode()
    assert "Đã tiếp nhận" in html and world.a2.name in html and world.commune_a.name in html
    for secret in (NAME, PHONE, EMAIL, "0912777888", "khoá xe", "Nhà văn hoá"):
        assert secret not in html

    reports.citizen_report_close(
        report=report, note="Đã tuần tra, nhắc nhở các hộ khoá xe.", by=world.users["congan"]
    )
    closed = client.get(f"/phan-anh/{report.public_id}/").content.decode()
    assert "Đã xử lý" in closed and "Đã tuần tra, nhắc nhở các hộ khoá xe." in closed


def test_an_unknown_tracking_code_answers_404_and_guessing_is_slowed(client, world, settings):
    settings.XASO_REPORT_LOOKUP_MISSES_PER_MINUTE = 3
    for _ in range(3):
        assert client.get("/phan-anh/khongcoma1234567/").status_code == 404
    assert client.get("/phan-anh/khongcoma1234567/").status_code == 429


def test_odd_tracking_codes_and_commune_codes_are_not_errors(client, world):
    assert client.get("/phan-anh/ab%00cd/").status_code == 404
    assert client.get("/phan-anh/" + "x" * 300 + "/").status_code == 404
    assert client.get("/phan-anh/?xa=069%0013").status_code == 200


# --- Officers' actions ------------------------------------------------------------------------
def _report(world, place=None, **values) -> CitizenReport:
    return reports.citizen_report_submit(
        place=place or world.a1,
        service_code=values.pop("service_code", "fire"),
        description=values.pop("description", "Khói bốc lên từ kho rơm."),
        address="Kho rơm đầu thôn",
        **values,
    )


def test_a_commune_without_the_policy_gets_the_report_without_an_incident(world, settings):
    settings.XASO_REPORTS_OPEN_INCIDENTS = world.commune_b.code
    report = _report(world)
    assert report.incident is None
    assert _report(world, place=world.b1).incident is not None

    with pytest.raises(DomainError):
        reports.citizen_report_to_incident(report=report, by=world.users["canbo_b"])
    incident = reports.citizen_report_to_incident(
        report=report, by=world.users["congan"], severity="high"
    )
    report.refresh_from_db()
    assert report.incident == incident and incident.severity == "high"
    assert incident.category == "fire" and incident.place == world.a1
    with pytest.raises(DomainError):
        reports.citizen_report_to_incident(report=report, by=world.users["congan"])


def test_linking_to_an_existing_incident_marks_the_one_it_opened_a_duplicate(world):
    officer = world.users["congan"]
    existing = actions.incident_report(
        place=world.a1, category="fire", title="Cháy kho rơm", by=officer
    )
    report = _report(world)
    opened = report.incident
    reports.citizen_report_link(report=report, incident=existing, by=officer)
    report.refresh_from_db()
    opened.refresh_from_db()
    assert report.incident == existing
    assert opened.status == Incident.Status.DUPLICATE and opened.duplicate_of == existing
    assert existing.steps.filter(action="report").exists()
    with pytest.raises(DomainError):
        reports.citizen_report_link(report=report, incident=existing, by=officer)


def test_an_officer_of_another_commune_cannot_touch_the_report(world):
    report = _report(world)
    outsider = world.users["canbo_b"]
    foreign = actions.incident_report(
        place=world.b1, category="other", title="Việc bên kia", by=outsider
    )
    with pytest.raises(DomainError):
        reports.citizen_report_close(report=report, note="xong", by=outsider)
    with pytest.raises(DomainError):
        reports.citizen_report_contact(report=report, by=outsider)
    with pytest.raises(InvalidInput):
        reports.citizen_report_link(report=report, incident=foreign, by=world.users["congan"])
    assert not AuditEntry.objects.filter(verb__startswith="citizen_report.c").exists()


def test_closing_needs_a_public_note_and_happens_once(world):
    officer = world.users["lanhdao"]
    report = _report(world)
    with pytest.raises(InvalidInput):
        reports.citizen_report_close(report=report, note="  ", by=officer)
    reports.citizen_report_close(report=report, note="Đã dập lửa.", by=officer)
    report.refresh_from_db()
    assert report.status == "closed" and report.status_notes == "Đã dập lửa."
    with pytest.raises(DomainError):
        reports.citizen_report_close(report=report, note="Lần nữa", by=officer)


def test_revealing_the_contact_is_audited(world):
    report = _report(world, contact_name=NAME, contact=EMAIL)
    revealed = reports.citizen_report_contact(report=report, by=world.users["congan"])
    assert revealed == {"name": NAME, "contact": EMAIL}
    entry = AuditEntry.objects.get(verb="citizen_report.contact_revealed")
    assert entry.actor == world.users["congan"] and EMAIL not in str(entry.changes)


def test_a_report_outside_the_communes_served_is_refused(world):
    from xaso.places.models import Place

    elsewhere = Place.objects.filter(kind=Place.Kind.COMMUNE).exclude(children__isnull=False)
    with pytest.raises(InvalidInput):
        _report(world, place=elsewhere.first())
    with pytest.raises(InvalidInput):
        _report(world, place=world.province)
