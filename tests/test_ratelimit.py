"""Rate limits against the process cache and against the local Redis (REDIS_URL deployments)."""

import uuid

import pytest

from xaso.core import ratelimit

REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:6379/0",
        "KEY_PREFIX": "xaso-test",
    }
}


@pytest.fixture(params=["process", "redis"])
def cache_backend(request, settings):
    if request.param == "redis":
        settings.CACHES = REDIS  # Django rebuilds its cache handlers on this change
    return request.param


def test_the_limit_counts_hits_within_the_window(cache_backend):
    key = uuid.uuid4().hex  # a fresh key: Redis outlives the test run
    verdicts = [ratelimit.allow(scope="test", key=key, limit=3) for _ in range(5)]
    assert verdicts == [True, True, True, False, False]


def test_each_key_and_scope_has_its_own_counter(cache_backend):
    first, second = uuid.uuid4().hex, uuid.uuid4().hex
    assert ratelimit.allow(scope="test", key=first, limit=1) is True
    assert ratelimit.allow(scope="test", key=first, limit=1) is False
    assert ratelimit.allow(scope="test", key=second, limit=1) is True
    assert ratelimit.allow(scope="other", key=first, limit=1) is True


def test_a_redis_counter_expires_with_its_window(settings):
    import redis
    from django.core.cache import cache

    settings.CACHES = REDIS
    key = uuid.uuid4().hex
    ratelimit.allow(scope="test", key=key, limit=5, window_seconds=60)
    ratelimit.allow(scope="test", key=key, limit=5, window_seconds=60)
    stored_key = cache.make_key(f"ratelimit:test:{key}")
    # Without an expiry the address would stay locked out for good.
    assert 0 < redis.Redis.from_url(REDIS["default"]["LOCATION"]).ttl(stored_key) <= 60
