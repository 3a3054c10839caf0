"""The community digital team's visits through /api/v1/survey/: the phone's offline cache,
recording visits one at a time and in batches, the visit list, the leader's progress and
conflict resolution."""

import datetime
import json

import pytest

from tests import survey_data as sd
from xaso.core.models import AuditEntry
from xaso.places import actions as places
from xaso.survey.actions import local_today
from xaso.survey.models import HouseholdStatus, ResidentStatus, Visit


@pytest.fixture
def fam(world):
    return sd.family(world)


def answers_for(fam, **items):
    return {"residents": {fam.adult.public_id: items}}


# --- The offline cache ------------------------------------------------------------------------
def test_the_cache_of_a_village_lists_its_households_and_living_residents_without_identifiers(
    api_as, world, fam
):
    response = api_as("tocns").get("/survey/households", village=world.a1.code)
    assert response.status_code == 200
    rows = {row["id"]: row for row in response.json()}
    assert {row["village"] for row in rows.values()} == {world.a1.code}
    assert world.household("Lê Văn Cường").public_id not in rows  # village A2
    row = rows[fam.household.public_id]
    assert row["version"] == 0 and row["last_visited_on"] is None
    assert row["household_status"] == {"fibre_broadband": False}
    residents = {resident["id"]: resident for resident in row["residents"]}
    assert set(residents) == {fam.adult.public_id, fam.child.public_id, fam.unknown_age.public_id}
    assert residents[fam.adult.public_id]["birth_year"] == 1980
    assert residents[fam.unknown_age.public_id]["birth_year"] is None
    assert residents[fam.adult.public_id]["status"]["smartphone"] is False
    text = response.content.decode()
    assert "022088000111" not in text and "0912345678" not in text  # Nguyễn Văn An's CCCD/phone
    assert "cccd" not in text
    assert set(residents[fam.adult.public_id]) == {"id", "full_name", "birth_year", "status"}


def test_the_cache_shows_the_status_a_visit_left(api_as, world, fam):
    api = api_as("tocns")
    answers = {
        "household": {"fibre_broadband": True},
        "residents": {fam.adult.public_id: {"smartphone": True, "vssid": False}},
    }
    assert (
        sd.post_visit(api, sd.body(fam.household, answers=answers), sd.new_key()).status_code == 201
    )
    rows = {row["id"]: row for row in api.get("/survey/households", village=world.a1.code).json()}
    row = rows[fam.household.public_id]
    assert row["version"] == 1 and row["last_visited_on"] == local_today().isoformat()
    assert row["household_status"] == {"fibre_broadband": True}
    adult = next(r for r in row["residents"] if r["id"] == fam.adult.public_id)
    assert adult["status"]["smartphone"] is True and adult["status"]["vssid"] is False


def test_the_cache_of_a_village_one_may_not_visit_is_refused(api_as, world):
    assert api_as("tocns").get("/survey/households", village=world.a2.code).status_code == 403
    assert api_as("tocns").get("/survey/households", village=world.b1.code).status_code == 403
    refused = api_as("lanhdao").get("/survey/households", village=world.a1.code)
    assert refused.status_code == 403 and refused.json()["detail"]
    assert api_as("tocns").get("/survey/households", village="khong-co").status_code == 404
    assert (
        api_as("tocns").get("/survey/households", village=world.commune_a.code).status_code == 404
    )


def test_without_a_village_the_cache_holds_every_household_one_may_visit(api_as, world):
    ids = {row["id"] for row in api_as("truongthon").get("/survey/households").json()}
    assert world.household("Nguyễn Văn An").public_id in ids
    assert world.household("Lê Văn Cường").public_id not in ids
    assert api_as("nobody").get("/survey/households").json() == []
    admin_ids = {row["id"] for row in api_as("quantri").get("/survey/households").json()}
    assert world.household("Phạm Thị Dung").public_id in admin_ids


def test_the_cache_takes_the_same_queries_for_three_households_or_thirty(
    api_as, world, django_assert_max_num_queries
):
    api = api_as("tocns")
    few = len(api.get("/survey/households", village=world.a1.code).json())
    api = api_as("tocns")  # a fresh token: nothing cached on the user
    with django_assert_max_num_queries(8) as small:
        api.get("/survey/households", village=world.a1.code)
    sd.households(world, 30)
    api = api_as("tocns")
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = api.get("/survey/households", village=world.a1.code)
    assert len(response.json()) == few + 30


# --- Recording a visit ------------------------------------------------------------------------
def test_a_visit_is_recorded_and_updates_both_status_tables(api_as, world, fam):
    today = local_today()
    follow_up = today + datetime.timedelta(days=14)
    answers = {
        "household": {"fibre_broadband": True},
        "residents": {
            fam.adult.public_id: {"smartphone": True, "vneid_level2": True, "helped": ["vssid"]},
            fam.child.public_id: {"smartphone": False},
            fam.unknown_age.public_id: {"bank_or_wallet": True},
        },
    }
    response = sd.post_visit(
        api_as("tocns"),
        sd.body(fam.household, answers=answers, follow_up_on=follow_up.isoformat()),
        "phone-key-0001",
    )
    assert response.status_code == 201, response.json()
    out = response.json()
    assert out["household"] == fam.household.public_id and out["village"] == world.a1.code
    assert out["member"] == "tocns" and out["conflicts"] == []
    assert out["follow_up_on"] == follow_up.isoformat()
    assert out["answers"]["residents"][fam.adult.public_id]["helped"] == ["vssid"]

    adult = ResidentStatus.objects.get(resident=fam.adult)
    assert adult.smartphone_on == today and adult.vneid_level2_on == today
    assert adult.vssid_on is None  # helped with, but not answered yes
    assert adult.adult and adult.first_visited_on == adult.last_visited_on == today
    child = ResidentStatus.objects.get(resident=fam.child)
    assert not child.adult and child.smartphone_on is None
    assert ResidentStatus.objects.get(resident=fam.unknown_age).adult  # unknown age: adult
    status = HouseholdStatus.objects.get(household=fam.household)
    assert status.version == 1 and status.fibre_broadband_on == today
    assert status.smartphone_on == today and status.bank_or_wallet_on == today
    assert status.vssid_on is None and status.follow_up_on == follow_up
    assert status.last_visit.public_id == out["id"] and status.last_member == world.users["tocns"]
    entry = AuditEntry.objects.get(verb="visit.recorded", target_id=out["id"])
    assert entry.actor == world.users["tocns"] and entry.place_path == world.a1.path


def test_a_yes_keeps_the_day_it_became_yes_and_a_no_clears_it(api_as, world, fam):
    api = api_as("tocns")
    first, later = local_today() - datetime.timedelta(days=20), local_today()
    sd.post_visit(
        api,
        sd.body(
            fam.household, visited_on=first, answers=answers_for(fam, smartphone=True, vssid=True)
        ),
        sd.new_key(),
    )
    sd.post_visit(
        api,
        sd.body(
            fam.household, visited_on=later, answers=answers_for(fam, smartphone=True, vssid=False)
        ),
        sd.new_key(),
    )
    row = ResidentStatus.objects.get(resident=fam.adult)
    assert row.smartphone_on == first and row.vssid_on is None
    assert row.first_visited_on == first and row.last_visited_on == later
    status = HouseholdStatus.objects.get(household=fam.household)
    assert status.version == 2 and status.smartphone_on == first and status.vssid_on is None


def test_the_same_key_twice_returns_the_first_visit_and_stores_one(api_as, fam):
    api = api_as("tocns")
    payload = sd.body(fam.household, answers=answers_for(fam, smartphone=True))
    first = sd.post_visit(api, payload, "same-key-123")
    again = sd.post_visit(api, payload, "same-key-123")
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert Visit.objects.filter(household=fam.household).count() == 1
    assert HouseholdStatus.objects.get(household=fam.household).version == 1


def test_the_same_key_with_different_content_is_refused(api_as, fam):
    api = api_as("tocns")
    sd.post_visit(
        api, sd.body(fam.household, answers=answers_for(fam, smartphone=True)), "key-abcdef"
    )
    changed = sd.post_visit(
        api, sd.body(fam.household, answers=answers_for(fam, smartphone=False)), "key-abcdef"
    )
    assert changed.status_code == 409
    assert "Idempotency-Key" in changed.json()["detail"]
    assert Visit.objects.filter(household=fam.household).count() == 1
    assert ResidentStatus.objects.get(resident=fam.adult).smartphone_on is not None


def test_the_same_key_from_another_member_is_refused(api_as, fam):
    payload = sd.body(fam.household)
    assert sd.post_visit(api_as("tocns"), payload, "key-shared-1").status_code == 201
    assert sd.post_visit(api_as("truongthon"), payload, "key-shared-1").status_code == 409


@pytest.mark.parametrize("key", [None, "", "short", "x" * 101])
def test_a_visit_without_a_proper_idempotency_key_is_refused(api_as, fam, key):
    response = sd.post_visit(api_as("tocns"), sd.body(fam.household), key)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert not Visit.objects.exists()


def _bad_bodies(fam, other):
    today = local_today()
    return {
        "item outside the checklist": (
            sd.body(fam.household, answers=answers_for(fam, television=True)),
            "television",
        ),
        "household item outside the checklist": (
            sd.body(fam.household, answers={"household": {"smartphone": True}}),
            "smartphone",
        ),
        "an answer that is not yes or no": (
            sd.body(fam.household, answers=answers_for(fam, smartphone="có")),
            "smartphone",
        ),
        "a number for a yes": (sd.body(fam.household, answers=answers_for(fam, vssid=1)), "vssid"),
        "a resident of another household": (
            sd.body(fam.household, answers={"residents": {other.public_id: {"smartphone": True}}}),
            other.public_id,
        ),
        "helped with something outside the checklist": (
            sd.body(fam.household, answers=answers_for(fam, helped=["karaoke"])),
            "karaoke",
        ),
        "an unknown part of the answers": (
            sd.body(fam.household, answers={"animals": {}}),
            "animals",
        ),
        "a visit tomorrow": (
            sd.body(fam.household, visited_on=today + datetime.timedelta(days=1)),
            "tương lai",
        ),
        "a follow-up before the visit": (
            sd.body(fam.household, follow_up_on=(today - datetime.timedelta(days=1)).isoformat()),
            "hẹn quay lại",
        ),
        "notes too long": (sd.body(fam.household, notes="x" * 2001), "2000"),
    }


def test_every_bad_body_is_tried(world, fam):
    assert set(_bad_bodies(fam, world.resident("Nguyễn Văn An"))) == set(BAD_CASES)


BAD_CASES = [
    "item outside the checklist",
    "household item outside the checklist",
    "an answer that is not yes or no",
    "a number for a yes",
    "a resident of another household",
    "helped with something outside the checklist",
    "an unknown part of the answers",
    "a visit tomorrow",
    "a follow-up before the visit",
    "notes too long",
]


@pytest.mark.parametrize("case", BAD_CASES)
def test_a_bad_visit_is_refused_with_its_reason_and_writes_nothing(api_as, world, fam, case):
    other = world.resident("Nguyễn Văn An")
    payload, named = _bad_bodies(fam, other)[case]
    response = sd.post_visit(api_as("tocns"), payload, sd.new_key())
    assert response.status_code == 422, response.json()
    assert named in response.json()["detail"]
    assert not Visit.objects.exists()
    assert not ResidentStatus.objects.exists() and not HouseholdStatus.objects.exists()


def test_answers_about_a_resident_erased_since_the_phone_cached_them_are_dropped(api_as, fam):
    answers = {
        "residents": {
            fam.erased.public_id: {"vssid": True},
            fam.adult.public_id: {"vssid": True},
        }
    }
    response = sd.post_visit(api_as("tocns"), sd.body(fam.household, answers=answers), sd.new_key())
    assert response.status_code == 201
    assert list(response.json()["answers"]["residents"]) == [fam.adult.public_id]
    assert not ResidentStatus.objects.filter(resident=fam.erased).exists()
    assert ResidentStatus.objects.get(resident=fam.adult).vssid_on == local_today()


def test_malformed_fields_are_refused_before_anything_runs(api_as, fam):
    api = api_as("tocns")
    for payload in [
        sd.body(fam.household, visited_on=None) | {"visited_on": "30/11/2026"},
        sd.body(fam.household, base_version=-1),
        sd.body(fam.household, base_version=2**40),
        {"visited_on": local_today().isoformat()},
    ]:
        assert sd.post_visit(api, payload, sd.new_key()).status_code == 422
    assert not Visit.objects.exists()


def test_a_member_may_only_visit_households_of_her_village(api_as, world):
    api = api_as("tocns")
    for head in ("Lê Văn Cường", "Phạm Thị Dung"):  # village A2; commune B
        response = sd.post_visit(api, sd.body(world.household(head)), sd.new_key())
        assert response.status_code == 403
        assert "thôn" in response.json()["detail"]
    unknown = sd.post_visit(
        api, {**sd.body(world.household("Lê Văn Cường")), "household": "x"}, sd.new_key()
    )
    assert unknown.status_code == 404
    leader = sd.post_visit(
        api_as("lanhdao"), sd.body(world.household("Nguyễn Văn An")), sd.new_key()
    )
    assert leader.status_code == 403  # oversees visits, does not record them
    assert not Visit.objects.exists()


def test_a_visit_needs_a_signed_in_member(client, world):
    response = client.post(
        "/api/v1/survey/visits",
        json.dumps(sd.body(world.household("Nguyễn Văn An"))),
        content_type="application/json",
        headers={"Idempotency-Key": "anonymous-1"},
    )
    assert response.status_code == 401


# --- Batches ----------------------------------------------------------------------------------
def test_a_batch_stores_the_good_visits_and_reports_each_refusal_in_order(api_as, world, fam):
    api = api_as("tocns")
    an = world.household("Nguyễn Văn An")
    an_resident = world.resident("Nguyễn Văn An")
    stored_before = sd.post_visit(api, sd.body(an), "replayed-key-1")
    good = {
        "idempotency_key": "good-key-001",
        **sd.body(fam.household, answers=answers_for(fam, smartphone=True)),
    }
    items = [
        good,
        # Half good: its first resident is fine, its second is not of the household.
        {
            "idempotency_key": "half-bad-01",
            **sd.body(
                an,
                answers={
                    "residents": {
                        an_resident.public_id: {"vssid": True},
                        fam.adult.public_id: {"vssid": True},
                    }
                },
            ),
        },
        {"idempotency_key": "other-village", **sd.body(world.household("Lê Văn Cường"))},
        {"idempotency_key": "no-such-house", **sd.body(an), "household": "khong-co"},
        {"idempotency_key": "replayed-key-1", **sd.body(an)},
        {"idempotency_key": "replayed-key-1", **sd.body(an, notes="khác")},
        {"idempotency_key": "bad-date-01", **sd.body(an), "visited_on": "hôm qua"},
        {"household": an.public_id, "visited_on": local_today().isoformat()},
        "not an object",
    ]
    response = api.post("/survey/visits/batch", {"visits": items})
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["status"] for r in results] == [201, 422, 403, 404, 200, 409, 422, 422, 422]
    assert [r["idempotency_key"] for r in results][:7] == [
        "good-key-001",
        "half-bad-01",
        "other-village",
        "no-such-house",
        "replayed-key-1",
        "replayed-key-1",
        "bad-date-01",
    ]
    assert (
        results[0]["visit"]["household"] == fam.household.public_id and results[0]["detail"] == ""
    )
    assert results[4]["visit"]["id"] == stored_before.json()["id"]
    assert all(r["visit"] is None and r["detail"] for r in results[1:4] + results[5:])
    assert "visited_on" in results[6]["detail"]
    assert "Idempotency-Key" in results[7]["detail"]
    # Nothing of the half-bad visit was written: the first resident's answer neither.
    assert not ResidentStatus.objects.filter(resident=an_resident).exists()
    assert Visit.objects.count() == 2
    assert ResidentStatus.objects.get(resident=fam.adult).smartphone_on == local_today()


def test_a_batch_of_a_phone_queue_applies_its_visits_in_order_without_conflicts(api_as, fam):
    """Two visits to one household queued offline both carry the version the phone saw."""
    api = api_as("tocns")
    days = [local_today() - datetime.timedelta(days=2), local_today()]
    items = [
        {
            "idempotency_key": f"queue-key-{n}",
            "base_version": 0,
            **sd.body(fam.household, visited_on=day, answers=answers_for(fam, smartphone=n == 1)),
        }
        for n, day in enumerate(days)
    ]
    results = api.post("/survey/visits/batch", {"visits": items}).json()["results"]
    assert [r["status"] for r in results] == [201, 201]
    assert all(r["visit"]["conflicts"] == [] for r in results)
    assert ResidentStatus.objects.get(resident=fam.adult).smartphone_on == days[1]
    again = api.post("/survey/visits/batch", {"visits": items}).json()["results"]
    assert [r["status"] for r in again] == [200, 200]
    assert Visit.objects.count() == 2


def test_a_key_repeated_inside_one_batch_is_one_visit(api_as, fam):
    same = {"idempotency_key": "twice-in-batch", **sd.body(fam.household)}
    changed = {**same, "notes": "khác"}
    results = api_as("tocns").post("/survey/visits/batch", {"visits": [same, same, changed]})
    assert [r["status"] for r in results.json()["results"]] == [201, 200, 409]
    assert Visit.objects.count() == 1


def test_a_batch_costs_a_few_queries_per_visit(api_as, world, django_assert_max_num_queries):
    houses = sd.households(world, 20)
    api = api_as("tocns")
    items = [{"idempotency_key": sd.new_key(), **sd.body(house)} for house in houses]
    with django_assert_max_num_queries(9 * len(items)):
        response = api.post("/survey/visits/batch", {"visits": items})
    assert {r["status"] for r in response.json()["results"]} == {201}
    with django_assert_max_num_queries(6):  # the phone sends them all again
        again = api.post("/survey/visits/batch", {"visits": items})
    assert {r["status"] for r in again.json()["results"]} == {200}


@pytest.mark.parametrize("count", [0, 101])
def test_a_batch_holds_one_to_a_hundred_visits(api_as, fam, count):
    items = [{"idempotency_key": sd.new_key(), **sd.body(fam.household)} for _ in range(count)]
    assert api_as("tocns").post("/survey/visits/batch", {"visits": items}).status_code == 422
    assert not Visit.objects.exists()


# --- Conflicts --------------------------------------------------------------------------------
def _conflicting_visits(api_as, fam):
    """The village head records a visit; the team member's phone, which saw the household
    before it (version 0), then sends hers."""
    head = sd.post_visit(
        api_as("truongthon"),
        sd.body(fam.household, answers=answers_for(fam, smartphone=True, vssid=True)),
        sd.new_key(),
    )
    assert head.status_code == 201
    member = sd.post_visit(
        api_as("tocns"),
        sd.body(
            fam.household,
            base_version=0,
            answers={
                "household": {"fibre_broadband": True},
                "residents": {
                    fam.adult.public_id: {
                        "smartphone": False,
                        "vssid": True,
                        "online_service": False,
                    },
                    fam.child.public_id: {"smartphone": True},
                },
            },
        ),
        sd.new_key(),
    )
    assert member.status_code == 201, member.json()
    return member.json()


def test_answers_someone_else_changed_meanwhile_are_held_back_not_overwritten(api_as, fam):
    visit = _conflicting_visits(api_as, fam)
    assert visit["conflicts"] == [
        {"resident": "", "item": "fibre_broadband", "recorded": True, "current": False},
        {"resident": fam.adult.public_id, "item": "smartphone", "recorded": False, "current": True},
    ]
    adult = ResidentStatus.objects.get(resident=fam.adult)
    assert adult.smartphone_on is not None  # held back
    assert adult.vssid_on is not None and adult.online_service_on is None  # agreed: applied
    # A resident nobody had answered for is no conflict.
    assert ResidentStatus.objects.get(resident=fam.child).smartphone_on == local_today()
    status = HouseholdStatus.objects.get(household=fam.household)
    assert status.version == 2 and status.fibre_broadband_on is None


def test_the_leader_applies_held_back_answers(api_as, world, fam):
    visit = _conflicting_visits(api_as, fam)
    progress = api_as("truongthon").get("/survey/progress", village=world.a1.code).json()
    assert progress["conflicts"] == 1
    response = api_as("truongthon").post(f"/survey/visits/{visit['id']}/resolve", {"apply": True})
    assert response.status_code == 200
    assert response.json()["conflicts_resolved_at"] is not None
    assert ResidentStatus.objects.get(resident=fam.adult).smartphone_on is None
    status = HouseholdStatus.objects.get(household=fam.household)
    assert status.fibre_broadband_on == local_today() and status.version == 3
    assert status.smartphone_on == local_today()  # the child's
    entry = AuditEntry.objects.get(verb="visit.conflicts_resolved", target_id=visit["id"])
    assert entry.actor == world.users["truongthon"] and entry.changes["apply"] is True
    assert (
        api_as("truongthon").get("/survey/progress", village=world.a1.code).json()["conflicts"] == 0
    )
    again = api_as("truongthon").post(f"/survey/visits/{visit['id']}/resolve", {"apply": True})
    assert again.status_code == 409


def test_the_leader_keeps_the_current_answers(api_as, fam):
    visit = _conflicting_visits(api_as, fam)
    response = api_as("lanhdao").post(f"/survey/visits/{visit['id']}/resolve", {"apply": False})
    assert response.status_code == 200
    assert ResidentStatus.objects.get(resident=fam.adult).smartphone_on is not None
    status = HouseholdStatus.objects.get(household=fam.household)
    assert status.fibre_broadband_on is None and status.version == 2
    assert Visit.objects.get(public_id=visit["id"]).conflicts_resolved_by.username == "lanhdao"


def test_only_an_overseer_of_the_village_resolves_conflicts(api_as, fam):
    visit = _conflicting_visits(api_as, fam)
    for username in ("tocns", "canbo_b", "nobody"):
        response = api_as(username).post(f"/survey/visits/{visit['id']}/resolve", {"apply": True})
        assert response.status_code == 404
    not_bool = api_as("truongthon").post(f"/survey/visits/{visit['id']}/resolve", {"apply": "yes"})
    assert not_bool.status_code == 422
    assert Visit.objects.get(public_id=visit["id"]).has_open_conflicts


def test_a_visit_without_conflicts_has_nothing_to_resolve(api_as, fam):
    visit = sd.post_visit(api_as("tocns"), sd.body(fam.household), sd.new_key()).json()
    response = api_as("truongthon").post(f"/survey/visits/{visit['id']}/resolve", {"apply": True})
    assert response.status_code == 409 and response.json()["detail"]


def test_one_member_catching_up_on_her_own_visits_has_no_conflict(api_as, fam):
    api = api_as("tocns")
    sd.post_visit(
        api, sd.body(fam.household, answers=answers_for(fam, smartphone=True)), sd.new_key()
    )
    second = sd.post_visit(
        api,
        sd.body(fam.household, base_version=0, answers=answers_for(fam, smartphone=False)),
        sd.new_key(),
    )
    assert second.json()["conflicts"] == []
    assert ResidentStatus.objects.get(resident=fam.adult).smartphone_on is None


# --- Late visits ------------------------------------------------------------------------------
def test_a_visit_that_arrives_late_is_stored_but_does_not_overwrite_newer_answers(
    api_as, world, fam
):
    today, earlier = local_today(), local_today() - datetime.timedelta(days=10)
    sd.post_visit(
        api_as("truongthon"),
        sd.body(
            fam.household,
            answers={"household": {"fibre_broadband": True}, **answers_for(fam, smartphone=True)},
            follow_up_on=(today + datetime.timedelta(days=3)).isoformat(),
        ),
        sd.new_key(),
    )
    late = sd.post_visit(
        api_as("tocns"),
        sd.body(
            fam.household,
            visited_on=earlier,
            answers={
                "household": {"fibre_broadband": False},
                "residents": {
                    fam.adult.public_id: {"smartphone": False},
                    fam.child.public_id: {"vssid": True},  # nobody answered for her since
                },
            },
        ),
        sd.new_key(),
    )
    assert late.status_code == 201 and late.json()["conflicts"] == []
    adult = ResidentStatus.objects.get(resident=fam.adult)
    assert adult.smartphone_on == today
    assert adult.first_visited_on == earlier and adult.last_visited_on == today
    assert ResidentStatus.objects.get(resident=fam.child).vssid_on == earlier
    status = HouseholdStatus.objects.get(household=fam.household)
    assert status.fibre_broadband_on == today and status.last_visited_on == today
    assert status.first_visited_on == earlier and status.last_member == world.users["truongthon"]
    assert status.follow_up_on == today + datetime.timedelta(days=3)
    assert status.vssid_on == earlier
    entry = AuditEntry.objects.get(verb="visit.recorded", target_id=late.json()["id"])
    assert entry.changes["late"] is True


# --- Listing visits ---------------------------------------------------------------------------
def test_visits_are_listed_newest_first_to_those_who_record_or_oversee_them(api_as, world, fam):
    api = api_as("tocns")
    first = sd.post_visit(api, sd.body(fam.household), sd.new_key()).json()
    second = sd.post_visit(api, sd.body(world.household("Nguyễn Văn An")), sd.new_key()).json()
    page = api.get("/survey/visits", village=world.a1.code).json()
    assert page["count"] == 2 and [v["id"] for v in page["items"]] == [second["id"], first["id"]]
    assert page["items"][0]["head_name"] == "Nguyễn Văn An"
    assert api_as("lanhdao").get("/survey/visits").json()["count"] == 2
    assert api_as("truongthon").get("/survey/visits").json()["count"] == 2
    for outsider in ("canbo_b", "tinh", "motcua", "nobody"):
        assert api_as(outsider).get("/survey/visits").json()["count"] == 0
    assert api.get("/survey/visits", village=world.a2.code).json()["count"] == 0


def test_visits_since_a_moment(api_as, world, fam):
    api = api_as("tocns")
    sd.post_visit(api, sd.body(fam.household), sd.new_key())
    Visit.objects.update(created_at=datetime.datetime(2026, 1, 5, 3, 0, tzinfo=datetime.UTC))
    sd.post_visit(api, sd.body(fam.household), sd.new_key())
    assert api.get("/survey/visits", since="2026-01-05").json()["count"] == 2
    assert api.get("/survey/visits", since="2026-01-06").json()["count"] == 1
    # 10:00 in Vietnam is 03:00 UTC: the first visit is exactly at the moment.
    assert api.get("/survey/visits", since="2026-01-05T10:00:00").json()["count"] == 2
    assert api.get("/survey/visits", since="2026-01-05T10:00:01+07:00").json()["count"] == 1
    for bad in ("hôm qua", "2026-13-01", "9999-12-31T23:59:59-12:00"):
        response = api.get("/survey/visits", since=bad)
        assert response.status_code == 422 and "since" in response.json()["detail"]


# --- Progress ---------------------------------------------------------------------------------
def test_the_leader_sees_the_village_progress_per_week(api_as, world, fam):
    today = local_today()
    monday = today - datetime.timedelta(days=today.weekday())
    last_week = monday - datetime.timedelta(days=3)
    api = api_as("tocns")
    sd.post_visit(
        api,
        sd.body(
            fam.household,
            visited_on=last_week,
            answers={
                "household": {"fibre_broadband": True},
                "residents": {
                    fam.adult.public_id: {"smartphone": True},
                    fam.unknown_age.public_id: {"smartphone": False},
                    fam.child.public_id: {"smartphone": True},  # a child: not in the shares
                },
            },
            follow_up_on=today.isoformat(),
        ),
        sd.new_key(),
    )
    an = world.household("Nguyễn Văn An")
    sd.post_visit(
        api,
        sd.body(
            an,
            answers={
                "residents": {world.resident("Nguyễn Văn An").public_id: {"smartphone": True}}
            },
            follow_up_on=(today + datetime.timedelta(days=30)).isoformat(),
        ),
        sd.new_key(),
    )
    sd.post_visit(api, sd.body(an), sd.new_key())  # a second visit the same week
    response = api_as("truongthon").get("/survey/progress", village=world.a1.code, weeks=2)
    assert response.status_code == 200
    progress = response.json()
    assert progress["village"] == world.a1.code
    assert progress["households"] == 3 and progress["households_visited"] == 2
    assert progress["visits"] == 3 and progress["conflicts"] == 0
    assert progress["follow_ups_due"] == [
        {
            "household": fam.household.public_id,
            "head_name": fam.household.head_name,
            "follow_up_on": today.isoformat(),
            "overdue": False,
        }
    ]  # the other household's visit this week replaced its follow-up with none
    previous, this = progress["weeks"]
    assert previous["week_start"] == (monday - datetime.timedelta(weeks=1)).isoformat()
    assert (previous["visits"], previous["households_visited"]) == (1, 1)
    assert (this["visits"], this["households_visited"]) == (2, 1)
    assert previous["adults_counted"] == 2 and previous["shares"]["smartphone"] == 50.0
    assert previous["shares"]["fibre_broadband"] == 100.0
    assert this["adults_counted"] == 3 and this["shares"]["smartphone"] == pytest.approx(66.7)
    assert this["households_counted"] == 2 and this["shares"]["fibre_broadband"] == 50.0
    assert this["shares"]["vssid"] == 0.0


def test_progress_of_a_commune_and_who_may_see_it(api_as, world, fam):
    sd.post_visit(api_as("tocns"), sd.body(fam.household), sd.new_key())
    commune = api_as("lanhdao").get("/survey/progress", village=world.commune_a.code)
    assert commune.status_code == 200
    assert commune.json()["households"] == 4 and commune.json()["visits"] == 1
    assert len(commune.json()["weeks"]) == 8
    assert api_as("tocns").get("/survey/progress", village=world.a1.code).status_code == 403
    assert api_as("truongthon").get("/survey/progress", village=world.a2.code).status_code == 403
    assert api_as("canbo_b").get("/survey/progress", village=world.a1.code).status_code == 403
    assert api_as("lanhdao").get("/survey/progress", village="khong-co").status_code == 404
    assert api_as("lanhdao").get("/survey/progress").status_code == 404
    assert (
        api_as("lanhdao").get("/survey/progress", village=world.a1.code, weeks=0).status_code == 422
    )
    assert (
        api_as("lanhdao").get("/survey/progress", village=world.a1.code, weeks=53).status_code
        == 422
    )


def test_a_household_added_in_a_test_village_is_counted(api_as, world):
    places.household_create(village=world.a2, head_name="Mới đến", by=world.users["admin"])
    progress = api_as("lanhdao").get("/survey/progress", village=world.a2.code).json()
    assert progress["households"] == 2 and progress["households_visited"] == 0
