from django.core.management.base import BaseCommand

from xaso.core import audit
from xaso.places.loader import official_places_load


class Command(BaseCommand):
    help = "Nạp danh mục 34 tỉnh/thành phố và 3.321 xã/phường/đặc khu (gói vietnam-provinces)."

    def handle(self, *args, **options):
        result = official_places_load()
        audit.record(actor=None, verb="places.loaded", changes=result)
        self.stdout.write(
            f"Đã nạp {result['provinces']} tỉnh/thành phố và {result['communes']} xã/phường "
            f"(tạo mới {result['created']}, cập nhật {result['updated']})."
        )
