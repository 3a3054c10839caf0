"""Dossier search by the applicant's name: any part of it, with or without diacritics, within
the reader's scope, on both databases (SQLite answers from the FTS5 trigram table of migration
dossiers/0003, PostgreSQL from its pg_trgm index; decision 0022)."""

import pytest
from django.db import connection

from tests.dossier_data import APPLICANT, birth_procedure, uploads
from xaso.dossiers import actions, selectors
from xaso.dossiers.models import Dossier
from xaso.lib.text import search_key


@pytest.fixture
def dossiers(world):
    procedure = birth_procedure(world)

    def submit(commune, name):
        dossier, _secret = actions.dossier_submit(
            procedure=procedure,
            commune=commune,
            applicant={**APPLICANT, "name": name},
            uploads=uploads(),
        )
        return dossier

    return {
        "a_hung": submit(world.commune_a, "Nguyễn Văn Hùng Anh"),
        "a_hoa": submit(world.commune_a, "Trần Thị Hoa"),
        "b_hung": submit(world.commune_b, "Nguyễn Văn Hùng"),
    }


def found(world, persona: str, query: str) -> set[str]:
    rows = selectors.dossiers_for_user(user=world.users[persona], q=query)
    codes = {dossier.code for dossier in rows}
    assert rows.count() == len(codes), query  # the count the pages show agrees with the rows
    return codes


def codes(dossiers, *names: str) -> set[str]:
    return {dossiers[name].code for name in names}


@pytest.mark.parametrize("query", ["văn hùng", "van hung", "VĂN HÙNG", "  Van   Hung  ", "ùng"])
def test_a_word_in_the_middle_of_the_name_finds_the_dossier_with_or_without_diacritics(
    world, dossiers, query
):
    assert found(world, "motcua", query) == codes(dossiers, "a_hung")


def test_a_name_search_stays_within_the_readers_communes(world, dossiers):
    assert found(world, "motcua", "nguyen van hung") == codes(dossiers, "a_hung")
    assert found(world, "canbo_b", "nguyen van hung") == codes(dossiers, "b_hung")
    assert found(world, "tinh", "nguyen van hung") == codes(dossiers, "a_hung", "b_hung")
    assert found(world, "nobody", "nguyen van hung") == set()


def test_the_procedure_name_is_searched_too_and_combines_with_other_filters(world, dossiers):
    assert found(world, "motcua", "khai sinh") == codes(dossiers, "a_hung", "a_hoa")
    rows = selectors.dossiers_for_user(user=world.users["motcua"], q="khai sinh", status="x")
    assert not rows.exists()


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("an", {"a_hung", "a_hoa"}),  # two characters: no trigram, the plain LIKE answers
        ("oa", {"a_hoa"}),
        ("hoa", {"a_hoa"}),
        ('"hoa"', set()),  # quotes are text, not FTS5 syntax
        ('hoa" OR "hung', set()),
        ("hoa OR hung", set()),
        ("NEAR(hoa hung)", set()),
        ("hoa*", set()),
        ("100%", set()),
        ("h_a", set()),
    ],
)
def test_short_queries_and_search_syntax_are_plain_text(world, dossiers, query, expected):
    assert found(world, "motcua", query) == codes(dossiers, *expected)


def test_the_search_follows_a_changed_name_and_a_deleted_dossier(world, dossiers):
    renamed = dossiers["a_hoa"]
    Dossier.objects.filter(pk=renamed.pk).update(search_key=search_key("Lê Văn Bình"))
    assert found(world, "motcua", "van binh") == {renamed.code}
    assert found(world, "motcua", "tran thi hoa") == set()
    Dossier.objects.filter(pk=dossiers["a_hung"].pk).delete()
    assert found(world, "motcua", "van") == {renamed.code}


def test_the_index_answers_as_the_plain_like_does(world, dossiers):
    everyone = Dossier.objects.all()
    for text in ("nguyen", "van h", "hung anh", "thi", "g v", "xyz", "khai sinh nguyen"):
        key = search_key(text)
        indexed = set(everyone.filter(selectors._by_name(key)).values_list("pk", flat=True))
        scanned = set(everyone.filter(search_key__contains=key).values_list("pk", flat=True))
        assert indexed == scanned, text


@pytest.mark.skipif(connection.vendor != "sqlite", reason="the FTS5 table is SQLite's")
def test_sqlite_keeps_the_triggers_that_feed_the_index(db):
    """A migration that rebuilds dossiers_dossier on SQLite drops its triggers with it."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = %s",
            ["dossiers_dossier"],
        )
        triggers = {name for (name,) in cursor.fetchall()}
    assert triggers >= {"dossier_search_insert", "dossier_search_update", "dossier_search_delete"}
