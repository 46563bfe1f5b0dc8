"""Properties of the margin engine over generated positions.

Decimals are built from integers (never floats). Bracket tables: the real BTCUSDT 2024 table, random
single-bracket tables and random valid multi-tier tables (amounts from the recurrence), so the rule
that the bracket is re-chosen at the liquidation price gets exercised beyond the reference cases.
The test's own arithmetic runs in a 60-digit context so it adds no rounding of its own.
"""

from dataclasses import replace
from decimal import ROUND_CEILING, Decimal, localcontext

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.trading.engine.reference_tables import BTCUSDT, ETHUSDT
from trading.engine import (
    Bracket,
    CrossHolding,
    IsolatedHolding,
    PositionState,
    Side,
    account_figures,
    brackets_validate,
    cross_liquidation_price,
    isolated_bankruptcy_price,
    isolated_liquidation_price,
    maintenance_margin,
    max_removable_isolated_margin,
    unrealized_pnl,
)

# no example database: it would be written into the working directory
PROPERTY = settings(max_examples=200, deadline=None, database=None)
RELATIVE = Decimal("1e-12")


def scaled(min_value, max_value, places):
    """Decimals with ``places`` decimal places, from integers."""
    return st.integers(min_value, max_value).map(lambda n: Decimal(n).scaleb(-places))


def highest_leverage_for(rate):
    """The largest leverage L with rate x L < 1 (else the tier liquidates at once)."""
    return int((1 / rate).to_integral_value(rounding=ROUND_CEILING)) - 1


@st.composite
def single_bracket_tables(draw):
    rate = draw(scaled(1, 500, 4))  # 0.0001 .. 0.05
    leverage = draw(st.integers(1, min(125, highest_leverage_for(rate))))
    cap = draw(scaled(1, 10**9, 0))
    return (Bracket(Decimal(0), cap, leverage, rate, Decimal(0)),)


@st.composite
def multi_tier_tables(draw):
    tiers = draw(st.integers(2, 5))
    inner_floors = sorted(
        draw(st.lists(st.integers(1, 10**7), min_size=tiers - 1, max_size=tiers - 1, unique=True))
    )
    floors = [Decimal(0), *(Decimal(floor) for floor in inner_floors)]
    caps = [*floors[1:], floors[-1] + draw(scaled(1, 10**8, 0))]
    rate = draw(scaled(1, 100, 4))
    leverage = 125
    amount = Decimal(0)
    brackets = []
    for index, (floor, cap) in enumerate(zip(floors, caps, strict=True)):
        if index:
            previous_rate = rate
            rate += draw(scaled(1, 200, 4))
            amount += floor * (rate - previous_rate)
        leverage = draw(st.integers(1, min(leverage, highest_leverage_for(rate))))
        brackets.append(Bracket(floor, cap, leverage, rate, amount))
    brackets = tuple(brackets)
    brackets_validate(brackets)
    return brackets


TABLES = st.one_of(st.just(BTCUSDT), single_bracket_tables(), multi_tier_tables())
SIDES = st.sampled_from([Side.LONG, Side.SHORT])
MOVES = scaled(-5000, 5000, 4)  # the mark -50 % .. +50 % from the entry


@st.composite
def positions(draw, tables=TABLES, side=SIDES, move=MOVES):
    """A position whose mark is its entry moved by ``move`` (a fraction, default -50 % .. +50 %)."""
    brackets = draw(tables)
    entry = draw(scaled(100, 10**7, 2))  # 1.00 .. 100000.00
    return PositionState(
        side=draw(side),
        quantity=draw(scaled(1, 10**6, 3)),  # 0.001 .. 1000
        entry_price=entry,
        mark_price=entry * (1 + draw(move)),
        brackets=brackets,
    )


def entry_notional(position):
    return position.quantity * position.entry_price


def fraction_of_entry_notional(position, fraction):
    with localcontext(prec=60):
        return entry_notional(position) * fraction


MARGIN_FRACTIONS = scaled(0, 20000, 4)  # 0 .. 2 x the entry notional


def assert_close(left, right):
    assert abs(left - right) <= RELATIVE * max(abs(left), abs(right)), f"{left} != {right}"


def at_mark(position, price):
    return replace(position, mark_price=price)


# the defining equation of the liquidation price


@PROPERTY
@given(position=positions(), fraction=MARGIN_FRACTIONS)
def test_at_the_isolated_liquidation_price_margin_balance_equals_maintenance_margin(
    position, fraction
):
    margin = fraction_of_entry_notional(position, fraction)

    price = isolated_liquidation_price(position, isolated_margin=margin)

    # a short always has one; a long has none exactly when its margin covers q x EP
    covered = position.side is Side.LONG and margin >= entry_notional(position)
    assert (price is None) == covered
    if price is not None:
        liquidated = at_mark(position, price)
        with localcontext(prec=60):
            assert_close(margin + unrealized_pnl(liquidated), maintenance_margin(liquidated))


@PROPERTY
@given(
    position=positions(),
    fraction=MARGIN_FRACTIONS,
    others=st.lists(positions(tables=st.sampled_from([BTCUSDT, ETHUSDT])), max_size=3),
)
def test_at_the_cross_liquidation_price_margin_balance_equals_maintenance_margin(
    position, fraction, others
):
    wallet = fraction_of_entry_notional(position, fraction)

    price = cross_liquidation_price(position, wallet_balance=wallet, others=others)

    with localcontext(prec=60):
        others_pnl = sum((unrealized_pnl(other) for other in others), Decimal(0))
        others_maintenance = sum((maintenance_margin(other) for other in others), Decimal(0))
        collateral = wallet + others_pnl - others_maintenance
        if position.side is Side.LONG:
            assert (price is None) == (collateral >= entry_notional(position))
        else:
            assert (price is None) == (collateral <= -entry_notional(position))
        if price is not None:
            liquidated = at_mark(position, price)
            assert_close(
                wallet + unrealized_pnl(liquidated) + others_pnl - others_maintenance,
                maintenance_margin(liquidated),
            )


# isolated margin and the liquidation price


@PROPERTY
@given(position=positions(), fraction=MARGIN_FRACTIONS, extra=scaled(1, 10**9, 2))
def test_more_isolated_margin_moves_a_longs_liquidation_price_down_and_a_shorts_up(
    position, fraction, extra
):
    margin = fraction_of_entry_notional(position, fraction)

    before = isolated_liquidation_price(position, isolated_margin=margin)
    after = isolated_liquidation_price(position, isolated_margin=margin + extra)

    if position.side is Side.LONG:
        # a long may lose its price entirely, and never gets one back from more margin
        if before is None:
            assert after is None
        elif after is not None:
            assert after < before
    else:
        assert before is not None
        assert after is not None
        assert after > before


# neighbours in cross


def neighbours(profitable):
    """BTC/ETH cross positions in profit (mark moved 2 % .. 50 % their way) or in loss."""

    @st.composite
    def build(draw):
        side = draw(SIDES)
        move = draw(scaled(200 if profitable else 1, 5000, 4))
        towards = side if profitable else -side
        return draw(
            positions(
                tables=st.sampled_from([BTCUSDT, ETHUSDT]),
                side=st.just(side),
                move=st.just(towards * move),
            )
        )

    return build()


@PROPERTY
@given(position=positions(), fraction=MARGIN_FRACTIONS, neighbour=neighbours(profitable=True))
def test_a_profitable_cross_neighbour_moves_the_liquidation_price_away_from_the_mark(
    position, fraction, neighbour
):
    # "profitable" here means its profit exceeds its own maintenance margin, which the
    # neighbour also adds to the account's requirement
    assume(unrealized_pnl(neighbour) > maintenance_margin(neighbour))
    wallet = fraction_of_entry_notional(position, fraction)

    alone = cross_liquidation_price(position, wallet_balance=wallet, others=[])
    beside = cross_liquidation_price(position, wallet_balance=wallet, others=[neighbour])

    if position.side is Side.LONG:
        if alone is None:
            assert beside is None
        elif beside is not None:
            assert beside < alone
            if alone < position.mark_price:
                assert position.mark_price - beside > position.mark_price - alone
    else:
        assert alone is not None
        assert beside is not None
        assert beside > alone
        if alone > position.mark_price:
            assert beside - position.mark_price > alone - position.mark_price


@PROPERTY
@given(position=positions(), fraction=MARGIN_FRACTIONS, neighbour=neighbours(profitable=False))
def test_a_losing_cross_neighbour_moves_the_liquidation_price_towards_the_mark(
    position, fraction, neighbour
):
    assert unrealized_pnl(neighbour) < 0
    wallet = fraction_of_entry_notional(position, fraction)

    alone = cross_liquidation_price(position, wallet_balance=wallet, others=[])
    beside = cross_liquidation_price(position, wallet_balance=wallet, others=[neighbour])

    if position.side is Side.LONG:
        if alone is not None:
            assert beside is not None
            assert beside > alone
    elif alone is None:
        assert beside is None
    elif beside is not None:
        # a short loses its price when the account is bankrupt at every mark
        assert beside < alone


def test_a_neighbour_in_profit_by_less_than_its_maintenance_margin_still_brings_it_closer():
    position = PositionState(Side.LONG, Decimal(2), Decimal(60000), Decimal(58000), BTCUSDT)
    # short 10 ETH @ 3000 at 2999: uPnL 10, MM = 29990 x 0.004 = 119.96 > 10
    neighbour = PositionState(Side.SHORT, Decimal(10), Decimal(3000), Decimal(2999), ETHUSDT)

    alone = cross_liquidation_price(position, wallet_balance=Decimal(20000), others=[])
    beside = cross_liquidation_price(position, wallet_balance=Decimal(20000), others=[neighbour])

    # reference case "cross long BTC alone": (20000 + 50 - 120000) / (2 x 0.005 - 2)
    assert alone == Decimal("50226.130653266331658291457286432160804020100502513")
    # collateral 20000 + 10 - 119.96 = 19890.04: (19890.04 + 50 - 120000) / -1.99
    assert beside == Decimal("50281.386934673366834170854271356783919597989949749")


# isolated positions stand alone


@st.composite
def isolated_holdings(draw):
    position = draw(positions())
    margin = fraction_of_entry_notional(position, draw(MARGIN_FRACTIONS))
    return IsolatedHolding(position, margin, draw(st.integers(1, 125)))


@st.composite
def cross_holdings(draw):
    return CrossHolding(draw(positions()), draw(st.integers(1, 125)))


@PROPERTY
@given(
    holding=isolated_holdings(),
    wallet=scaled(0, 10**12, 2),
    cross=st.lists(cross_holdings(), max_size=3),
    before=st.lists(isolated_holdings(), max_size=2),
    after=st.lists(isolated_holdings(), max_size=2),
    open_order_margin=scaled(0, 10**9, 2),
)
def test_an_isolated_positions_figures_do_not_depend_on_anything_else_in_the_account(
    holding, wallet, cross, before, after, open_order_margin
):
    alone = account_figures(wallet_balance=Decimal(0), isolated_holdings=[holding])

    busy = account_figures(
        wallet_balance=wallet,
        cross_holdings=cross,
        isolated_holdings=[*before, holding, *after],
        open_order_margin=open_order_margin,
    )

    assert busy.isolated_positions[len(before)] == alone.isolated_positions[0]


# bankruptcy


@PROPERTY
@given(position=positions(), fraction=MARGIN_FRACTIONS)
def test_at_the_isolated_bankruptcy_price_the_margin_is_exactly_used_up(position, fraction):
    margin = fraction_of_entry_notional(position, fraction)

    price = isolated_bankruptcy_price(position, isolated_margin=margin)

    covered = position.side is Side.LONG and margin >= entry_notional(position)
    assert (price is None) == covered
    if price is not None:
        with localcontext(prec=60):
            assert abs(margin + unrealized_pnl(at_mark(position, price))) <= RELATIVE * margin


@PROPERTY
@given(position=positions(), fraction=MARGIN_FRACTIONS)
def test_an_isolated_position_is_liquidated_before_it_goes_bankrupt(position, fraction):
    margin = fraction_of_entry_notional(position, fraction)

    liquidation = isolated_liquidation_price(position, isolated_margin=margin)
    bankruptcy = isolated_bankruptcy_price(position, isolated_margin=margin)

    assert (liquidation is None) == (bankruptcy is None)
    if liquidation is not None:
        if position.side is Side.LONG:
            assert bankruptcy < liquidation
        else:
            assert bankruptcy > liquidation


# removing isolated margin


@PROPERTY
@given(position=positions(), fraction=MARGIN_FRACTIONS, data=st.data())
def test_max_removable_isolated_margin_leaves_maintenance_and_initial_margin_covered(
    position, fraction, data
):
    margin = fraction_of_entry_notional(position, fraction)
    leverage = data.draw(st.integers(1, max(b.max_leverage for b in position.brackets)))

    removable = max_removable_isolated_margin(position, isolated_margin=margin, leverage=leverage)

    assert removable >= 0
    assert removable <= margin
    if removable > 0:
        with localcontext(prec=60):
            remaining = margin - removable
            maintenance = maintenance_margin(position)
            initial = position.notional / leverage
            balance = remaining + unrealized_pnl(position)
            assert remaining >= maintenance
            assert balance >= initial * (1 - RELATIVE)
            # and it is the most: one of the two limits is reached
            assert remaining == maintenance or abs(balance - initial) <= RELATIVE * initial
