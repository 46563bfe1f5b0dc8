"""The cache's backend in production: Django's Redis cache, with one connection pool per server
and one Redis client per pool in each process."""

import threading

from django.core.cache.backends import redis

# this process's pools and clients (a forked child's pools reconnect: redis-py checks the pid)
_POOLS: dict[tuple, dict] = {}
_CLIENTS: dict = {}
_POOL_MAKING = threading.Lock()  # two threads' first calls make one pool, not two


class RedisCacheClient(redis.RedisCacheClient):
    """Django keeps the connection pools in the backend object, and makes a new ``redis.Redis``
    for every call.

    Under ASGI each request runs in a context of its own, and Django's cache handler makes a
    backend object per context. So Django's own backend opened a new pool per request, and a
    new TCP connection to Redis with it: about 8 % of a signed order's CPU in the web worker.
    Here the pools are the process's, keyed by the servers and their options.

    A new client costs about 70 µs, as much CPU as the call's round trip, and every signed
    request makes a call (its signature's guards with its request budget). A client holds no
    connection of its own (its pool does) and is safe to share between threads, so one per
    pool serves every call."""

    def __init__(self, servers, **options):
        super().__init__(servers, **options)
        key = (tuple(servers), self._pool_class, repr(sorted(self._pool_options.items())))
        self._pools = _POOLS.setdefault(key, {})

    def _get_connection_pool(self, write):
        index = self._get_connection_pool_index(write)
        if (pool := self._pools.get(index)) is None:
            with _POOL_MAKING:
                if (pool := self._pools.get(index)) is None:
                    pool = self._pool_class.from_url(self._servers[index], **self._pool_options)
                    self._pools[index] = pool
        return pool

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        if (client := _CLIENTS.get(pool)) is None:
            client = _CLIENTS.setdefault(pool, self._client(connection_pool=pool))
        return client


class RedisCache(redis.RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = RedisCacheClient
