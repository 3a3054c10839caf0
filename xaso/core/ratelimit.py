"""Fixed-window rate limits in the cache (Redis when REDIS_URL is set, else the process)."""

import time

from django.core.cache import cache


def allow(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one hit for `key` in `scope`; False once `limit` hits fall in the current window."""
    window = int(time.time() // window_seconds)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=window_seconds * 2)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.set(cache_key, 1, timeout=window_seconds * 2)
        hits = 1
    return hits <= limit
