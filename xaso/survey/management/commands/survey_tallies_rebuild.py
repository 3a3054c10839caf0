"""`xaso survey_tallies_rebuild`: count the status tallies again from the status rows.

Run it after changing XASO_PERIOD_CLOSE_DAY (the tallies are kept per monthly period), or to
repair them; `--village CODE` (repeatable) recounts only those villages. Visits recorded while
it runs wait for it (one transaction).
"""

from django.core.management.base import BaseCommand, CommandError

from xaso.places.models import Place
from xaso.survey.tallies import tallies_rebuild


class Command(BaseCommand):
    help = "Đếm lại bảng tổng hợp trạng thái khảo sát theo thôn và tháng từ các dòng trạng thái."

    def add_arguments(self, parser):
        parser.add_argument("--village", action="append", default=[], help="village code")

    def handle(self, *args, village: list[str], **options):
        villages = None
        if village:
            villages = list(Place.objects.filter(kind=Place.Kind.VILLAGE, code__in=village))
            if len(villages) != len(set(village)):
                raise CommandError("Không tìm thấy một số thôn: " + ", ".join(village))
        written = tallies_rebuild(villages=villages)
        self.stdout.write(f"survey_tallies_rebuild: {written} dòng tổng hợp")
