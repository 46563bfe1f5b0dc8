"""Fixtures for the native API: the market and traders of the services' tests, and ``signed``,
a client that signs its requests with an API key the way a bot does."""

import json
import time

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.services import api_key_create
from tests.trading.services.conftest import (  # noqa: F401 (fixtures)
    balanced_ledger,
    make_trader,
    market,
    trader,
    unchanged,
)
from trading.api.authentication import request_signature


class SignedClient:
    """Requests signed with ``key``/``secret``: X-API-KEY, X-API-TIMESTAMP, X-API-SIGNATURE."""

    def __init__(self, key: str, secret: str):
        self.key, self.secret = key, secret
        self.client = APIClient()

    def headers(self, method: str, path: str, body: bytes, *, timestamp=None) -> dict:
        timestamp = str(timestamp if timestamp is not None else int(time.time() * 1000))
        return {
            "X-API-KEY": self.key,
            "X-API-TIMESTAMP": timestamp,
            "X-API-SIGNATURE": request_signature(
                self.secret, timestamp=timestamp, method=method, path=path, body=body
            ),
        }

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self.headers("GET", path, b""), **kwargs)

    def delete(self, path: str):
        return self.client.delete(path, headers=self.headers("DELETE", path, b""))

    def post(self, path: str, data=None, *, raw: bytes | None = None):
        return self._send("POST", path, data, raw)

    def put(self, path: str, data=None, *, raw: bytes | None = None):
        return self._send("PUT", path, data, raw)

    def _send(self, method: str, path: str, data, raw: bytes | None):
        body = raw if raw is not None else json.dumps(data).encode()
        return self.client.generic(
            method,
            path,
            body,
            content_type="application/json",
            headers=self.headers(method, path, body),
        )


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Request budgets live in the cache: each test starts with full ones."""
    cache.clear()


@pytest.fixture
def key_of():
    """key_of(user, permission="TRADING") -> a SignedClient with a new key of ``user``."""

    def signed(user, permission="TRADING"):
        new = api_key_create(user=user, name="bot", permission=permission)
        return SignedClient(new.api_key.key, new.secret)

    return signed


@pytest.fixture
def signed(key_of, trader):  # noqa: F811 (the imported fixture)
    """A trading key of the trader alice (10,000 USDT)."""
    return key_of(trader)


@pytest.fixture
def session(trader):  # noqa: F811
    """The browser's way in: alice's session (CSRF enforced, as for a browser)."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(trader)
    return client
