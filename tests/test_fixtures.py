"""The shared fixtures (tests/fixtures.py) give what they promise."""

from decimal import Decimal

import pytest

from trading.errors import InvalidAmount
from trading.services import wallet_deposit

pytestmark = pytest.mark.django_db


def test_a_trader_starts_with_ten_thousand_usdt_and_the_seed_marks(trader, market):
    assert trader.wallet.balance == Decimal("10000")
    assert market == {
        "BTCUSDT": Decimal("60000"),
        "ETHUSDT": Decimal("3000"),
        "SOLUSDT": Decimal("150"),
    }


def test_unchanged_guard_passes_when_a_refused_call_writes_nothing(trader, unchanged):
    with pytest.raises(InvalidAmount), unchanged():
        wallet_deposit(user=trader, amount="-1")
