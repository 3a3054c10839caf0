"""PostgreSQL: leave a fifth of each page of the stamp table free, for the scans' counter
updates.

A scan's counter update then fits on the stamp's own page as a heap-only tuple (HOT; no
indexed column changes): no new entry in the stamp's indexes, and the old version is pruned
on the page by the next read, whether or not autovacuum runs. Without the room, every update
added an entry to each index, and a lookup by code hash walked the dead versions of a
much-scanned stamp until the next vacuum. Applies to the pages written from now on: new stamp
runs. Nothing on SQLite.
"""

from django.db import migrations

FILL_FACTOR = 80


def set_fill_factor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"ALTER TABLE traceability_stamp SET (fillfactor = {FILL_FACTOR})")


def reset_fill_factor(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE traceability_stamp RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("traceability", "0005_stamp_fewer_indexes")]

    operations = [migrations.RunPython(set_fill_factor, reset_fill_factor)]
