"""What both signed APIs (the native one and the Binance facade) remember of the signatures they
check, in the cache (Redis in production, so that every web worker sees the same):

- each signature a request carries, until its timestamp leaves the window: a signature is
  accepted once, so a request captured on the way (or sent twice by a retrying client) cannot
  act twice;
- the failed signature checks of each key, so that a key's budget of failures
  (API_SIGNATURE_FAILURE_LIMIT per API_SIGNATURE_FAILURE_SECONDS) ends the guessing before the
  secret is decrypted again;
- and, in the same round trip, the request counted in its key's budget of requests
  (accounts/api_keys.py).

While Redis does not answer, all three are kept in this process's memory
(accounts/cache_fallback.py).
"""

import hashlib
import math
from typing import NamedTuple

from django.conf import settings

from accounts.api_keys import (
    BudgetCount,
    BudgetWindows,
    KeyRateThrottle,
    budget_counts,
    budget_counts_queued,
    budget_counts_read,
)
from accounts.cache_fallback import cache_read, counter_increment, redis_pipeline
from accounts.models import ApiKey


class SignatureGuards(NamedTuple):
    """What the cache holds of a signed request's key and signature, read before its signature
    is checked."""

    exhausted: bool  # the key has failed API_SIGNATURE_FAILURE_LIMIT checks: refuse it unchecked
    first_use: bool  # the signature was not seen before (now it is): else a replay
    budget: BudgetCount | None  # the request counted in its key's budget (None: no budget set)


def signature_guards(api_key: ApiKey, signature: str, *, valid_for_ms: int) -> SignatureGuards:
    """Whether ``api_key``'s failed checks are exhausted (API_SIGNATURE_FAILURE_LIMIT within
    API_SIGNATURE_FAILURE_SECONDS of the first of them), and whether this is the first time
    ``signature`` of ``api_key`` is seen; it is then remembered for ``valid_for_ms`` (as long as
    its timestamp would still be accepted) and one second more, set only if absent, in one step:
    of two copies sent at once, one wins. And the request counted in its key's budget
    (accounts/api_keys.py), which the throttle then reads (``budget_counted`` on the request).
    All in one round trip to Redis: every signed request asks them. A signature is remembered,
    and its request counted, even when its request is refused (the key exhausted, the
    signature wrong): a request refused once is refused again, and a client signs each new
    try afresh (its own timestamp)."""
    digest = hashlib.sha256(f"{api_key.pk}:{signature.lower()}".encode()).hexdigest()
    keys = [_failures_key(api_key), f"signature-seen:{digest}"]
    seconds = math.ceil(max(valid_for_ms, 0) / 1000) + 1
    budget = KeyRateThrottle().budget_windows(api_key)
    failures, first_use, counts = cache_read(
        lambda store: _guards_read(store, keys, seconds, budget)
    )
    return SignatureGuards(
        failures >= settings.API_SIGNATURE_FAILURE_LIMIT,
        first_use,
        budget.counted(counts) if budget else None,
    )


def _guards_read(store, keys: list[str], seconds: int, budget: BudgetWindows | None) -> tuple:
    """The failures counted under ``keys[0]``, whether ``keys[1]`` was absent (set now), and
    the ``budget``'s counts (None without one)."""
    budget_keys = budget.keys if budget else []
    if redis := redis_pipeline(store, keys + budget_keys):
        pipeline, (failures, seen, *counted) = redis
        pipeline.get(failures).set(seen, 1, nx=True, ex=seconds)
        if budget:
            budget_counts_queued(pipeline, counted, budget.duration)
        count, added, *answers = pipeline.execute()
        return int(count or 0), bool(added), budget_counts_read(answers) if budget else None
    failures, seen = keys
    counts = budget_counts(store, budget.keys, budget.duration) if budget else None
    return store.get(failures, 0), store.add(seen, 1, seconds), counts


def _failures_key(api_key: ApiKey) -> str:
    return f"signature-failures:{api_key.pk}"


def signature_failure_count(api_key: ApiKey) -> None:
    """One more failed check for ``api_key``; the count starts with the first failure and is
    forgotten API_SIGNATURE_FAILURE_SECONDS later."""
    counter_increment(_failures_key(api_key), settings.API_SIGNATURE_FAILURE_SECONDS)
