"""sweep_run's triggered orders: a resting LIMIT fills at its price as maker when the mark crosses
it; a STOP_MARKET or TAKE_PROFIT_MARKET executes at the mark as taker when the mark reaches its
stop; an order that fails its checks at the trigger expires; triggers run before liquidations.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, no slippage), ETHUSDT 3,000; taker fee 0.05 %,
maker fee 0.02 %. Every trader starts with 10,000 USDT.
"""

from decimal import Decimal

import pytest

from tests.builders import last_ledger_pk, ledger_rows, open_position, wallet_balance
from trading.models import Fill, LiquidationEvent, Notification, Position
from trading.selectors import system_account_balance
from trading.services import (
    leverage_set,
    mark_price_set,
    order_place,
    position_close,
    sweep_run,
)

pytestmark = pytest.mark.django_db

D = Decimal


def stop_order(user, side, order_type, stop_price, quantity="0.1", **options):
    return order_place(
        user=user, symbol="BTCUSDT", side=side, quantity=quantity, order_type=order_type,
        stop_price=stop_price, **options,
    )  # fmt: skip


# --- LIMIT ----------------------------------------------------------------------------------


@pytest.fixture
def resting_limit_buy(trader):
    """An isolated LIMIT buy of 0.1 BTC at 59,000, 20x, below the mark: it rests and holds its
    initial margin 5900 / 20 = 295 plus its maker fee 5900 x 0.0002 = 1.18."""
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="59000", margin_mode="ISOLATED",
    )  # fmt: skip
    assert (order.status, order.margin_held) == ("NEW", D("296.18"))
    return order


def test_a_resting_limit_buy_does_not_fill_while_the_mark_stays_above_it(
    trader, resting_limit_buy, unchanged, balanced_ledger
):
    # given the resting limit buy at 59,000
    # when the mark falls to 59,000.1, one tick short of it
    mark_price_set(symbol="BTCUSDT", price="59000.1")

    with unchanged():
        report = sweep_run()

    # then nothing happens
    assert (report.orders_filled, report.orders_expired) == (0, 0)
    assert not Notification.objects.exists()


@pytest.mark.parametrize("mark", ["59000", "58900"], ids=["at-the-limit", "through-the-limit"])
def test_a_resting_limit_buy_fills_at_its_price_as_maker_when_the_mark_crosses_it(
    trader, resting_limit_buy, mark, balanced_ledger
):
    # given the resting limit buy at 59,000 (holding 296.18)
    since = last_ledger_pk()
    # when the mark reaches or crosses it
    mark_price_set(symbol="BTCUSDT", price=mark)

    report = sweep_run()

    # then it fills in full at its own price, as maker, and holds nothing any more
    assert (report.orders_filled, report.orders_expired) == (1, 0)
    order = resting_limit_buy
    order.refresh_from_db()
    assert (order.status, order.filled_quantity, order.average_fill_price, order.margin_held) == (
        "FILLED", D("0.1"), D("59000"), D(0)
    )  # fmt: skip
    fill = Fill.objects.get(order=order)
    # maker fee: 0.1 x 59000 x 0.0002 = 1.18
    assert (fill.price, fill.quantity, fill.fee, fill.liquidity) == (
        D("59000"), D("0.1"), D("1.18"), "MAKER"
    )  # fmt: skip
    # an isolated long of 0.1 at 59,000 opens with margin 5900 / 20 = 295
    position = Position.objects.get(user=trader, status="OPEN")
    assert (position.margin_mode, position.side, position.quantity, position.entry_price) == (
        "ISOLATED", "LONG", D("0.1"), D("59000")
    )  # fmt: skip
    assert (position.leverage, position.isolated_margin) == (20, D("295"))
    assert ledger_rows("memo", after=since) == [
        ("ISOLATED_MARGIN", D("295"), "WALLET", "ISOLATED_MARGIN", "initial margin"),
        ("FEE", D("1.18"), "WALLET", "FEES", ""),
    ]
    assert wallet_balance(trader) == D("9703.82")  # 10000 - 295 - 1.18
    # and the user is told
    notification = Notification.objects.get(user=trader)
    assert notification.kind == "ORDER_FILLED"
    assert notification.message == "Your BTCUSDT limit buy of 0.1 filled at 59000."


# --- STOP_MARKET / TAKE_PROFIT_MARKET -------------------------------------------------------


@pytest.fixture
def cross_long_with_stop_loss(trader):
    """A cross long of 0.1 BTC at 60,000 (fee 6000 x 0.0005 = 3; wallet 9997) and a reduce-only
    STOP_MARKET sell of 0.1 with its stop at 58,000."""
    position = open_position(trader, "BUY", "0.1", margin_mode="CROSS")
    stop = stop_order(trader, "SELL", "STOP_MARKET", "58000", margin_mode="CROSS", reduce_only=True)
    assert wallet_balance(trader) == D("9997")
    return position, stop


def test_a_stop_loss_does_not_execute_while_the_mark_stays_above_its_stop(
    trader, cross_long_with_stop_loss, unchanged, balanced_ledger
):
    # given the stop-loss at 58,000
    # when the mark falls to 58,000.1
    mark_price_set(symbol="BTCUSDT", price="58000.1")

    with unchanged():
        report = sweep_run()

    # then nothing happens
    assert report.orders_filled == 0


def test_a_stop_loss_executes_at_the_mark_as_taker_when_the_mark_falls_through_its_stop(
    trader, cross_long_with_stop_loss, balanced_ledger
):
    position, stop = cross_long_with_stop_loss
    since, fees_before = last_ledger_pk(), system_account_balance("FEES")
    # when the mark gaps through the stop, to 57,950
    mark_price_set(symbol="BTCUSDT", price="57950")

    report = sweep_run()

    # then the stop sells at the mark (not at its stop), as taker
    assert report.orders_filled == 1
    stop.refresh_from_db()
    assert (stop.status, stop.average_fill_price) == ("FILLED", D("57950"))
    fill = Fill.objects.get(order=stop)
    # fee: 0.1 x 57950 x 0.0005 = 2.8975; realized: 0.1 x (57950 - 60000) = -205
    assert (fill.price, fill.fee, fill.liquidity, fill.realized_pnl) == (
        D("57950"), D("2.8975"), "TAKER", D("-205")
    )  # fmt: skip
    # and the position is closed with exactly that loss
    position.refresh_from_db()
    assert (position.status, position.quantity, position.realized_pnl) == (
        "CLOSED", D(0), D("-205")
    )  # fmt: skip
    assert ledger_rows("memo", after=since) == [
        ("REALIZED_PNL", D("205"), "WALLET", "HOUSE", ""),
        ("FEE", D("2.8975"), "WALLET", "FEES", ""),
    ]
    assert wallet_balance(trader) == D("9789.1025")  # 9997 - 205 - 2.8975
    assert system_account_balance("FEES") - fees_before == D("2.8975")
    notification = Notification.objects.get(user=trader)
    assert notification.kind == "ORDER_FILLED"
    assert notification.message == "Your BTCUSDT stop market sell of 0.1 filled at 57950."


@pytest.fixture
def isolated_long_with_take_profit(trader):
    """An isolated long of 0.1 BTC at 60,000, 20x (margin 300, fee 3; wallet 9697) and a
    reduce-only TAKE_PROFIT_MARKET sell of 0.1 with its stop at 62,000."""
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    position = open_position(trader, "BUY", "0.1")
    order = stop_order(
        trader, "SELL", "TAKE_PROFIT_MARKET", "62000", margin_mode="ISOLATED", reduce_only=True
    )
    assert wallet_balance(trader) == D("9697")
    return position, order


def test_a_take_profit_does_not_execute_below_its_stop(
    trader, isolated_long_with_take_profit, unchanged, balanced_ledger
):
    # when the mark rises to 61,999.9
    mark_price_set(symbol="BTCUSDT", price="61999.9")

    with unchanged():
        sweep_run()


def test_a_take_profit_executes_at_the_mark_when_the_mark_rises_to_its_stop(
    trader, isolated_long_with_take_profit, balanced_ledger
):
    position, take_profit = isolated_long_with_take_profit
    since = last_ledger_pk()
    # when the mark rises to exactly 62,000
    mark_price_set(symbol="BTCUSDT", price="62000")

    report = sweep_run()

    # then the take-profit sells at the mark, as taker
    assert report.orders_filled == 1
    take_profit.refresh_from_db()
    assert take_profit.status == "FILLED"
    fill = Fill.objects.get(order=take_profit)
    # fee: 0.1 x 62000 x 0.0005 = 3.1; realized: 0.1 x (62000 - 60000) = 200
    assert (fill.price, fill.fee, fill.liquidity, fill.realized_pnl) == (
        D("62000"), D("3.1"), "TAKER", D("200")
    )  # fmt: skip
    position.refresh_from_db()
    assert (position.status, position.isolated_margin, position.realized_pnl) == (
        "CLOSED", D(0), D("200")
    )  # fmt: skip
    # the profit from the house, the whole margin back to the wallet, then the fee
    assert ledger_rows("memo", after=since) == [
        ("REALIZED_PNL", D("200"), "HOUSE", "WALLET", ""),
        ("ISOLATED_MARGIN", D("300"), "ISOLATED_MARGIN", "WALLET", "margin released"),
        ("FEE", D("3.1"), "WALLET", "FEES", ""),
    ]
    assert wallet_balance(trader) == D("10193.9")  # 9697 + 200 + 300 - 3.1
    assert Notification.objects.get(user=trader).message == (
        "Your BTCUSDT take profit market sell of 0.1 filled at 62000."
    )


# --- expiry at the trigger --------------------------------------------------------------------


def test_closing_a_position_cancels_its_reduce_only_stop_so_it_never_closes_the_next_one(
    trader, cross_long_with_stop_loss, balanced_ledger
):
    position, stop = cross_long_with_stop_loss
    # when the position is closed at 60,000 (fee 3)
    position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # then its stop is cancelled with it (as exchanges cancel reduce-only orders)
    position.refresh_from_db()
    stop.refresh_from_db()
    assert (position.status, stop.status, stop.margin_held) == ("CLOSED", "CANCELED", D(0))
    assert wallet_balance(trader) == D("9994")
    # and a new long of the same key is not closed when the mark falls through the old stop
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="57950")

    report = sweep_run()

    assert (report.orders_filled, report.orders_expired) == (0, 0)
    assert Position.objects.get(user=trader, status="OPEN").quantity == D("0.1")


def test_closing_a_position_cancels_only_the_reduce_only_orders_of_its_symbol_and_mode(
    trader, cross_long_with_stop_loss, balanced_ledger
):
    _, stop = cross_long_with_stop_loss
    # and an isolated BTC long with its own reduce-only stop, and a plain (not reduce-only) stop
    # of the cross BTC key
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    open_position(trader, "BUY", "0.1", margin_mode="ISOLATED")
    isolated_stop = stop_order(
        trader, "SELL", "STOP_MARKET", "57000", margin_mode="ISOLATED", reduce_only=True
    )
    plain_stop = stop_order(trader, "BUY", "STOP_MARKET", "65000", margin_mode="CROSS")

    # when the cross position is closed
    position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # then only the cross key's reduce-only stop is cancelled
    for order in (stop, isolated_stop, plain_stop):
        order.refresh_from_db()
    assert [(o.status, o.margin_held) for o in (stop, isolated_stop, plain_stop)] == [
        ("CANCELED", D(0)),
        ("NEW", D(0)),
        ("NEW", D(0)),
    ]


def test_an_opening_stop_the_account_can_no_longer_afford_expires_when_it_triggers(
    trader, balanced_ledger
):
    # given a STOP_MARKET buy of 1 BTC isolated at 20x, stop 61,000 (it would need
    # 61000 / 20 = 3050 margin + 30.5 fee = 3080.5; stop orders hold nothing)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED", leverage=20)
    stop = stop_order(trader, "BUY", "STOP_MARKET", "61000", quantity="1", margin_mode="ISOLATED")
    # and then an isolated ETH long of 50 at 3000, 20x: margin 7500, fee 75; wallet 2425
    open_position(trader, "BUY", "50", symbol="ETHUSDT")
    assert wallet_balance(trader) == D("2425")
    since = last_ledger_pk()
    # when BTC rises to the stop
    mark_price_set(symbol="BTCUSDT", price="61000")

    report = sweep_run()

    # then the stop expires instead of opening a position the wallet cannot pay for
    assert (report.orders_filled, report.orders_expired) == (0, 1)
    stop.refresh_from_db()
    assert stop.status == "EXPIRED"
    assert not Position.objects.filter(user=trader, instrument__symbol="BTCUSDT").exists()
    assert ledger_rows("memo", after=since) == []
    assert wallet_balance(trader) == D("2425")
    notification = Notification.objects.get(user=trader)
    assert notification.kind == "ORDER_EXPIRED"
    assert notification.message == (
        f"Your BTCUSDT order {stop.pk} expired when it triggered: Insufficient margin: this "
        "order needs 3,080.5 USDT (initial margin 3,050 + fee 30.5); you have 2,425 USDT "
        "available."
    )


# --- order of the work --------------------------------------------------------------------


def test_a_stop_loss_triggered_in_the_same_sweep_closes_the_position_before_liquidation(
    trader, balanced_ledger
):
    # given a 1 BTC isolated long at 60,000, 20x (margin 3000, fee 30; wallet 6970), liquidation
    # price (3000 + 50 - 60000) / (0.005 - 1) = 57236.18..., with a reduce-only stop-loss at
    # 57,300, above it
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    position = open_position(trader, "BUY", "1")
    stop = stop_order(
        trader, "SELL", "STOP_MARKET", "57300", quantity="1", margin_mode="ISOLATED",
        reduce_only=True,
    )  # fmt: skip
    since = last_ledger_pk()
    # when the mark gaps to 57,200, through the stop and below the liquidation price
    # (margin balance 3000 - 2800 = 200 <= maintenance 57200 x 0.005 - 50 = 236)
    mark_price_set(symbol="BTCUSDT", price="57200")

    report = sweep_run()

    # then the stop executes first, at the mark: the position is CLOSED, not LIQUIDATED
    assert (report.orders_filled, report.isolated_liquidations) == (1, 0)
    position.refresh_from_db()
    stop.refresh_from_db()
    assert stop.status == "FILLED"
    # realized 1 x (57200 - 60000) = -2800 from the margin; the other 200 returns to the wallet;
    # fee 57200 x 0.0005 = 28.6
    assert (position.status, position.realized_pnl, position.isolated_margin) == (
        "CLOSED", D("-2800"), D(0)
    )  # fmt: skip
    assert ledger_rows("memo", after=since) == [
        ("REALIZED_PNL", D("2800"), "ISOLATED_MARGIN", "HOUSE", ""),
        ("ISOLATED_MARGIN", D("200"), "ISOLATED_MARGIN", "WALLET", "margin released"),
        ("FEE", D("28.6"), "WALLET", "FEES", ""),
    ]
    assert wallet_balance(trader) == D("7141.4")  # 6970 + 200 - 28.6
    assert not LiquidationEvent.objects.exists()
