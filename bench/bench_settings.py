"""The app's settings with one more page, /bench/bare, for the scan benchmark's baseline.

Everything else (middleware, database, cache, templates) is xaso.config.settings as it ships,
so the bare view pays exactly the per-request cost every page pays before its own work.
"""

from xaso.config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
