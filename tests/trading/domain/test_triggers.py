"""The trigger rule of a trailing stop (trading/domain/triggers.py): it activates when the mark
reaches its activation price (at once without one), follows the best mark since, and triggers
when the mark comes back its callback rate from it. Pure: no database."""

from decimal import Decimal

import pytest

from trading.domain.triggers import (
    trailing_activation_crossed,
    trailing_extreme_next,
    trailing_stop_price,
    trigger_crossed,
)

D = Decimal


@pytest.mark.parametrize(
    ("side", "activation", "extreme", "mark", "after"),
    [
        ("SELL", None, None, "60000", "60000"),  # no activation price: active at once
        ("SELL", "62000", None, "61999.9", None),  # not reached: still inactive
        ("SELL", "62000", None, "62000", "62000"),  # reached: active from the mark
        ("SELL", "62000", "62500", "62400", "62500"),  # below the high: the high stays
        ("SELL", "62000", "62500", "62600", "62600"),  # a new high
        ("BUY", None, None, "60000", "60000"),
        ("BUY", "58000", None, "58000.1", None),
        ("BUY", "58000", None, "57900", "57900"),
        ("BUY", "58000", "57000", "57100", "57000"),
        ("BUY", "58000", "57000", "56900", "56900"),  # a new low
    ],
)
def test_the_extreme_follows_the_best_mark_once_active(side, activation, extreme, mark, after):
    moved = trailing_extreme_next(
        side=side,
        activation_price=activation and D(activation),
        extreme=extreme and D(extreme),
        mark=D(mark),
    )

    assert moved == (after and D(after))


@pytest.mark.parametrize(
    ("side", "extreme", "rate", "mark", "crossed"),
    [
        ("SELL", "61000", "1", "60390", True),  # 61,000 x 0.99 = 60,390: at the level
        ("SELL", "61000", "1", "60390.1", False),
        ("SELL", None, "1", "1", False),  # never before it is active
        ("BUY", "58000", "2", "59160", True),  # 58,000 x 1.02
        ("BUY", "58000", "2", "59159.9", False),
        ("BUY", "58000", "0.1", "58058", True),
    ],
)
def test_a_trailing_stop_triggers_its_rate_back_from_the_extreme(
    side, extreme, rate, mark, crossed
):
    assert (
        trigger_crossed(
            order_type="TRAILING_STOP_MARKET",
            side=side,
            price=None,
            stop_price=None,
            mark=D(mark),
            trailing_extreme=extreme and D(extreme),
            callback_rate=D(rate),
        )
        is crossed
    )


def test_the_stop_price_is_the_level_it_triggers_at():
    assert trailing_stop_price(side="SELL", extreme=D("61000"), callback_rate=D("1")) == D("60390")
    assert trailing_stop_price(side="BUY", extreme=D("58000"), callback_rate=D("2.5")) == D("59450")


@pytest.mark.parametrize(
    ("side", "activation", "mark", "crossed"),
    [
        ("SELL", "60000", "60000", True),
        ("SELL", "60000.1", "60000", False),
        ("BUY", "60000", "60000", True),
        ("BUY", "59999.9", "60000", False),
    ],
)
def test_an_activation_price_the_mark_has_reached_would_trigger_at_once(
    side, activation, mark, crossed
):
    assert (
        trailing_activation_crossed(side=side, activation_price=D(activation), mark=D(mark))
        is crossed
    )
