"""Households and residents over the API: create, read, edit, search, validation."""

import pytest

from xaso.core.models import AuditEntry


def test_a_commune_leader_lists_the_households_of_her_commune_with_count(api_as, world):
    response = api_as("lanhdao").get("/households")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 3
    assert {item["head_name"] for item in body["items"]} == {
        "Nguyễn Văn An",
        "Trần Thị Bình",
        "Lê Văn Cường",
    }
    assert all(item["village"] in {world.a1.code, world.a2.code} for item in body["items"])


def test_household_ids_are_random_public_ids_not_database_keys(api_as, world):
    item = api_as("lanhdao").get("/households").json()["items"][0]
    household = world.household(item["head_name"])
    assert item["id"] == household.public_id
    assert item["id"] != str(household.pk)
    assert len(item["id"]) == 16


@pytest.mark.parametrize("query", ["nguyen van", "NGUYEN", "Nguyễn Văn", "van an", "xom 1"])
def test_search_finds_households_with_or_without_diacritics(api_as, query):
    names = {i["head_name"] for i in api_as("lanhdao").get("/households", q=query).json()["items"]}
    assert "Nguyễn Văn An" in names


def test_search_filters_by_village_code(api_as, world):
    body = api_as("lanhdao").get("/households", village=world.a2.code).json()
    assert [item["head_name"] for item in body["items"]] == ["Lê Văn Cường"]


def test_creating_a_household_returns_201_and_writes_one_audit_row(api_as, world):
    response = api_as("truongthon").post(
        "/households", {"village": world.a1.code, "head_name": "  Đỗ   Văn  Mới ", "code": "H-9"}
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["head_name"] == "Đỗ Văn Mới"
    assert body["village"] == world.a1.code
    assert body["member_count"] == 0
    entry = AuditEntry.objects.get(verb="household.created", target_id=body["id"])
    assert entry.actor_username == "truongthon"
    assert entry.ip_address == "127.0.0.1"
    assert entry.place_path == world.a1.path


def test_patching_a_household_changes_only_the_given_fields_and_logs_the_change(api_as, world):
    household = world.household("Nguyễn Văn An")
    response = api_as("truongthon").patch(
        f"/households/{household.public_id}", {"address": "Số 5, Xóm Đình"}
    )
    assert response.status_code == 200
    assert response.json()["address"] == "Số 5, Xóm Đình"
    assert response.json()["head_name"] == "Nguyễn Văn An"
    entry = AuditEntry.objects.get(verb="household.updated", target_id=household.public_id)
    assert entry.changes == {"address": ["Xóm 1, Thôn Đồng Tâm", "Số 5, Xóm Đình"]}


def test_a_household_without_head_name_is_refused_in_vietnamese(api_as, world):
    response = api_as("lanhdao").post("/households", {"village": world.a1.code, "head_name": " "})
    assert response.status_code == 422
    assert response.json() == {"detail": "Vui lòng nhập họ tên chủ hộ.", "field": "head_name"}


def test_a_duplicate_household_code_in_a_village_is_a_422_not_a_500(api_as, world):
    api = api_as("lanhdao")
    assert (
        api.post(
            "/households", {"village": world.a1.code, "head_name": "A", "code": "X1"}
        ).status_code
        == 201
    )
    response = api.post("/households", {"village": world.a1.code, "head_name": "B", "code": "X1"})
    assert response.status_code == 422
    assert response.json()["detail"] == "Mã hộ đã tồn tại trong thôn."


def test_malformed_json_is_a_400_with_a_vietnamese_detail(api_as):
    response = api_as("lanhdao").post("/households", raw="{not json")
    assert response.status_code == 400
    assert "JSON" in response.json()["detail"]


def test_a_missing_required_field_is_a_422_listing_the_field(api_as):
    response = api_as("lanhdao").post("/households", {"code": "x"})
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "Dữ liệu gửi lên không hợp lệ."
    assert any("head_name" in error["loc"] for error in body["errors"])


def test_creating_a_resident_encrypts_identifiers_and_shows_them_masked(api_as, world):
    household = world.household("Lê Văn Cường")
    response = api_as("motcua").post(
        "/residents",
        {
            "household": household.public_id,
            "full_name": "Lê Thị Hoa",
            "gender": "female",
            "birth_date": "1990-03-04",
            "cccd": "022 190 000 555",
            "phone": "+84 912 000 555",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["cccd_masked"] == "•••••••••555"
    assert body["phone_masked"] == "•••••••555"
    assert body["village"] == world.a2.code


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("cccd", "12345", "Số CCCD phải gồm đúng 12 chữ số."),
        ("phone", "12345", "Số điện thoại không hợp lệ (10 chữ số, bắt đầu bằng 0 hoặc +84)."),
        ("birth_date", "2999-01-01", "Ngày sinh không được ở tương lai."),
    ],
)
def test_resident_input_errors_are_explained_in_vietnamese(api_as, world, field, value, message):
    payload = {
        "household": world.household("Lê Văn Cường").public_id,
        "full_name": "X",
        "gender": "male",
        field: value,
    }
    response = api_as("motcua").post("/residents", payload)
    assert response.status_code == 422
    assert response.json() == {"detail": message, "field": field}


def test_a_cccd_registered_to_another_resident_is_refused(api_as, world):
    payload = {
        "household": world.household("Lê Văn Cường").public_id,
        "full_name": "Trùng",
        "gender": "male",
        "cccd": "022088000111",
    }
    response = api_as("lanhdao").post("/residents", payload)
    assert response.status_code == 422
    assert response.json()["field"] == "cccd"


def test_a_full_cccd_or_phone_finds_the_resident_through_the_lookup_hash(api_as):
    api = api_as("lanhdao")
    by_cccd = api.get("/residents", q="022088000111").json()
    by_phone = api.get("/residents", q="+84 912 345 678").json()
    assert [r["full_name"] for r in by_cccd["items"]] == ["Nguyễn Văn An"]
    assert [r["full_name"] for r in by_phone["items"]] == ["Nguyễn Văn An"]


def test_patching_a_resident_cccd_logs_that_it_changed_but_not_the_value(api_as, world):
    resident = world.resident("Lê Văn Cường")
    response = api_as("lanhdao").patch(f"/residents/{resident.public_id}", {"cccd": "022090000999"})
    assert response.status_code == 200
    assert response.json()["cccd_masked"].endswith("999")
    entry = AuditEntry.objects.get(verb="resident.updated", target_id=resident.public_id)
    assert entry.changes == {"cccd": ["•••", "•••"]}
    assert "022090000999" not in str(entry.changes)


def test_organisations_can_be_created_and_listed(api_as, world):
    api = api_as("lanhdao")
    response = api.post(
        "/organisations",
        {
            "place": world.a1.code,
            "name": "Hộ KD Tạp hoá Mai",
            "kind": "household_business",
            "tax_code": "5701234567",
        },
    )
    assert response.status_code == 201, response.content
    names = {o["name"] for o in api.get("/organisations").json()["items"]}
    assert {"Hộ KD Tạp hoá Mai", "HTX Nông nghiệp Quảng Tân"} <= names
    assert "HTX Bên Kia" not in names


def test_an_organisation_with_a_bad_tax_code_is_refused(api_as, world):
    response = api_as("lanhdao").post(
        "/organisations",
        {"place": world.a1.code, "name": "X", "kind": "enterprise", "tax_code": "12"},
    )
    assert response.status_code == 422
    assert response.json()["field"] == "tax_code"


def test_places_show_official_codes_and_children(api_as, world):
    api = api_as("lanhdao")
    province = api.get("/places/22").json()
    assert province == {
        "code": "22",
        "name": "Quảng Ninh",
        "kind": "province",
        "division_type": "tỉnh",
        "parent": None,
        "successor": None,
        "merged_on": None,
    }
    children = api.get(f"/places/{world.commune_a.code}/children").json()
    assert children["count"] == 2
    assert [c["name"] for c in children["items"]] == ["Thôn Đồng Tâm", "Thôn Tân Hợp"]


def test_the_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/households" in schema["paths"]
    assert "/api/v1/jobs/{public_id}" in schema["paths"]
    assert client.get("/api/v1/docs").status_code == 200
