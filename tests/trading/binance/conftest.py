"""Fixtures for the Binance facade: ``binance``, a client that signs its requests the way
Binance's clients do (HMAC-SHA256 of the query string and form body, X-MBX-APIKEY)."""

import pytest

from accounts.services import api_key_create
from tests.clients import BinanceClient


@pytest.fixture
def binance_of():
    """binance_of(user, permission="TRADING") -> a BinanceClient with a new key of ``user``."""

    def signed(user, permission="TRADING"):
        new = api_key_create(user=user, name="ccxt", permission=permission)
        return BinanceClient(new.api_key.key, new.secret)

    return signed


@pytest.fixture
def binance(binance_of, trader):
    """A trading key of the trader alice (10,000 USDT)."""
    return binance_of(trader)
