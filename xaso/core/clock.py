"""Periodic work (heartbeat checks, escalations, retention, outbox retries): `xaso clock`.

Each app may have a `periodic.py` with `PERIODIC`, a list of `Periodic` entries, found by
convention as `navigation.py` is. Every job must be safe to run twice at once (they lock
or update conditionally), so running a clock on several machines does no harm.
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module

from django.apps import apps
from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    every_seconds: int
    run: Callable[[], object]


def periodic_jobs() -> list[Periodic]:
    jobs: list[Periodic] = []
    for config in apps.get_app_configs():
        if not config.name.startswith("xaso."):
            continue
        try:
            module = import_module(f"{config.name}.periodic")
        except ModuleNotFoundError as missing:
            if missing.name != f"{config.name}.periodic":
                raise
            continue
        jobs.extend(getattr(module, "PERIODIC", []))
    return jobs


def run_due(jobs: list[Periodic], next_due: dict[str, float], now: float) -> None:
    """Run every job whose time has come; one failing job never stops the others."""
    for job in jobs:
        if next_due.get(job.name, 0) > now:
            continue
        next_due[job.name] = now + job.every_seconds
        try:
            result = job.run()
        except Exception:
            logger.exception("periodic job %s failed", job.name)
            continue
        if result:
            logger.info("periodic job %s: %s", job.name, result)


def run_forever(stop: threading.Event, *, tick_seconds: float = 1.0) -> None:
    jobs = periodic_jobs()
    logger.info("clock: %s", ", ".join(f"{job.name}/{job.every_seconds}s" for job in jobs))
    next_due: dict[str, float] = {}
    while not stop.is_set():
        close_old_connections()  # a restarted database must not leave a dead connection
        run_due(jobs, next_due, time.monotonic())
        stop.wait(tick_seconds)
