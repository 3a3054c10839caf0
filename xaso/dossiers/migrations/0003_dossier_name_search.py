"""Name search over every dossier under 150 ms (bench/dossier_queue.py, decision 0022).

- Both databases: `dossier_newest_idx` (submitted_at desc, id desc), the order of the dossier
  list when no commune bounds it (a superuser, a province viewer). PostgreSQL walks it for the
  first page of a common name ("nguyen van", 14,365 of 200,000) and stops after 25 matches,
  instead of sorting every match its pg_trgm index (0002) finds.
- SQLite only: `dossier_search`, an FTS5 table with the trigram tokenizer (SQLite ≥ 3.34) over
  `dossiers_dossier.search_key`. SQLite has no index for `search_key LIKE '%…%'`, so a name
  search scanned the commune's (or the province's) dossiers; a phrase query on this table finds
  the same substrings from an index (selectors._by_name). External content: the keys are not
  stored twice. Triggers keep it in step with every write of `search_key`, whoever makes it
  (dossier_submit, bulk_create in the benchmark, the admin, a raw UPDATE); the last statement
  indexes the dossiers already there.

A later migration that makes SQLite rebuild dossiers_dossier (Django's _remake_table) drops the
triggers with the old table: tests/test_dossier_search.py checks that they are still there.
Raw SQL rather than model indexes: models.py is left as it is (as in 0002).
"""

from django.db import migrations

BOTH_FORWARD = [
    "CREATE INDEX IF NOT EXISTS dossier_newest_idx"
    " ON dossiers_dossier (submitted_at DESC, id DESC)",
]
BOTH_BACKWARD = ["DROP INDEX IF EXISTS dossier_newest_idx"]
SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE dossier_search USING fts5("
    " search_key, content='dossiers_dossier', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER dossier_search_insert AFTER INSERT ON dossiers_dossier BEGIN"
    " INSERT INTO dossier_search (rowid, search_key) VALUES (new.id, new.search_key); END",
    "CREATE TRIGGER dossier_search_delete AFTER DELETE ON dossiers_dossier BEGIN"
    " INSERT INTO dossier_search (dossier_search, rowid, search_key)"
    " VALUES ('delete', old.id, old.search_key); END",
    "CREATE TRIGGER dossier_search_update AFTER UPDATE OF id, search_key ON dossiers_dossier"
    " BEGIN INSERT INTO dossier_search (dossier_search, rowid, search_key)"
    " VALUES ('delete', old.id, old.search_key);"
    " INSERT INTO dossier_search (rowid, search_key) VALUES (new.id, new.search_key); END",
    "INSERT INTO dossier_search (dossier_search) VALUES ('rebuild')",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS dossier_search_update",
    "DROP TRIGGER IF EXISTS dossier_search_delete",
    "DROP TRIGGER IF EXISTS dossier_search_insert",
    "DROP TABLE IF EXISTS dossier_search",
]


def _run(both, sqlite_only):
    def apply(apps, schema_editor):
        statements = list(both)
        if schema_editor.connection.vendor == "sqlite":
            statements += sqlite_only
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0002_dossier_search_indexes")]

    operations = [
        migrations.RunPython(
            _run(BOTH_FORWARD, SQLITE_FORWARD), _run(BOTH_BACKWARD, SQLITE_BACKWARD)
        )
    ]
