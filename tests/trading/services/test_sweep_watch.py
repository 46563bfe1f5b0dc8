"""Watch prices (trading/services/watch.py): what the sweep stores after it checks an account,
when an account becomes due again, and that the sweep leaves alone the accounts whose marks have
not reached their watch prices.

Seeded market: BTCUSDT mark 60,000, ETHUSDT 3,000; notional below 50,000 -> MMR 0.004, 50,000
up to 600,000 -> MMR 0.005 with cum 50; the tables' top rate is 0.5. A long may fall by its share
of the headroom over its quantity, a short rise by it over its quantity x 1.5. Every trader
starts with 10,000 USDT; a market order of 1 BTC fills at 60,000 with a fee of 30.
"""

from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from trading.models import Position, SweepRun, Wallet
from trading.selectors.risk import accounts_due
from trading.services import (
    funding_settle,
    isolated_margin_add,
    isolated_margin_remove,
    leverage_set,
    mark_price_set,
    order_cancel,
    order_place,
    position_close,
    sweep_run,
    symbol_margin_mode_set,
    wallet_deposit,
    wallet_reset,
)
from trading.services.funding import funding_time_of

pytestmark = pytest.mark.django_db

D = Decimal


def isolated_btc_long_at_20x(user):
    """Margin 60,000 / 20 = 3,000; maintenance 60,000 x 0.005 - 50 = 250; headroom 2,750."""
    leverage_set(user=user, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED")
    return Position.objects.get(user=user, margin_mode="ISOLATED", status="OPEN")


def watch_price(position) -> Decimal:
    return Position.objects.get(pk=position.pk).watch_price


def due(user) -> bool:
    return Wallet.objects.get(user=user).sweep_due


def last_run_checked() -> int:
    return SweepRun.objects.order_by("pk").last().positions_checked


def test_the_sweep_stores_each_positions_watch_price_and_clears_the_due_flag(trader):
    # given an isolated long (headroom 2,750) and a cross ETH short of 1 at 3,000: the wallet of
    # 10,000 - 3,000 - 30 - 1.5 = 6,968.5; cross maintenance 3,000 x 0.004 = 12; headroom 6,956.5
    isolated = isolated_btc_long_at_20x(trader)
    order_place(user=trader, symbol="ETHUSDT", side="SELL", quantity="1", margin_mode="CROSS")
    cross = Position.objects.get(user=trader, margin_mode="CROSS")
    assert due(trader)
    assert watch_price(isolated) is None

    sweep_run()

    # then the long may fall to 60,000 - 2,750, the short rise to 3,000 + 6,956.5 / 1.5
    assert watch_price(isolated) == D("57250")
    assert watch_price(cross) == D("7637.66666666")  # rounded down, towards the mark
    assert not due(trader)
    assert accounts_due() == []


def test_a_mark_short_of_the_watch_price_leaves_the_account_unchecked(trader):
    isolated_btc_long_at_20x(trader)
    sweep_run()

    # when the mark falls to just above the watch price of 57,250
    mark_price_set(symbol="BTCUSDT", price="57250.1")
    sweep_run()

    assert last_run_checked() == 0


def test_a_mark_at_the_watch_price_has_the_account_rechecked_and_watched_closer(trader):
    position = isolated_btc_long_at_20x(trader)
    sweep_run()

    # when the mark reaches 57,250: margin balance 3,000 - 2,750 = 250, maintenance
    # 57,250 x 0.005 - 50 = 236.25, so 13.75 of headroom is left: not liquidated
    mark_price_set(symbol="BTCUSDT", price="57250")
    sweep_run()

    # then it was checked, and its new watch price is 57,250 - 13.75 (the liquidation price is
    # 57,236.18...)
    assert last_run_checked() == 1
    assert Position.objects.get(pk=position.pk).status == "OPEN"
    assert watch_price(position) == D("57236.25")
    assert not due(trader)


def test_a_position_without_a_watch_price_is_due_whatever_its_wallet_says(trader):
    position = isolated_btc_long_at_20x(trader)
    sweep_run()

    # a row written outside the services (an operator's repair, say) has no watch price
    Position.objects.filter(pk=position.pk).update(watch_price=None)

    assert accounts_due() == [trader.pk]


SERVICES = {
    "order_place": lambda user, position: order_place(
        user=user, symbol="ETHUSDT", side="BUY", quantity="0.1", margin_mode="CROSS"
    ),
    "limit order_place": lambda user, position: order_place(
        user=user, symbol="ETHUSDT", side="BUY", quantity="0.1", order_type="LIMIT", price="2000"
    ),
    "order_cancel": lambda user, position: order_cancel(user=user, order_id=user.resting.pk),
    "position_close": lambda user, position: position_close(
        user=user, symbol="BTCUSDT", margin_mode="ISOLATED"
    ),
    "isolated_margin_add": lambda user, position: isolated_margin_add(
        user=user, symbol="BTCUSDT", amount="100"
    ),
    "isolated_margin_remove": lambda user, position: isolated_margin_remove(
        user=user, symbol="BTCUSDT", amount="100"
    ),
    "wallet_deposit": lambda user, position: wallet_deposit(user=user, amount=D("100")),
    "leverage_set": lambda user, position: leverage_set(
        user=user, symbol="ETHUSDT", margin_mode="CROSS", leverage=5
    ),
    "symbol_margin_mode_set": lambda user, position: symbol_margin_mode_set(
        user=user, symbol="SOLUSDT", margin_mode="ISOLATED"
    ),
}


@pytest.mark.parametrize("service", SERVICES)
def test_every_service_that_locks_the_wallet_makes_the_account_due(trader, service):
    position = isolated_btc_long_at_20x(trader)
    isolated_margin_add(user=trader, symbol="BTCUSDT", amount="100")  # so that 100 is removable
    trader.resting = order_place(
        user=trader, symbol="ETHUSDT", side="BUY", quantity="0.1", order_type="LIMIT", price="2000"
    )
    sweep_run()
    assert not due(trader)

    SERVICES[service](trader, position)

    assert due(trader)
    assert accounts_due() == [trader.pk]


def test_resetting_the_paper_account_makes_it_due(trader):
    sweep_run()

    wallet_reset(user=trader)

    assert due(trader)


def test_funding_sets_new_watch_prices_itself_so_the_account_is_not_due(trader):
    # given the isolated long watched at 57,250
    position = isolated_btc_long_at_20x(trader)
    sweep_run()

    # when funding settles at 0.01 %: 60,000 x 0.0001 = 6 leaves its margin
    funding_settle(now=funding_time_of(timezone.now()) + settings.FUNDING_INTERVAL)

    # then its headroom is 6 smaller: the long may fall to 57,256 only
    assert Position.objects.get(pk=position.pk).isolated_margin == D("2994")
    assert watch_price(position) == D("57256")
    assert not due(trader)
