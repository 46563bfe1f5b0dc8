"""How many wrong passwords a log-in may take (the trader's and the back office's), counted in
the cache (Redis in production, so that every web worker counts the same):
LOGIN_FAILURE_LIMIT_PER_ACCOUNT for one username and LOGIN_FAILURE_LIMIT_PER_IP from one address,
within LOGIN_FAILURE_SECONDS of the first. The failure that reaches a limit locks that username
(or address) for LOGIN_FAILURE_SECONDS: even the right password is refused until then, so that
guessing costs hours, not seconds. A successful log-in forgets its username's failures (not its
address's: one right password must not reopen an address that guesses at other accounts).

Our own few lines rather than django-axes: axes brings a middleware, an authentication backend,
models and migrations; what is needed here is two counters and a message with the time to wait,
in the cache the request budgets already use (with this process's memory while Redis does not
answer, accounts/cache_fallback.py).
"""

import hashlib
import math
import time

from django.conf import settings

from accounts.cache_fallback import cache_call, counter_increment


def _keys(kind: str, value: str) -> tuple[str, str]:
    digest = hashlib.sha256(value.encode()).hexdigest()
    return f"login-failures:{kind}:{digest}", f"login-locked:{kind}:{digest}"


def _counted(username: str, address: str) -> list[tuple[str, str, int]]:
    """(kind, value, limit) of each counter a log-in attempt is counted in."""
    return [
        ("account", username.casefold(), settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT),
        ("address", address, settings.LOGIN_FAILURE_LIMIT_PER_IP),
    ]


def login_wait_seconds(username: str, address: str) -> int:
    """How long a log-in as ``username`` from ``address`` must wait (0: it may try now)."""
    now = time.time()
    locks = [_keys(kind, value)[1] for kind, value, _ in _counted(username, address)]
    return math.ceil(max(0, *(cache_call("get", lock, now) - now for lock in locks)))


def login_failure_record(username: str, address: str) -> None:
    """One more wrong password for ``username`` from ``address``; reaching a limit locks."""
    window = settings.LOGIN_FAILURE_SECONDS
    for kind, value, limit in _counted(username, address):
        failures_key, locked_key = _keys(kind, value)
        if counter_increment(failures_key, window) >= limit:
            cache_call("set", locked_key, time.time() + window, window)
            cache_call("delete", failures_key)


def login_failures_forget(username: str) -> None:
    cache_call("delete_many", _keys("account", username.casefold()))
