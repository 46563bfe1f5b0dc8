"""Trailing stops (TRAILING_STOP_MARKET) in the sweep: the set-based update follows the best
mark once the stop is active, and the trigger executes it at market when the mark comes back its
callback rate; the refusals of a new one; and the SQL of the rule agrees with its Python.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, flat book: a market order fills at the mark),
taker fee 0.05 %; alice has 10,000 USDT.
"""

import itertools
from decimal import Decimal

import pytest
from django.db import connection

from marginsite.errors import InvalidInput
from tests.builders import last_ledger_pk, ledger_rows, open_position, wallet_balance
from trading.domain.triggers import (
    trailing_extreme_next,
    trailing_moves_sql,
    trigger_crossed,
    triggers_sql,
)
from trading.errors import InvalidPrice
from trading.models import Order, Position
from trading.services import mark_price_set, order_place, sweep_run

pytestmark = pytest.mark.django_db

D = Decimal


def trailing(user, side, callback_rate, *, quantity="0.1", **options) -> Order:
    return order_place(
        user=user, symbol="BTCUSDT", side=side, quantity=quantity,
        order_type="TRAILING_STOP_MARKET", callback_rate=callback_rate, margin_mode="CROSS",
        **options,
    )  # fmt: skip


def tick(price: str):
    mark_price_set(symbol="BTCUSDT", price=price)
    return sweep_run()


def test_a_sell_trailing_stop_follows_the_high_and_closes_the_long_1_percent_below_it(
    trader, balanced_ledger
):
    # given a cross long of 0.1 at 60,000 (fee 3) and a reduce-only trailing sell, 1 %, that
    # starts at the mark
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")
    order = trailing(trader, "SELL", "1", reduce_only=True)
    assert (order.status, order.trailing_extreme, order.margin_held) == ("NEW", D("60000"), 0)

    # when the mark rises to 61,000, then falls to 60,400 (above 61,000 x 0.99 = 60,390)
    tick("61000")
    report = tick("60400")

    # then it follows the high and has not triggered
    order.refresh_from_db()
    assert (order.status, order.trailing_extreme, report.orders_filled) == ("NEW", D("61000"), 0)

    # when the mark reaches 60,390
    since = last_ledger_pk()
    report = tick("60390")

    # then it sells the 0.1 at 60,390: PnL 0.1 x 390 = 39, fee 6,039 x 0.0005 = 3.0195
    order.refresh_from_db()
    assert (report.orders_filled, order.status, order.average_fill_price) == (
        1,
        "FILLED",
        D("60390"),
    )
    assert ledger_rows(after=since) == [
        ("REALIZED_PNL", D("39"), "HOUSE", "WALLET"),
        ("FEE", D("3.0195"), "WALLET", "FEES"),
    ]
    assert wallet_balance(trader) == D("10032.9805")  # 10,000 - 3 + 39 - 3.0195
    assert not Position.objects.filter(user=trader, status="OPEN").exists()


def test_a_trailing_stop_with_an_activation_price_waits_for_it(trader):
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")
    order = trailing(trader, "SELL", "1", reduce_only=True, activation_price="62000")
    assert order.trailing_extreme is None

    # a fall before activation does not trigger it
    assert tick("58000").orders_filled == 0
    order.refresh_from_db()
    assert order.trailing_extreme is None

    # the activation price reached: it trails from there, and triggers at 62,000 x 0.99
    tick("62000")
    order.refresh_from_db()
    assert order.trailing_extreme == D("62000")
    assert tick("61380.1").orders_filled == 0
    assert tick("61380").orders_filled == 1


def test_a_buy_trailing_stop_follows_the_low_and_closes_the_short(trader):
    open_position(trader, "SELL", "0.1", margin_mode="CROSS")
    order = trailing(trader, "BUY", "2", reduce_only=True)

    tick("58000")
    assert tick("59159.9").orders_filled == 0
    report = tick("59160")  # 58,000 x 1.02

    order.refresh_from_db()
    assert (report.orders_filled, order.status, order.trailing_extreme) == (
        1,
        "FILLED",
        D("58000"),
    )


def test_a_trailing_stop_that_is_not_reduce_only_opens_a_position(trader):
    order = trailing(trader, "BUY", "0.5")

    tick("59000")
    tick("59295")  # 59,000 x 1.005

    order.refresh_from_db()
    assert order.status == "FILLED"
    position = Position.objects.get(user=trader, status="OPEN")
    assert (position.side, position.quantity, position.entry_price) == (
        "LONG",
        D("0.1"),
        D("59295"),
    )


@pytest.mark.parametrize(
    ("options", "error", "field", "reason"),
    [
        ({"callback_rate": "1", "activation_price": "60000"}, InvalidPrice, "activation_price",
         "WOULD_TRIGGER_IMMEDIATELY"),
        ({"callback_rate": "0.05"}, InvalidInput, "callback_rate", None),
        ({"callback_rate": "10.1"}, InvalidInput, "callback_rate", None),
        ({"callback_rate": "0.15"}, InvalidInput, "callback_rate", None),
        ({"callback_rate": None}, InvalidInput, "callback_rate", None),
        ({"callback_rate": "1", "stop_price": "59000"}, InvalidPrice, "stop_price", "NOT_TAKEN"),
        ({"callback_rate": "1", "activation_price": "60000.05"}, InvalidPrice,
         "activation_price", "OFF_TICK"),
    ],
    ids=[
        "activation-reached", "rate-too-small", "rate-too-large", "rate-off-step", "no-rate",
        "stop-price", "activation-off-tick",
    ],
)  # fmt: skip
def test_a_bad_trailing_stop_is_refused(trader, options, error, field, reason, unchanged):
    with unchanged(), pytest.raises(error) as refused:
        order_place(
            user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1",
            order_type="TRAILING_STOP_MARKET", **options,
        )  # fmt: skip

    assert (refused.value.field, refused.value.reason) == (field, reason)


def test_another_order_type_takes_no_callback_rate(trader, unchanged):
    with unchanged(), pytest.raises(InvalidInput, match="takes no callback_rate"):
        order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", callback_rate="1")


# --- the SQL is the Python rule ------------------------------------------------------------

SIDES = ("BUY", "SELL")
PRICES = (None, D("59000"), D("60000"), D("61000"))
MARKS = (D("58410"), D("59000"), D("60000"), D("60390"), D("61000"), D("61610"))


def _sql_holds(condition: str, side, activation, extreme, rate, mark) -> bool:
    """``condition`` evaluated by PostgreSQL over one order row and one mark row."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT COALESCE(({condition}), false) FROM
            (VALUES ('TRAILING_STOP_MARKET', %s, NULL::numeric, NULL::numeric, %s::numeric,
                     %s::numeric, %s::numeric))
                AS o(order_type, side, price, stop_price, activation_price, trailing_extreme,
                     callback_rate),
            (VALUES (%s::numeric)) AS mark(price)
            """,
            [side, activation, extreme, rate, mark],
        )
        return cursor.fetchone()[0]


def test_the_sql_of_the_trailing_rule_agrees_with_its_python():
    disagreements = []
    for side, activation, extreme, mark in itertools.product(SIDES, PRICES, PRICES, MARKS):
        rate = D("1")
        moved = trailing_extreme_next(
            side=side, activation_price=activation, extreme=extreme, mark=mark
        )
        moves = _sql_holds(trailing_moves_sql(order="o", mark="mark"), side, activation,
                           extreme, rate, mark)  # fmt: skip
        crossed = trigger_crossed(
            order_type="TRAILING_STOP_MARKET", side=side, price=None, stop_price=None,
            mark=mark, trailing_extreme=extreme, callback_rate=rate,
        )  # fmt: skip
        triggers = _sql_holds(triggers_sql(order="o", mark="mark"), side, activation, extreme,
                              rate, mark)  # fmt: skip
        if (moves, triggers) != (moved == mark, crossed):
            disagreements.append((side, activation, extreme, mark))

    assert disagreements == []
