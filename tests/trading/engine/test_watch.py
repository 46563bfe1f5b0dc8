"""Watch prices (trading/engine/watch.py): the promise is that while every mark stays on the safe
side of its position's watch price, the account is not liquidatable, however the marks move."""

from dataclasses import replace
from decimal import Decimal, localcontext

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from tests.trading.engine.reference_tables import BTCUSDT
from tests.trading.engine.test_properties import PROPERTY, TABLES, positions, scaled
from trading.engine import (
    Bracket,
    CrossHolding,
    IsolatedHolding,
    PositionState,
    Side,
    account_figures,
    watch_prices,
)

SAFE_SIDE = scaled(1, 10000, 4)  # where the new mark lands: 0.0001 .. 1 of the way


def moved_to_the_safe_side(position, watch, fraction):
    """A mark strictly beyond the watch price, away from liquidation: above it for a long (up to
    twice the old mark past it), below it for a short."""
    if position.side is Side.LONG:
        return replace(
            position, mark_price=max(watch, Decimal(0)) + 2 * position.mark_price * fraction
        )
    return replace(position, mark_price=watch * (1 - fraction / 2))


def cross_figures(states, wallet):
    return account_figures(
        wallet_balance=wallet, cross_holdings=[CrossHolding(state, 1) for state in states]
    )


@PROPERTY
@given(
    states=st.lists(positions(tables=TABLES), min_size=1, max_size=3),
    wallet=scaled(0, 10**9, 2),
    fractions=st.lists(SAFE_SIDE, min_size=3, max_size=3),
)
def test_no_cross_account_is_liquidatable_while_every_mark_is_inside_its_watch_price(
    states, wallet, fractions
):
    before = cross_figures(states, wallet)
    assume(not before.cross_liquidatable)
    prices = watch_prices(
        states,
        margin_balance=before.cross_margin_balance,
        maintenance=before.cross_maintenance_margin,
    )

    moved = [
        moved_to_the_safe_side(state, price, fraction)
        for state, price, fraction in zip(states, prices, fractions, strict=False)
    ]

    assert not cross_figures(moved, wallet).cross_liquidatable


@PROPERTY
@given(position=positions(), margin=scaled(0, 10**9, 2), fraction=SAFE_SIDE)
def test_no_isolated_position_is_liquidatable_while_its_mark_is_inside_its_watch_price(
    position, margin, fraction
):
    def figures(state):
        return account_figures(
            wallet_balance=Decimal(0), isolated_holdings=[IsolatedHolding(state, margin, 1)]
        ).isolated_positions[0]

    before = figures(position)
    assume(not before.liquidatable)
    (price,) = watch_prices(
        [position],
        margin_balance=margin + before.unrealized_pnl,
        maintenance=before.maintenance_margin,
    )

    assert not figures(moved_to_the_safe_side(position, price, fraction)).liquidatable


ONE_TIER = (Bracket(Decimal(0), Decimal(10**9), 100, Decimal("0.005"), Decimal(0)),)


def test_a_long_may_fall_by_its_share_of_the_headroom_over_its_quantity():
    # 2 BTC long at a mark of 60,000: headroom 1,000 - 600 = 400 for it alone: 60,000 - 400 / 2
    long = PositionState(Side.LONG, Decimal(2), Decimal(60000), Decimal(60000), ONE_TIER)

    prices = watch_prices([long], margin_balance=Decimal(1000), maintenance=Decimal(600))

    assert prices == (Decimal(59800),)


def test_a_short_may_rise_by_its_share_over_its_quantity_times_one_plus_the_top_rate():
    # two cross positions share 1,100 - 95 = 1,005 of headroom, 502.5 each. The short (q 1, one
    # tier of 0.5 %) may rise to 3,000 + 502.5 / 1.005 = 3,500; the long fall to 100 - 502.5 / 0.5
    short = PositionState(Side.SHORT, Decimal(1), Decimal(3000), Decimal(3000), ONE_TIER)
    long = PositionState(Side.LONG, Decimal("0.5"), Decimal(100), Decimal(100), ONE_TIER)

    prices = watch_prices([short, long], margin_balance=Decimal(1100), maintenance=Decimal(95))

    assert prices == (Decimal(3500), Decimal(100) - Decimal("502.5") / Decimal("0.5"))


def test_the_top_rate_is_the_tables_highest_not_the_current_tiers():
    # 100 USDT of notional sits in BTCUSDT's first tier (0.4 %); its last tier's rate is 50 %
    short = PositionState(Side.SHORT, Decimal(1), Decimal(100), Decimal(100), BTCUSDT)
    assert max(bracket.maintenance_margin_rate for bracket in BTCUSDT) == Decimal("0.5")

    (price,) = watch_prices([short], margin_balance=Decimal(50), maintenance=Decimal(0))

    with localcontext(prec=50):
        assert price == Decimal(100) + Decimal(50) / Decimal("1.5")


@pytest.mark.parametrize("margin_balance", [Decimal(600), Decimal(599), Decimal(-5)])
def test_an_account_with_no_headroom_has_no_watch_prices(margin_balance):
    long = PositionState(Side.LONG, Decimal(2), Decimal(60000), Decimal(60000), ONE_TIER)

    assert watch_prices([long], margin_balance=margin_balance, maintenance=Decimal(600)) is None


def test_no_positions_no_watch_prices():
    assert watch_prices([], margin_balance=Decimal(5), maintenance=Decimal(0)) == ()
