"""API keys as both APIs (the native one and the Binance facade) know them: the key a request
names, if it is live, and the budget of requests each key (or signed-in user) has
(API_THROTTLE_RATE), counted in the cache, which is Redis in production, so that all web
workers share it."""

import functools
from typing import NamedTuple

from django.db import connection
from rest_framework import throttling

from accounts.cache_fallback import cache_read, redis_pipeline
from accounts.models import ApiKey, User
from marginsite.database_pool import prepared_cursor


def active_key(key: str) -> ApiKey | None:
    """The live (not revoked) key ``key``, with its user, an active one; else None. One
    statement in plain SQL: it runs on every signed request, and building it through the ORM
    cost more than running it."""
    sql, key_fields, user_fields = _active_key_query()
    with prepared_cursor() as cursor:
        cursor.execute(sql, [key])
        row = cursor.fetchone()
    if row is None:
        return None
    api_key = ApiKey.from_db(connection.alias, key_fields, row[: len(key_fields)])
    api_key.user = User.from_db(connection.alias, user_fields, row[len(key_fields) :])
    return api_key


@functools.cache
def _active_key_query() -> tuple[str, list[str], list[str]]:
    """``active_key``'s statement, and the fields of each model its row holds, in order."""
    quote = connection.ops.quote_name
    keys, users = ApiKey._meta.concrete_fields, User._meta.concrete_fields
    columns = [f"k.{quote(f.column)}" for f in keys] + [f"u.{quote(f.column)}" for f in users]
    sql = (
        f"SELECT {', '.join(columns)} FROM {quote(ApiKey._meta.db_table)} k "
        f"JOIN {quote(User._meta.db_table)} u ON u.{quote(User._meta.pk.column)} = "
        f"k.{quote(ApiKey._meta.get_field('user').column)} "
        "WHERE k.key = %s AND k.revoked_at IS NULL AND u.is_active"
    )
    return sql, [f.attname for f in keys], [f.attname for f in users]


class BudgetCount(NamedTuple):
    """A request counted in its key's budget ahead of its throttle: with the signature's guards,
    in their round trip to Redis (accounts/signature_guards.py)."""

    key: str  # the budget's own name in the cache (the throttle's cache key)
    now: float  # when it was counted
    current: int  # this window's count, this request included
    previous: int  # the last window's count


class BudgetWindows(NamedTuple):
    """A key's budget as a request of it is counted: ``KeyRateThrottle.budget_windows``."""

    key: str  # the budget's own name in the cache (the throttle's cache key)
    now: float
    keys: list[str]  # the names of the window ``now`` is in and of the last one
    duration: int  # a window's seconds

    def counted(self, counts: tuple[int, int]) -> BudgetCount:
        return BudgetCount(self.key, self.now, *counts)


class KeyRateThrottle(throttling.SimpleRateThrottle):
    """One budget per API key, or per user on a session. With Redis down, the budget is
    counted in this process's memory (accounts/cache_fallback.py), so bots keep trading.

    Counted over a sliding window, estimated from two fixed ones: this window's count, and the
    last one's weighted by the share of it the sliding window still covers. In Redis that is
    one round trip a request (the count raised, its expiry set and the last one read,
    pipelined), where DRF's own throttle reads the time of every request of the window and
    writes it back whole (up to the budget's 1,200 entries). A signed request is counted in
    its signature's guards' round trip instead (``budget_counted``), and the throttle reads
    that count. Every request counts, refused ones too: a client that keeps sending while
    refused stays refused."""

    scope = "key"

    def allow_request(self, request, view):
        if self.rate is None or (key := self.get_cache_key(request, view)) is None:
            return True
        counted = getattr(request, "budget_counted", None)
        if counted is not None and counted.key == key:
            self.now, self.current, self.previous = counted.now, counted.current, counted.previous
            self.elapsed = self.now % self.duration
        else:
            self.now = self.timer()
            keys, self.elapsed = self._windows(key)
            self.current, self.previous = cache_read(
                lambda store: budget_counts(store, keys, self.duration)
            )
        return self._estimate(self.elapsed) <= self.num_requests

    def budget_windows(self, api_key: ApiKey) -> BudgetWindows | None:
        """What counting a request of ``api_key`` now takes (``budget_counts`` or
        ``budget_counts_queued``); None with no budget set."""
        if self.rate is None:
            return None
        key = self._cache_key(f"key-{api_key.pk}")
        self.now = self.timer()
        return BudgetWindows(key, self.now, self._windows(key)[0], self.duration)

    def _windows(self, key: str) -> tuple[list[str], float]:
        """The names of the window ``self.now`` is in and of the last one, and the seconds since
        this window began."""
        window, elapsed = divmod(self.now, self.duration)
        return [f"{key}:{int(window)}", f"{key}:{int(window) - 1}"], elapsed

    def _estimate(self, elapsed: float) -> float:
        return self.current + self.previous * (1 - elapsed / self.duration)

    def wait(self):
        """Seconds until the estimate is back within the budget, if no other request comes."""
        if self.current <= self.num_requests and self.previous:
            share = (self.num_requests - self.current) / self.previous  # of the last window
            return max(self.duration * (1 - share) - self.elapsed, 0)
        # within the next window, once this one's count weighs little enough
        return self.duration - self.elapsed + self.duration * (1 - self.num_requests / self.current)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self._cache_key(ident)

    def _cache_key(self, ident: str) -> str:
        return self.cache_format % {"scope": self.scope, "ident": ident}


def budget_counts(cache, keys: list[str], duration: int) -> tuple[int, int]:
    """This window's count (``keys[0]``), raised by one, and the last one's (``keys[1]``); each
    is kept two windows."""
    if redis := redis_pipeline(cache, keys):
        pipeline, made = redis
        return budget_counts_read(budget_counts_queued(pipeline, made, duration).execute())
    cache.add(keys[0], 0, 2 * duration)
    return cache.incr(keys[0]), cache.get(keys[1], 0)


def budget_counts_queued(pipeline, keys: list[str], duration: int):
    """``pipeline`` (to Redis) with a budget's count queued: ``keys`` as Redis names them
    (``redis_pipeline``)."""
    current, previous = keys
    return pipeline.incr(current).expire(current, 2 * duration).get(previous)


def budget_counts_read(answers: list) -> tuple[int, int]:
    """The counts of ``budget_counts_queued``'s commands from their ``answers``."""
    count, _, last = answers
    return count, int(last or 0)
