"""Django's Redis cache, keeping one client per connection pool.

Django's `RedisCacheClient.get_client` builds a new `redis.Redis` on every cache call, and
redis-py (5 and later) fills a table of some 170 response callbacks in each one: about 0.2 ms
of CPU per call on a small server, more than the Redis round trip itself. A `redis.Redis` is
safe to share between threads (each command borrows a connection from the pool), so one per
pool is enough.
"""

from django.core.cache.backends import redis as django_redis


class RedisCacheClient(django_redis.RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients.setdefault(id(pool), self._client(connection_pool=pool))
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
