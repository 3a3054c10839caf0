"""The test world: two communes of Quảng Ninh, their villages and people, and named personas.

Commune A is Xã Quảng Tân (06913) with villages A1 and A2; commune B is another commune of the
same province with village B1. Personas, by username:

    admin        superuser
    quantri      administrator role at province 22 (not a superuser)
    lanhdao      commune leader of A          motcua   one-stop officer of A
    congan       police officer of A          htx      producer of A (bound to a cooperative)
    truongthon   village head of A1           tocns    digital team member of A1
    tinh         province viewer of 22        canbo_b  commune leader of B
    nobody       an account with no role at all
"""

import datetime
from dataclasses import dataclass

from xaso.accounts.actions import membership_grant
from xaso.accounts.models import User
from xaso.accounts.roles import Role
from xaso.places import actions
from xaso.places.loader import official_places_load
from xaso.places.models import Household, Organisation, Place, Resident

PASSWORD = "correct-horse-battery"
COMMUNE_A, COMMUNE_B, PROVINCE = "06913", None, "22"


def _commune_b() -> Place:
    return (
        Place.objects.filter(kind=Place.Kind.COMMUNE, parent__code=PROVINCE)
        .exclude(code=COMMUNE_A)
        .order_by("code")
        .first()
    )


def build() -> None:
    official_places_load()
    admin = User.objects.create_superuser("admin", password=PASSWORD)
    province = Place.objects.get(code=PROVINCE)
    commune_a, commune_b = Place.objects.get(code=COMMUNE_A), _commune_b()
    a1 = actions.village_create(commune=commune_a, name="Thôn Đồng Tâm", by=admin)
    a2 = actions.village_create(commune=commune_a, name="Thôn Tân Hợp", by=admin)
    b1 = actions.village_create(commune=commune_b, name="Thôn Bên Kia", by=admin)

    for village, head, cccd, phone in [
        (a1, "Nguyễn Văn An", "022088000111", "0912345678"),
        (a1, "Trần Thị Bình", "022188000222", ""),
        (a2, "Lê Văn Cường", "022090000333", "0987654321"),
        (b1, "Phạm Thị Dung", "022192000444", "0977000111"),
    ]:
        household = actions.household_create(
            village=village, head_name=head, address=f"Xóm 1, {village.name}", by=admin
        )
        actions.resident_create(
            household=household,
            full_name=head,
            gender="male",
            birth_date=datetime.date(1988, 5, 17),
            relation_to_head="Chủ hộ",
            cccd=cccd,
            phone=phone,
            by=admin,
        )
    cooperative = actions.organisation_create(
        place=commune_a, name="HTX Nông nghiệp Quảng Tân", kind="cooperative", by=admin
    )
    actions.organisation_create(place=commune_b, name="HTX Bên Kia", kind="cooperative", by=admin)

    grants = [
        ("quantri", Role.ADMINISTRATOR, province),
        ("lanhdao", Role.COMMUNE_LEADER, commune_a),
        ("motcua", Role.ONE_STOP_OFFICER, commune_a),
        ("congan", Role.POLICE_OFFICER, commune_a),
        ("htx", Role.PRODUCER, commune_a),
        ("truongthon", Role.VILLAGE_HEAD, a1),
        ("tocns", Role.DIGITAL_TEAM, a1),
        ("tinh", Role.PROVINCE_VIEWER, province),
        ("canbo_b", Role.COMMUNE_LEADER, commune_b),
    ]
    for username, role, place in grants:
        user = User.objects.create_user(username, password=PASSWORD, full_name=username)
        membership_grant(
            user=user,
            place=place,
            role=role,
            by=admin,
            organisation=cooperative if role == Role.PRODUCER else None,
        )
    User.objects.create_user("nobody", password=PASSWORD)


@dataclass
class World:
    users: dict[str, User]
    province: Place
    commune_a: Place
    commune_b: Place
    a1: Place
    a2: Place
    b1: Place

    @classmethod
    def load(cls) -> "World":
        a1, a2 = Place.objects.filter(parent__code=COMMUNE_A).order_by("code")
        commune_b = _commune_b()
        return cls(
            users={user.username: user for user in User.objects.all()},
            province=Place.objects.get(code=PROVINCE),
            commune_a=Place.objects.get(code=COMMUNE_A),
            commune_b=commune_b,
            a1=a1,
            a2=a2,
            b1=Place.objects.get(parent=commune_b, kind=Place.Kind.VILLAGE),
        )

    def household(self, head_name: str) -> Household:
        return Household.objects.get(head_name=head_name)

    def resident(self, full_name: str) -> Resident:
        return Resident.objects.get(full_name=full_name)

    def organisation(self, name: str) -> Organisation:
        return Organisation.objects.get(name=name)
