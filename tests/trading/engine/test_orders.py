"""What an order costs and what a fill does to the position of its margin mode (one-way mode)."""

from decimal import Decimal

import pytest

from trading.engine import FillResult, OrderCost, Side, order_cost, position_after_fill

FEE_RATE = Decimal("0.0005")


# order_cost


def test_an_opening_order_needs_initial_margin_and_a_fee_on_its_whole_notional():
    cost = order_cost(
        side=Side.LONG,
        quantity=Decimal("0.5"),
        price=Decimal("60000"),
        leverage=20,
        fee_rate=FEE_RATE,
    )

    # notional 0.5 x 60000 = 30000; margin 30000 / 20 = 1500; fee 30000 x 0.0005 = 15
    assert cost == OrderCost(
        opening_quantity=Decimal("0.5"),
        reducing_quantity=Decimal(0),
        opening_notional=Decimal(30000),
        initial_margin=Decimal(1500),
        fee=Decimal(15),
        total=Decimal(1515),
    )


def test_an_order_on_the_side_of_the_position_increases_it_and_costs_like_an_opening_one():
    cost = order_cost(
        side=Side.SHORT,
        quantity=Decimal("2"),
        price=Decimal("3000"),
        leverage=10,
        fee_rate=FEE_RATE,
        position_side=Side.SHORT,
        position_quantity=Decimal("5"),
    )

    # notional 2 x 3000 = 6000; margin 6000 / 10 = 600; fee 6000 x 0.0005 = 3
    assert (cost.opening_quantity, cost.reducing_quantity) == (Decimal(2), Decimal(0))
    assert (cost.initial_margin, cost.fee, cost.total) == (Decimal(600), Decimal(3), Decimal(603))


def test_a_pure_reduction_needs_no_margin_and_no_fee():
    cost = order_cost(
        side=Side.SHORT,
        quantity=Decimal("0.4"),
        price=Decimal("60000"),
        leverage=20,
        fee_rate=FEE_RATE,
        position_side=Side.LONG,
        position_quantity=Decimal("1"),
    )

    assert cost == OrderCost(
        opening_quantity=Decimal(0),
        reducing_quantity=Decimal("0.4"),
        opening_notional=Decimal(0),
        initial_margin=Decimal(0),
        fee=Decimal(0),
        total=Decimal(0),
    )


def test_an_order_that_exactly_closes_the_position_costs_nothing():
    cost = order_cost(
        side=Side.LONG,
        quantity=Decimal("1"),
        price=Decimal("60000"),
        leverage=20,
        fee_rate=FEE_RATE,
        position_side=Side.SHORT,
        position_quantity=Decimal("1"),
    )

    assert (cost.opening_quantity, cost.reducing_quantity) == (Decimal(0), Decimal(1))
    assert cost.total == Decimal(0)


def test_a_flip_pays_margin_and_fee_only_on_the_part_beyond_the_position():
    cost = order_cost(
        side=Side.SHORT,
        quantity=Decimal("1.5"),
        price=Decimal("60000"),
        leverage=20,
        fee_rate=FEE_RATE,
        position_side=Side.LONG,
        position_quantity=Decimal("1"),
    )

    # 1 closes the long; 0.5 opens a short: notional 30000, margin 1500, fee 15
    assert cost == OrderCost(
        opening_quantity=Decimal("0.5"),
        reducing_quantity=Decimal(1),
        opening_notional=Decimal(30000),
        initial_margin=Decimal(1500),
        fee=Decimal(15),
        total=Decimal(1515),
    )


# position_after_fill


def test_a_fill_from_flat_opens_a_position_at_the_fill_price():
    result = position_after_fill(
        position_side=None,
        position_quantity=Decimal(0),
        entry_price=None,
        fill_side=Side.SHORT,
        fill_quantity=Decimal("0.5"),
        fill_price=Decimal("60000"),
    )

    assert result == FillResult(
        side=Side.SHORT,
        quantity=Decimal("0.5"),
        entry_price=Decimal(60000),
        closed_quantity=Decimal(0),
        opened_quantity=Decimal("0.5"),
        realized_pnl=Decimal(0),
    )


def test_an_increase_moves_the_entry_to_the_quantity_weighted_average():
    result = position_after_fill(
        position_side=Side.LONG,
        position_quantity=Decimal("0.3"),
        entry_price=Decimal("60000"),
        fill_side=Side.LONG,
        fill_quantity=Decimal("0.2"),
        fill_price=Decimal("61000"),
    )

    # (0.3 x 60000 + 0.2 x 61000) / 0.5 = (18000 + 12200) / 0.5 = 60400
    assert result == FillResult(
        side=Side.LONG,
        quantity=Decimal("0.5"),
        entry_price=Decimal(60400),
        closed_quantity=Decimal(0),
        opened_quantity=Decimal("0.2"),
        realized_pnl=Decimal(0),
    )


def test_an_increase_with_a_repeating_average_keeps_the_engines_fifty_digits():
    result = position_after_fill(
        position_side=Side.SHORT,
        position_quantity=Decimal("1"),
        entry_price=Decimal("100"),
        fill_side=Side.SHORT,
        fill_quantity=Decimal("2"),
        fill_price=Decimal("101"),
    )

    # (100 + 202) / 3 = 100.666...
    assert result.entry_price == Decimal("100.66666666666666666666666666666666666666666666667")
    assert result.quantity == Decimal(3)


def test_a_partial_reduce_of_a_long_keeps_the_entry_and_realizes_pnl_on_the_closed_part():
    result = position_after_fill(
        position_side=Side.LONG,
        position_quantity=Decimal("1"),
        entry_price=Decimal("60000"),
        fill_side=Side.SHORT,
        fill_quantity=Decimal("0.4"),
        fill_price=Decimal("62000"),
    )

    # +1 x 0.4 x (62000 - 60000) = 800
    assert result == FillResult(
        side=Side.LONG,
        quantity=Decimal("0.6"),
        entry_price=Decimal(60000),
        closed_quantity=Decimal("0.4"),
        opened_quantity=Decimal(0),
        realized_pnl=Decimal(800),
    )


def test_a_partial_reduce_of_a_short_realizes_the_pnl_with_the_shorts_sign():
    result = position_after_fill(
        position_side=Side.SHORT,
        position_quantity=Decimal("1"),
        entry_price=Decimal("60000"),
        fill_side=Side.LONG,
        fill_quantity=Decimal("0.4"),
        fill_price=Decimal("62000"),
    )

    # -1 x 0.4 x (62000 - 60000) = -800: the mark rose against the short
    assert result == FillResult(
        side=Side.SHORT,
        quantity=Decimal("0.6"),
        entry_price=Decimal(60000),
        closed_quantity=Decimal("0.4"),
        opened_quantity=Decimal(0),
        realized_pnl=Decimal(-800),
    )


def test_an_exact_close_leaves_the_position_flat_with_no_side_and_no_entry():
    result = position_after_fill(
        position_side=Side.SHORT,
        position_quantity=Decimal("2"),
        entry_price=Decimal("3000"),
        fill_side=Side.LONG,
        fill_quantity=Decimal("2"),
        fill_price=Decimal("2900"),
    )

    # -1 x 2 x (2900 - 3000) = 200
    assert result == FillResult(
        side=None,
        quantity=Decimal(0),
        entry_price=None,
        closed_quantity=Decimal(2),
        opened_quantity=Decimal(0),
        realized_pnl=Decimal(200),
    )


def test_a_flip_closes_the_position_and_opens_the_remainder_the_other_way_at_the_fill_price():
    result = position_after_fill(
        position_side=Side.LONG,
        position_quantity=Decimal("1"),
        entry_price=Decimal("60000"),
        fill_side=Side.SHORT,
        fill_quantity=Decimal("1.5"),
        fill_price=Decimal("58000"),
    )

    # closed 1: +1 x 1 x (58000 - 60000) = -2000; opened 0.5 short at 58000
    assert result == FillResult(
        side=Side.SHORT,
        quantity=Decimal("0.5"),
        entry_price=Decimal(58000),
        closed_quantity=Decimal(1),
        opened_quantity=Decimal("0.5"),
        realized_pnl=Decimal(-2000),
    )


def test_a_flip_of_a_short_realizes_the_shorts_pnl_and_opens_a_long():
    result = position_after_fill(
        position_side=Side.SHORT,
        position_quantity=Decimal("0.25"),
        entry_price=Decimal("64000"),
        fill_side=Side.LONG,
        fill_quantity=Decimal("1"),
        fill_price=Decimal("60000"),
    )

    # closed 0.25: -1 x 0.25 x (60000 - 64000) = 1000; opened 0.75 long at 60000
    assert result == FillResult(
        side=Side.LONG,
        quantity=Decimal("0.75"),
        entry_price=Decimal(60000),
        closed_quantity=Decimal("0.25"),
        opened_quantity=Decimal("0.75"),
        realized_pnl=Decimal(1000),
    )


def test_a_fill_refuses_a_position_with_a_side_but_no_quantity():
    with pytest.raises(ValueError, match="a position has a side exactly when its quantity"):
        position_after_fill(
            position_side=Side.SHORT,
            position_quantity=Decimal(0),
            entry_price=None,
            fill_side=Side.LONG,
            fill_quantity=Decimal(1),
            fill_price=Decimal(60000),
        )


def test_a_fill_refuses_a_position_with_a_quantity_but_no_side():
    with pytest.raises(ValueError, match="a position has a side exactly when its quantity"):
        position_after_fill(
            position_side=None,
            position_quantity=Decimal(1),
            entry_price=Decimal(60000),
            fill_side=Side.LONG,
            fill_quantity=Decimal(1),
            fill_price=Decimal(60000),
        )
