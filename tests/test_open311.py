"""Open311 GeoReport v2 at /open311/v2/: discovery, services, requests; keys; no personal data."""

import datetime
import io
import json

import pytest
from django.core.cache import cache
from django.core.management import CommandError, call_command
from django.utils import timezone

from xaso.core.models import AuditEntry
from xaso.safety import reports
from xaso.safety.models import CitizenReport, Open311Key

BASE = "/open311/v2"
PHONE, EMAIL, FIRST, LAST = "0988123456", "nguoi.bao@example.vn", "Đinh", "Thị Kín"


@pytest.fixture(autouse=True)
def fresh_limits():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api_key(db) -> str:
    _key, plain = reports.open311_key_create(name="Ứng dụng thử")
    return plain


def body(world, api_key: str, **overrides) -> dict:
    values = {
        "api_key": api_key,
        "jurisdiction_id": world.commune_a.code,
        "service_code": "flooding",
        "lat": "21.0123",
        "long": "107.4567",
        "address_string": "Đường liên thôn Đồng Tâm",
        "description": "Nước ngập qua mặt đường, xe máy chết máy.",
        "email": EMAIL,
        "phone": PHONE,
        "first_name": FIRST,
        "last_name": LAST,
    }
    values.update(overrides)
    return {key: value for key, value in values.items() if value is not None}


def post(client, data: dict, **extra):
    return client.post(f"{BASE}/requests.json", data, **extra)


def error_of(response) -> dict:
    errors = response.json()
    assert isinstance(errors, list) and len(errors) == 1
    assert errors[0]["code"] == response.status_code
    assert errors[0]["description"]
    return errors[0]


# --- Discovery and services -------------------------------------------------------------------
def test_discovery_names_the_endpoint_and_json(client, world):
    answer = client.get(f"{BASE}/discovery.json")
    assert answer.status_code == 200
    endpoint = answer.json()["endpoints"][0]
    assert endpoint["url"].endswith("/open311/v2/")
    assert endpoint["formats"] == ["application/json"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"


def test_xml_is_answered_400_with_a_json_error(client, world):
    for path in ("discovery.xml", "services.xml", "requests.xml", "services/fire.xml"):
        answer = client.get(f"{BASE}/{path}")
        assert answer.status_code == 400, path
        assert "JSON" in error_of(answer)["description"]


def test_services_list_the_categories_a_resident_may_report(client, world):
    services = client.get(f"{BASE}/services.json").json()
    codes = [service["service_code"] for service in services]
    assert codes == list(reports.SERVICE_CODES)
    assert "camera_fault" not in codes
    fire = next(service for service in services if service["service_code"] == "fire")
    assert fire["service_name"] == "Cháy nổ"
    assert fire["metadata"] is False and fire["type"] == "realtime"
    assert {"keywords", "group", "description"} <= set(fire)


def test_a_service_definition_and_an_unknown_service(client, world):
    assert client.get(f"{BASE}/services/fire.json").json() == {
        "service_code": "fire",
        "attributes": [],
    }
    unknown = client.get(f"{BASE}/services/ufo.json")
    assert unknown.status_code == 404
    assert "ufo" in error_of(unknown)["description"]


def test_an_unknown_jurisdiction_is_404(client, world):
    answer = client.get(f"{BASE}/services.json", {"jurisdiction_id": "99999"})
    assert answer.status_code == 404
    error_of(answer)


# --- POST requests ----------------------------------------------------------------------------
def test_a_post_without_or_with_a_bad_or_revoked_key_is_403(client, world, api_key):
    for bad in ("", "o311_abc_def", api_key[:-4] + "AAAA", "xaso_123_456"):
        assert error_of(post(client, body(world, bad)))["code"] == 403
    reports.open311_key_revoke(prefix=api_key.split("_")[1])
    assert error_of(post(client, body(world, api_key)))["code"] == 403
    assert not CitizenReport.objects.exists()


def test_a_post_with_a_good_key_creates_a_request(client, world, api_key):
    answer = post(client, body(world, api_key))
    assert answer.status_code == 201
    [created] = answer.json()
    report = CitizenReport.objects.get()
    assert created["service_request_id"] == report.public_id
    assert f"/phan-anh/{report.public_id}/" in created["service_notice"]
    assert report.api_client == "Ứng dụng thử" and report.place == world.commune_a
    assert FIRST not in report.contact_name_encrypted and LAST not in report.contact_name_encrypted
    assert PHONE not in report.contact_encrypted and EMAIL not in report.contact_encrypted
    assert report.incident is not None and report.incident.category == "flooding"
    revealed = reports.citizen_report_contact(report=report, by=world.users["congan"])
    assert revealed == {"name": f"{FIRST} {LAST}", "contact": f"{PHONE} · {EMAIL}"}


def test_a_post_may_be_json(client, world, api_key):
    answer = client.post(
        f"{BASE}/requests.json",
        json.dumps(body(world, api_key, lat=21.01, long=107.45)),
        content_type="application/json",
    )
    assert answer.status_code == 201
    assert CitizenReport.objects.get().latitude is not None
    broken = client.post(f"{BASE}/requests.json", "{oops", content_type="application/json")
    assert broken.status_code == 400
    error_of(broken)


@pytest.mark.parametrize(
    ("overrides", "status", "words"),
    [
        ({"service_code": None}, 400, "service_code"),
        ({"service_code": "ufo"}, 404, "ufo"),
        ({"lat": None, "long": None, "address_string": None}, 400, "address_string"),
        ({"lat": "21.0", "long": None, "address_string": None}, 400, "kinh độ"),
        ({"lat": "abc"}, 400, "Toạ độ"),
        ({"description": None}, 400, "mô tả"),
        ({"description": "x" * 4001}, 400, "4000"),
        ({"email": "khong-phai-email"}, 400, "email"),
        ({"phone": "gọi tôi"}, 400, "điện thoại"),
        ({"jurisdiction_id": None}, 400, "jurisdiction_id"),
        ({"jurisdiction_id": "99999"}, 404, "99999"),
    ],
)
def test_a_post_with_missing_or_invalid_fields_is_refused(
    client, world, api_key, overrides, status, words
):
    answer = post(client, body(world, api_key, **overrides))
    assert answer.status_code == status
    assert words.lower() in error_of(answer)["description"].lower()
    assert not CitizenReport.objects.exists()


def test_the_default_jurisdiction_comes_from_the_settings(client, world, api_key, settings):
    settings.XASO_OPEN311_JURISDICTION = world.commune_b.code
    answer = post(client, body(world, api_key, jurisdiction_id=None))
    assert answer.status_code == 201
    assert CitizenReport.objects.get().place == world.commune_b


def test_a_retried_post_with_the_same_idempotency_key_makes_one_request(client, world, api_key):
    first = post(client, body(world, api_key), headers={"Idempotency-Key": "abc-1"})
    second = post(client, body(world, api_key), headers={"Idempotency-Key": "abc-1"})
    assert first.json()[0]["service_request_id"] == second.json()[0]["service_request_id"]
    assert CitizenReport.objects.count() == 1
    post(client, body(world, api_key))
    assert CitizenReport.objects.count() == 2


def test_posts_are_rate_limited_per_key(client, world, api_key, settings):
    settings.XASO_OPEN311_POSTS_PER_MINUTE = 2
    assert [post(client, body(world, api_key)).status_code for _ in range(3)] == [201, 201, 429]
    _other, other_key = reports.open311_key_create(name="Ứng dụng khác")
    assert post(client, body(world, other_key)).status_code == 201


def test_other_methods_are_405_as_a_json_list(client, world):
    answer = client.put(f"{BASE}/requests.json")
    assert answer.status_code == 405
    error_of(answer)
    assert client.post(f"{BASE}/services.json").status_code == 405


# --- GET requests -----------------------------------------------------------------------------
def _report(world, *, days_ago: int = 0, place=None, code: str = "security", **values):
    report = reports.citizen_report_submit(
        place=place or world.a1,
        service_code=code,
        description=values.pop("description", "Tụ tập gây mất trật tự."),
        address="Sân bóng thôn",
        latitude="21.012345",
        longitude="107.456789",
        **values,
    )
    if days_ago:
        moment = timezone.now() - datetime.timedelta(days=days_ago)
        CitizenReport.objects.filter(pk=report.pk).update(created_at=moment)
    return report


def _ids(answer) -> set[str]:
    assert answer.status_code == 200, answer.content
    return {request["service_request_id"] for request in answer.json()}


def test_get_requests_filters_by_date_status_service_ids_and_jurisdiction(client, world):
    recent = _report(world)
    older = _report(world, days_ago=20, code="fire")
    ancient = _report(world, days_ago=200)
    other_commune = _report(world, place=world.b1)
    reports.citizen_report_close(report=older, note="Đã xử lý xong.", by=world.users["congan"])
    url = f"{BASE}/requests.json"

    # No dates: the last 90 days.
    assert _ids(client.get(url)) == {recent.public_id, older.public_id, other_commune.public_id}
    assert _ids(client.get(url, {"status": "closed"})) == {older.public_id}
    assert older.public_id not in _ids(client.get(url, {"status": "open"}))
    assert _ids(client.get(url, {"service_code": "fire"})) == {older.public_id}
    ten_days_ago = (timezone.now() - datetime.timedelta(days=10)).isoformat()
    assert _ids(client.get(url, {"end_date": ten_days_ago})) == {
        older.public_id,
        ancient.public_id,
    }
    start = (timezone.now() - datetime.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%S+07:00")
    assert older.public_id in _ids(client.get(url, {"start_date": start}))
    assert ancient.public_id not in _ids(client.get(url, {"start_date": start}))
    assert _ids(client.get(url, {"start_date": "2000-01-01", "end_date": "2000-12-31"})) == set()
    assert _ids(client.get(url, {"jurisdiction_id": world.commune_b.code})) == {
        other_commune.public_id
    }
    both = f"{ancient.public_id},{recent.public_id}"
    assert _ids(client.get(url, {"service_request_id": both, "status": "closed"})) == {
        ancient.public_id,
        recent.public_id,
    }
    [closed] = client.get(url, {"status": "closed"}).json()
    assert closed["status_notes"] == "Đã xử lý xong." and closed["service_name"] == "Cháy nổ"
    assert closed["requested_datetime"].endswith("+07:00")


@pytest.mark.parametrize(
    "params",
    [
        {"status": "pending"},
        {"start_date": "hôm qua"},
        {"end_date": "2025-13-45"},
        {"service_code": "ufo"},
        {"start_date": "2025-07-02", "end_date": "2025-07-01"},
    ],
)
def test_get_requests_with_bad_filters_is_400(client, world, params):
    answer = client.get(f"{BASE}/requests.json", params)
    assert answer.status_code == 400
    error_of(answer)


def test_one_request_by_id_and_an_unknown_id(client, world):
    report = _report(world)
    answer = client.get(f"{BASE}/requests/{report.public_id}.json")
    assert answer.status_code == 200
    [request] = answer.json()
    assert request["service_request_id"] == report.public_id
    assert request["lat"] == 21.012 and request["long"] == 107.457  # about 100 m
    assert "media_url" not in request
    unknown = client.get(f"{BASE}/requests/khongco.json")
    assert unknown.status_code == 404
    error_of(unknown)


def test_no_personal_data_in_any_get_answer(client, world, api_key, tmp_path):
    from tests.test_citizen_reports import jpeg

    post(
        client,
        body(world, api_key, description=f"Ngập sâu. Liên hệ {PHONE} hoặc {EMAIL}."),
    )
    _report(world, contact_name=f"{FIRST} {LAST}", contact=PHONE, photo=jpeg())
    ids = list(CitizenReport.objects.values_list("public_id", flat=True))
    answers = [
        client.get(f"{BASE}/requests.json"),
        client.get(f"{BASE}/requests.json", {"service_request_id": ",".join(ids)}),
        *(client.get(f"{BASE}/requests/{public_id}.json") for public_id in ids),
        *(client.get(f"/phan-anh/{public_id}/") for public_id in ids),
    ]
    for answer in answers:
        text = answer.content.decode()
        assert answer.status_code == 200
        for secret in (PHONE, EMAIL, FIRST, LAST, "0988", "example.vn", "reports/"):
            assert secret not in text, (secret, answer.request["PATH_INFO"])
    [posted] = client.get(f"{BASE}/requests.json", {"service_code": "flooding"}).json()
    assert posted["description"] == "Ngập sâu. Liên hệ … hoặc …."


# --- The key command --------------------------------------------------------------------------
def test_the_key_command_creates_a_key_that_works_lists_and_revokes_it(client, world):
    out = io.StringIO()
    call_command("open311_key", "create", "FixMyStreet", stdout=out, stderr=io.StringIO())
    plain = out.getvalue().strip()
    assert plain.startswith("o311_")
    key = Open311Key.objects.get(name="FixMyStreet")
    assert plain not in key.key_hash and key.prefix in plain
    assert post(client, body(world, plain)).status_code == 201

    listing = io.StringIO()
    call_command("open311_key", "list", stdout=listing)
    assert key.prefix in listing.getvalue() and "FixMyStreet" in listing.getvalue()
    assert plain not in listing.getvalue()

    call_command("open311_key", "revoke", key.prefix, stdout=io.StringIO())
    assert post(client, body(world, plain)).status_code == 403
    with pytest.raises(CommandError):
        call_command("open311_key", "revoke", key.prefix, stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("open311_key", "create", "FixMyStreet", stdout=io.StringIO())
    verbs = set(AuditEntry.objects.values_list("verb", flat=True))
    assert {"open311_key.created", "open311_key.revoked"} <= verbs


def test_nul_characters_and_odd_values_never_cause_a_500(client, world, api_key):
    nul = "\x00"
    answers = [
        client.get(f"{BASE}/requests.json", {"jurisdiction_id": f"069{nul}13"}),
        client.get(f"{BASE}/requests.json", {"service_request_id": f"ab{nul}c"}),
        client.get(f"{BASE}/requests.json", {"start_date": f"2025{nul}"}),
        post(client, body(world, f"o311_abcdef{nul}1_x")),
        post(client, body(world, api_key, lat="NaN", long="Infinity")),
        post(client, body(world, api_key, lat="1e999999999", long="1")),
        client.post(
            f"{BASE}/requests.json",
            json.dumps(body(world, api_key, lat=[1], description={"a": 1})),
            content_type="application/json",
        ),
        client.post(f"{BASE}/requests.json", b"\xff\xfe", content_type="application/json"),
        client.post(f"{BASE}/requests.json", "[1, 2]", content_type="application/json"),
    ]
    statuses = [answer.status_code for answer in answers]
    assert statuses == [200, 200, 400, 403, 400, 400, 400, 400, 400]
    created = post(client, body(world, api_key, description=f"Ngập{nul} sâu"))
    assert created.status_code == 201
    assert CitizenReport.objects.get().description == "Ngập sâu"
