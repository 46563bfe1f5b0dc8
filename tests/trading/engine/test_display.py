"""A liquidation price shown to the tick moves to the safe side: a long's up, a short's down."""

from decimal import Decimal

import pytest

from trading.engine import Side, liquidation_price_for_display

TICK = Decimal("0.10")


def test_a_longs_liquidation_price_rounds_up_to_the_tick():
    shown = liquidation_price_for_display(Decimal("57236.1809"), side=Side.LONG, tick_size=TICK)

    assert shown == Decimal("57236.20")


def test_a_shorts_liquidation_price_rounds_down_to_the_tick():
    shown = liquidation_price_for_display(Decimal("57236.1809"), side=Side.SHORT, tick_size=TICK)

    assert shown == Decimal("57236.10")


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
def test_a_liquidation_price_already_on_the_tick_is_shown_unchanged(side):
    shown = liquidation_price_for_display(Decimal("57236.10"), side=side, tick_size=TICK)

    assert shown == Decimal("57236.10")


@pytest.mark.parametrize("side", [Side.LONG, Side.SHORT])
def test_no_liquidation_price_stays_none(side):
    assert liquidation_price_for_display(None, side=side, tick_size=TICK) is None


def test_a_fifty_digit_engine_price_is_rounded_to_the_tick_on_the_safe_side():
    # the long of the reference case "BTCUSDT 2024 brackets long 1 @ 60000 margin 3000"
    exact = Decimal("57236.180904522613065326633165829145728643216080402")

    long_shown = liquidation_price_for_display(exact, side=Side.LONG, tick_size=TICK)
    short_shown = liquidation_price_for_display(exact, side=Side.SHORT, tick_size=TICK)

    assert (long_shown, short_shown) == (Decimal("57236.20"), Decimal("57236.10"))


@pytest.mark.parametrize(
    ("price", "side", "tick", "shown"),
    [
        ("100.2", Side.LONG, "0.5", "100.5"),
        ("100.2", Side.SHORT, "0.5", "100.0"),
        ("1.23401", Side.LONG, "0.001", "1.235"),
        ("1.23499", Side.SHORT, "0.001", "1.234"),
        ("57236.1809", Side.LONG, "1", "57237"),
        ("57236.9", Side.SHORT, "1", "57236"),
    ],
)
def test_rounding_follows_any_tick_size(price, side, tick, shown):
    result = liquidation_price_for_display(Decimal(price), side=side, tick_size=Decimal(tick))

    assert result == Decimal(shown)


def test_the_side_may_be_given_as_the_int_of_the_position():
    long_shown = liquidation_price_for_display(Decimal("57236.1809"), side=1, tick_size=TICK)
    short_shown = liquidation_price_for_display(Decimal("57236.1809"), side=-1, tick_size=TICK)

    assert (long_shown, short_shown) == (Decimal("57236.20"), Decimal("57236.10"))


def test_a_long_a_hair_above_a_tick_never_rounds_onto_that_tick():
    # 50 significant digits: a division would round the hair away and show 2.50, the unsafe side.
    price = Decimal("2.5000000000000000000000000000000000000000000000001")

    long_shown = liquidation_price_for_display(price, side=Side.LONG, tick_size=Decimal("0.25"))
    short_shown = liquidation_price_for_display(price, side=Side.SHORT, tick_size=Decimal("0.25"))

    assert long_shown == Decimal("2.75")
    assert short_shown == Decimal("2.50")
