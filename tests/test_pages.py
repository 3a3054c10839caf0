"""The Vietnamese shell: dashboard, lists with live search, forms that validate in Vietnamese.
List pages have their query counts pinned, so an N+1 regression fails the build."""

import pytest

from xaso.places import actions


def test_the_dashboard_counts_villages_households_residents_and_organisations(client_as):
    html = client_as("lanhdao").get("/").content.decode()
    assert "Xã Quảng Tân" in html
    assert "Thôn Đồng Tâm" in html and "Thôn Tân Hợp" in html
    assert "<b>2</b>thôn" in html
    assert "<b>3</b>hộ gia đình" in html
    assert "<b>3</b>nhân khẩu" in html
    assert "<b>1</b>tổ chức" in html


def test_pages_stay_vietnamese_even_for_a_browser_that_prefers_english(client_as):
    client = client_as("truongthon")
    assert '<html lang="vi">' in client.get("/", HTTP_ACCEPT_LANGUAGE="en-US").content.decode()
    response = client.post("/households/new/", {}, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert "Trường này là bắt buộc." in response.content.decode()
    assert "This field is required." not in response.content.decode()


def test_search_as_you_type_returns_only_the_results_fragment(client_as):
    response = client_as("lanhdao").get(
        "/households/", {"q": "cuong"}, headers={"HX-Request": "true", "HX-Target": "results"}
    )
    html = response.content.decode()
    assert "Lê Văn Cường" in html
    assert "Nguyễn Văn An" not in html
    assert "<html" not in html  # a fragment, not a page


@pytest.mark.parametrize(
    ("url", "queries"),
    [
        # session, user, memberships, then the page's own reads
        ("/", 9),  # + home places, children, 4 grouped counts
        ("/households/", 7),  # + count, village filter, page, members of the page
        ("/residents/", 6),  # + count, village filter, page
        ("/organisations/", 5),  # + count, page
    ],
)
def test_list_pages_have_a_fixed_number_of_queries(
    client_as, world, django_assert_num_queries, url, queries
):
    client = client_as("lanhdao")
    # More rows must not mean more queries.
    for index in range(30):
        household = actions.household_create(
            village=world.a1, head_name=f"Hộ Thêm {index}", by=world.users["admin"]
        )
        actions.resident_create(
            household=household,
            full_name=f"Người {index}",
            gender="male",
            cccd=f"0220990{index:05d}",
            phone=f"09120{index:05d}",
            by=world.users["admin"],
        )
        actions.organisation_create(
            place=world.a1, name=f"Tổ chức {index}", kind="other", by=world.users["admin"]
        )
    with django_assert_num_queries(queries):
        assert client.get(url).status_code == 200


def test_adding_a_household_with_an_empty_form_explains_in_vietnamese(client_as):
    response = client_as("truongthon").post("/households/new/", {})
    html = response.content.decode()
    assert response.status_code == 400
    assert "Trường này là bắt buộc." in html


def test_a_village_head_can_only_choose_her_village_in_the_form(client_as, world):
    html = client_as("truongthon").get("/households/new/").content.decode()
    assert world.a1.code in html
    assert world.a2.code not in html


def test_posting_a_foreign_village_code_is_refused_as_an_invalid_choice(client_as, world):
    response = client_as("truongthon").post(
        "/households/new/", {"village": world.a2.code, "head_name": "Kẻ Lạ"}
    )
    assert response.status_code == 400
    assert "Hãy chọn một lựa chọn hợp lệ" in response.content.decode()


def test_adding_a_resident_with_a_bad_cccd_shows_the_rule(client_as, world):
    household = world.household("Nguyễn Văn An")
    response = client_as("truongthon").post(
        f"/residents/new/?household={household.public_id}",
        {
            "full_name": "Nguyễn Thị Hoa",
            "gender": "female",
            "cccd": "123",
            "birth_date": "04/03/1990",
        },
    )
    assert response.status_code == 400
    assert "Số CCCD phải gồm đúng 12 chữ số." in response.content.decode()


def test_dates_are_entered_and_shown_as_dd_mm_yyyy(client_as, world):
    household = world.household("Nguyễn Văn An")
    client = client_as("truongthon")
    response = client.post(
        f"/residents/new/?household={household.public_id}",
        {"full_name": "Nguyễn Thị Hoa", "gender": "female", "birth_date": "04/03/1990"},
    )
    assert response.status_code == 302
    assert "04/03/1990" in client.get(response["Location"]).content.decode()


def test_editing_a_resident_keeps_identifiers_when_their_fields_are_left_empty(client_as, world):
    resident = world.resident("Nguyễn Văn An")
    client = client_as("lanhdao")
    response = client.post(
        f"/residents/{resident.public_id}/edit/",
        {
            "full_name": "Nguyễn Văn An",
            "gender": "male",
            "relation_to_head": "Chủ hộ",
            "birth_date": "17/05/1988",
            "cccd": "",
            "phone": "",
        },
    )
    assert response.status_code == 302
    resident.refresh_from_db()
    assert resident.cccd_hash and resident.phone_hash


def test_an_official_creates_and_edits_an_organisation(client_as, world):
    client = client_as("lanhdao")
    response = client.post(
        "/organisations/new/",
        {"place": world.commune_a.code, "name": "Trường THCS Quảng Tân", "kind": "school"},
    )
    assert response.status_code == 302
    html = client.get("/organisations/", {"q": "thcs"}).content.decode()
    assert "Trường THCS Quảng Tân" in html


def test_unknown_pages_get_a_vietnamese_404(client_as):
    response = client_as("lanhdao").get("/households/khong-co/")
    assert response.status_code == 404
    assert "Không tìm thấy" in response.content.decode()


def test_anonymous_visitors_are_sent_to_the_login_page(client):
    response = client.get("/households/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_a_wrong_password_is_refused_in_vietnamese(client, world):
    response = client.post("/login/", {"username": "lanhdao", "password": "sai"})
    assert response.status_code == 400
    assert "Tên đăng nhập hoặc mật khẩu không đúng." in response.content.decode()


def test_logins_are_rate_limited_per_address(client, world, settings):
    settings.XASO_LOGIN_ATTEMPTS_PER_MINUTE = 3
    statuses = [
        client.post(
            "/login/", {"username": "lanhdao", "password": "sai"}, REMOTE_ADDR="10.9.9.9"
        ).status_code
        for _ in range(4)
    ]
    assert statuses == [400, 400, 400, 429]
    blocked = client.post(
        "/login/",
        {"username": "lanhdao", "password": "correct-horse-battery"},
        REMOTE_ADDR="10.9.9.9",
    )
    assert blocked.status_code == 429
    assert "quá nhiều lần" in blocked.content.decode()


def test_a_user_without_a_role_is_told_so(client_as):
    html = client_as("nobody").get("/").content.decode()
    assert "chưa được gán vai trò" in html
