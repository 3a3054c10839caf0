"""Edge cases found in review: forged addresses, lost keys, erasure leftovers, big pages."""

import datetime

import pytest

from xaso.accounts import tokens
from xaso.core.models import AuditEntry
from xaso.places import actions
from xaso.places.models import Household, Resident


def test_a_revoked_token_no_longer_opens_the_api(client, world):
    token, plain = tokens.token_create(user=world.users["lanhdao"])
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/v1/households", headers=headers).status_code == 200
    assert tokens.token_revoke(prefix=token.prefix) is True
    response = client.get("/api/v1/households", headers=headers)
    assert response.status_code == 401
    assert response.json() == {"detail": "Chưa đăng nhập hoặc khoá API không hợp lệ."}
    assert tokens.token_revoke(prefix=token.prefix) is False


def test_behind_a_proxy_the_audit_log_keeps_the_address_the_proxy_saw(client_as, world, settings):
    settings.XASO_TRUST_PROXY = True
    client_as("truongthon").post(
        "/households/new/",
        {"village": world.a1.code, "head_name": "Hộ Sau Proxy"},
        REMOTE_ADDR="10.0.0.1",
        HTTP_X_FORWARDED_FOR="6.6.6.6, 203.113.1.7",
    )
    entry = AuditEntry.objects.get(verb="household.created", target_label="Hộ Hộ Sau Proxy")
    assert entry.ip_address == "203.113.1.7"  # the client-supplied 6.6.6.6 is not trusted


def test_a_malformed_forwarded_address_is_dropped_not_a_500(client_as, world, settings):
    settings.XASO_TRUST_PROXY = True
    response = client_as("truongthon").post(
        "/households/new/",
        {"village": world.a1.code, "head_name": "Hộ Địa Chỉ Lạ"},
        HTTP_X_FORWARDED_FOR="not-an-ip",
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(verb="household.created", target_label="Hộ Hộ Địa Chỉ Lạ")
    assert entry.ip_address is None


def test_the_api_caps_page_size(api_as, world):
    # Created directly, without actions: only the count matters here.
    for index in range(210):
        Household.objects.create(
            village=world.a1, head_name=f"Hộ {index}", search_key=f"ho {index}"
        )
    api = api_as("lanhdao")
    assert api.get("/households", limit=100000).status_code == 422
    body = api.get("/households", limit=200).json()
    assert (body["count"], len(body["items"])) == (213, 200)
    assert len(api.get("/households").json()["items"]) == 50  # the default page


def test_a_merge_carries_the_old_communes_audit_rows_along(world):
    before = AuditEntry.objects.filter(place_path__startswith=world.commune_b.path).count()
    assert before > 0
    actions.commune_merge(
        old=world.commune_b,
        into=world.commune_a,
        merged_on=datetime.date(2025, 7, 1),
        by=world.users["admin"],
    )
    moved = AuditEntry.objects.filter(
        place_path__startswith=f"{world.commune_a.path}{world.commune_b.code}/"
    )
    assert moved.count() >= before


def test_erasure_removes_the_name_from_earlier_audit_rows_and_the_household(api_as, world):
    resident = world.resident("Nguyễn Văn An")
    api = api_as("lanhdao")
    api.patch(f"/residents/{resident.public_id}", {"full_name": "Nguyễn Văn Ân"})
    api.post(f"/residents/{resident.public_id}/erase", {"reason": "đơn số 12"})
    labels = set(
        AuditEntry.objects.filter(target_id=resident.public_id).values_list(
            "target_label", flat=True
        )
    )
    assert labels == {"(đã xoá theo yêu cầu)"}
    updated = AuditEntry.objects.get(verb="resident.updated", target_id=resident.public_id)
    assert updated.changes == {}
    household = Household.objects.get(pk=resident.household_id)
    assert household.head_name == "(đã xoá theo yêu cầu)"
    assert "nguyen" not in household.search_key


def test_no_consent_can_be_recorded_for_an_erased_resident(api_as, world):
    resident = world.resident("Lê Văn Cường")
    api = api_as("lanhdao")
    api.post(f"/residents/{resident.public_id}/erase", {"reason": "đơn"})
    response = api.post(
        f"/residents/{resident.public_id}/consents",
        {"purpose": "contact", "given": True, "method": "paper"},
    )
    assert response.status_code == 409


def test_a_value_encrypted_under_another_key_shows_a_warning_not_a_500(
    client_as, api_as, world, settings
):
    resident = world.resident("Nguyễn Văn An")
    settings.FIELD_ENCRYPTION_KEY = "a-different-key"
    page = client_as("lanhdao").get(f"/households/{resident.household.public_id}/")
    assert page.status_code == 200
    assert "không giải mã được" in page.content.decode()
    reveal = api_as("lanhdao").post(f"/residents/{resident.public_id}/reveal", {"field": "cccd"})
    assert reveal.status_code == 409
    assert "XASO_FIELD_KEY" in reveal.json()["detail"]
    assert Resident.objects.filter(pk=resident.pk).exists()


@pytest.mark.parametrize(
    "path", ["/households", "/traceability/lots", "/dossiers", "/dossiers/procedures", "/audit"]
)
def test_an_offset_past_any_database_integer_is_a_422_on_every_list(api_as, path):
    response = api_as("admin").get(path, offset=2**70)
    assert response.status_code == 422
    assert response.json()["detail"]


# Found by requesting every page with odd query strings on PostgreSQL: a search for "%00" was a
# 500 on each of these ("PostgreSQL text fields cannot contain NUL (0x00) bytes"). NUL
# characters are now dropped from every query string (core/middleware.py).
NUL_SEARCHES = [
    ("/households/", "lanhdao"),
    ("/residents/", "lanhdao"),
    ("/organisations/", "lanhdao"),
    ("/places/", "admin"),
    ("/truy-xuat/lo-hang/", "lanhdao"),
    ("/an-ninh/camera/ho-gia-dinh/", "congan"),
]
NUL_API_SEARCHES = [
    "/households",
    "/residents",
    "/organisations",
    "/dossiers",
    "/traceability/lots",
]


@pytest.mark.parametrize(("path", "persona"), NUL_SEARCHES)
def test_a_nul_character_in_a_search_is_dropped_not_a_500(client_as, path, persona):
    response = client_as(persona).get(path + "?q=Th%00%C3%A1i")
    assert response.status_code == 200
    assert response.wsgi_request.GET["q"] == "Thái"


@pytest.mark.parametrize("path", NUL_API_SEARCHES)
def test_a_nul_character_in_an_api_search_is_dropped_not_a_500(api_as, path):
    api = api_as("lanhdao")
    with_nul = api.get(path, q="Th\x00ái")
    assert with_nul.status_code == 200
    assert with_nul.json() == api.get(path, q="Thái").json()


def test_nul_characters_in_an_api_body_are_dropped_not_a_500(api_as, world):
    # Found by posting odd bodies to every API route on PostgreSQL: a village code holding a NUL
    # was a 500. Every JSON body now loses its NUL characters (config/api.py).
    api = api_as("truongthon")
    unknown = api.post("/households", {"village": "a\x00b", "head_name": "Hộ\x00 Thử"})
    assert unknown.status_code == 422
    created = api.post("/households", {"village": world.a1.code, "head_name": "Hộ\x00 Thử"})
    assert created.status_code == 201, created.content
    assert created.json()["head_name"] == "Hộ Thử"


def test_a_producer_without_an_organisation_is_a_422_not_a_500(api_as):
    body = {"organisation": "", "kind": "cooperative", "public_name": "HTX", "public_address": ""}
    response = api_as("lanhdao").post("/traceability/producers", body)
    assert response.status_code == 422
    assert response.json()["field"] == "organisation"
