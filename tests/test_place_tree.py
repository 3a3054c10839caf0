"""The official place tree, villages, merges and role grants."""

import datetime

import pytest
from django.core.management import call_command

from xaso.accounts.actions import membership_grant
from xaso.accounts.roles import Role
from xaso.core.errors import DomainError
from xaso.places import actions, selectors
from xaso.places.models import Place


def test_the_official_tree_has_34_provinces_and_3321_communes(world):
    assert Place.objects.filter(kind=Place.Kind.PROVINCE).count() == 34
    assert Place.objects.filter(kind=Place.Kind.COMMUNE).count() == 3321
    quang_tan = Place.objects.get(code="06913")
    assert (quang_tan.name, quang_tan.parent.name, quang_tan.path) == (
        "Xã Quảng Tân",
        "Quảng Ninh",
        "/22/06913/",
    )


def test_loading_the_tree_again_changes_nothing(world, capsys):
    before = list(Place.objects.order_by("code").values_list("code", "name", "path"))
    call_command("places_load")
    assert "tạo mới 0, cập nhật 0" in capsys.readouterr().out
    assert list(Place.objects.order_by("code").values_list("code", "name", "path")) == before


def test_loading_repairs_a_renamed_commune(world):
    Place.objects.filter(code="06913").update(name="Tên sai")
    call_command("places_load")
    assert Place.objects.get(code="06913").name == "Xã Quảng Tân"


def test_villages_get_local_codes_under_their_commune(world):
    village = actions.village_create(
        commune=world.commune_a, name="Bản Mới", division_type="bản", by=world.users["admin"]
    )
    assert village.code == "06913-03"
    assert village.path == "/22/06913/06913-03/"


def test_a_village_cannot_be_created_twice_or_under_a_province(world):
    with pytest.raises(DomainError, match="cùng tên"):
        actions.village_create(
            commune=world.commune_a, name="thôn đồng tâm", by=world.users["admin"]
        )
    with pytest.raises(DomainError, match="dưới một xã"):
        actions.village_create(commune=world.province, name="X", by=world.users["admin"])


def test_a_merged_commune_rolls_its_records_into_the_new_one(world, api_as):
    old, new = world.commune_b, world.commune_a
    actions.commune_merge(
        old=old, into=new, merged_on=datetime.date(2025, 7, 1), by=world.users["admin"]
    )
    old.refresh_from_db()
    assert old.successor == new
    assert old.path == f"{new.path}{old.code}/"
    assert Place.objects.get(pk=world.b1.pk).path.startswith(new.path)
    # The leader of the new commune now sees the old commune's households and counts.
    names = {h["head_name"] for h in api_as("lanhdao").get("/households").json()["items"]}
    assert "Phạm Thị Dung" in names
    dashboard = selectors.dashboard_for_place(place=new)
    assert dashboard.total.households == 4
    assert dashboard.total.organisations == 2
    assert api_as("lanhdao").get(f"/places/{old.code}").json()["successor"] == new.code


def test_a_commune_cannot_be_merged_into_itself_or_twice(world):
    admin = world.users["admin"]
    with pytest.raises(DomainError):
        actions.commune_merge(
            old=world.commune_a, into=world.commune_a, merged_on=datetime.date(2025, 7, 1), by=admin
        )
    actions.commune_merge(
        old=world.commune_b, into=world.commune_a, merged_on=datetime.date(2025, 7, 1), by=admin
    )
    with pytest.raises(DomainError, match="đã được sáp nhập"):
        actions.commune_merge(
            old=world.commune_b, into=world.commune_a, merged_on=datetime.date(2025, 7, 1), by=admin
        )


def test_an_administrator_merges_communes_from_the_places_page(client_as, world):
    response = client_as("admin").post(
        "/places/merge/",
        {
            "merge-old": world.commune_b.code,
            "merge-into": world.commune_a.code,
            "merge-merged_on": "01/07/2025",
        },
    )
    assert response.status_code == 302
    assert Place.objects.get(pk=world.commune_b.pk).successor_id == world.commune_a.pk


def test_an_administrator_creates_a_village_from_the_places_page(client_as, world):
    response = client_as("admin").post(
        f"/places/{world.commune_a.code}/",
        {"village-name": "Thôn Cửa Ông", "village-division_type": "thôn"},
    )
    assert response.status_code == 302
    assert Place.objects.filter(parent=world.commune_a, name="Thôn Cửa Ông").exists()


def test_an_administrator_grants_a_role_at_a_place_from_the_roles_page(client_as, world):
    response = client_as("admin").post(
        "/admin/roles/", {"user": "nobody", "place": world.a2.code, "role": Role.VILLAGE_HEAD}
    )
    assert response.status_code == 302
    assert world.users["nobody"].memberships.get().place == world.a2


def test_roles_are_granted_only_at_a_fitting_level(world):
    with pytest.raises(DomainError, match="cấp địa bàn"):
        membership_grant(
            user=world.users["nobody"],
            place=world.province,
            role=Role.VILLAGE_HEAD,
            by=world.users["admin"],
        )
    with pytest.raises(DomainError, match="tổ chức"):
        membership_grant(
            user=world.users["nobody"],
            place=world.commune_a,
            role=Role.PRODUCER,
            by=world.users["admin"],
        )


def test_a_province_viewer_sees_the_province_dashboard(client_as):
    html = client_as("tinh").get("/").content.decode()
    assert "Quảng Ninh" in html
    assert "Xã Quảng Tân" in html


def test_an_administrator_creates_an_account_then_grants_it_a_role(client_as, world):
    client = client_as("admin")
    response = client.post(
        "/admin/users/new/",
        {"username": "truongthon2", "full_name": "Hà Văn Tú", "password": "Quang-Tan-2026"},
    )
    assert response.status_code == 302
    client.post(
        "/admin/roles/", {"user": "truongthon2", "place": world.a2.code, "role": Role.VILLAGE_HEAD}
    )
    membership = (
        world.users["admin"].__class__.objects.get(username="truongthon2").memberships.get()
    )
    assert membership.place == world.a2


def test_a_weak_or_duplicate_account_is_refused_with_the_reason(client_as, world):
    client = client_as("admin")
    weak = client.post("/admin/users/new/", {"username": "moi", "password": "123"}, follow=True)
    assert "Mật khẩu" in weak.content.decode()
    duplicate = client.post(
        "/admin/users/new/", {"username": "LanhDao", "password": "Dai-Du-2026"}, follow=True
    )
    assert "Tên đăng nhập này đã có người dùng." in duplicate.content.decode()
