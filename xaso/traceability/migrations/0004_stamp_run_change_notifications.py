"""PostgreSQL: notify `xaso_lot_changed` when what a stamp scan keeps about a run changes.

Web processes keep, per stamp run, its status, its product's name and its activations with
their lots (traceability/lot_refs.py), so a scan reads only the stamp's own row. A run's
status, an activation added, changed or removed notify `run:{id}`; a product renamed notifies
`*` (rare, and any kept run or lot may name it); a lot's change was already notified with its
id (0003). Sent at commit, not at all on rollback. Nothing on SQLite, which keeps nothing.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION traceability_stamprun_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('xaso_lot_changed', 'run:' || OLD.id::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER traceability_stamprun_changed AFTER UPDATE OR DELETE ON traceability_stamprun
    FOR EACH ROW EXECUTE FUNCTION traceability_stamprun_changed();

CREATE FUNCTION traceability_stampactivation_changed() RETURNS trigger AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        PERFORM pg_notify('xaso_lot_changed', 'run:' || OLD.run_id::text);
    END IF;
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('xaso_lot_changed', 'run:' || NEW.run_id::text);
    END IF;
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER traceability_stampactivation_changed
    AFTER INSERT OR UPDATE OR DELETE ON traceability_stampactivation
    FOR EACH ROW EXECUTE FUNCTION traceability_stampactivation_changed();

DROP TRIGGER traceability_product_gtin_changed ON traceability_product;
CREATE TRIGGER traceability_product_gtin_changed AFTER UPDATE OF gtin, name ON traceability_product
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_product_gtin_changed();
"""

DROP = """
DROP TRIGGER traceability_product_gtin_changed ON traceability_product;
CREATE TRIGGER traceability_product_gtin_changed AFTER UPDATE OF gtin ON traceability_product
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_product_gtin_changed();
DROP TRIGGER IF EXISTS traceability_stampactivation_changed ON traceability_stampactivation;
DROP FUNCTION IF EXISTS traceability_stampactivation_changed();
DROP TRIGGER IF EXISTS traceability_stamprun_changed ON traceability_stamprun;
DROP FUNCTION IF EXISTS traceability_stamprun_changed();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("traceability", "0003_lot_change_notifications")]

    operations = [migrations.RunPython(create, drop)]
