"""Fixtures for the account pages: the trading services' seeded market, traders created the real
way (user_create) and the ``unchanged`` guard, with the HTML views' signed-in clients."""

from tests.trading.services.conftest import (  # noqa: F401 (fixtures)
    balanced_ledger,
    make_trader,
    market,
    trader,
    unchanged,
)
from tests.trading.views.conftest import client_of, signed_in  # noqa: F401 (fixtures)
