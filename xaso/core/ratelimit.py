"""Rate limits in the cache (Redis when REDIS_URL is set, else the process).

A counter starts at the first hit and expires `window_seconds` later, so `limit` hits are
allowed per window that begins with the first hit (no burst of twice the limit across a clock
boundary, as fixed clock-aligned windows allow).
"""

from django.core.cache import cache


def allow(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one hit for `key` in `scope`; False once more than `limit` fall in the window."""
    cache_key = f"ratelimit:{scope}:{key}"
    # add() only creates the counter (with its expiry) if it does not exist yet.
    cache.add(cache_key, 0, timeout=window_seconds)
    try:
        hits = cache.incr(cache_key)
    except ValueError:  # the counter expired between add() and incr()
        cache.add(cache_key, 1, timeout=window_seconds)
        hits = 1
    return hits <= limit


def exceeded(*, scope: str, key: str, limit: int) -> bool:
    """True when `key` has already used up `limit` hits in `scope`; counts nothing."""
    return (cache.get(f"ratelimit:{scope}:{key}") or 0) >= limit
