"""xaso mqtt [--url mqtt://host:1883] [--prefix frigate] [--client-id ID] [--workers N]

The camera event listener: subscribes to Frigate's topics on XASO_MQTT_URL with QoS 1 and a
persistent session, and stores every event once (xaso/safety/mqtt.py). Stops on SIGTERM or
Ctrl+C; what it has not acknowledged the broker delivers again on the next start.
"""

import os
import signal
import threading

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from xaso.safety import mqtt


class Command(BaseCommand):
    help = "Nhận sự kiện camera từ Frigate qua MQTT / camera events from Frigate over MQTT"

    def add_arguments(self, parser):
        parser.add_argument("--url", default="", help="broker URL; default: XASO_MQTT_URL")
        parser.add_argument(
            "--prefix",
            default="",
            help="Frigate's topic prefix; default: XASO_MQTT_TOPIC_PREFIX or frigate",
        )
        parser.add_argument(
            "--client-id",
            default="",
            help="fixed MQTT client id (names the persistent session); "
            "default: XASO_MQTT_CLIENT_ID or xaso-<hostname>",
        )
        parser.add_argument(
            "--workers",
            type=int,
            default=None,
            help="threads storing events (one camera always on the same thread); "
            "default: 4 on PostgreSQL, 1 on SQLite",
        )
        parser.add_argument(
            "--session-expiry",
            type=int,
            default=None,
            help="seconds the broker keeps the session while the listener is away (7 days)",
        )

    def handle(self, *args, **options):
        url = options["url"] or settings.XASO_MQTT_URL
        if not url:
            raise CommandError("XASO_MQTT_URL chưa được đặt / XASO_MQTT_URL is not set")
        try:
            config = mqtt.config_from_url(
                url,
                prefix=options["prefix"] or os.environ.get("XASO_MQTT_TOPIC_PREFIX", ""),
                client_id=options["client_id"] or os.environ.get("XASO_MQTT_CLIENT_ID", ""),
                workers=options["workers"],
                session_expiry=options["session_expiry"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        if config.workers < 1:
            raise CommandError("--workers phải ≥ 1 / --workers must be at least 1")
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        self.stdout.write(
            f"xaso mqtt: {config.host}:{config.port}, topics {config.prefix}/…, "
            f"client {config.client_id}, {config.workers} worker(s)"
        )
        self.stdout.flush()
        mqtt.Listener(config).run_forever(stop)
