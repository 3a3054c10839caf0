"""xaso open311_key create NAME | list | revoke PREFIX

Keys of the applications allowed to POST Open311 requests. A new key is printed once; only
its hash is stored. See docs/operations.md (Open311).
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from xaso.core.errors import DomainError
from xaso.safety import reports
from xaso.safety.models import Open311Key


class Command(BaseCommand):
    help = "Khoá ứng dụng Open311 / Open311 application keys: create NAME, list, revoke PREFIX"

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "list", "revoke"])
        parser.add_argument("subject", nargs="?", default="", help="NAME or PREFIX")

    def handle(self, *args, action: str, subject: str, **options):
        if action == "list":
            for key in Open311Key.objects.order_by("created_at", "id"):
                state = "đã thu hồi" if key.revoked_at else "hiệu lực"
                created = f"{timezone.localtime(key.created_at):%d/%m/%Y}"
                self.stdout.write(f"{key.prefix}  {state:<11} {created}  {key.name}")
            return
        if not subject:
            raise CommandError("Thiếu NAME (create) hoặc PREFIX (revoke).")
        try:
            if action == "create":
                _key, plain = reports.open311_key_create(name=subject)
                self.stdout.write(plain)
                self.stderr.write("Khoá chỉ hiện một lần: hãy lưu lại ngay.")
            else:
                key = reports.open311_key_revoke(prefix=subject)
                self.stdout.write(f"Đã thu hồi khoá {key.prefix} ({key.name}).")
        except DomainError as error:
            raise CommandError(error.message) from error
