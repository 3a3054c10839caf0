"""A citizen report's reporter name is encrypted like the contact beside it (XASO_FIELD_KEY).

Names already stored in clear are encrypted in place; going back decrypts them.
"""

from django.conf import settings
from django.db import migrations, models

from xaso.lib import crypto


def encrypt_names(apps, schema_editor):
    CitizenReport = apps.get_model("safety", "CitizenReport")
    for report in CitizenReport.objects.exclude(contact_name="").only("contact_name"):
        report.contact_name_encrypted = crypto.encrypt(
            report.contact_name, secret=settings.FIELD_ENCRYPTION_KEY
        )
        report.save(update_fields=["contact_name_encrypted"])


def decrypt_names(apps, schema_editor):
    CitizenReport = apps.get_model("safety", "CitizenReport")
    for report in CitizenReport.objects.exclude(contact_name_encrypted=""):
        report.contact_name = crypto.decrypt(
            report.contact_name_encrypted, secret=settings.FIELD_ENCRYPTION_KEY
        )[:150]
        report.save(update_fields=["contact_name"])


class Migration(migrations.Migration):
    dependencies = [("safety", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="citizenreport",
            name="contact_name_encrypted",
            field=models.TextField(blank=True),
        ),
        migrations.RunPython(encrypt_names, decrypt_names),
        migrations.RemoveField(model_name="citizenreport", name="contact_name"),
    ]
