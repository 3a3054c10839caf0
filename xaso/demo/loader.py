"""The demo commune: Xã Quảng Tân (Quảng Ninh), its villages, people, organisations and users.

Generated from a fixed seed, so every load gives the same commune. Loading twice changes
nothing; `reset=True` deletes the demo commune's people and villages first.
"""

import datetime
import random
from dataclasses import dataclass, field

from django.db import transaction

from xaso.accounts.models import Membership, User
from xaso.accounts.roles import Role
from xaso.core import audit
from xaso.demo import names
from xaso.demo.dossiers import dossiers_demo_delete, dossiers_demo_load
from xaso.demo.indicators import indicators_demo_delete, indicators_demo_load
from xaso.demo.safety import safety_demo_delete, safety_demo_load
from xaso.demo.survey import survey_demo_delete, survey_demo_load
from xaso.demo.traceability import traceability_demo_delete, traceability_demo_load
from xaso.lib.text import search_key
from xaso.places import personal_data
from xaso.places.loader import official_places_load
from xaso.places.models import Consent, Household, Organisation, Place, Resident

DEMO_PASSWORD = "xaso-demo"
PROVINCE_CODE = "22"  # Quảng Ninh
COMMUNE_CODE = "06913"  # Xã Quảng Tân
HOUSEHOLDS = 400
SEED = 2025

# (username, full name, role, where: "commune" | "village" | "province"); admin is a superuser.
DEMO_USERS = [
    ("lanhdao", "Nguyễn Thị Thu Hà", Role.COMMUNE_LEADER, "commune"),
    ("motcua", "Trần Minh Quân", Role.ONE_STOP_OFFICER, "commune"),
    ("congan", "Phạm Đức Long", Role.POLICE_OFFICER, "commune"),
    ("tuphap", "Đỗ Thị Thanh", Role.SPECIALIST, "commune"),
    ("truongthon", "Lê Thị Hạnh", Role.VILLAGE_HEAD, "village"),
    ("tocns", "Vũ Ngọc Linh", Role.DIGITAL_TEAM, "village"),
    ("htx", "Hoàng Văn Thắng", Role.PRODUCER, "commune"),
    ("tinh", "Đặng Thanh Bình", Role.PROVINCE_VIEWER, "province"),
]


@dataclass
class DemoSummary:
    commune_name: str
    villages: int
    households: int
    residents: int
    organisations: int
    logins: list[tuple[str, str]] = field(default_factory=list)
    traceability: dict[str, int] = field(default_factory=dict)
    safety: dict[str, int] = field(default_factory=dict)
    dossiers: dict[str, int] = field(default_factory=dict)
    survey: dict[str, int] = field(default_factory=dict)
    indicators: dict[str, int] = field(default_factory=dict)


@transaction.atomic
def demo_load(*, reset: bool = False, households: int = HOUSEHOLDS) -> DemoSummary:
    if not Place.objects.filter(code=COMMUNE_CODE).exists():
        official_places_load()
    province = Place.objects.get(code=PROVINCE_CODE)
    commune = Place.objects.get(code=COMMUNE_CODE)
    if reset:
        _delete_demo_data(commune)
    villages = _ensure_villages(commune)
    organisations = _ensure_organisations(commune, villages)
    if not Household.objects.filter(village__path__startswith=commune.path).exists():
        _generate_people(villages, households)
    logins = _ensure_users(province, commune, villages[0], organisations)
    admin = User.objects.get(username="admin")
    traceability = traceability_demo_load(commune=commune, villages=villages, admin=admin)
    safety = safety_demo_load(commune=commune, villages=villages, admin=admin)
    dossiers = dossiers_demo_load(commune=commune, admin=admin)
    survey = survey_demo_load(commune=commune, villages=villages, admin=admin)
    indicators = indicators_demo_load(
        province=province, commune=commune, villages=villages, admin=admin
    )
    audit.record(actor=None, verb="demo.loaded", target=commune, place_path=commune.path)
    return DemoSummary(
        commune_name=commune.name,
        villages=len(villages),
        households=Household.objects.filter(village__path__startswith=commune.path).count(),
        residents=Resident.objects.filter(
            household__village__path__startswith=commune.path
        ).count(),
        organisations=Organisation.objects.filter(place__path__startswith=commune.path).count(),
        logins=logins,
        traceability=traceability,
        safety=safety,
        dossiers=dossiers,
        survey=survey,
        indicators=indicators,
    )


def _delete_demo_data(commune: Place) -> None:
    indicators_demo_delete(commune)
    survey_demo_delete(commune)
    dossiers_demo_delete(commune)
    safety_demo_delete(commune)
    traceability_demo_delete(commune)
    usernames = ["admin", *(username for username, *_ in DEMO_USERS)]
    Membership.objects.filter(user__username__in=usernames).delete()
    Resident.objects.filter(household__village__path__startswith=commune.path).delete()
    Household.objects.filter(village__path__startswith=commune.path).delete()
    Membership.objects.filter(place__path__startswith=commune.path).delete()
    Organisation.objects.filter(place__path__startswith=commune.path).delete()
    Place.objects.filter(kind=Place.Kind.VILLAGE, path__startswith=commune.path).delete()


def _ensure_villages(commune: Place) -> list[Place]:
    villages = []
    for number, name in enumerate(names.VILLAGES, start=1):
        code = f"{commune.code}-{number:02d}"
        village, _created = Place.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": Place.Kind.VILLAGE,
                "division_type": "thôn",
                "parent": commune,
                "path": f"{commune.path}{code}/",
            },
        )
        villages.append(village)
    return villages


def _ensure_organisations(commune: Place, villages: list[Place]) -> dict[str, Organisation]:
    organisations = {}
    for name, kind, village_index in names.ORGANISATIONS:
        place = commune if village_index is None else villages[village_index]
        organisation, _created = Organisation.objects.get_or_create(
            name=name,
            place__path__startswith=commune.path,
            defaults={
                "place": place,
                "kind": kind,
                "address": f"{place.name}, {commune.name}",
                "search_key": search_key(name, place.name),
            },
        )
        organisations[name] = organisation
    return organisations


def _generate_people(villages: list[Place], household_count: int) -> None:
    rng = random.Random(SEED)
    today = datetime.date(2026, 1, 1)  # fixed, so ages do not drift between loads
    households, residents = [], []
    used_cccd: set[str] = set()
    for index in range(household_count):
        village = villages[index % len(villages)]
        members = _family(rng, today)
        head = members[0]
        household = Household(
            village=village,
            code=f"{village.code}-{index // len(villages) + 1:04d}",
            head_name=head["full_name"],
            address=f"Số {rng.randint(1, 250)}, {village.name}",
        )
        household.search_key = search_key(household.head_name, household.address, household.code)
        households.append(household)
        residents.append(members)
    Household.objects.bulk_create(households, batch_size=500)

    resident_rows = []
    for household, members in zip(households, residents, strict=True):
        for member in members:
            resident = Resident(
                household=household,
                full_name=member["full_name"],
                gender=member["gender"],
                birth_date=member["birth_date"],
                relation_to_head=member["relation"],
                search_key=search_key(member["full_name"]),
            )
            age = (today - member["birth_date"]).days // 365
            if age >= 14:
                personal_data.set_identifier(resident, "cccd", _cccd(rng, member, used_cccd))
                if rng.random() < 0.75:
                    personal_data.set_identifier(resident, "phone", _phone(rng))
            resident_rows.append(resident)
    Resident.objects.bulk_create(resident_rows, batch_size=500)
    Consent.objects.bulk_create(
        [
            Consent(
                resident=resident,
                purpose=Consent.Purpose.RESIDENT_MANAGEMENT,
                given=True,
                method=Consent.Method.PAPER,
                note="Phiếu thu thập thông tin 2025",
            )
            for resident in resident_rows
            if resident.relation_to_head == "Chủ hộ"
        ],
        batch_size=500,
    )


def _family(rng: random.Random, today: datetime.date) -> list[dict]:
    """A household: a head, often a spouse, children, sometimes a grandparent."""
    surname = _weighted(rng, names.SURNAMES)
    head_gender = "male" if rng.random() < 0.8 else "female"
    head_age = rng.randint(26, 75)
    members = [_person(rng, today, surname, head_gender, head_age, "Chủ hộ")]
    if rng.random() < 0.85:
        spouse_gender = "female" if head_gender == "male" else "male"
        spouse_surname = _weighted(rng, names.SURNAMES)
        relation = "Vợ" if spouse_gender == "female" else "Chồng"
        spouse_age = max(20, head_age + rng.randint(-6, 3))
        members.append(_person(rng, today, spouse_surname, spouse_gender, spouse_age, relation))
    for _child in range(rng.choice([0, 1, 1, 2, 2, 2, 3, 3, 4])):
        child_age = rng.randint(0, max(0, head_age - 20))
        members.append(
            _person(rng, today, surname, rng.choice(["male", "female"]), child_age, "Con")
        )
    if head_age < 50 and rng.random() < 0.25:
        members.append(
            _person(
                rng,
                today,
                surname,
                rng.choice(["male", "female"]),
                head_age + rng.randint(22, 30),
                rng.choice(["Bố", "Mẹ"]),
            )
        )
    return members


def _person(rng, today, surname, gender, age, relation) -> dict:
    middle = rng.choice(names.MALE_MIDDLE if gender == "male" else names.FEMALE_MIDDLE)
    given = rng.choice(names.MALE_GIVEN if gender == "male" else names.FEMALE_GIVEN)
    birth = today - datetime.timedelta(days=age * 365 + rng.randint(0, 364))
    return {
        "full_name": f"{surname} {middle} {given}",
        "gender": gender,
        "birth_date": birth,
        "relation": relation,
    }


def _cccd(rng: random.Random, member: dict, used: set[str]) -> str:
    """022 (born in Quảng Ninh) + gender-and-century digit + year of birth + 6 random digits."""
    year = member["birth_date"].year
    century_digit = 0 if year < 2000 else 2
    gender_digit = century_digit + (1 if member["gender"] == "female" else 0)
    while True:
        number = f"022{gender_digit}{year % 100:02d}{rng.randint(0, 999999):06d}"
        if number not in used:
            used.add(number)
            return number


def _phone(rng: random.Random) -> str:
    return rng.choice(["09", "08", "03", "07"]) + f"{rng.randint(0, 99999999):08d}"


def _weighted(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([item for item, _ in weighted], weights=[w for _, w in weighted])[0]


def _ensure_users(province, commune, first_village, organisations) -> list[tuple[str, str]]:
    admin = _user("admin", "Quản trị hệ thống", superuser=True)
    logins = [("admin", "Quản trị hệ thống (toàn quyền)")]
    places = {"province": province, "commune": commune, "village": first_village}
    producer_organisation = organisations["HTX Nông nghiệp Quảng Tân"]
    for username, full_name, role, where in DEMO_USERS:
        user = _user(username, full_name)
        Membership.objects.get_or_create(
            user=user,
            place=places[where],
            role=role,
            defaults={
                "organisation": producer_organisation if role == Role.PRODUCER else None,
                "granted_by": admin,
            },
        )
        logins.append((username, f"{Role(role).label} — {places[where].name}"))
    return logins


def _user(username: str, full_name: str, *, superuser: bool = False) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(
            username=username, full_name=full_name, is_staff=superuser, is_superuser=superuser
        )
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user
