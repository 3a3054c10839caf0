"""PostgreSQL only: trigram search on households and better estimates for place paths.

`search_key LIKE '%…%'` cannot use a B-tree; a pg_trgm GIN index can. The planner also
underestimated how many places match a commune's path prefix; a larger statistics sample fixes
that. Measured in bench/household_search.py. SQLite needs neither and skips this migration.
"""

from django.db import migrations

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS household_search_key_trgm"
    " ON places_household USING gin (search_key gin_trgm_ops)",
    "ALTER TABLE places_place ALTER COLUMN path SET STATISTICS 1000",
]
BACKWARD = [
    "DROP INDEX IF EXISTS household_search_key_trgm",
    "ALTER TABLE places_place ALTER COLUMN path SET STATISTICS -1",
]


def _run(statements):
    def apply(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for statement in statements:
            schema_editor.execute(statement)

    return apply


class Migration(migrations.Migration):
    dependencies = [("places", "0002_household_list_index")]

    operations = [migrations.RunPython(_run(FORWARD), _run(BACKWARD))]
