"""What the engine refuses at the door (floats, non-finite or non-positive sizes and prices, bad
sides and leverages), and that its results never depend on the caller's Decimal context."""

from dataclasses import replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal, Inexact, Rounded, localcontext

import pytest

from trading.engine import (
    Bracket,
    CrossHolding,
    IsolatedHolding,
    PositionState,
    Side,
    account_figures,
    bracket_for,
    cross_liquidation_price,
    initial_margin,
    isolated_bankruptcy_price,
    isolated_liquidation_price,
    leverage_check,
    liquidation_price_for_display,
    maintenance_margin,
    margin_ratio,
    max_notional_at_leverage,
    max_removable_isolated_margin,
    order_cost,
    position_after_fill,
    unrealized_pnl,
)

BRACKETS = (
    Bracket(Decimal(0), Decimal(50000), 125, Decimal("0.004"), Decimal(0)),
    Bracket(Decimal(50000), Decimal(600000), 100, Decimal("0.005"), Decimal(50)),
)
LONG = PositionState(Side.LONG, Decimal("1"), Decimal("60000"), Decimal("58000"), BRACKETS)
SHORT_NEIGHBOUR = PositionState(
    Side.SHORT, Decimal("2"), Decimal("3000"), Decimal("3100"), BRACKETS
)


def order(**changes):
    arguments = {
        "side": Side.LONG,
        "quantity": Decimal("1"),
        "price": Decimal("60000"),
        "leverage": 10,
        "fee_rate": Decimal("0.0005"),
    }
    return order_cost(**(arguments | changes))


def fill(**changes):
    arguments = {
        "position_side": Side.LONG,
        "position_quantity": Decimal("1"),
        "entry_price": Decimal("60000"),
        "fill_side": Side.SHORT,
        "fill_quantity": Decimal("0.4"),
        "fill_price": Decimal("62000"),
    }
    return position_after_fill(**(arguments | changes))


# floats


@pytest.mark.parametrize("field", ["quantity", "entry_price", "mark_price"])
def test_a_position_refuses_a_float_quantity_or_price(field):
    with pytest.raises(TypeError, match=f"{field} must be a Decimal, not float"):
        replace(LONG, **{field: 1.5})


@pytest.mark.parametrize(
    "field", ["notional_floor", "notional_cap", "maintenance_margin_rate", "maintenance_amount"]
)
def test_a_bracket_refuses_float_figures(field):
    with pytest.raises(TypeError, match=f"{field} must be a Decimal, not float"):
        replace(BRACKETS[1], **{field: 0.5})


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: isolated_liquidation_price(LONG, isolated_margin=3000.0), id="iso LP"),
        pytest.param(
            lambda: isolated_bankruptcy_price(LONG, isolated_margin=3000.0), id="bankruptcy"
        ),
        pytest.param(
            lambda: max_removable_isolated_margin(LONG, isolated_margin=3000.0, leverage=10),
            id="max removable",
        ),
        pytest.param(
            lambda: cross_liquidation_price(LONG, wallet_balance=20000.0, others=[]), id="cross LP"
        ),
        pytest.param(lambda: IsolatedHolding(LONG, 3000.0, 10), id="isolated holding"),
        pytest.param(lambda: account_figures(wallet_balance=20000.0), id="wallet"),
        pytest.param(
            lambda: account_figures(wallet_balance=Decimal(1), open_order_margin=1.0),
            id="open order margin",
        ),
        pytest.param(lambda: initial_margin(58000.0, 10), id="notional"),
        pytest.param(lambda: bracket_for(BRACKETS, 58000.0), id="bracket_for"),
        pytest.param(
            lambda: leverage_check(BRACKETS, notional=58000.0, leverage=10), id="leverage_check"
        ),
    ],
)
def test_margins_balances_and_notionals_refuse_floats(call):
    with pytest.raises(TypeError, match="must be a Decimal, not float"):
        call()


@pytest.mark.parametrize("field", ["quantity", "price", "fee_rate"])
def test_order_cost_refuses_floats(field):
    with pytest.raises(TypeError, match=f"{field} must be a Decimal, not float"):
        order(**{field: 1.5})


@pytest.mark.parametrize("field", ["fill_quantity", "fill_price", "entry_price"])
def test_position_after_fill_refuses_floats(field):
    with pytest.raises(TypeError, match=f"{field} must be a Decimal, not float"):
        fill(**{field: 1.5})


def test_display_refuses_a_float_tick_size():
    with pytest.raises(TypeError, match="tick_size must be a Decimal, not float"):
        liquidation_price_for_display(Decimal("100.2"), side=Side.LONG, tick_size=0.1)


# non-finite, zero, negative


@pytest.mark.parametrize("value", ["NaN", "sNaN", "Infinity", "-Infinity", "0", "-0.001"])
def test_a_position_refuses_a_quantity_that_is_not_a_positive_finite_number(value):
    with pytest.raises(ValueError, match="quantity must"):
        replace(LONG, quantity=Decimal(value))


@pytest.mark.parametrize("field", ["entry_price", "mark_price"])
@pytest.mark.parametrize("value", ["NaN", "Infinity", "0", "-1"])
def test_a_position_refuses_a_price_that_is_not_a_positive_finite_number(field, value):
    with pytest.raises(ValueError, match=f"{field} must"):
        replace(LONG, **{field: Decimal(value)})


@pytest.mark.parametrize("value", ["NaN", "Infinity", "0", "-1"])
def test_orders_and_fills_refuse_a_quantity_that_is_not_a_positive_finite_number(value):
    with pytest.raises(ValueError, match="quantity must"):
        order(quantity=Decimal(value))
    with pytest.raises(ValueError, match="fill_quantity must"):
        fill(fill_quantity=Decimal(value))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-0.01"])
def test_isolated_margin_must_be_a_finite_non_negative_number(value):
    with pytest.raises(ValueError, match="isolated_margin must"):
        isolated_liquidation_price(LONG, isolated_margin=Decimal(value))
    with pytest.raises(ValueError, match="isolated_margin must"):
        IsolatedHolding(LONG, Decimal(value), 10)


def test_a_wallet_balance_in_cross_may_be_negative_but_not_infinite():
    # tier 2: (-100 + 50 - 60000) / (0.005 - 1) = 60050 / 0.995, above the mark 58000
    assert cross_liquidation_price(LONG, wallet_balance=Decimal(-100), others=[]) == Decimal(
        "60351.758793969849246231155778894472361809045226131"
    )
    with pytest.raises(ValueError, match="wallet_balance must be a finite number"):
        cross_liquidation_price(LONG, wallet_balance=Decimal("Infinity"), others=[])


# side


@pytest.mark.parametrize(("given", "side"), [(1, Side.LONG), (-1, Side.SHORT)])
def test_a_position_accepts_the_side_as_an_int_and_holds_it_as_a_side(given, side):
    position = replace(LONG, side=given)

    assert position.side is side
    # -1 x 1 x (58000 - 60000) = 2000 for the short
    assert unrealized_pnl(position) == side * Decimal(-2000)


@pytest.mark.parametrize("side", [0, 2, -2])
def test_a_position_refuses_a_side_other_than_plus_or_minus_one(side):
    with pytest.raises(ValueError, match="is not a valid Side"):
        replace(LONG, side=side)


def test_a_fill_accepts_int_sides_and_reports_a_side():
    result = fill(position_side=1, fill_side=-1, fill_quantity=Decimal("1.5"))

    assert result.side is Side.SHORT
    assert result.quantity == Decimal("0.5")


def test_a_fill_refuses_side_zero():
    with pytest.raises(ValueError, match="is not a valid Side"):
        fill(fill_side=0)


def test_an_order_accepts_int_sides():
    cost = order(side=-1, position_side=1, position_quantity=Decimal("0.4"))

    assert (cost.reducing_quantity, cost.opening_quantity) == (Decimal("0.4"), Decimal("0.6"))


def test_an_order_refuses_side_zero_even_from_flat():
    with pytest.raises(ValueError, match="is not a valid Side"):
        order(side=0)


def test_display_refuses_side_zero():
    with pytest.raises(ValueError, match="is not a valid Side"):
        liquidation_price_for_display(Decimal("100.2"), side=0, tick_size=Decimal("0.1"))


# leverage


@pytest.mark.parametrize(
    ("leverage", "error"),
    [(True, TypeError), (10.0, TypeError), (Decimal(10), TypeError), (0, ValueError)],
)
def test_leverage_must_be_an_int_of_at_least_one(leverage, error):
    with pytest.raises(error, match="leverage must"):
        initial_margin(Decimal(58000), leverage)
    with pytest.raises(error, match="leverage must"):
        max_removable_isolated_margin(LONG, isolated_margin=Decimal(3000), leverage=leverage)
    with pytest.raises(error, match="leverage must"):
        CrossHolding(LONG, leverage)
    with pytest.raises(error, match="leverage must"):
        IsolatedHolding(LONG, Decimal(3000), leverage)
    with pytest.raises(error, match="leverage must"):
        order(leverage=leverage)
    with pytest.raises(error, match="leverage must"):
        max_notional_at_leverage(BRACKETS, leverage)
    with pytest.raises(error, match="leverage must"):
        leverage_check(BRACKETS, notional=Decimal(1), leverage=leverage)


def test_a_bracket_refuses_a_bool_max_leverage():
    with pytest.raises(TypeError, match="leverage must be an int, not bool"):
        replace(BRACKETS[0], max_leverage=True)


def test_leverage_one_is_allowed():
    # 58000 / 1
    assert initial_margin(Decimal(58000), 1) == Decimal(58000)


# the caller's Decimal context


def all_results():
    isolated = IsolatedHolding(LONG, Decimal(3000), 20)
    cross = CrossHolding(SHORT_NEIGHBOUR, 7)
    return (
        isolated_liquidation_price(LONG, isolated_margin=Decimal(3000)),
        cross_liquidation_price(LONG, wallet_balance=Decimal(20000), others=[SHORT_NEIGHBOUR]),
        isolated_bankruptcy_price(LONG, isolated_margin=Decimal(3001)),
        max_removable_isolated_margin(LONG, isolated_margin=Decimal("3333.33"), leverage=7),
        maintenance_margin(LONG),
        initial_margin(Decimal(58000), 7),
        account_figures(
            wallet_balance=Decimal("20000.01"), cross_holdings=[cross], isolated_holdings=[isolated]
        ),
        order(quantity=Decimal("0.333"), leverage=7),
        fill(position_side=Side.SHORT, fill_side=Side.SHORT, fill_price=Decimal("61111.11")),
        liquidation_price_for_display(
            Decimal("57236.180904522613065326633165829145728643216080402"),
            side=Side.LONG,
            tick_size=Decimal("0.1"),
        ),
    )


def test_a_liquidation_price_is_the_same_under_a_five_digit_caller_context():
    expected = Decimal("57236.180904522613065326633165829145728643216080402")

    with localcontext(prec=5, rounding=ROUND_DOWN):
        price = isolated_liquidation_price(LONG, isolated_margin=Decimal(3000))

    assert price == expected


@pytest.mark.parametrize(
    "context",
    [
        {"prec": 5},
        {"prec": 28, "rounding": ROUND_UP},
        {"prec": 100},
        {"traps": [Inexact, Rounded]},
    ],
    ids=["prec 5", "round up", "prec 100", "inexact and rounded trapped"],
)
def test_every_result_is_identical_whatever_the_callers_decimal_context(context):
    expected = all_results()

    with localcontext(**context):
        results = all_results()

    assert results == expected
    assert [repr(result) for result in results] == [repr(result) for result in expected]


def test_margin_ratio_is_identical_whatever_the_callers_decimal_context():
    expected = margin_ratio(Decimal(240), Decimal(13180))

    with localcontext(prec=5):
        ratio = margin_ratio(Decimal(240), Decimal(13180))

    assert ratio == expected
    # 240 / 13180 to the engine's 50 digits
    assert expected == Decimal("0.018209408194233687405159332321699544764795144157815")


@pytest.mark.parametrize("side", [True, 1.0, "1"])
def test_a_position_refuses_a_side_that_is_not_the_int_1_or_minus_1(side):
    with pytest.raises(TypeError, match="side must be 1 \\(long\\) or -1 \\(short\\)"):
        PositionState(side, Decimal("1"), Decimal("60000"), Decimal("60000"), BRACKETS)


@pytest.mark.parametrize("side", [True, 1.0])
def test_an_order_and_a_fill_refuse_a_bool_or_float_side(side):
    with pytest.raises(TypeError, match="side must be"):
        order(side=side)
    with pytest.raises(TypeError, match="side must be"):
        fill(fill_side=side)


def test_an_order_refuses_a_position_with_a_quantity_but_no_side():
    with pytest.raises(ValueError, match="a position has a side exactly when its quantity"):
        order(position_side=None, position_quantity=Decimal("0.5"))


def test_an_order_refuses_a_position_with_a_side_but_no_quantity():
    with pytest.raises(ValueError, match="a position has a side exactly when its quantity"):
        order(position_side=Side.SHORT, position_quantity=Decimal("0"))


@pytest.mark.parametrize("holding", [CrossHolding, IsolatedHolding])
def test_a_holding_refuses_anything_but_a_position_state(holding):
    arguments = ("BTCUSDT", 10) if holding is CrossHolding else ("BTCUSDT", Decimal(1), 10)

    with pytest.raises(TypeError, match="position must be a PositionState, not str"):
        holding(*arguments)


def test_account_figures_show_a_wallet_below_zero_instead_of_refusing_it():
    figures = account_figures(wallet_balance=Decimal("-5"))

    assert figures.cross_margin_balance == Decimal(-5)
    assert figures.available_balance == Decimal(-5)
    assert figures.equity == Decimal(0)
