"""Rate limits in the cache (Redis when REDIS_URL is set, else the process).

A counter starts at the first hit and expires `window_seconds` later, so `limit` hits are
allowed per window that begins with the first hit (no burst of twice the limit across a clock
boundary, as fixed clock-aligned windows allow).
"""

import time

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


# Clients this process has seen go over a limit, until their window ends: checking them costs
# no cache round trip, so pages that count only failures (unknown stamp codes) can skip the
# cache entirely for everyone else. Another process learns of the block at the client's next
# failure there (its own count in the cache is already over), so at most one extra failure
# per process gets an answer.
_blocked_until: dict[tuple[str, str], float] = {}
_BLOCKED_MAX = 10_000


def blocked_here(*, scope: str, key: str) -> bool:
    until = _blocked_until.get((scope, key))
    if until is None:
        return False
    if until > time.monotonic():
        return True
    _blocked_until.pop((scope, key), None)
    return False


def block_here(*, scope: str, key: str, window_seconds: int = 60) -> None:
    if len(_blocked_until) >= _BLOCKED_MAX:  # a flood of addresses: forget the oldest half
        for stale in sorted(_blocked_until, key=_blocked_until.get)[: _BLOCKED_MAX // 2]:
            _blocked_until.pop(stale, None)
    _blocked_until[(scope, key)] = time.monotonic() + window_seconds


def count_failure(*, scope: str, key: str, limit: int, window_seconds: int = 60) -> bool:
    """Count one failure (an unknown code); False, and blocked in this process, once over."""
    if allow(scope=scope, key=key, limit=limit, window_seconds=window_seconds):
        return True
    block_here(scope=scope, key=key, window_seconds=window_seconds)
    return False
