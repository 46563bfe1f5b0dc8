"""API keys as both APIs (the native one and the Binance facade) know them: the key a request
names, if it is live, and the budget of requests each key (or signed-in user) has
(API_THROTTLE_RATE), counted in the cache, which is Redis in production, so that all web
workers share it."""

import logging

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework import throttling

from accounts.cache_fallback import LOCAL_COUNTERS
from accounts.models import ApiKey

logger = logging.getLogger(__name__)


def active_key(key: str) -> ApiKey | None:
    return (
        ApiKey.objects.select_related("user")
        .filter(key=key, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


class KeyRateThrottle(throttling.SimpleRateThrottle):
    """One budget per API key, or per user on a session. With Redis down, the budget is
    counted in this process's memory (accounts/cache_fallback.py), so bots keep trading."""

    scope = "key"

    def allow_request(self, request, view):
        try:
            return super().allow_request(request, view)
        except (RedisConnectionError, RedisTimeoutError):
            logger.warning("request budgets: Redis does not answer; counting in this process")
            self.cache = LOCAL_COUNTERS
            return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
