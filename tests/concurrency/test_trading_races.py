"""Real concurrency on PostgreSQL: several threads, each with its own connection and transaction,
hit one account at once. Row locks (wallet first) must keep every rule that holds one at a time."""

from decimal import Decimal

import pytest

from accounts.services import user_create
from marginsite.errors import ApplicationError
from tests.builders import race
from trading.errors import MarginInsufficient
from trading.models import Order, Position, Wallet
from trading.selectors import ledger_problems, system_account_balance
from trading.services import (
    isolated_margin_add,
    isolated_margin_remove,
    leverage_set,
    order_place,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def trader():
    user = user_create(username="racer", password="pw-0123456789")
    leverage_set(user=user, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    return user


def test_concurrent_orders_on_one_wallet_never_spend_more_than_it_holds(trader):
    # each order: 1 BTC isolated at 20x = 3000 margin + 30 fee = 3030; 10000 pays for 3
    def buy():
        return order_place(
            user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED"
        )

    orders, errors = race(*[buy] * 8)

    assert len(orders) == 3
    assert len(errors) == 5
    assert all(isinstance(error, MarginInsufficient) for error in errors)
    assert Wallet.objects.get(user=trader).balance == Decimal("910")  # 10000 - 3 x 3030
    position = Position.objects.get(user=trader, status="OPEN")
    assert (position.quantity, position.isolated_margin) == (Decimal(3), Decimal(9000))
    assert Order.objects.filter(user=trader).count() == 3
    assert ledger_problems() == []


def test_margin_moves_racing_orders_keep_the_books_exact(trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED")

    def add():
        return isolated_margin_add(user=trader, symbol="BTCUSDT", amount="100")

    def remove():
        return isolated_margin_remove(user=trader, symbol="BTCUSDT", amount="50")

    def buy():
        return order_place(
            user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED"
        )

    def sell():
        return order_place(
            user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", margin_mode="ISOLATED"
        )

    _, errors = race(*[add, remove, buy, sell] * 4)

    unexpected = [error for error in errors if not isinstance(error, ApplicationError)]
    assert unexpected == []
    assert ledger_problems() == []
    # the mark never moved, so no PnL: what is not in fees is in the wallet or the margin
    wallet = Wallet.objects.get(user=trader).balance
    margin = Position.objects.get(user=trader, status="OPEN").isolated_margin
    fees = system_account_balance("FEES")
    assert wallet + margin + fees == Decimal(10000)
    assert wallet >= 0
    assert margin >= 0


def test_a_client_order_id_sent_four_times_at_once_places_one_order(trader):
    def buy():
        return order_place(
            user=trader,
            symbol="BTCUSDT",
            side="BUY",
            quantity="0.1",
            margin_mode="CROSS",
            client_order_id="bot-42",
        )

    orders, errors = race(*[buy] * 4)

    assert errors == []
    assert len({order.pk for order in orders}) == 1
    assert Order.objects.filter(user=trader).count() == 1
    assert Wallet.objects.get(user=trader).balance == Decimal("9997")  # one 3 USDT fee
    assert ledger_problems() == []


def test_a_replay_of_an_order_that_takes_most_of_the_wallet_returns_it_not_a_refusal(trader):
    # 3 BTC isolated at 20x = 9000 margin + 90 fee: a second copy could never be afforded
    def buy():
        return order_place(
            user=trader,
            symbol="BTCUSDT",
            side="BUY",
            quantity="3",
            margin_mode="ISOLATED",
            client_order_id="bot-big",
        )

    orders, errors = race(*[buy] * 4)

    assert errors == []
    assert len({order.pk for order in orders}) == 1
    assert Wallet.objects.get(user=trader).balance == Decimal("910")
    assert ledger_problems() == []
