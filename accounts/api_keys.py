"""API keys as both APIs (the native one and the Binance facade) know them: the key a request
names, if it is live, and the budget of requests each key (or signed-in user) has
(API_THROTTLE_RATE), counted in the cache, which is Redis in production, so that all web
workers share it."""

from rest_framework import throttling

from accounts.models import ApiKey


def active_key(key: str) -> ApiKey | None:
    return (
        ApiKey.objects.select_related("user")
        .filter(key=key, revoked_at__isnull=True, user__is_active=True)
        .first()
    )


class KeyRateThrottle(throttling.SimpleRateThrottle):
    """One budget per API key, or per user on a session."""

    scope = "key"

    def get_cache_key(self, request, view):
        if isinstance(request.auth, ApiKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}
