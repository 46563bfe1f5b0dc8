"""Fixtures for the Binance facade: the market and traders of the services' tests, and
``binance``, a client that signs its requests the way Binance's clients do (HMAC-SHA256 of the
query string and form body, X-MBX-APIKEY)."""

import time
from urllib.parse import urlencode

import pytest
from django.core.cache import cache
from django.test import Client

from accounts.services import api_key_create
from tests.trading.services.conftest import (  # noqa: F401 (fixtures)
    balanced_ledger,
    make_trader,
    market,
    trader,
    unchanged,
)
from trading.binance.signing import payload_signature


class BinanceClient:
    """Signed requests to /fapi/...: the parameters in the query string for GET and DELETE, in a
    form body for POST, then ``&signature=...`` (as ccxt sends them)."""

    def __init__(self, key: str, secret: str):
        self.key, self.secret = key, secret
        self.client = Client()

    def query(self, params: dict, *, timestamp=None, signature=None) -> str:
        params = {**params, "timestamp": timestamp or int(time.time() * 1000)}
        payload = urlencode(params)
        signature = signature or payload_signature(self.secret, payload)
        return f"{payload}&signature={signature}"

    def request(self, method: str, path: str, params=None, *, key=None, **signing):
        query = self.query(params or {}, **signing)
        headers = {"X-MBX-APIKEY": self.key if key is None else key}
        if method == "POST":
            return self.client.generic(
                "POST",
                path,
                query,
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        return self.client.generic(method, f"{path}?{query}", headers=headers)

    def get(self, path, params=None, **signing):
        return self.request("GET", path, params, **signing)

    def post(self, path, params=None, **signing):
        return self.request("POST", path, params, **signing)

    def delete(self, path, params=None, **signing):
        return self.request("DELETE", path, params, **signing)


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Request budgets live in the cache: each test starts with full ones."""
    cache.clear()


@pytest.fixture
def binance_of():
    """binance_of(user, permission="TRADING") -> a BinanceClient with a new key of ``user``."""

    def signed(user, permission="TRADING"):
        new = api_key_create(user=user, name="ccxt", permission=permission)
        return BinanceClient(new.api_key.key, new.secret)

    return signed


@pytest.fixture
def binance(binance_of, trader):  # noqa: F811 (the imported fixture)
    """A trading key of the trader alice (10,000 USDT)."""
    return binance_of(trader)
