"""Personal identifiers: encrypted at rest, looked up by keyed hash, masked, audited reveals,
consent, export and erasure (Law 91/2025/QH15)."""

from django.db import connection

from xaso.core.models import AuditEntry
from xaso.places.models import Consent, Resident


def _raw_row(resident) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cccd_encrypted, cccd_hash, phone_encrypted, phone_hash"
            " FROM places_resident WHERE id = %s",
            [resident.pk],
        )
        return cursor.fetchone()


def test_cccd_and_phone_are_not_stored_in_clear(world):
    resident = world.resident("Nguyễn Văn An")
    row = " ".join(_raw_row(resident))
    assert "022088000111" not in row
    assert "0912345678" not in row
    assert "912345678" not in row


def test_two_encryptions_of_the_same_value_differ_but_hash_the_same(world, api_as):
    # Random IVs: equal ciphertexts would let anyone with the database spot equal numbers.
    api = api_as("lanhdao")
    household = world.household("Lê Văn Cường").public_id
    for name in ("Một", "Hai"):
        assert (
            api.post(
                "/residents",
                {
                    "household": household,
                    "full_name": name,
                    "gender": "male",
                    "phone": "0911222333",
                },
            ).status_code
            == 201
        )
    one, two = Resident.objects.filter(full_name__in=["Một", "Hai"])
    assert one.phone_encrypted != two.phone_encrypted
    assert one.phone_hash == two.phone_hash


def test_lists_show_identifiers_masked(client_as, world):
    page = client_as("lanhdao").get(f"/households/{world.household('Nguyễn Văn An').public_id}/")
    html = page.content.decode()
    assert "•••••••••111" in html
    assert "022088000111" not in html
    assert "0912345678" not in html


def test_revealing_a_cccd_returns_it_and_writes_the_audit_log(api_as, world):
    resident = world.resident("Nguyễn Văn An")
    response = api_as("congan").post(
        f"/residents/{resident.public_id}/reveal", {"field": "cccd", "reason": "xác minh cư trú"}
    )
    assert response.json() == {"field": "cccd", "value": "022088000111"}
    entry = AuditEntry.objects.get(verb="resident.cccd_revealed", target_id=resident.public_id)
    assert entry.actor_username == "congan"
    assert entry.changes == {"reason": "xác minh cư trú"}


def test_revealing_from_the_page_is_a_post_that_is_audited(client_as, world):
    resident = world.resident("Nguyễn Văn An")
    client = client_as("truongthon")
    assert client.get(f"/residents/{resident.public_id}/reveal/phone/").status_code == 405
    response = client.post(
        f"/residents/{resident.public_id}/reveal/phone/", headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "0912345678" in response.content.decode()
    assert (
        AuditEntry.objects.filter(
            verb="resident.phone_revealed", actor_username="truongthon"
        ).count()
        == 1
    )


def test_consent_is_recorded_with_who_and_how(api_as, world):
    resident = world.resident("Lê Văn Cường")
    response = api_as("tocns").post(
        f"/residents/{resident.public_id}/consents",
        {"purpose": "digital_support", "given": True, "method": "verbal", "note": "có con gái"},
    )
    # tocns works in village A1; Lê Văn Cường lives in A2.
    assert response.status_code == 404
    response = api_as("lanhdao").post(
        f"/residents/{resident.public_id}/consents",
        {"purpose": "digital_support", "given": True, "method": "verbal"},
    )
    assert response.status_code == 201
    consent = Consent.objects.get(resident=resident)
    assert (consent.purpose, consent.given, consent.recorded_by.username) == (
        "digital_support",
        True,
        "lanhdao",
    )
    assert AuditEntry.objects.filter(verb="consent.given", target_id=resident.public_id).exists()


def test_export_contains_everything_held_in_clear_and_is_audited(api_as, world):
    resident = world.resident("Nguyễn Văn An")
    api = api_as("motcua")
    api.post(
        f"/residents/{resident.public_id}/consents",
        {"purpose": "contact", "given": True, "method": "paper"},
    )
    export = api.get(f"/residents/{resident.public_id}/export").json()
    assert export["cccd"] == "022088000111"
    assert export["phone"] == "0912345678"
    assert export["birth_date"] == "1988-05-17"
    assert export["household"]["village"] == world.a1.code
    assert [c["purpose"] for c in export["consents"]] == ["contact"]
    assert AuditEntry.objects.filter(verb="resident.exported", actor_username="motcua").exists()


def test_erasure_removes_personal_data_but_keeps_an_anonymous_row(api_as, world):
    resident = world.resident("Nguyễn Văn An")
    api = api_as("lanhdao")
    api.post(
        f"/residents/{resident.public_id}/consents",
        {"purpose": "contact", "given": True, "method": "paper"},
    )
    response = api.post(
        f"/residents/{resident.public_id}/erase", {"reason": "Đơn yêu cầu ngày 20/11/2026"}
    )
    assert response.status_code == 200
    assert response.json()["erased"] is True
    resident.refresh_from_db()
    assert resident.full_name == "(đã xoá theo yêu cầu)"
    assert (resident.cccd_encrypted, resident.cccd_hash, resident.phone_encrypted) == ("", "", "")
    assert resident.birth_date is None
    assert not resident.consents.exists()
    assert api.get("/residents", q="022088000111").json()["count"] == 0
    entry = AuditEntry.objects.get(verb="resident.erased")
    assert entry.changes == {"reason": "Đơn yêu cầu ngày 20/11/2026"}


def test_erasure_needs_a_reason_and_happens_once(api_as, world):
    resident = world.resident("Nguyễn Văn An")
    api = api_as("lanhdao")
    assert api.post(f"/residents/{resident.public_id}/erase", {"reason": " "}).status_code == 422
    assert api.post(f"/residents/{resident.public_id}/erase", {"reason": "đơn"}).status_code == 200
    again = api.post(f"/residents/{resident.public_id}/erase", {"reason": "đơn"})
    assert again.status_code == 409
    assert again.json()["detail"] == "Dữ liệu của nhân khẩu này đã được xoá trước đó."


def test_validation_errors_never_echo_personal_data_back(api_as, world):
    response = api_as("lanhdao").post(
        "/residents",
        {
            "household": world.household("Lê Văn Cường").public_id,
            "full_name": "X",
            "gender": "robot",
            "cccd": "022088000777",
        },
    )
    assert response.status_code == 422
    assert "022088000777" not in response.content.decode()
