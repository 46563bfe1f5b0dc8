"""Two processes starting at once (say, two `make run`s against one PostgreSQL) both seed the
market: the unique symbol lets one create each instrument and the other skip it, never twice."""

import pytest

from tests.builders import race
from trading.models import Instrument, LeverageBracket
from trading.services import market_seed

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.usefixtures("no_market")
def test_concurrent_market_seeds_create_each_instrument_exactly_once():
    created, errors = race(*[market_seed] * 4)

    assert errors == []
    assert sorted(symbol for symbols in created for symbol in symbols) == [
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
    ]
    assert Instrument.objects.count() == 3
    assert LeverageBracket.objects.count() == 12 + 12 + 10
