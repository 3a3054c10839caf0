"""`xaso notify_sweep`: send the deliveries that are due, once, and say how it went.

`xaso clock` runs the same sweep every 15 s (notify/periodic.py); this command is for cron or
by hand. Retries normally run as deferred tasks in `xaso worker`; the sweep catches whatever
was lost (a process that died between commit and hand-off, or while sending). Several may run
at once: each delivery is claimed before it is sent.
"""

from django.core.management.base import BaseCommand

from xaso.notify.dispatch import deliveries_sweep


class Command(BaseCommand):
    help = "Gửi các thông báo đến hạn (gửi lại sau lỗi, hoặc bị bỏ dở)."

    def add_arguments(self, parser):
        parser.add_argument("--limit", type=int, default=500, help="at most this many deliveries")

    def handle(self, *args, limit: int, **options):
        result = deliveries_sweep(limit=limit)
        self.stdout.write(
            f"notify_sweep: {len(result.sent)} đã gửi, {len(result.retrying)} chờ gửi lại, "
            f"{len(result.failed)} không gửi được"
        )
