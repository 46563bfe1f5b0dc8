"""order_place, order_cancel and position_close: what each order does to the position of its
margin mode and to the money, in exact figures, and every refusal with a proof that nothing
changed.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step 0.001, min notional 100, default leverage 20,
taker 0.05 %, maker 0.02 %); every trader starts with 10,000 USDT.
"""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from marginsite.errors import InvalidInput
from tests.builders import ledger_rows, market_order, position_of, wallet_balance
from trading.errors import (
    InvalidPrice,
    InvalidQuantity,
    LeverageTooHigh,
    MarginInsufficient,
    NoMarkPrice,
    NoPosition,
    OrderNotCancelable,
    OrderNotFound,
    ReduceOnlyRejected,
    SymbolHalted,
    UnknownSymbol,
)
from trading.models import Fill, Instrument, LedgerAccount, LedgerEntry, MarkPrice, Order, Position
from trading.selectors import account_summary
from trading.services import (
    leverage_set,
    mark_price_set,
    order_cancel,
    order_place,
    position_close,
)

pytestmark = pytest.mark.django_db

D = Decimal


# --- helpers -------------------------------------------------------------------------------


def fill_rows(order):
    """(price, quantity, fee, realized_pnl, liquidity) of the order's fills, in order."""
    return [
        (fill.price, fill.quantity, fill.fee, fill.realized_pnl, fill.liquidity)
        for fill in Fill.objects.filter(order=order).order_by("pk")
    ]


def position_figures(position):
    """(side, quantity, entry_price, isolated_margin, realized_pnl, status), fresh from the DB."""
    position.refresh_from_db()
    return (
        position.side,
        position.quantity,
        position.entry_price,
        position.isolated_margin,
        position.realized_pnl,
        position.status,
    )


# --- MARKET orders: opening ----------------------------------------------------------------


def test_market_buy_cross_fills_at_the_mark_as_taker_and_pays_the_fee_from_the_wallet(
    trader, balanced_ledger
):
    # given a trader with 10,000 USDT and BTCUSDT marked at 60,000
    # when they buy 0.1 BTC at market, cross (default leverage 20)
    order = market_order(trader, "BUY", "0.1")

    # then the order fills in full at the mark
    order.refresh_from_db()
    assert order.status == Order.Status.FILLED
    assert order.order_type == "MARKET"
    assert order.margin_mode == "CROSS"
    assert order.leverage == 20
    assert order.filled_quantity == D("0.1")
    assert order.average_fill_price == D("60000")
    assert order.margin_held == D("0")
    # fee = 0.1 x 60,000 x 0.0005 = 3
    assert fill_rows(order) == [(D("60000"), D("0.1"), D("3"), D("0"), "TAKER")]
    assert ledger_rows("memo", order=order) == [("FEE", D("3"), "WALLET", "FEES", "")]
    # a cross position holds its margin implicitly: only the fee leaves the wallet
    assert wallet_balance(trader) == D("9997")
    position = position_of(trader)
    assert position.leverage == 20
    assert position_figures(position) == ("LONG", D("0.1"), D("60000"), D("0"), D("0"), "OPEN")
    assert position.closed_at is None
    # available = 9,997 - initial margin 6,000 / 20 = 9,697
    assert account_summary(user=trader).available_balance == D("9697")


def test_market_sell_cross_opens_a_short_at_the_mark(trader, balanced_ledger):
    # given a flat trader; when they sell 0.2 BTC at market
    order = market_order(trader, "SELL", "0.2")

    # then a short opens at 60,000; fee = 0.2 x 60,000 x 0.0005 = 6
    assert fill_rows(order) == [(D("60000"), D("0.2"), D("6"), D("0"), "TAKER")]
    assert ledger_rows("memo", order=order) == [("FEE", D("6"), "WALLET", "FEES", "")]
    assert wallet_balance(trader) == D("9994")
    assert position_figures(position_of(trader)) == (
        "SHORT", D("0.2"), D("60000"), D("0"), D("0"), "OPEN",
    )  # fmt: skip


def test_market_buy_isolated_moves_the_initial_margin_out_of_the_wallet_into_the_position(
    trader, balanced_ledger
):
    # given BTCUSDT Isolated at 10x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=10)

    # when the trader buys 0.1 BTC at market, isolated
    order = market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")

    # then initial margin = 0.1 x 60,000 / 10 = 600 moves WALLET -> ISOLATED_MARGIN, and the
    # fee 0.1 x 60,000 x 0.0005 = 3 goes WALLET -> FEES
    position = position_of(trader, "ISOLATED")
    assert ledger_rows("memo", order=order) == [
        ("ISOLATED_MARGIN", D("600"), "WALLET", "ISOLATED_MARGIN", "initial margin"),
        ("FEE", D("3"), "WALLET", "FEES", ""),
    ]
    margin_entry = LedgerEntry.objects.get(order=order, kind="ISOLATED_MARGIN")
    assert margin_entry.destination.position == position
    assert fill_rows(order) == [(D("60000"), D("0.1"), D("3"), D("0"), "TAKER")]
    # wallet = 10,000 - 600 - 3
    assert wallet_balance(trader) == D("9397")
    assert position.leverage == 10
    assert position_figures(position) == ("LONG", D("0.1"), D("60000"), D("600"), D("0"), "OPEN")
    order.refresh_from_db()
    assert (order.status, order.margin_mode, order.average_fill_price) == (
        "FILLED", "ISOLATED", D("60000"),
    )  # fmt: skip


# --- increasing ----------------------------------------------------------------------------


def test_increasing_a_position_sets_the_quantity_weighted_entry(trader, balanced_ledger):
    # given a cross long of 0.1 BTC at 60,000 (fee 3)
    market_order(trader, "BUY", "0.1")
    mark_price_set(symbol="BTCUSDT", price="62000")

    # when the trader buys 0.3 more at 62,000
    order = market_order(trader, "BUY", "0.3")

    # then entry = (0.1 x 60,000 + 0.3 x 62,000) / 0.4 = 24,600 / 0.4 = 61,500
    assert position_figures(position_of(trader)) == (
        "LONG", D("0.4"), D("61500"), D("0"), D("0"), "OPEN",
    )  # fmt: skip
    # fee = 0.3 x 62,000 x 0.0005 = 9.3; wallet = 10,000 - 3 - 9.3
    assert fill_rows(order) == [(D("62000"), D("0.3"), D("9.3"), D("0"), "TAKER")]
    assert ledger_rows("memo", order=order) == [("FEE", D("9.3"), "WALLET", "FEES", "")]
    assert wallet_balance(trader) == D("9987.7")
    assert Position.objects.filter(user=trader).count() == 1


def test_increasing_an_isolated_position_adds_the_initial_margin_of_the_added_part(
    trader, balanced_ledger
):
    # given an isolated long of 0.1 BTC at 60,000, 20x: margin 300, fee 3
    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="62000")

    # when the trader buys 0.3 more at 62,000
    order = market_order(trader, "BUY", "0.3", margin_mode="ISOLATED")

    # then margin += 0.3 x 62,000 / 20 = 930 (total 1,230); fee 9.3
    assert ledger_rows("memo", order=order) == [
        ("ISOLATED_MARGIN", D("930"), "WALLET", "ISOLATED_MARGIN", "initial margin"),
        ("FEE", D("9.3"), "WALLET", "FEES", ""),
    ]
    assert position_figures(position_of(trader, "ISOLATED")) == (
        "LONG", D("0.4"), D("61500"), D("1230"), D("0"), "OPEN",
    )  # fmt: skip
    # wallet = 10,000 - 300 - 3 - 930 - 9.3
    assert wallet_balance(trader) == D("8757.7")


def test_a_weighted_entry_that_does_not_terminate_is_stored_to_eight_decimals(
    trader, balanced_ledger
):
    # given a long of 0.1 BTC at 60,000, then the mark at 60,000.1
    market_order(trader, "BUY", "0.1")
    mark_price_set(symbol="BTCUSDT", price="60000.1")

    # when the trader buys 0.2 more
    market_order(trader, "BUY", "0.2")

    # then entry = (6,000 + 12,000.02) / 0.3 = 60,000.0666... -> 60,000.06666667 (half even)
    position = position_of(trader)
    assert position.entry_price == D("60000.06666667")
    assert position.quantity == D("0.3")
    # fees 3 + 0.2 x 60,000.1 x 0.0005 = 3 + 6.00001
    assert wallet_balance(trader) == D("9990.99999")

    # when it is closed at 60,000: PnL = 0.3 x (60,000 - 60,000.06666667) = -0.020000001,
    # rounded down (a loss away from 0) to -0.02000001; fee 0.3 x 60,000 x 0.0005 = 9
    mark_price_set(symbol="BTCUSDT", price="60000")
    close = position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")
    assert ledger_rows("memo", order=close) == [
        ("REALIZED_PNL", D("0.02000001"), "WALLET", "HOUSE", ""),
        ("FEE", D("9"), "WALLET", "FEES", ""),
    ]
    assert fill_rows(close) == [(D("60000"), D("0.3"), D("9"), D("-0.02000001"), "TAKER")]
    # wallet = 9,990.99999 - 0.02000001 - 9
    assert wallet_balance(trader) == D("9981.97998999")


def test_a_market_order_fills_at_the_mark_rounded_to_the_tick_against_the_taker(
    make_trader, balanced_ledger
):
    # given BTCUSDT marked at 60,000.05, between two ticks of 0.1
    buyer, seller = make_trader("buyer"), make_trader("seller")
    mark_price_set(symbol="BTCUSDT", price="60000.05")

    # when one trader buys 0.1 and another sells 0.1 at market
    buy = market_order(buyer, "BUY", "0.1")
    sell = market_order(seller, "SELL", "0.1")

    # then the buy fills a tick up, the sell a tick down; fees 0.1 x price x 0.0005
    assert fill_rows(buy) == [(D("60000.1"), D("0.1"), D("3.000005"), D("0"), "TAKER")]
    assert fill_rows(sell) == [(D("60000"), D("0.1"), D("3"), D("0"), "TAKER")]
    assert wallet_balance(buyer) == D("9996.999995")
    assert wallet_balance(seller) == D("9997")


def test_a_fee_with_more_than_eight_decimals_is_rounded_up(trader, balanced_ledger):
    # given ETHUSDT marked at 3,000.01
    mark_price_set(symbol="ETHUSDT", price="3000.01")

    # when the trader buys 0.007 ETH (notional 21.00007, above the minimum of 20)
    order = market_order(trader, "BUY", "0.007", symbol="ETHUSDT")

    # then fee = 21.00007 x 0.0005 = 0.010500035, rounded up to 0.01050004
    assert fill_rows(order) == [(D("3000.01"), D("0.007"), D("0.01050004"), D("0"), "TAKER")]
    assert ledger_rows("memo", order=order) == [("FEE", D("0.01050004"), "WALLET", "FEES", "")]
    assert wallet_balance(trader) == D("9999.98949996")


# --- reducing, cross ----------------------------------------------------------------------


def test_partial_reduce_cross_in_profit_pays_the_pnl_from_the_house_and_keeps_the_entry(
    trader, balanced_ledger
):
    # given a cross long of 0.3 BTC at 60,000 (fee 9, wallet 9,991)
    market_order(trader, "BUY", "0.3")
    position = position_of(trader)
    mark_price_set(symbol="BTCUSDT", price="62000")

    # when the trader sells 0.1 at 62,000
    order = market_order(trader, "SELL", "0.1")

    # then PnL = +1 x 0.1 x (62,000 - 60,000) = 200, HOUSE -> WALLET; fee 0.1 x 62,000 x 0.0005
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("200"), "HOUSE", "WALLET", ""),
        ("FEE", D("3.1"), "WALLET", "FEES", ""),
    ]
    assert fill_rows(order) == [(D("62000"), D("0.1"), D("3.1"), D("200"), "TAKER")]
    assert position_figures(position) == ("LONG", D("0.2"), D("60000"), D("0"), D("200"), "OPEN")
    # wallet = 9,991 + 200 - 3.1
    assert wallet_balance(trader) == D("10187.9")

    # when a second 0.1 is sold at 63,000
    mark_price_set(symbol="BTCUSDT", price="63000")
    second = market_order(trader, "SELL", "0.1")

    # then PnL 0.1 x 3,000 = 300 accumulates: realized 500; fee 3.15
    assert ledger_rows("memo", order=second) == [
        ("REALIZED_PNL", D("300"), "HOUSE", "WALLET", ""),
        ("FEE", D("3.15"), "WALLET", "FEES", ""),
    ]
    assert position_figures(position) == ("LONG", D("0.1"), D("60000"), D("0"), D("500"), "OPEN")
    # wallet = 10,187.9 + 300 - 3.15
    assert wallet_balance(trader) == D("10484.75")


def test_partial_reduce_cross_at_a_loss_pays_the_house_from_the_wallet(trader, balanced_ledger):
    # given a cross long of 0.3 BTC at 60,000 (fee 9, wallet 9,991)
    market_order(trader, "BUY", "0.3")
    position = position_of(trader)
    mark_price_set(symbol="BTCUSDT", price="58500")

    # when the trader sells 0.1 at 58,500
    order = market_order(trader, "SELL", "0.1")

    # then PnL = 0.1 x (58,500 - 60,000) = -150, WALLET -> HOUSE; fee 0.1 x 58,500 x 0.0005
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("150"), "WALLET", "HOUSE", ""),
        ("FEE", D("2.925"), "WALLET", "FEES", ""),
    ]
    assert fill_rows(order) == [(D("58500"), D("0.1"), D("2.925"), D("-150"), "TAKER")]
    assert position_figures(position) == ("LONG", D("0.2"), D("60000"), D("0"), D("-150"), "OPEN")
    # wallet = 9,991 - 150 - 2.925
    assert wallet_balance(trader) == D("9838.075")

    # when another 0.1 is sold at 61,000 (profit 100): realized accumulates to -50
    mark_price_set(symbol="BTCUSDT", price="61000")
    market_order(trader, "SELL", "0.1")
    assert position_figures(position) == ("LONG", D("0.1"), D("60000"), D("0"), D("-50"), "OPEN")
    # wallet = 9,838.075 + 100 - 3.05
    assert wallet_balance(trader) == D("9935.025")


def test_reducing_a_short_realizes_a_profit_when_the_mark_has_fallen(trader, balanced_ledger):
    # given a cross short of 0.2 BTC at 60,000 (fee 6, wallet 9,994)
    market_order(trader, "SELL", "0.2")
    mark_price_set(symbol="BTCUSDT", price="57000")

    # when the trader buys back 0.1 at 57,000
    order = market_order(trader, "BUY", "0.1")

    # then PnL = -1 x 0.1 x (57,000 - 60,000) = +300; fee 0.1 x 57,000 x 0.0005 = 2.85
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("300"), "HOUSE", "WALLET", ""),
        ("FEE", D("2.85"), "WALLET", "FEES", ""),
    ]
    assert position_figures(position_of(trader)) == (
        "SHORT", D("0.1"), D("60000"), D("0"), D("300"), "OPEN",
    )  # fmt: skip
    assert wallet_balance(trader) == D("10291.15")


# --- reducing, isolated -------------------------------------------------------------------


def test_partial_reduce_isolated_in_profit_releases_the_closed_share_of_the_margin(
    trader, balanced_ledger
):
    # given an isolated long of 0.3 BTC at 60,000, 20x: margin 900, fee 9, wallet 9,091
    market_order(trader, "BUY", "0.3", margin_mode="ISOLATED")
    position = position_of(trader, "ISOLATED")
    assert wallet_balance(trader) == D("9091")
    mark_price_set(symbol="BTCUSDT", price="62000")

    # when the trader sells 0.1 at 62,000
    order = market_order(trader, "SELL", "0.1", margin_mode="ISOLATED")

    # then PnL 0.1 x 2,000 = 200 comes from the house, and the closed share of the margin,
    # 900 x 0.1 / 0.3 = 300, returns to the wallet; fee 3.1
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("200"), "HOUSE", "WALLET", ""),
        ("ISOLATED_MARGIN", D("300"), "ISOLATED_MARGIN", "WALLET", "margin released"),
        ("FEE", D("3.1"), "WALLET", "FEES", ""),
    ]
    assert fill_rows(order) == [(D("62000"), D("0.1"), D("3.1"), D("200"), "TAKER")]
    assert position_figures(position) == (
        "LONG", D("0.2"), D("60000"), D("600"), D("200"), "OPEN",
    )  # fmt: skip
    # wallet = 9,091 + 200 + 300 - 3.1
    assert wallet_balance(trader) == D("9587.9")


def test_partial_reduce_isolated_at_a_loss_settles_it_with_the_closed_share_of_the_margin(
    trader, balanced_ledger
):
    # given an isolated long of 0.3 BTC at 60,000, 20x: margin 900, wallet 9,091
    market_order(trader, "BUY", "0.3", margin_mode="ISOLATED")
    position = position_of(trader, "ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="58500")

    # when the trader sells 0.1 at 58,500
    order = market_order(trader, "SELL", "0.1", margin_mode="ISOLATED")

    # then the loss 0.1 x 1,500 = 150 is paid from the closed share (300) of the margin to the
    # house, and the rest of that share, 150, returns to the wallet; fee 2.925
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("150"), "ISOLATED_MARGIN", "HOUSE", ""),
        ("ISOLATED_MARGIN", D("150"), "ISOLATED_MARGIN", "WALLET", "margin released"),
        ("FEE", D("2.925"), "WALLET", "FEES", ""),
    ]
    assert fill_rows(order) == [(D("58500"), D("0.1"), D("2.925"), D("-150"), "TAKER")]
    assert position_figures(position) == (
        "LONG", D("0.2"), D("60000"), D("600"), D("-150"), "OPEN",
    )  # fmt: skip
    # wallet = 9,091 + 150 - 2.925
    assert wallet_balance(trader) == D("9238.075")


def test_the_released_isolated_share_rounds_down_and_the_last_close_returns_the_rest(
    trader, balanced_ledger
):
    # given an isolated long of 0.3 BTC at 60,000, 7x: margin 18,000 / 7 = 2,571.428571428...
    # rounded up against the user to 2,571.42857143; fee 9
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=7)
    market_order(trader, "BUY", "0.3", margin_mode="ISOLATED")
    position = position_of(trader, "ISOLATED")
    assert position.isolated_margin == D("2571.42857143")
    assert wallet_balance(trader) == D("7419.57142857")

    # when a third is sold at the entry (no PnL, so no PnL entry)
    order = market_order(trader, "SELL", "0.1", margin_mode="ISOLATED")

    # then the share 2,571.42857143 x 0.1 / 0.3 = 857.142857143333... rounds down
    assert ledger_rows("memo", order=order) == [
        ("ISOLATED_MARGIN", D("857.14285714"), "ISOLATED_MARGIN", "WALLET", "margin released"),
        ("FEE", D("3"), "WALLET", "FEES", ""),
    ]
    assert position_figures(position)[3] == D("1714.28571429")
    assert wallet_balance(trader) == D("8273.71428571")

    # when the rest is closed, the whole remaining margin returns: only the fees are gone
    close = position_close(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert ledger_rows("memo", order=close) == [
        ("ISOLATED_MARGIN", D("1714.28571429"), "ISOLATED_MARGIN", "WALLET", "margin released"),
        ("FEE", D("6"), "WALLET", "FEES", ""),
    ]
    # 10,000 - fees 9 - 3 - 6
    assert wallet_balance(trader) == D("9982")


# --- closing ------------------------------------------------------------------------------


def test_an_opposite_order_of_the_whole_size_closes_the_position(trader, balanced_ledger):
    # given a cross long of 0.1 BTC at 60,000 (wallet 9,997)
    market_order(trader, "BUY", "0.1")
    position = position_of(trader)
    mark_price_set(symbol="BTCUSDT", price="61000")

    # when the trader sells 0.1
    order = market_order(trader, "SELL", "0.1")

    # then the position is closed with PnL 100; fee 3.05; no new position opens
    assert position_figures(position) == ("LONG", D("0"), D("60000"), D("0"), D("100"), "CLOSED")
    assert position.closed_at is not None
    assert fill_rows(order) == [(D("61000"), D("0.1"), D("3.05"), D("100"), "TAKER")]
    assert not Position.objects.filter(user=trader, status="OPEN").exists()
    # wallet = 9,997 + 100 - 3.05
    assert wallet_balance(trader) == D("10093.95")


def test_position_close_of_an_isolated_position_returns_the_whole_margin_and_the_order(
    trader, balanced_ledger
):
    # given an isolated long of 0.1 BTC at 60,000, 20x: margin 300, wallet 9,697
    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    position = position_of(trader, "ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="61000")

    # when the trader closes it
    order = position_close(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # then it is a reduce-only market sell of the whole size, filled at the mark
    order.refresh_from_db()
    assert (order.side, order.order_type, order.quantity, order.reduce_only, order.status) == (
        "SELL", "MARKET", D("0.1"), True, "FILLED",
    )  # fmt: skip
    assert (order.margin_mode, order.average_fill_price) == ("ISOLATED", D("61000"))
    # PnL 100 from the house, the whole margin 300 back, fee 0.1 x 61,000 x 0.0005 = 3.05
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("100"), "HOUSE", "WALLET", ""),
        ("ISOLATED_MARGIN", D("300"), "ISOLATED_MARGIN", "WALLET", "margin released"),
        ("FEE", D("3.05"), "WALLET", "FEES", ""),
    ]
    assert position_figures(position) == ("LONG", D("0"), D("60000"), D("0"), D("100"), "CLOSED")
    assert position.closed_at is not None
    # wallet = 9,697 + 100 + 300 - 3.05
    assert wallet_balance(trader) == D("10093.95")


def test_position_close_of_a_cross_short_buys_back_the_whole_size(trader, balanced_ledger):
    # given a cross short of 0.25 BTC at 60,000 (fee 7.5, wallet 9,992.5)
    market_order(trader, "SELL", "0.25")
    position = position_of(trader)
    mark_price_set(symbol="BTCUSDT", price="60400")

    # when the trader closes it
    order = position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # then a reduce-only BUY of 0.25 realizes -0.25 x 400 = -100; fee 0.25 x 60,400 x 0.0005
    assert (order.side, order.quantity, order.reduce_only) == ("BUY", D("0.25"), True)
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("100"), "WALLET", "HOUSE", ""),
        ("FEE", D("7.55"), "WALLET", "FEES", ""),
    ]
    assert position_figures(position) == (
        "SHORT", D("0"), D("60000"), D("0"), D("-100"), "CLOSED",
    )  # fmt: skip
    assert position.closed_at is not None
    # wallet = 9,992.5 - 100 - 7.55
    assert wallet_balance(trader) == D("9884.95")


def test_position_close_without_an_open_position_is_refused(trader, unchanged, balanced_ledger):
    # given no position; when the trader closes BTCUSDT Cross; then NoPosition
    with (
        pytest.raises(NoPosition, match="You have no open BTCUSDT Cross position"),
        unchanged(),
    ):
        position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")


def test_position_close_acts_only_on_the_mode_it_names(trader, unchanged, balanced_ledger):
    # given an isolated position only; when the trader closes the cross one; then NoPosition
    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    with (
        pytest.raises(NoPosition, match="You have no open BTCUSDT Cross position"),
        unchanged(),
    ):
        position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")


def test_a_second_position_close_after_closing_is_refused(trader, unchanged, balanced_ledger):
    # given a position that was just closed
    market_order(trader, "BUY", "0.1")
    position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # when it is closed again; then NoPosition, and nothing changes
    with (
        pytest.raises(NoPosition, match="You have no open BTCUSDT Cross position"),
        unchanged(),
    ):
        position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")


# --- flipping -----------------------------------------------------------------------------


def test_an_order_larger_than_the_opposite_position_closes_it_and_opens_the_rest_the_other_way(
    trader, balanced_ledger
):
    # given a cross long of 0.1 BTC at 60,000 (wallet 9,997)
    market_order(trader, "BUY", "0.1")
    long = position_of(trader)
    mark_price_set(symbol="BTCUSDT", price="61000")

    # when the trader sells 0.3 at 61,000
    order = market_order(trader, "SELL", "0.3")

    # then the long closes (PnL 0.1 x 1,000 = 100) and a new short of 0.2 opens at 61,000
    assert position_figures(long) == ("LONG", D("0"), D("60000"), D("0"), D("100"), "CLOSED")
    short = position_of(trader)
    assert short.pk != long.pk
    assert position_figures(short) == ("SHORT", D("0.2"), D("61000"), D("0"), D("0"), "OPEN")
    # two fills, each with its share of the fee: 0.1 x 61,000 x 0.0005 and 0.2 x 61,000 x 0.0005
    assert fill_rows(order) == [
        (D("61000"), D("0.1"), D("3.05"), D("100"), "TAKER"),
        (D("61000"), D("0.2"), D("6.1"), D("0"), "TAKER"),
    ]
    assert [fill.position_id for fill in Fill.objects.filter(order=order).order_by("pk")] == [
        long.pk,
        short.pk,
    ]
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("100"), "HOUSE", "WALLET", ""),
        ("FEE", D("3.05"), "WALLET", "FEES", ""),
        ("FEE", D("6.1"), "WALLET", "FEES", ""),
    ]
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.average_fill_price) == (
        "FILLED", D("0.3"), D("61000"),
    )  # fmt: skip
    # wallet = 9,997 + 100 - 3.05 - 6.1
    assert wallet_balance(trader) == D("10087.85")


def test_an_isolated_flip_releases_the_old_margin_and_funds_the_new_position(
    trader, balanced_ledger
):
    # given an isolated long of 0.1 BTC at 60,000, 20x: margin 300, wallet 9,697
    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    long = position_of(trader, "ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="61000")

    # when the trader sells 0.3 isolated
    order = market_order(trader, "SELL", "0.3", margin_mode="ISOLATED")

    # then: PnL 100 and the old margin 300 back; new margin 0.2 x 61,000 / 20 = 610; fees
    # 3.05 and 6.1
    short = position_of(trader, "ISOLATED")
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("100"), "HOUSE", "WALLET", ""),
        ("ISOLATED_MARGIN", D("300"), "ISOLATED_MARGIN", "WALLET", "margin released"),
        ("ISOLATED_MARGIN", D("610"), "WALLET", "ISOLATED_MARGIN", "initial margin"),
        ("FEE", D("3.05"), "WALLET", "FEES", ""),
        ("FEE", D("6.1"), "WALLET", "FEES", ""),
    ]
    assert position_figures(long) == ("LONG", D("0"), D("60000"), D("0"), D("100"), "CLOSED")
    assert position_figures(short) == ("SHORT", D("0.2"), D("61000"), D("610"), D("0"), "OPEN")
    # wallet = 9,697 + 100 + 300 - 610 - 3.05 - 6.1
    assert wallet_balance(trader) == D("9477.85")


# --- reduce-only --------------------------------------------------------------------------


def test_reduce_only_caps_the_order_at_the_position_size(trader, balanced_ledger):
    # given a cross long of 0.1 BTC (wallet 9,997)
    market_order(trader, "BUY", "0.1")
    position = position_of(trader)

    # when the trader sells 0.5 reduce-only
    order = market_order(trader, "SELL", "0.5", reduce_only=True)

    # then the order is cut to 0.1: the long closes and no short opens; fee 3
    order.refresh_from_db()
    assert (order.quantity, order.filled_quantity, order.status) == (D("0.1"), D("0.1"), "FILLED")
    assert fill_rows(order) == [(D("60000"), D("0.1"), D("3"), D("0"), "TAKER")]
    assert position_figures(position)[5] == "CLOSED"
    assert not Position.objects.filter(user=trader, status="OPEN").exists()
    assert wallet_balance(trader) == D("9994")


def test_reduce_only_without_a_position_is_refused(trader, unchanged, balanced_ledger):
    with (
        pytest.raises(ReduceOnlyRejected, match="Reduce-only order rejected"),
        unchanged(),
    ):
        market_order(trader, "SELL", "0.1", reduce_only=True)


def test_reduce_only_that_would_increase_the_position_is_refused(
    trader, unchanged, balanced_ledger
):
    # given a cross long; when the trader buys reduce-only; then refused
    market_order(trader, "BUY", "0.1")
    with (
        pytest.raises(ReduceOnlyRejected, match="no BTCUSDT Cross position to reduce"),
        unchanged(),
    ):
        market_order(trader, "BUY", "0.1", reduce_only=True)


def test_reduce_only_sees_only_the_position_of_its_own_mode(trader, unchanged, balanced_ledger):
    # given an isolated long only; when a cross reduce-only sell comes; then refused
    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    with (
        pytest.raises(ReduceOnlyRejected, match="no BTCUSDT Cross position to reduce"),
        unchanged(),
    ):
        market_order(trader, "SELL", "0.1", reduce_only=True)


# --- LIMIT orders -------------------------------------------------------------------------


def test_a_limit_buy_below_the_mark_rests_and_holds_its_margin_and_maker_fee(
    trader, balanced_ledger
):
    # given 10,000 USDT available
    assert account_summary(user=trader).available_balance == D("10000")

    # when the trader places a limit buy of 0.1 at 59,000 (mark 60,000)
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip

    # then it rests holding 0.1 x 59,000 / 20 = 295 + maker fee 5,900 x 0.0002 = 1.18
    order.refresh_from_db()
    assert (order.status, order.price, order.filled_quantity, order.average_fill_price) == (
        "NEW", D("59000"), D("0"), None,
    )  # fmt: skip
    assert order.margin_held == D("296.18")
    # nothing moved: no fill, no ledger entry, no position; the wallet is as it was
    assert fill_rows(order) == []
    assert ledger_rows("memo", order=order) == []
    assert not Position.objects.filter(user=trader).exists()
    assert wallet_balance(trader) == D("10000")
    # and the available balance falls by what it holds
    summary = account_summary(user=trader)
    assert summary.open_order_margin == D("296.18")
    assert summary.available_balance == D("9703.82")


def test_a_limit_sell_above_the_mark_rests(trader, balanced_ledger):
    # when the trader places a limit sell of 0.1 at 61,000 (mark 60,000)
    order = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", order_type="LIMIT",
        price="61000", margin_mode="CROSS",
    )  # fmt: skip

    # then it rests holding 6,100 / 20 = 305 + 6,100 x 0.0002 = 1.22
    order.refresh_from_db()
    assert (order.status, order.margin_held) == ("NEW", D("306.22"))
    assert account_summary(user=trader).available_balance == D("9693.78")


def test_order_cancel_releases_the_margin_a_resting_limit_held(trader, balanced_ledger):
    # given a resting limit buy holding 296.18
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip

    # when the trader cancels it
    canceled = order_cancel(user=trader, order_id=order.pk)

    # then it is CANCELED, holds nothing, and the available balance is back to 10,000
    assert canceled.pk == order.pk
    order.refresh_from_db()
    assert (order.status, order.margin_held) == ("CANCELED", D("0"))
    assert account_summary(user=trader).available_balance == D("10000")
    assert wallet_balance(trader) == D("10000")
    assert ledger_rows("memo", order=order) == []


def test_a_resting_stop_order_can_be_canceled(trader, balanced_ledger):
    # given a resting STOP_MARKET buy
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="STOP_MARKET",
        stop_price="61000", margin_mode="CROSS",
    )  # fmt: skip

    # when it is canceled, by an id given as a string; then it is CANCELED
    order_cancel(user=trader, order_id=str(order.pk))
    order.refresh_from_db()
    assert (order.status, order.margin_held) == ("CANCELED", D("0"))


def test_canceling_an_order_twice_is_refused(trader, unchanged, balanced_ledger):
    # given a canceled order
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip
    order_cancel(user=trader, order_id=order.pk)

    # when it is canceled again; then OrderNotCancelable
    with (
        pytest.raises(
            OrderNotCancelable, match=f"Order {order.pk} is CANCELED; only open orders can be"
        ),
        unchanged(),
    ):
        order_cancel(user=trader, order_id=order.pk)


def test_a_filled_order_cannot_be_canceled(trader, unchanged, balanced_ledger):
    order = market_order(trader, "BUY", "0.1")
    with pytest.raises(OrderNotCancelable, match="is FILLED"), unchanged():
        order_cancel(user=trader, order_id=order.pk)


def test_canceling_another_users_order_is_refused_as_not_found(
    make_trader, unchanged, balanced_ledger
):
    # given bob's resting order
    alice, bob = make_trader("alice"), make_trader("bob")
    order = order_place(
        user=bob, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip

    # when alice cancels it; then OrderNotFound (nothing reveals that it exists), still open
    with pytest.raises(OrderNotFound, match="Order not found"), unchanged():
        order_cancel(user=alice, order_id=order.pk)
    order.refresh_from_db()
    assert order.status == "NEW"


@pytest.mark.parametrize(
    "order_id",
    [
        pytest.param("missing", id="nonexistent-id"),
        pytest.param("abc", id="letters"),
        pytest.param("", id="empty"),
        pytest.param(None, id="none"),
        pytest.param(1.0, id="float"),
        pytest.param(True, id="bool"),
        pytest.param("-1", id="negative-string"),
        pytest.param("99999999999999999999999", id="beyond-bigint"),
    ],
)
def test_canceling_an_order_that_does_not_exist_is_refused_as_not_found(
    trader, unchanged, order_id, balanced_ledger
):
    # given a resting order of the trader's (so there is something that must stay untouched)
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip
    if order_id == "missing":
        order_id = order.pk + 1000

    with pytest.raises(OrderNotFound, match="Order not found"), unchanged():
        order_cancel(user=trader, order_id=order_id)


def test_canceling_with_a_superscript_digit_id_is_refused_as_not_found(trader, unchanged):
    # given an id that str.isdigit() accepts but int() cannot read (a regression: it raised
    # ValueError)
    with pytest.raises(OrderNotFound, match="Order not found"), unchanged():
        order_cancel(user=trader, order_id="²")


def test_a_limit_buy_through_the_mark_fills_at_once_at_the_mark_as_taker(trader, balanced_ledger):
    # when the trader places a limit buy at 61,000 with the mark at 60,000
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="61000", margin_mode="CROSS",
    )  # fmt: skip

    # then it fills at once at the mark (not its limit) as taker: fee 6,000 x 0.0005 = 3
    order.refresh_from_db()
    assert (order.status, order.price, order.average_fill_price, order.margin_held) == (
        "FILLED", D("61000"), D("60000"), D("0"),
    )  # fmt: skip
    assert fill_rows(order) == [(D("60000"), D("0.1"), D("3"), D("0"), "TAKER")]
    assert ledger_rows("memo", order=order) == [("FEE", D("3"), "WALLET", "FEES", "")]
    assert position_figures(position_of(trader)) == (
        "LONG", D("0.1"), D("60000"), D("0"), D("0"), "OPEN",
    )  # fmt: skip
    assert wallet_balance(trader) == D("9997")


def test_a_limit_sell_through_the_mark_fills_at_once_at_the_mark_as_taker(trader, balanced_ledger):
    # when the trader places a limit sell at 59,000 with the mark at 60,000
    order = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip

    # then it fills at 60,000 as taker
    assert fill_rows(order) == [(D("60000"), D("0.1"), D("3"), D("0"), "TAKER")]
    assert position_figures(position_of(trader))[:3] == ("SHORT", D("0.1"), D("60000"))
    assert wallet_balance(trader) == D("9997")


# --- STOP_MARKET / TAKE_PROFIT_MARKET -----------------------------------------------------


@pytest.mark.parametrize(
    ("side", "order_type", "stop_price"),
    [
        ("BUY", "STOP_MARKET", "61000"),
        ("SELL", "STOP_MARKET", "59000"),
        ("BUY", "TAKE_PROFIT_MARKET", "59000"),
        ("SELL", "TAKE_PROFIT_MARKET", "61000"),
    ],
)
def test_a_stop_order_not_yet_triggered_rests_holding_nothing(
    trader, side, order_type, stop_price, balanced_ledger
):
    # when the trader places a stop order whose stop the mark (60,000) has not reached
    order = order_place(
        user=trader, symbol="BTCUSDT", side=side, quantity="0.1", order_type=order_type,
        stop_price=stop_price, margin_mode="CROSS",
    )  # fmt: skip

    # then it rests, holding no margin: the wallet and the available balance stay at 10,000
    order.refresh_from_db()
    assert (order.status, order.stop_price, order.price, order.margin_held) == (
        "NEW", D(stop_price), None, D("0"),
    )  # fmt: skip
    assert fill_rows(order) == []
    assert wallet_balance(trader) == D("10000")
    assert account_summary(user=trader).available_balance == D("10000")


@pytest.mark.parametrize(
    ("side", "order_type", "stop_price"),
    [
        ("BUY", "STOP_MARKET", "59000"),
        ("BUY", "STOP_MARKET", "60000"),
        ("SELL", "STOP_MARKET", "61000"),
        ("SELL", "TAKE_PROFIT_MARKET", "59000"),
        ("BUY", "TAKE_PROFIT_MARKET", "61000"),
    ],
)
def test_a_stop_order_already_through_the_mark_is_refused(
    trader, unchanged, side, order_type, stop_price, balanced_ledger
):
    with pytest.raises(InvalidPrice, match="Order would immediately trigger"), unchanged():
        order_place(
            user=trader, symbol="BTCUSDT", side=side, quantity="0.1", order_type=order_type,
            stop_price=stop_price, margin_mode="CROSS",
        )  # fmt: skip


# --- client_order_id ----------------------------------------------------------------------


def test_a_replayed_client_order_id_returns_the_first_order_and_changes_nothing(
    trader, unchanged, balanced_ledger
):
    # given an order placed with client_order_id "bot-1"
    first = market_order(trader, "BUY", "0.1", client_order_id="bot-1")
    assert wallet_balance(trader) == D("9997")

    # when the same client_order_id comes again (even with other parameters)
    with unchanged():
        again = market_order(trader, "BUY", "0.1", client_order_id="bot-1")
        other = market_order(trader, "SELL", "0.5", client_order_id="bot-1")

    # then both return the first order; one fill, one position of 0.1
    assert again.pk == first.pk
    assert other.pk == first.pk
    assert (other.side, other.quantity) == ("BUY", D("0.1"))
    assert Order.objects.filter(user=trader).count() == 1
    assert position_figures(position_of(trader))[:2] == ("LONG", D("0.1"))


def test_a_replay_the_account_would_now_refuse_returns_the_first_order(
    trader, unchanged, balanced_ledger
):
    # given an order of 3 BTC at 20x that holds 9,000 of alice's 10,000 as margin
    first = market_order(trader, "BUY", "3", client_order_id="bot-1")

    # when it is sent again: as a new order, the margin left could not hold it
    with pytest.raises(MarginInsufficient), unchanged():
        market_order(trader, "BUY", "3", client_order_id="bot-2")
    with unchanged():
        again = market_order(trader, "BUY", "3", client_order_id="bot-1")

    # then the replay answers the first order
    assert again.pk == first.pk
    assert Order.objects.filter(user=trader).count() == 1


def test_different_users_may_use_the_same_client_order_id(make_trader, balanced_ledger):
    alice, bob = make_trader("alice"), make_trader("bob")

    # when both use client_order_id "same"
    a = market_order(alice, "BUY", "0.1", client_order_id="same")
    b = market_order(bob, "SELL", "0.2", client_order_id="same")

    # then they are two orders, each filled for its own user
    assert a.pk != b.pk
    assert (a.user_id, b.user_id) == (alice.pk, bob.pk)
    assert wallet_balance(alice) == D("9997")
    assert wallet_balance(bob) == D("9994")


# --- refusals -----------------------------------------------------------------------------

BTC_MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.1", "margin_mode": "CROSS"}


@pytest.mark.parametrize(
    ("changes", "error", "message"),
    [
        pytest.param({"quantity": 0}, InvalidQuantity, "greater than 0", id="quantity-0"),
        pytest.param({"quantity": "-1"}, InvalidQuantity, "greater than 0", id="quantity-neg"),
        pytest.param(
            {"quantity": "0.0005"},
            InvalidQuantity,
            "Quantity 0.0005 is not a multiple of the step size 0.001",
            id="quantity-off-step",
        ),
        pytest.param(
            {"quantity": Decimal("NaN")}, InvalidQuantity, "finite number", id="quantity-nan"
        ),
        pytest.param({"quantity": "Infinity"}, InvalidQuantity, "finite number", id="qty-inf"),
        pytest.param(
            {"quantity": 0.1}, InvalidQuantity, "decimal number or string", id="quantity-float"
        ),
        pytest.param({"quantity": "1e16"}, InvalidQuantity, "too large", id="quantity-huge"),
        pytest.param({"quantity": "abc"}, InvalidQuantity, "must be a number", id="qty-abc"),
        pytest.param(
            {"quantity": "0.123456789"}, InvalidQuantity, "more than 8 decimal", id="qty-9dp"
        ),
        pytest.param({"quantity": None}, InvalidQuantity, "must be a number", id="qty-none"),
        pytest.param(
            {"order_type": "LIMIT"}, InvalidPrice, "A LIMIT order needs a price", id="limit-no-px"
        ),
        pytest.param(
            {"order_type": "LIMIT", "price": "60000.05"},
            InvalidPrice,
            "Price 60000.05 is not a multiple of the tick size 0.1",
            id="limit-off-tick",
        ),
        pytest.param(
            {"order_type": "LIMIT", "price": "0"}, InvalidPrice, "greater than 0", id="limit-px-0"
        ),
        pytest.param(
            {"order_type": "LIMIT", "price": 59000.0}, InvalidPrice, "not 59000.0", id="px-float"
        ),
        pytest.param(
            {"price": "60000"}, InvalidPrice, "A MARKET order takes no price", id="market-price"
        ),
        pytest.param(
            {"stop_price": "61000"},
            InvalidPrice,
            "A MARKET order takes no stop_price",
            id="market-stop",
        ),
        pytest.param(
            {"order_type": "STOP_MARKET"},
            InvalidPrice,
            "A STOP_MARKET order needs a stop_price",
            id="stop-no-stop",
        ),
        pytest.param(
            {"order_type": "STOP_MARKET", "stop_price": "61000.01"},
            InvalidPrice,
            "The stop_price 61000.01 is not a multiple of the tick size 0.1",
            id="stop-off-tick",
        ),
        pytest.param(
            {"symbol": "DOGEUSDT"}, UnknownSymbol, "Unknown symbol 'DOGEUSDT'", id="unknown"
        ),
        pytest.param({"symbol": ""}, UnknownSymbol, "Symbol must be", id="empty-symbol"),
        pytest.param(
            {"side": "LONG"}, InvalidInput, "Side must be BUY or SELL, not 'LONG'", id="side"
        ),
        pytest.param({"side": "buy"}, InvalidInput, "Side must be BUY or SELL", id="side-lower"),
        pytest.param(
            {"order_type": "ICEBERG"},
            InvalidInput,
            "The order_type must be one of .*not 'ICEBERG'",
            id="order-type",
        ),
        pytest.param(
            {"margin_mode": "HEDGE"},
            InvalidInput,
            "The margin_mode must be CROSS or ISOLATED, not 'HEDGE'",
            id="margin-mode",
        ),
        pytest.param(
            {"reduce_only": "yes"},
            InvalidInput,
            "The reduce_only must be true or false",
            id="reduce-only",
        ),
        pytest.param(
            {"client_order_id": "has space"},
            InvalidInput,
            "The client_order_id must be 1 to 36",
            id="client-id-space",
        ),
        pytest.param(
            {"client_order_id": "x" * 37},
            InvalidInput,
            "The client_order_id must be 1 to 36",
            id="client-id-37",
        ),
        pytest.param(
            {"client_order_id": 12345},
            InvalidInput,
            "The client_order_id must be 1 to 36",
            id="client-id-int",
        ),
        pytest.param(
            {"quantity": "0.001"},
            InvalidQuantity,
            re.escape("The order's value, 60 USDT, is below the minimum of 100 USDT."),
            id="below-min-notional",
        ),
    ],
)
def test_an_invalid_order_is_refused_and_changes_nothing(
    trader, unchanged, changes, error, message, balanced_ledger
):
    # given a trader with an open position and a resting order (state that must not move)
    market_order(trader, "BUY", "0.1")
    order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip

    # when an order with one bad parameter comes; then it is refused, and nothing changed
    with pytest.raises(error, match=message), unchanged():
        order_place(user=trader, **{**BTC_MARKET_BUY, **changes})


def test_a_quantity_on_the_step_but_below_the_minimum_is_refused(
    trader, unchanged, balanced_ledger
):
    # given BTCUSDT with a minimum quantity of 0.01 (the seed has min = step = 0.001)
    Instrument.objects.filter(symbol="BTCUSDT").update(min_quantity=D("0.01"))

    # when the trader orders 0.005 (on the 0.001 step); then refused, naming the minimum
    with (
        pytest.raises(InvalidQuantity, match=r"Quantity 0\.005 is below the minimum of 0\.01"),
        unchanged(),
    ):
        market_order(trader, "BUY", "0.005")


def test_an_order_needing_more_margin_than_available_is_refused_naming_both_amounts(
    trader, unchanged, balanced_ledger
):
    # given BTCUSDT Cross at 10x and 10,000 USDT
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)

    # when the trader buys 2 BTC: margin 120,000 / 10 = 12,000 + fee 120,000 x 0.0005 = 60
    # then refused: 12,060 needed, 10,000 available
    with (
        pytest.raises(
            MarginInsufficient,
            match=re.escape(
                "Insufficient margin: this order needs 12,060 USDT (initial margin 12,000 + fee "
                "60); you have 10,000 USDT available."
            ),
        ),
        unchanged(),
    ):
        market_order(trader, "BUY", "2")


def test_an_order_whose_margin_and_fee_fit_the_available_balance_is_accepted_one_step_more_not(
    make_trader, unchanged, balanced_ledger
):
    alice, bob = make_trader("alice"), make_trader("bob")

    # when alice buys 3.3 BTC at 20x: 198,000 / 20 = 9,900 + fee 99 = 9,999 <= 10,000
    order = market_order(alice, "BUY", "3.3")

    # then it fills; fee 99; 1 USDT stays available
    assert fill_rows(order) == [(D("60000"), D("3.3"), D("99"), D("0"), "TAKER")]
    assert wallet_balance(alice) == D("9901")
    assert account_summary(user=alice).available_balance == D("1")

    # when bob buys one step more, 3.301 BTC: 9,903 + 99.03 = 10,002.03 > 10,000; refused
    with (
        pytest.raises(MarginInsufficient, match=r"this order needs 10,002\.03 USDT"),
        unchanged(),
    ):
        market_order(bob, "BUY", "3.301")


def test_an_isolated_order_cannot_spend_unrealized_cross_profit_while_a_cross_order_can(
    trader, unchanged, balanced_ledger
):
    # given a cross long of 1 ETH at 3,000 (fee 1.5, wallet 9,998.5), ETH then marked at 4,000:
    # uPnL +1,000, initial margin at the mark 4,000 / 20 = 200
    market_order(trader, "BUY", "1", symbol="ETHUSDT")
    mark_price_set(symbol="ETHUSDT", price="4000")
    # available = 9,998.5 + 1,000 - 200 = 10,798.5
    assert account_summary(user=trader).available_balance == D("10798.5")

    # when the trader buys 3.3 BTC isolated: needs 9,900 + 99 = 9,999 > 10,798.5 - 1,000
    # then refused: an isolated margin leaves the wallet as cash
    with (
        pytest.raises(
            MarginInsufficient,
            match=re.escape(
                "needs 9,999 USDT (initial margin 9,900 + fee 99); you have 9,798.5 USDT available."
            ),
        ),
        unchanged(),
    ):
        market_order(trader, "BUY", "3.3", margin_mode="ISOLATED")

    # when the same order comes in cross; then it fills (fee 99)
    order = market_order(trader, "BUY", "3.3")
    assert fill_rows(order) == [(D("60000"), D("3.3"), D("99"), D("0"), "TAKER")]
    assert wallet_balance(trader) == D("9899.5")


def test_margin_held_by_a_resting_limit_is_not_available_to_other_orders(
    trader, unchanged, balanced_ledger
):
    # given a resting limit buy of 3.3 BTC at 59,000: 194,700 / 20 = 9,735 + maker fee 38.94
    limit = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="3.3", order_type="LIMIT",
        price="59000", margin_mode="CROSS",
    )  # fmt: skip
    assert limit.margin_held == D("9773.94")
    assert account_summary(user=trader).available_balance == D("226.06")

    # when the trader buys 0.1 at market: needs 300 + 3 = 303 > 226.06; then refused
    with (
        pytest.raises(MarginInsufficient, match=r"you have 226\.06 USDT available\."),
        unchanged(),
    ):
        market_order(trader, "BUY", "0.1")

    # when the limit is canceled, the same order fits
    order_cancel(user=trader, order_id=limit.pk)
    order = market_order(trader, "BUY", "0.1")
    assert order.status == "FILLED"
    assert wallet_balance(trader) == D("9997")


def test_leverage_above_the_bracket_for_the_resulting_notional_is_refused_naming_the_cap(
    trader, unchanged, balanced_ledger
):
    # given BTCUSDT Cross at 125x; when the trader buys 1 BTC (notional 60,000)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)

    # then LeverageTooHigh names the cap and the notional as a person reads them
    with (
        pytest.raises(
            LeverageTooHigh,
            match=re.escape(
                "At 125x the largest position is 50,000 USDT; this one would be 60,000 USDT."
            ),
        ),
        unchanged(),
    ):
        market_order(trader, "BUY", "1")


def test_leverage_is_checked_against_the_notional_after_the_order(
    trader, unchanged, balanced_ledger
):
    # given BTCUSDT Cross at 125x and a long of 0.8 BTC (notional 48,000, inside the 50,000 cap)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)
    market_order(trader, "BUY", "0.8")

    # when the trader adds 0.05 (order 3,000, position 51,000); then refused
    with pytest.raises(LeverageTooHigh, match="At 125x the largest position is"), unchanged():
        market_order(trader, "BUY", "0.05")


def test_an_order_on_a_symbol_without_a_mark_price_is_refused(trader, unchanged, balanced_ledger):
    # given SOLUSDT without a mark price
    MarkPrice.objects.filter(instrument__symbol="SOLUSDT").delete()

    # when the trader buys 1 SOL; then NoMarkPrice
    with pytest.raises(NoMarkPrice, match="SOLUSDT has no mark price yet"), unchanged():
        market_order(trader, "BUY", "1", symbol="SOLUSDT")


def test_a_halted_symbol_refuses_opening_orders_but_still_closes_positions(
    trader, unchanged, balanced_ledger
):
    # given a cross long of 1 ETH at 3,000 (fee 1.5), then ETHUSDT halted
    market_order(trader, "BUY", "1", symbol="ETHUSDT")
    position = position_of(trader, symbol="ETHUSDT")
    Instrument.objects.filter(symbol="ETHUSDT").update(status="HALTED")

    # when the trader tries to increase, or to open an isolated one; then SymbolHalted
    with pytest.raises(SymbolHalted, match="Trading in ETHUSDT is halted"), unchanged():
        market_order(trader, "BUY", "1", symbol="ETHUSDT")
    with pytest.raises(SymbolHalted, match="Trading in ETHUSDT is halted"), unchanged():
        market_order(trader, "SELL", "1", symbol="ETHUSDT", margin_mode="ISOLATED")
    # a sell larger than the long would open a short: refused too
    with pytest.raises(SymbolHalted, match="Trading in ETHUSDT is halted"), unchanged():
        market_order(trader, "SELL", "2", symbol="ETHUSDT")

    # when the trader closes the position; then it closes at the mark: fee 1.5
    order = position_close(user=trader, symbol="ETHUSDT", margin_mode="CROSS")
    assert fill_rows(order) == [(D("3000"), D("1"), D("1.5"), D("0"), "TAKER")]
    assert position_figures(position)[5] == "CLOSED"
    assert wallet_balance(trader) == D("9997")


# --- losses beyond what backs a position --------------------------------------------------


def test_a_cross_close_at_a_loss_beyond_the_wallet_empties_it_and_the_insurance_fund_pays_the_rest(
    trader, insurance_fund, balanced_ledger
):
    # given a cross long of 3 BTC at 60,000, 20x: margin 9,000 + fee 90; wallet 9,910
    market_order(trader, "BUY", "3")
    position = position_of(trader)
    assert wallet_balance(trader) == D("9910")
    # and the mark falls to 56,000 (no sweep runs here): loss 3 x 4,000 = 12,000 > 9,910
    mark_price_set(symbol="BTCUSDT", price="56000")

    # when the trader closes it
    order = position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # then the wallet pays all it has, 9,910, and the insurance fund the other 2,090; the fee
    # (3 x 56,000 x 0.0005 = 84) finds an empty wallet and is waived: no FEE entry
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("9910"), "WALLET", "HOUSE", ""),
        ("INSURANCE", D("2090"), "INSURANCE_FUND", "HOUSE", "loss beyond the cross wallet"),
    ]
    # the user's realized PnL is what left their money (-9,910), not the insured part
    assert fill_rows(order) == [(D("56000"), D("3"), D("0"), D("-9910"), "TAKER")]
    assert wallet_balance(trader) == D("0")
    assert position_figures(position) == (
        "LONG", D("0"), D("60000"), D("0"), D("-9910"), "CLOSED",
    )  # fmt: skip


def test_an_isolated_close_past_bankruptcy_costs_the_user_exactly_the_margin(
    trader, insurance_fund, balanced_ledger
):
    # given an isolated long of 0.1 BTC at 60,000, 20x: margin 300, fee 3; wallet 9,697
    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    position = position_of(trader, "ISOLATED")
    # and the mark falls to 56,000, past the bankruptcy price 60,000 - 300 / 0.1 = 57,000
    mark_price_set(symbol="BTCUSDT", price="56000")

    # when the trader closes it: loss 0.1 x 4,000 = 400
    order = position_close(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # then the whole margin 300 goes to the house, the insurance fund pays the other 100, and
    # nothing returns; the wallet pays only the fee 0.1 x 56,000 x 0.0005 = 2.8
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("300"), "ISOLATED_MARGIN", "HOUSE", ""),
        ("INSURANCE", D("100"), "INSURANCE_FUND", "HOUSE", "loss beyond the isolated margin"),
        ("FEE", D("2.8"), "WALLET", "FEES", ""),
    ]
    # the user's realized PnL is the margin lost (-300), not the insured part
    assert fill_rows(order) == [(D("56000"), D("0.1"), D("2.8"), D("-300"), "TAKER")]
    assert position_figures(position) == (
        "LONG", D("0"), D("60000"), D("0"), D("-300"), "CLOSED",
    )  # fmt: skip
    # wallet = 9,697 - 2.8
    assert wallet_balance(trader) == D("9694.2")


def test_a_close_past_bankruptcy_cancels_its_reduce_only_orders_before_it_locks_the_fund(
    trader, insurance_fund, balanced_ledger
):
    # given an isolated long of 0.1 BTC at 60,000 (bankruptcy price 57,000), a reduce-only take
    # profit at 70,000 resting, and the mark at 56,000
    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    take_profit = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", order_type="LIMIT",
        price="70000", margin_mode="ISOLATED", reduce_only=True,
    )  # fmt: skip
    mark_price_set(symbol="BTCUSDT", price="56000")

    # when the trader closes the position
    with CaptureQueriesContext(connection) as queries:
        order = position_close(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # then the fund pays the 100 past the margin, the take profit is canceled, and its row was
    # locked before the fund's (the locks' one order: services/locks.py)
    assert ledger_rows("memo", order=order)[1] == (
        "INSURANCE",
        D("100"),
        "INSURANCE_FUND",
        "HOUSE",
        "loss beyond the isolated margin",
    )
    take_profit.refresh_from_db()
    assert (take_profit.status, take_profit.margin_held) == ("CANCELED", D("0"))
    locks = [
        "orders" if "reduce_only" in sql else "fund"
        for sql in (query["sql"] or "" for query in queries.captured_queries)
        if "FOR UPDATE" in sql and ("reduce_only" in sql or "INSURANCE_FUND" in sql)
    ]
    assert locks == ["orders", "fund"]


def test_a_close_past_bankruptcy_with_an_empty_insurance_fund_leaves_the_rest_with_the_house(
    trader, balanced_ledger
):
    # given a cross long of 3 BTC at 60,000 (wallet 9,910), the mark at 56,000 and an empty fund
    market_order(trader, "BUY", "3")
    mark_price_set(symbol="BTCUSDT", price="56000")

    # when the trader closes it: loss 12,000
    order = position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # then the wallet pays all it has; the fund, at its floor of 0, pays nothing: the house
    # (the paper counterparty) is paid 2,090 less, and no balance goes below 0
    assert ledger_rows("memo", order=order) == [("REALIZED_PNL", D("9910"), "WALLET", "HOUSE", "")]
    assert wallet_balance(trader) == D("0")
    assert LedgerAccount.objects.get(kind="INSURANCE_FUND").balance == D("0")


def test_a_partial_isolated_close_past_bankruptcy_takes_the_loss_from_the_rest_of_the_margin(
    trader, balanced_ledger
):
    # given an isolated long of 0.2 BTC at 60,000, 20x: margin 600, fee 6; wallet 9,394
    market_order(trader, "BUY", "0.2", margin_mode="ISOLATED")
    position = position_of(trader, "ISOLATED")
    mark_price_set(symbol="BTCUSDT", price="56000")

    # when half is sold at 56,000: loss 0.1 x 4,000 = 400, the closed share is 300
    order = market_order(trader, "SELL", "0.1", margin_mode="ISOLATED")

    # then the share pays 300, the rest of the position's margin the other 100; no insurance,
    # nothing released; fee 2.8 from the wallet
    assert ledger_rows("memo", order=order) == [
        ("REALIZED_PNL", D("300"), "ISOLATED_MARGIN", "HOUSE", ""),
        ("REALIZED_PNL", D("100"), "ISOLATED_MARGIN", "HOUSE", ""),
        ("FEE", D("2.8"), "WALLET", "FEES", ""),
    ]
    assert position_figures(position) == (
        "LONG", D("0.1"), D("60000"), D("200"), D("-400"), "OPEN",
    )  # fmt: skip
    assert wallet_balance(trader) == D("9391.2")


def test_reversing_a_cross_position_needs_only_the_margin_the_closing_part_does_not_free(
    trader, balanced_ledger
):
    # given a cross long of 3 BTC at 20x: margin 9000, fee 90; available 10000 - 90 - 9000 = 910
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=20)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="3", margin_mode="CROSS")
    assert account_summary(user=trader).available_balance == Decimal("910")

    # when selling 6: closing 3 frees 9000, opening 3 needs 9000 + fee 90 <= 910 + 9000
    order = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="6", margin_mode="CROSS"
    )

    # then the long is closed and a 3 BTC short is open; both halves paid a 90 fee
    assert order.status == "FILLED"
    short = Position.objects.get(user=trader, status="OPEN")
    assert (short.side, short.quantity, short.entry_price) == ("SHORT", Decimal(3), Decimal(60000))
    assert wallet_balance(trader) == Decimal("9730")  # 10000 - 90 - 90 - 90


def test_reversing_an_isolated_position_uses_the_margin_its_closing_part_returns(
    trader, balanced_ledger
):
    # given an isolated long of 3 BTC at 20x: 9000 moved into the position, fee 90; wallet 910
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="3", margin_mode="ISOLATED")
    assert wallet_balance(trader) == Decimal("910")

    # when selling 6: the 9000 returns to the wallet, then 9000 + 90 fee leave it for the short
    order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity="6", margin_mode="ISOLATED")

    short = Position.objects.get(user=trader, status="OPEN")
    assert (short.side, short.quantity, short.isolated_margin) == (
        "SHORT",
        Decimal(3),
        Decimal(9000),
    )
    assert wallet_balance(trader) == Decimal("730")  # 910 + 9000 - 90 (close) - 9000 - 90


def test_a_reversal_that_needs_more_than_the_freed_margin_is_still_refused(trader, unchanged):
    # given a cross long of 3 BTC at 20x (available 910)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=20)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="3", margin_mode="CROSS")

    # when selling 7: closing 3 frees 9000; opening 4 needs 12000 + fees 90 + 120 > 910 + 9000
    with pytest.raises(MarginInsufficient, match="needs 12,210 USDT"), unchanged():
        order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity="7", margin_mode="CROSS")
