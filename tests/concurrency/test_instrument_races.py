"""Real concurrency on PostgreSQL: an operator's instrument edit (instrument locked FOR NO KEY
UPDATE, then the holders' wallets) racing traders' orders on the same instrument (wallet locked,
then rows whose foreign key share-locks the instrument) must neither deadlock nor lose a write."""

from decimal import Decimal

import pytest

from accounts.services import superuser_create, user_create
from tests.builders import race
from trading.models import AuditEntry, Instrument, Order
from trading.services import order_place
from trading.services.instruments import instrument_update

pytestmark = pytest.mark.django_db(transaction=True)


def test_instrument_edits_racing_orders_on_it_all_complete():
    operator = superuser_create(username="operator", password="a-long-passphrase-7")
    traders = [user_create(username=f"racer{n}", password="pw-0123456789") for n in range(6)]
    for trader in traders:  # each holds BTCUSDT, so every edit marks their wallet
        order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.01")

    def buy(trader):
        return lambda: order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.01")

    def edit(fee):
        return lambda: instrument_update(operator=operator, symbol="BTCUSDT", taker_fee_rate=fee)

    results, errors = race(
        *[buy(trader) for trader in traders], edit("0.0004"), edit("0.0003"), edit("0.0006")
    )

    assert errors == []
    assert len(results) == 9
    assert Order.objects.filter(status="FILLED").count() == 12
    assert AuditEntry.objects.filter(action=AuditEntry.Action.INSTRUMENT_CHANGED).count() == 3
    assert Instrument.objects.get(symbol="BTCUSDT").taker_fee_rate in {
        Decimal("0.0004"),
        Decimal("0.0003"),
        Decimal("0.0006"),
    }
