"""Two processes starting at once (say, two `make run`s against one PostgreSQL) both seed the
market: the unique symbol lets one create each instrument and the other skip it, never twice."""

import threading

import pytest
from django.db import connection

from trading.models import Instrument, LeverageBracket
from trading.services import market_seed

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_market_seeds_create_each_instrument_exactly_once():
    racers = 4
    start = threading.Barrier(racers)
    created, errors = [], []

    def seed():
        try:
            start.wait()
            created.append(market_seed())
        except Exception as error:  # the assertion below reports it
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=seed) for _ in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(symbol for symbols in created for symbol in symbols) == [
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
    ]
    assert Instrument.objects.count() == 3
    assert LeverageBracket.objects.count() == 12 + 12 + 10
