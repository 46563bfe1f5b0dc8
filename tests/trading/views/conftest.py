"""Fixtures for the HTML views: the trading services' market and traders, and ``client_of``, a
Django test client signed in as a trader (a real session). CSRF is proven separately, with a
client that enforces it like a browser."""

import pytest
from django.test import Client

from tests.trading.services.conftest import (  # noqa: F401 (fixtures)
    balanced_ledger,
    make_trader,
    market,
    trader,
    unchanged,
)


@pytest.fixture
def client_of():
    """client_of(user) -> a Client signed in as ``user``."""

    def signed_in(user):
        client = Client()
        client.force_login(user)
        return client

    return signed_in


@pytest.fixture
def signed_in(client_of, trader):  # noqa: F811 (the imported fixture)
    """A Client signed in as the trader alice (10,000 USDT)."""
    return client_of(trader)
