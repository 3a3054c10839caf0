"""Indexes for the officer's dossier list and name search, measured in bench/dossier_queue.py.

- `dossier_list_idx` (both databases): the list of a commune in its order (newest first), so
  the first page of 25 is read from the index instead of sorting the commune's dossiers.
- PostgreSQL only: a pg_trgm GIN index on `search_key`, so `search_key LIKE '%…%'` (a name)
  does not scan every dossier (as places 0003 does for households). SQLite has no equivalent.

Raw SQL, not AddIndex: models.py (Dossier.Meta) is left as it is; the indexes are the
database's business and the migration state does not need to know them.
"""

from django.db import migrations

BOTH_FORWARD = [
    "CREATE INDEX IF NOT EXISTS dossier_list_idx"
    " ON dossiers_dossier (commune_id, submitted_at DESC, id DESC)",
]
BOTH_BACKWARD = ["DROP INDEX IF EXISTS dossier_list_idx"]
POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS dossier_search_key_trgm"
    " ON dossiers_dossier USING gin (search_key gin_trgm_ops)",
]
POSTGRESQL_BACKWARD = ["DROP INDEX IF EXISTS dossier_search_key_trgm"]


def _run(both, postgresql_only):
    def apply(apps, schema_editor):
        statements = list(both)
        if schema_editor.connection.vendor == "postgresql":
            statements += postgresql_only
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("dossiers", "0001_initial")]

    operations = [
        migrations.RunPython(
            _run(BOTH_FORWARD, POSTGRESQL_FORWARD), _run(BOTH_BACKWARD, POSTGRESQL_BACKWARD)
        )
    ]
