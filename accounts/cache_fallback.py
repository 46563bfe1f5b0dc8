"""The cache (Redis in production) for the counters that guard the log-ins and the signed APIs
(accounts/login_limits.py, accounts/signature_guards.py, the request budgets of
accounts/api_keys.py), falling back to this process's memory while Redis does not answer: each
web worker then counts its own share, a looser guard, rather than refusing every log-in and
every bot."""

import logging

from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
# room for every signature seen in a window of a busy site: a full cache forgets a third of it
LOCAL_COUNTERS = LocMemCache("guard-counters", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


def cache_call(method: str, *args):
    """``cache.<method>(*args)``, or on this process's memory while Redis does not answer."""
    return cache_read(lambda store: getattr(store, method)(*args))


def cache_read(read):
    """``read(store)`` with the cache as ``store``, or this process's memory while Redis does not
    answer: ``read`` works on either (``redis_pipeline`` tells them apart)."""
    try:
        return read(caches["default"])
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("guard counters: Redis does not answer; counting in this process")
        return read(LOCAL_COUNTERS)


def redis_pipeline(store, keys: list[str]):
    """For Django's Redis cache ``store``: a pipeline to its Redis, which sends its commands in
    one round trip, and ``keys`` as the cache names them there; None for another cache."""
    if not isinstance(store, RedisCache):
        return None
    made = [store.make_and_validate_key(key) for key in keys]
    return store._cache.get_client(made[0], write=True).pipeline(transaction=False), made


def counter_increment(key: str, seconds: int) -> int:
    """``key``'s count plus one; a new count is forgotten ``seconds`` after its first."""
    cache_call("add", key, 0, seconds)
    try:
        return cache_call("incr", key)
    except ValueError:  # it expired between the two calls
        cache_call("add", key, 1, seconds)
        return 1
