import signal
import threading

from django.core.management.base import BaseCommand

from xaso.core import clock


class Command(BaseCommand):
    help = "Run the periodic jobs of every app (heartbeats, escalations, retention, retries)."

    def handle(self, *args, **options):
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
        signal.signal(signal.SIGINT, lambda signum, frame: stop.set())
        clock.run_forever(stop)
