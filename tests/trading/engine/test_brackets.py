"""Leverage brackets: which tier a notional falls in, the notional a leverage allows, and what
makes a bracket table valid."""

import re
from dataclasses import replace
from decimal import Decimal

import pytest

from tests.trading.engine.reference_tables import BTCUSDT, ETHUSDT
from trading.engine import (
    Bracket,
    LeverageTooHigh,
    PositionState,
    Side,
    bracket_for,
    brackets_from_rows,
    brackets_validate,
    leverage_check,
    maintenance_margin,
    max_notional_at_leverage,
)


def valid_three_tier_table():
    # amounts follow amount_i = amount_(i-1) + floor_i x (rate_i - rate_(i-1)):
    # 0; 0 + 1000 x (0.01 - 0.004) = 6; 6 + 5000 x (0.02 - 0.01) = 56
    return (
        Bracket(Decimal(0), Decimal(1000), 50, Decimal("0.004"), Decimal(0)),
        Bracket(Decimal(1000), Decimal(5000), 20, Decimal("0.01"), Decimal(6)),
        Bracket(Decimal(5000), Decimal(20000), 10, Decimal("0.02"), Decimal(56)),
    )


# bracket_for


@pytest.mark.parametrize(
    ("notional", "tier"),
    [
        ("0", 1),
        ("50000", 2),
        ("600000", 3),
        ("3000000", 4),
        ("1200000000", 12),
    ],
)
def test_bracket_for_a_notional_on_a_floor_is_the_tier_that_starts_there(notional, tier):
    assert bracket_for(BTCUSDT, Decimal(notional)) is BTCUSDT[tier - 1]


@pytest.mark.parametrize(
    ("notional", "tier"),
    [
        ("0.01", 1),
        ("49999.99", 1),
        ("50000.01", 2),
        ("599999.99", 2),
        ("1000000", 3),
        ("85000000", 6),
        ("1799999999.99", 12),
    ],
)
def test_bracket_for_a_notional_inside_a_tier_is_that_tier(notional, tier):
    assert bracket_for(BTCUSDT, Decimal(notional)) is BTCUSDT[tier - 1]


@pytest.mark.parametrize("notional", ["1800000000", "1800000000.01", "99999999999"])
def test_bracket_for_a_notional_at_or_beyond_the_last_cap_is_the_last_tier(notional):
    assert bracket_for(BTCUSDT, Decimal(notional)) is BTCUSDT[-1]


# max_notional_at_leverage


@pytest.mark.parametrize(
    ("leverage", "cap"),
    [
        (125, "50000"),
        (101, "50000"),
        (100, "600000"),
        (75, "3000000"),
        (20, "100000000"),
        (1, "1800000000"),
        (126, "0"),
    ],
)
def test_max_notional_at_leverage_is_the_cap_of_the_highest_tier_allowing_it(leverage, cap):
    assert max_notional_at_leverage(BTCUSDT, leverage) == Decimal(cap)


# leverage_check


def test_leverage_check_passes_a_position_exactly_at_the_cap():
    leverage_check(BTCUSDT, notional=Decimal("50000"), leverage=125)
    leverage_check(BTCUSDT, notional=Decimal("600000"), leverage=100)


def test_leverage_check_refuses_a_position_just_above_the_cap_and_names_the_cap():
    with pytest.raises(LeverageTooHigh, match=re.escape("50,000 USDT")) as refused:
        leverage_check(BTCUSDT, notional=Decimal("50000.01"), leverage=125)

    assert "125x" in str(refused.value)
    assert "50,000.01 USDT" in str(refused.value)


def test_leverage_too_high_is_a_value_error_so_callers_can_treat_it_as_bad_input():
    assert issubclass(LeverageTooHigh, ValueError)


def test_leverage_check_refuses_leverage_above_the_tables_maximum_even_for_a_tiny_position():
    with pytest.raises(LeverageTooHigh, match=re.escape("above the maximum of 125x")):
        leverage_check(BTCUSDT, notional=Decimal("1"), leverage=126)


# brackets_validate


@pytest.mark.parametrize("brackets", [BTCUSDT, ETHUSDT], ids=["BTCUSDT_2024", "ETHUSDT_2024"])
def test_brackets_validate_accepts_the_2024_binance_tables(brackets):
    assert brackets_validate(brackets) is None


def test_brackets_validate_accepts_a_valid_three_tier_table():
    assert brackets_validate(valid_three_tier_table()) is None


def test_brackets_validate_rejects_a_gap_between_tiers():
    first, second, third = valid_three_tier_table()
    # tier 2 starts at 1100, not 1000; amounts re-derived so only the gap is wrong:
    # 0 + 1100 x 0.006 = 6.6; 6.6 + 5000 x 0.01 = 56.6
    second = replace(second, notional_floor=Decimal(1100), maintenance_amount=Decimal("6.6"))
    third = replace(third, maintenance_amount=Decimal("56.6"))

    with pytest.raises(ValueError, match="bracket 2 must start where bracket 1 ends"):
        brackets_validate((first, second, third))


def test_brackets_validate_rejects_a_first_floor_other_than_zero():
    first, second, third = valid_three_tier_table()

    with pytest.raises(ValueError, match="first bracket must start at a notional of 0"):
        brackets_validate((replace(first, notional_floor=Decimal(10)), second, third))


def test_brackets_validate_rejects_a_falling_maintenance_margin_rate():
    first, second, third = valid_three_tier_table()
    # tier 2 rate 0.002 < 0.004; amounts re-derived so only the rate is wrong:
    # 0 + 1000 x (0.002 - 0.004) = -2; -2 + 5000 x (0.02 - 0.002) = 88
    second = replace(
        second, maintenance_margin_rate=Decimal("0.002"), maintenance_amount=Decimal(-2)
    )
    third = replace(third, maintenance_amount=Decimal(88))

    with pytest.raises(ValueError, match="bracket 2 must have a higher maintenance margin rate"):
        brackets_validate((first, second, third))


def test_brackets_validate_rejects_a_rising_max_leverage():
    first, second, third = valid_three_tier_table()
    # tier 3 allows 25x after tier 2's 20x (0.02 x 25 = 0.5, so the rate itself is fine)
    third = replace(third, max_leverage=25)

    with pytest.raises(ValueError, match="bracket 3 must not allow more leverage than bracket 2"):
        brackets_validate((first, second, third))


def test_brackets_validate_rejects_a_maintenance_amount_off_the_recurrence():
    first, second, third = valid_three_tier_table()

    with pytest.raises(ValueError, match="bracket 3 must have a maintenance amount of 56"):
        brackets_validate((first, second, replace(third, maintenance_amount=Decimal(50))))


def test_brackets_validate_rejects_a_rate_that_would_liquidate_at_max_leverage_at_once():
    first, second, third = valid_three_tier_table()
    # 0.004 x 250 = 1: a position opened at 250x starts with maintenance = initial margin
    first = replace(first, max_leverage=250)

    with pytest.raises(
        ValueError,
        match=re.escape(
            "bracket 1: a maintenance margin rate of 0.004 would liquidate a position "
            "opened at 250x at once"
        ),
    ):
        brackets_validate((first, second, third))


def test_a_notional_exactly_at_a_cap_has_the_same_maintenance_margin_in_either_tier():
    # bracket_for puts 50000 in tier 2 (floor inclusive) while leverage_check lets 125x (tier 1)
    # hold it: both are right because MM is continuous there, 50000 x 0.004 = 50000 x 0.005 - 50.
    at_cap = PositionState(Side.LONG, Decimal(1), Decimal(50000), Decimal(50000), BTCUSDT)

    assert bracket_for(BTCUSDT, Decimal(50000)) == BTCUSDT[1]
    assert maintenance_margin(at_cap) == Decimal(200)
    assert Decimal(50000) * BTCUSDT[0].maintenance_margin_rate == Decimal(200)
    leverage_check(BTCUSDT, notional=Decimal(50000), leverage=125)


def test_leverage_check_message_shows_the_notional_unrounded():
    with pytest.raises(LeverageTooHigh) as refused:
        leverage_check(BTCUSDT, notional=Decimal("50000.001"), leverage=125)

    assert str(refused.value) == (
        "At 125x the largest position is 50,000 USDT; this one would be 50,000.001 USDT. "
        "Lower the leverage or the size."
    )


def test_brackets_from_rows_reads_strings_and_ints_in_column_order():
    rows = [["0", "50000", 125, "0.004", "0"], ["50000", "600000", "100", "0.005", "50"]]

    assert brackets_from_rows(rows) == (
        Bracket(Decimal(0), Decimal(50000), 125, Decimal("0.004"), Decimal(0)),
        Bracket(Decimal(50000), Decimal(600000), 100, Decimal("0.005"), Decimal(50)),
    )
