"""What both signed APIs (the native one and the Binance facade) remember of the signatures they
check, in the cache (Redis in production, so that every web worker sees the same):

- each accepted signature, until its timestamp leaves the window: a signature is accepted once,
  so a request captured on the way (or sent twice by a retrying client) cannot act twice;
- the failed signature checks of each key, so that a key's budget of failures
  (API_SIGNATURE_FAILURE_LIMIT per API_SIGNATURE_FAILURE_SECONDS) ends the guessing before the
  secret is decrypted again.

While Redis does not answer, both are kept in this process's memory (accounts/cache_fallback.py).
"""

import hashlib
import math

from django.conf import settings

from accounts.cache_fallback import cache_call, counter_increment
from accounts.models import ApiKey


def signature_first_use(api_key: ApiKey, signature: str, *, valid_for_ms: int) -> bool:
    """True the first time ``signature`` of ``api_key`` is seen; it is then remembered for
    ``valid_for_ms`` (as long as its timestamp would still be accepted) and one second more.
    ``cache.add`` sets only if absent, in one step: of two copies sent at once, one wins."""
    digest = hashlib.sha256(f"{api_key.pk}:{signature.lower()}".encode()).hexdigest()
    seconds = math.ceil(max(valid_for_ms, 0) / 1000) + 1
    return cache_call("add", f"signature-seen:{digest}", 1, seconds)


def _failures_key(api_key: ApiKey) -> str:
    return f"signature-failures:{api_key.pk}"


def signature_failures_exhausted(api_key: ApiKey) -> bool:
    """True once ``api_key`` has failed API_SIGNATURE_FAILURE_LIMIT signature checks within
    API_SIGNATURE_FAILURE_SECONDS of the first of them."""
    failures = cache_call("get", _failures_key(api_key), 0)
    return failures >= settings.API_SIGNATURE_FAILURE_LIMIT


def signature_failure_count(api_key: ApiKey) -> None:
    """One more failed check for ``api_key``; the count starts with the first failure and is
    forgotten API_SIGNATURE_FAILURE_SECONDS later."""
    counter_increment(_failures_key(api_key), settings.API_SIGNATURE_FAILURE_SECONDS)
