"""The cache (Redis in production) for the counters that guard the log-ins and the signed APIs
(accounts/login_limits.py, accounts/signature_guards.py, the request budgets of
accounts/api_keys.py), falling back to this process's memory while Redis does not answer: each
web worker then counts its own share, a looser guard, rather than refusing every log-in and
every bot."""

import logging

from django.core.cache import cache
from django.core.cache.backends.locmem import LocMemCache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
# room for every signature seen in a window of a busy site: a full cache forgets a third of it
LOCAL_COUNTERS = LocMemCache("guard-counters", {"OPTIONS": {"MAX_ENTRIES": 100_000}})


def cache_call(method: str, *args):
    """``cache.<method>(*args)``, or on this process's memory while Redis does not answer."""
    try:
        return getattr(cache, method)(*args)
    except (RedisConnectionError, RedisTimeoutError):
        logger.warning("guard counters: Redis does not answer; counting in this process")
        return getattr(LOCAL_COUNTERS, method)(*args)


def counter_increment(key: str, seconds: int) -> int:
    """``key``'s count plus one; a new count is forgotten ``seconds`` after its first."""
    cache_call("add", key, 0, seconds)
    try:
        return cache_call("incr", key)
    except ValueError:  # it expired between the two calls
        cache_call("add", key, 1, seconds)
        return 1
