"""PostgreSQL: notify `xaso_lot_changed` when a lot changes or a product's GTIN does.

Web processes keep the lots that lot links name and forget one when it is notified
(traceability/lot_refs.py); a trigger catches every write, whichever code made it. A
notification is sent when the transaction commits, and not at all if it rolls back.
Nothing on SQLite, which keeps no lots.
"""

from django.db import migrations

CREATE = """
CREATE FUNCTION traceability_lot_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('xaso_lot_changed', OLD.id::text);
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER traceability_lot_changed AFTER UPDATE OR DELETE ON traceability_lot
    FOR EACH ROW EXECUTE FUNCTION traceability_lot_changed();

CREATE FUNCTION traceability_product_gtin_changed() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('xaso_lot_changed', '*');
    RETURN NULL;
END $$ LANGUAGE plpgsql;

CREATE TRIGGER traceability_product_gtin_changed AFTER UPDATE OF gtin ON traceability_product
    FOR EACH STATEMENT EXECUTE FUNCTION traceability_product_gtin_changed();
"""

DROP = """
DROP TRIGGER IF EXISTS traceability_product_gtin_changed ON traceability_product;
DROP FUNCTION IF EXISTS traceability_product_gtin_changed();
DROP TRIGGER IF EXISTS traceability_lot_changed ON traceability_lot;
DROP FUNCTION IF EXISTS traceability_lot_changed();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("traceability", "0002_scan_batch")]

    operations = [migrations.RunPython(create, drop)]
