"""Migration safety 0002: reporter names stored in clear before it are encrypted, and going
back decrypts them."""

from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from xaso.lib import crypto

BEFORE = [("safety", "0001_initial")]
AFTER = [("safety", "0002_citizen_report_name_encrypted")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_names_in_clear_are_encrypted_and_going_back_decrypts_them(
    world_rebuilt_afterwards, transactional_db, world
):
    old = migrate(BEFORE)
    report = old.get_model("safety", "CitizenReport").objects.create(
        place_id=world.commune_a.pk,
        service_code="other",
        description="Cây đổ chắn đường",
        contact_name="Nguyễn Thị Hoa",
    )
    old.get_model("safety", "CitizenReport").objects.create(
        place_id=world.commune_a.pk, service_code="other", description="Không để tên"
    )

    new = migrate(AFTER)
    reports = new.get_model("safety", "CitizenReport").objects
    stored = reports.get(pk=report.pk).contact_name_encrypted
    assert "Hoa" not in stored
    assert crypto.decrypt(stored, secret=settings.FIELD_ENCRYPTION_KEY) == "Nguyễn Thị Hoa"
    assert reports.exclude(pk=report.pk).get().contact_name_encrypted == ""

    back = migrate(BEFORE)
    assert back.get_model("safety", "CitizenReport").objects.get(pk=report.pk).contact_name == (
        "Nguyễn Thị Hoa"
    )
    migrate(AFTER)
