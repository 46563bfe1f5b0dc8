"""Whole-position actions: close every position (of a mode), reverse one, and an order sized by
its cost (USDT of initial margin).

Seeded market: BTCUSDT mark 60,000, ETHUSDT 3,000 (flat books: a market order fills at the
mark), taker fee 0.05 %, 20x by default; alice has 10,000 USDT.
"""

from decimal import Decimal

import pytest

from marginsite.errors import InvalidInput
from tests.builders import last_ledger_pk, ledger_rows, open_position, wallet_balance
from trading.domain.orders import quantity_for_cost
from trading.errors import BookTooThin, InvalidQuantity, MarginInsufficient, NoPosition
from trading.models import Instrument, Order, Position
from trading.selectors.position_orders import order_quantity_for_cost
from trading.services import (
    mark_price_set,
    position_reverse,
    position_tpsl_set,
    positions_close_all,
)

pytestmark = pytest.mark.django_db

D = Decimal


def open_rows(user) -> list[tuple]:
    return list(
        Position.objects.filter(user=user, status="OPEN")
        .order_by("pk")
        .values_list("instrument__symbol", "margin_mode", "side", "quantity", "isolated_margin")
    )


# --- close all -----------------------------------------------------------------------------


def test_close_all_of_a_mode_closes_only_that_modes_positions(trader, balanced_ledger):
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")
    open_position(trader, "SELL", "1", symbol="ETHUSDT")  # isolated: margin 150

    closed = positions_close_all(user=trader, margin_mode="CROSS")

    assert [(o.instrument.symbol, o.side, o.quantity, o.status, o.reduce_only) for o in closed] == [
        ("BTCUSDT", "SELL", D("0.1"), "FILLED", True)
    ]
    assert open_rows(trader) == [("ETHUSDT", "ISOLATED", "SHORT", D("1"), D("150"))]


def test_close_all_closes_every_position_and_answers_their_orders(trader, balanced_ledger):
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")  # fee 3
    open_position(trader, "SELL", "1", symbol="ETHUSDT")  # margin 150, fee 1.5
    mark_price_set(symbol="ETHUSDT", price="2900")
    since = last_ledger_pk()

    closed = positions_close_all(user=trader)

    assert len(closed) == 2
    assert open_rows(trader) == []
    # the ETH short in profit first: its PnL 100, its margin 150 back and its fee 2,900 x
    # 0.0005; then the BTC long's fee 6,000 x 0.0005
    assert ledger_rows(after=since) == [
        ("REALIZED_PNL", D("100"), "HOUSE", "WALLET"),
        ("ISOLATED_MARGIN", D("150"), "ISOLATED_MARGIN", "WALLET"),
        ("FEE", D("1.45"), "WALLET", "FEES"),
        ("FEE", D("3"), "WALLET", "FEES"),
    ]
    assert wallet_balance(trader) == D("10091.05")  # 10,000 - 3 - 1.5 - 3 + 100 - 1.45


def test_close_all_with_nothing_open_closes_nothing(trader, unchanged):
    with unchanged():
        assert positions_close_all(user=trader) == []


def test_close_all_of_an_unknown_mode_is_refused(trader, unchanged):
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")

    with unchanged(), pytest.raises(InvalidInput):
        positions_close_all(user=trader, margin_mode="BOTH")


# --- reverse -------------------------------------------------------------------------------


def test_reversing_an_isolated_long_opens_a_short_of_the_same_size(trader, balanced_ledger):
    # an isolated long of 0.1 at 60,000, 20x: margin 300, fee 3 (wallet 9,697)
    position = open_position(trader, "BUY", "0.1")
    position_tpsl_set(user=trader, position_id=position.pk, stop_loss="57000")
    since = last_ledger_pk()

    order = position_reverse(user=trader, position_id=position.pk)

    assert (order.side, order.order_type, order.quantity, order.status) == (
        "SELL",
        "MARKET",
        D("0.2"),
        "FILLED",
    )
    assert open_rows(trader) == [("BTCUSDT", "ISOLATED", "SHORT", D("0.1"), D("300"))]
    # the long's margin back, the short's margin out, the closing and the opening fees
    assert ledger_rows(after=since) == [
        ("ISOLATED_MARGIN", D("300"), "ISOLATED_MARGIN", "WALLET"),
        ("ISOLATED_MARGIN", D("300"), "WALLET", "ISOLATED_MARGIN"),
        ("FEE", D("3"), "WALLET", "FEES"),
        ("FEE", D("3"), "WALLET", "FEES"),
    ]
    assert wallet_balance(trader) == D("9691")  # 9,697 - 3 - 3
    # the long's stop-loss went with it
    assert Order.objects.get(user=trader, close_position=True).status == "CANCELED"


def test_a_reversal_the_margin_cannot_pay_is_refused_and_changes_nothing(trader, unchanged):
    # a cross long of 3 BTC at 60,000 (margin 9,000, fee 90), the mark down to 59,000 (-3,000)
    position = open_position(trader, "BUY", "3", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="59000")

    with unchanged(), pytest.raises(MarginInsufficient):
        position_reverse(user=trader, position_id=position.pk)


def test_a_reversal_the_book_cannot_fill_whole_is_refused(trader, unchanged):
    position = open_position(trader, "BUY", "0.1", margin_mode="CROSS")
    Instrument.objects.filter(symbol="BTCUSDT").update(
        book_level_quantity=D("0.05"), book_max_slippage_rate=D("0.000001")
    )

    with unchanged(), pytest.raises(BookTooThin, match=r"holds less than 0\.2 BTC"):
        position_reverse(user=trader, position_id=position.pk)


def test_reversing_someone_elses_position_is_not_found(make_trader, trader, unchanged):
    position = open_position(trader, "BUY", "0.1")
    bob = make_trader("bob")

    with unchanged(), pytest.raises(NoPosition):
        position_reverse(user=bob, position_id=position.pk)


# --- by cost -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cost", "leverage", "price", "quantity"),
    [
        ("100", 20, "60000", "0.033"),  # 2,000 / 60,000 = 0.0333..., down to the step
        ("300", 20, "60000", "0.1"),  # exactly on the step
        ("3.01", 20, "60000", "0.001"),
    ],
)
def test_the_quantity_for_a_cost_is_rounded_down_to_the_step(cost, leverage, price, quantity):
    btc = Instrument(step_size=D("0.001"), min_quantity=D("0.001"), base_asset="BTC")

    assert quantity_for_cost(instrument=btc, cost=D(cost), leverage=leverage, price=D(price)) == D(
        quantity
    )


def test_a_cost_below_the_minimum_quantity_is_refused():
    btc = Instrument(step_size=D("0.001"), min_quantity=D("0.001"), base_asset="BTC")

    with pytest.raises(InvalidQuantity) as refused:
        quantity_for_cost(instrument=btc, cost=D("2"), leverage=20, price=D("60000"))

    assert (refused.value.field, refused.value.reason, refused.value.message) == (
        "cost",
        "BELOW_MIN_QUANTITY",
        "2 USDT at 20x buys 0 BTC at 60000, below the minimum quantity of 0.001.",
    )


def test_an_orders_cost_uses_its_price_and_the_leverage_of_its_mode(trader):
    assert order_quantity_for_cost(
        user=trader, symbol="BTCUSDT", side="BUY", cost="100", margin_mode="ISOLATED"
    ) == D("0.033")
    assert order_quantity_for_cost(
        user=trader, symbol="BTCUSDT", side="BUY", cost="100", order_type="LIMIT",
        price="50000",
    ) == D("0.04")  # fmt: skip


def test_a_cost_that_is_not_a_positive_amount_is_refused(trader):
    with pytest.raises(InvalidInput) as refused:
        order_quantity_for_cost(user=trader, symbol="BTCUSDT", side="BUY", cost="-5")

    assert refused.value.field == "cost"
