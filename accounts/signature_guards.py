"""What both signed APIs (the native one and the Binance facade) remember of the signatures they
check, in the cache (Redis in production, so that every web worker sees the same):

- each signature a request carries, until its timestamp leaves the window: a signature is
  accepted once, so a request captured on the way (or sent twice by a retrying client) cannot
  act twice;
- the failed signature checks of each key, so that a key's budget of failures
  (API_SIGNATURE_FAILURE_LIMIT per API_SIGNATURE_FAILURE_SECONDS) ends the guessing before the
  secret is decrypted again.

While Redis does not answer, both are kept in this process's memory (accounts/cache_fallback.py).
"""

import hashlib
import math
from typing import NamedTuple

from django.conf import settings

from accounts.cache_fallback import cache_read, counter_increment, redis_pipeline
from accounts.models import ApiKey


class SignatureGuards(NamedTuple):
    """What the cache holds of a signed request's key and signature, read before its signature
    is checked."""

    exhausted: bool  # the key has failed API_SIGNATURE_FAILURE_LIMIT checks: refuse it unchecked
    first_use: bool  # the signature was not seen before (now it is): else a replay


def signature_guards(api_key: ApiKey, signature: str, *, valid_for_ms: int) -> SignatureGuards:
    """Whether ``api_key``'s failed checks are exhausted (API_SIGNATURE_FAILURE_LIMIT within
    API_SIGNATURE_FAILURE_SECONDS of the first of them), and whether this is the first time
    ``signature`` of ``api_key`` is seen; it is then remembered for ``valid_for_ms`` (as long as
    its timestamp would still be accepted) and one second more, set only if absent, in one step:
    of two copies sent at once, one wins. Both in one round trip to Redis: every signed request
    asks them. A signature is remembered even when its request is refused (the key exhausted,
    the signature wrong): a request refused once is refused again, and a client signs each new
    try afresh (its own timestamp)."""
    digest = hashlib.sha256(f"{api_key.pk}:{signature.lower()}".encode()).hexdigest()
    keys = [_failures_key(api_key), f"signature-seen:{digest}"]
    seconds = math.ceil(max(valid_for_ms, 0) / 1000) + 1
    failures, first_use = cache_read(lambda store: _guards_read(store, keys, seconds))
    return SignatureGuards(failures >= settings.API_SIGNATURE_FAILURE_LIMIT, first_use)


def _guards_read(store, keys: list[str], seconds: int) -> tuple[int, bool]:
    """The failures counted under ``keys[0]``, and whether ``keys[1]`` was absent (set now)."""
    if redis := redis_pipeline(store, keys):
        pipeline, (failures, seen) = redis
        count, added = pipeline.get(failures).set(seen, 1, nx=True, ex=seconds).execute()
        return int(count or 0), bool(added)
    failures, seen = keys
    return store.get(failures, 0), store.add(seen, 1, seconds)


def _failures_key(api_key: ApiKey) -> str:
    return f"signature-failures:{api_key.pk}"


def signature_failure_count(api_key: ApiKey) -> None:
    """One more failed check for ``api_key``; the count starts with the first failure and is
    forgotten API_SIGNATURE_FAILURE_SECONDS later."""
    counter_increment(_failures_key(api_key), settings.API_SIGNATURE_FAILURE_SECONDS)
