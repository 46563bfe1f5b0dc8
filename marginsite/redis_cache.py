"""The cache's backend in production: Django's Redis cache, each of its Redis clients made once."""

from django.core.cache.backends import redis


class RedisCacheClient(redis.RedisCacheClient):
    """Django makes a new ``redis.Redis`` for every call, about as much CPU as the call's round
    trip, and a signed request makes three (its signature's two guards and its request budget).
    A client holds no connection of its own (its pool does) and is safe to share between
    threads, so one per connection pool serves every call."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        if (client := self._clients.get(pool)) is None:
            client = self._clients.setdefault(pool, self._client(connection_pool=pool))
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
