"""A position's take-profit and stop-loss (close-position orders): set, replaced, cancelled,
refused when the mark has already reached them; at the trigger they close the whole position as
it is then; they are cancelled when the position closes, reverses or is liquidated.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, flat book: a market order fills at the mark),
taker fee 0.05 %, 20x by default; alice has 10,000 USDT.
"""

from decimal import Decimal

import pytest

from marginsite.errors import InvalidInput
from tests.builders import last_ledger_pk, ledger_rows, market_order, open_position, wallet_balance
from trading.errors import (
    ClosePositionExists,
    InvalidPrice,
    NoPosition,
    OrderNotFound,
    ReduceOnlyRejected,
)
from trading.models import Order, Position
from trading.selectors.position_orders import PositionTpsl, position_tpsl_orders
from trading.services import (
    mark_price_set,
    order_place,
    position_close,
    position_tpsl_cancel,
    position_tpsl_set,
    sweep_run,
)

pytestmark = pytest.mark.django_db

D = Decimal


@pytest.fixture
def long_position(trader) -> Position:
    """alice's cross long of 0.1 BTC at 60,000 (fee 3: wallet 9,997)."""
    return open_position(trader, "BUY", "0.1", margin_mode="CROSS")


def close_position_orders(user) -> list[tuple]:
    return list(
        Order.objects.filter(user=user, close_position=True)
        .order_by("pk")
        .values_list("order_type", "side", "quantity", "stop_price", "reduce_only", "status")
    )


def test_a_take_profit_and_a_stop_loss_are_close_position_orders_that_hold_nothing(
    trader, long_position, balanced_ledger
):
    since = last_ledger_pk()

    tpsl = position_tpsl_set(
        user=trader, position_id=long_position.pk, take_profit="66000", stop_loss="57000"
    )

    tp, sl = Order.objects.filter(user=trader, close_position=True).order_by("pk")
    assert tpsl == PositionTpsl(D("66000"), tp.pk, D("57000"), sl.pk)
    assert close_position_orders(trader) == [
        ("TAKE_PROFIT_MARKET", "SELL", D("0.1"), D("66000"), True, "NEW"),
        ("STOP_MARKET", "SELL", D("0.1"), D("57000"), True, "NEW"),
    ]
    assert (tp.margin_held, sl.margin_held) == (0, 0)
    assert ledger_rows(after=since) == []
    assert wallet_balance(trader) == D("9997")


def test_a_new_price_replaces_the_one_set_and_keeps_its_order(trader, long_position):
    first = position_tpsl_set(user=trader, position_id=long_position.pk, take_profit="66000")

    second = position_tpsl_set(user=trader, position_id=long_position.pk, take_profit="67000.5")

    assert second == PositionTpsl(D("67000.5"), first.take_profit_order_id, None, None)
    assert Order.objects.filter(user=trader).count() == 2  # the opening order and the one TP


@pytest.mark.parametrize(
    ("prices", "field", "message"),
    [
        (
            {"take_profit": "60000"},
            "take_profit",
            "A long's take-profit must be above the mark price 60000: at 60000 it would "
            "trigger at once.",
        ),
        (
            {"take_profit": "66000", "stop_loss": "60500"},
            "stop_loss",
            "A long's stop-loss must be below the mark price 60000: at 60500 it would trigger "
            "at once.",
        ),
    ],
    ids=["take-profit-at-the-mark", "stop-loss-above-the-mark"],
)
def test_a_price_the_mark_has_reached_is_refused_and_nothing_is_set(
    trader, long_position, prices, field, message, unchanged
):
    with unchanged(), pytest.raises(InvalidPrice) as refused:
        position_tpsl_set(user=trader, position_id=long_position.pk, **prices)

    assert (refused.value.field, refused.value.reason, refused.value.message) == (
        field,
        "WOULD_TRIGGER_IMMEDIATELY",
        message,
    )


def test_a_shorts_take_profit_is_below_the_mark(trader):
    short = open_position(trader, "SELL", "0.1", margin_mode="CROSS")

    with pytest.raises(InvalidPrice, match="A short's take-profit must be below the mark"):
        position_tpsl_set(user=trader, position_id=short.pk, take_profit="61000")
    tpsl = position_tpsl_set(user=trader, position_id=short.pk, take_profit="55000")

    assert close_position_orders(trader) == [
        ("TAKE_PROFIT_MARKET", "BUY", D("0.1"), D("55000"), True, "NEW")
    ]
    assert tpsl.take_profit == D("55000")


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({}, InvalidInput, "take_profit"),
        ({"take_profit": "66000.05"}, InvalidPrice, "take_profit"),
        ({"stop_loss": "-1"}, InvalidPrice, "stop_loss"),
    ],
    ids=["no-price", "off-tick", "negative"],
)
def test_bad_prices_are_refused(trader, long_position, arguments, error, field, unchanged):
    with unchanged(), pytest.raises(error) as refused:
        position_tpsl_set(user=trader, position_id=long_position.pk, **arguments)

    assert refused.value.field == field


def test_another_users_position_is_not_found(make_trader, long_position, unchanged):
    bob = make_trader("bob")

    with unchanged(), pytest.raises(NoPosition):
        position_tpsl_set(user=bob, position_id=long_position.pk, take_profit="66000")


def test_a_closed_position_takes_no_take_profit(trader, long_position, unchanged):
    position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    with unchanged(), pytest.raises(NoPosition, match="no longer open"):
        position_tpsl_set(user=trader, position_id=long_position.pk, take_profit="66000")


def test_cancel_one_leaves_the_other(trader, long_position):
    set_ = position_tpsl_set(
        user=trader, position_id=long_position.pk, take_profit="66000", stop_loss="57000"
    )

    left = position_tpsl_cancel(user=trader, position_id=long_position.pk, which="take_profit")

    assert left == PositionTpsl(None, None, D("57000"), set_.stop_loss_order_id)
    assert Order.objects.get(pk=set_.take_profit_order_id).status == "CANCELED"


def test_cancelling_what_is_not_set_is_refused(trader, long_position, unchanged):
    position_tpsl_set(user=trader, position_id=long_position.pk, stop_loss="57000")

    with unchanged(), pytest.raises(OrderNotFound, match="has no take-profit to cancel"):
        position_tpsl_cancel(user=trader, position_id=long_position.pk, which="take_profit")
    with unchanged(), pytest.raises(InvalidInput, match="Which must be one of"):
        position_tpsl_cancel(user=trader, position_id=long_position.pk, which="all")


def test_the_take_profit_closes_the_whole_position_as_it_is_when_it_triggers(
    trader, long_position, balanced_ledger
):
    # given a take-profit at 66,000 set on 0.1 BTC, then the position doubled (fee 3 more)
    tpsl = position_tpsl_set(
        user=trader, position_id=long_position.pk, take_profit="66000", stop_loss="57000"
    )
    market_order(trader, "BUY", "0.1")
    since = last_ledger_pk()

    # when the mark reaches it
    mark_price_set(symbol="BTCUSDT", price="66000")
    report = sweep_run()

    # then it closes all 0.2: PnL 0.2 x 6,000 = 1,200, fee 0.2 x 66,000 x 0.0005 = 6.6
    assert (report.orders_filled, report.orders_expired) == (1, 0)
    take_profit = Order.objects.get(pk=tpsl.take_profit_order_id)
    assert (take_profit.status, take_profit.quantity, take_profit.filled_quantity) == (
        "FILLED",
        D("0.2"),
        D("0.2"),
    )
    assert ledger_rows(after=since) == [
        ("REALIZED_PNL", D("1200"), "HOUSE", "WALLET"),
        ("FEE", D("6.6"), "WALLET", "FEES"),
    ]
    assert wallet_balance(trader) == D("11187.4")  # 10,000 - 3 - 3 + 1,200 - 6.6
    assert not Position.objects.filter(user=trader, status="OPEN").exists()
    # and the stop-loss, left without a position, is cancelled
    assert Order.objects.get(pk=tpsl.stop_loss_order_id).status == "CANCELED"


def test_closing_the_position_cancels_its_take_profit_and_stop_loss(trader, long_position):
    position_tpsl_set(
        user=trader, position_id=long_position.pk, take_profit="66000", stop_loss="57000"
    )

    position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    assert [row[-1] for row in close_position_orders(trader)] == ["CANCELED", "CANCELED"]


def test_a_liquidation_cancels_its_take_profit_and_stop_loss(trader):
    # an isolated long of 1 BTC at 20x (margin 3,000), liquidated at 57,200 (MM 236 > 200)
    position = open_position(trader, "BUY", "1", leverage=20)
    position_tpsl_set(user=trader, position_id=position.pk, take_profit="70000", stop_loss="50000")

    mark_price_set(symbol="BTCUSDT", price="57200")
    report = sweep_run()

    assert report.isolated_liquidations == 1
    assert [row[-1] for row in close_position_orders(trader)] == ["CANCELED", "CANCELED"]


def test_the_take_profits_of_both_modes_stay_apart(trader, long_position):
    isolated = open_position(trader, "SELL", "0.1")

    position_tpsl_set(user=trader, position_id=long_position.pk, take_profit="66000")
    position_tpsl_set(user=trader, position_id=isolated.pk, take_profit="55000")

    tpsl = position_tpsl_orders(user=trader, positions=[long_position, isolated])
    assert (tpsl[long_position.pk].take_profit, tpsl[isolated.pk].take_profit) == (
        D("66000"),
        D("55000"),
    )


def test_the_tpsl_of_many_positions_are_read_in_one_query(
    trader, long_position, django_assert_num_queries
):
    eth = open_position(trader, "BUY", "1", symbol="ETHUSDT", margin_mode="CROSS")
    position_tpsl_set(user=trader, position_id=eth.pk, stop_loss="2900")

    with django_assert_num_queries(1):
        tpsl = position_tpsl_orders(user=trader, positions=[long_position, eth])

    assert tpsl[long_position.pk] == PositionTpsl()
    assert tpsl[eth.pk].stop_loss == D("2900")


# --- close-position orders placed as orders -----------------------------------------------


def test_a_second_close_position_order_of_a_type_is_refused(trader, long_position, unchanged):
    position_tpsl_set(user=trader, position_id=long_position.pk, stop_loss="57000")

    with unchanged(), pytest.raises(ClosePositionExists) as refused:
        order_place(
            user=trader, symbol="BTCUSDT", side="SELL", quantity=None, order_type="STOP_MARKET",
            stop_price="56000", margin_mode="CROSS", close_position=True,
        )  # fmt: skip

    assert refused.value.message.startswith(
        "This BTCUSDT Cross position already has a stop-loss (order "
    )


@pytest.mark.parametrize(
    ("arguments", "error", "field"),
    [
        ({"quantity": "0.1"}, InvalidInput, "quantity"),
        ({"order_type": "MARKET", "stop_price": None}, InvalidInput, "close_position"),
        ({"side": "BUY"}, ReduceOnlyRejected, "reduce_only"),
    ],
    ids=["with-a-quantity", "not-a-stop", "on-the-wrong-side"],
)
def test_close_position_orders_that_make_no_sense_are_refused(
    trader, long_position, arguments, error, field, unchanged
):
    order = {
        "side": "SELL", "quantity": None, "order_type": "STOP_MARKET", "stop_price": "57000",
        "margin_mode": "CROSS", "close_position": True, **arguments,
    }  # fmt: skip

    with unchanged(), pytest.raises(error) as refused:
        order_place(user=trader, symbol="BTCUSDT", **order)

    assert refused.value.field == field
