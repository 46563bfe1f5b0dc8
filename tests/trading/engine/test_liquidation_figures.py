"""A liquidated position's figures at the trigger (``isolated_liquidation_figures``,
``cross_liquidation_figures``): what its receipt shows, and the margin balance the insurance fund
takes. BTCUSDT 2024 brackets: notional below 50,000 MMR 0.004, cum 0; 50,000 up to 600,000 MMR
0.005, cum 50."""

from decimal import ROUND_FLOOR, Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.trading.engine.reference_tables import BTCUSDT
from trading.engine import (
    PositionState,
    Side,
    cross_liquidation_figures,
    isolated_bankruptcy_price,
    isolated_liquidation_figures,
    isolated_liquidation_price,
    maintenance_margin,
    unrealized_pnl,
)

D = Decimal
CENT_MILLIONTH = D("1e-8")


def btc(side, quantity, entry, mark) -> PositionState:
    return PositionState(side, D(quantity), D(entry), D(mark), BTCUSDT)


def test_an_isolated_positions_figures_are_those_of_its_receipt():
    # 1 BTC long at 60,000 with 3,000 of margin, at a mark of 57,200
    position = btc(Side.LONG, "1", "60000", "57200")

    figures = isolated_liquidation_figures(position, isolated_margin=D("3000"))

    assert figures.unrealized_pnl == D("-2800")
    assert figures.margin_balance == D("200")  # 3,000 - 2,800
    assert figures.maintenance_bracket == BTCUSDT[1]  # of 57,200
    assert (figures.others_maintenance_margin, figures.others_unrealized_pnl) == (0, 0)
    # (3,000 + 50 - 60,000) / (0.005 - 1), in the bracket of 57,236.18...
    assert figures.liquidation_price == isolated_liquidation_price(
        position, isolated_margin=D("3000")
    )
    assert figures.liquidation_bracket == BTCUSDT[1]
    assert figures.bankruptcy_price == D("57000")


def test_an_isolated_margin_balance_is_exact_where_the_bankruptcy_price_does_not_terminate():
    # 0.003 BTC long at 60,000 with 25.71428572 of margin (180 / 7, rounded up), at 51,438.9:
    # bankruptcy 60,000 - 25.71428572 / 0.003 = 51,428.571426666... never terminates
    position = btc(Side.LONG, "0.003", "60000", "51438.9")
    margin = D("25.71428572")

    figures = isolated_liquidation_figures(position, isolated_margin=margin)

    # 25.71428572 + 0.003 x (51,438.9 - 60,000), to the last digit
    assert figures.margin_balance == D("0.03098572")
    # where s q (mark - BP), from the price cut to a finite number of digits, falls short of it
    # by 1e-8 once rounded down to the ledger's 8 decimals (in Python's default 28 digits, as
    # the liquidation computed it, or in the engine's 50)
    bankruptcy = isolated_bankruptcy_price(position, isolated_margin=margin)
    assert bankruptcy == figures.bankruptcy_price
    for digits in (28, 50):
        with localcontext(prec=digits):
            through_the_price = position.quantity * (position.mark_price - bankruptcy)
        rounded = through_the_price.quantize(CENT_MILLIONTH, rounding=ROUND_FLOOR)
        assert rounded == D("0.03098571")


def test_a_cross_positions_figures_count_the_other_cross_positions_at_their_marks():
    # 1 BTC long at 60,000 at a mark of 57,200, beside 0.5 BTC short at 58,000 marked at 60,000
    # (uPnL -1,000, MM 30,000 x 0.004 = 120), with a wallet of 4,000
    position = btc(Side.LONG, "1", "60000", "57200")
    other = btc(Side.SHORT, "0.5", "58000", "60000")

    figures = cross_liquidation_figures(position, wallet_balance=D("4000"), others=[other])

    assert (figures.others_maintenance_margin, figures.others_unrealized_pnl) == (
        D("120"),
        D("-1000"),
    )
    # the account's cross margin balance: 4,000 - 1,000 - 2,800
    assert figures.margin_balance == D("200")
    assert figures.unrealized_pnl == D("-2800")
    # LP = (4,000 - 120 - 1,000 + 50 - 60,000) / (0.005 - 1) = -57,070 / -0.995 = 57,356.7839...
    assert figures.liquidation_price.quantize(CENT_MILLIONTH) == D("57356.78391960")
    assert figures.liquidation_bracket == BTCUSDT[1]
    # BP = 60,000 - (4,000 - 1,000) / 1
    assert figures.bankruptcy_price == D("57000")


def scaled(min_value, max_value, places):
    return st.integers(min_value, max_value).map(lambda n: D(n).scaleb(-places))


@settings(max_examples=200, deadline=None, database=None)
@given(
    side=st.sampled_from([Side.LONG, Side.SHORT]),
    quantity=scaled(1, 10**11, 8),  # up to 1,000 units, to 8 decimals
    entry=scaled(10**8, 10**13, 8),  # 1 .. 100,000, to 8 decimals
    mark=scaled(10**8, 10**13, 8),
    margin=scaled(0, 10**20, 8),  # up to 10^12 USDT, to 8 decimals
)
def test_an_isolated_margin_balance_is_margin_plus_upnl_and_what_the_bankruptcy_price_leaves(
    side, quantity, entry, mark, margin
):
    position = PositionState(side, quantity, entry, mark, BTCUSDT)

    figures = isolated_liquidation_figures(position, isolated_margin=margin)

    with localcontext(prec=80):
        exact = margin + side * quantity * (mark - entry)
        assert figures.margin_balance == exact
        assert figures.unrealized_pnl == unrealized_pnl(position)
        assert figures.maintenance_bracket.maintenance_margin_rate * position.notional - (
            figures.maintenance_bracket.maintenance_amount
        ) == maintenance_margin(position)
        if figures.bankruptcy_price is not None:
            # s q (MP - BP): the same figure but for the 50 digits the price was cut to (of
            # EP and of the margin over q, the figures it is computed from)
            through_the_price = side * quantity * (mark - figures.bankruptcy_price)
            bound = (quantity * entry + margin) * D("1e-49")
            assert abs(through_the_price - exact) <= bound
