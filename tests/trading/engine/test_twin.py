"""The other-mode twin (trading/engine/twin.py), worked by hand (arithmetic in the comments).

BTCUSDT and ETHUSDT 2024 tables: notional below 50000 -> MMR 0.004, amount 0; 50000 up to
600000 -> MMR 0.005, amount 50. LP = (WB - TMM1 + UPNL1 + cum - s q EP) / (q MMR - s q), with
WB the twin's isolated margin, or the cross wallet (TMM1, UPNL1: the other cross positions).
Prices that do not terminate are given to the engine's 50 significant digits.
"""

from decimal import Decimal

from tests.trading.engine.reference_tables import BTCUSDT, ETHUSDT
from trading.engine import CrossHolding, IsolatedHolding, PositionState, Side
from trading.engine.twin import Twin, cross_twin, isolated_twin

D = Decimal


def btc(side, quantity, entry, mark):
    return PositionState(side, D(quantity), D(entry), D(mark), BTCUSDT)


def eth(side, quantity, entry, mark):
    return PositionState(side, D(quantity), D(entry), D(mark), ETHUSDT)


def test_the_isolated_twin_of_a_long_risks_its_margin_and_has_the_isolated_liquidation_price():
    # given 1 BTC long at 60,000, mark 58,000, on an isolated margin of 60,000 / 20 = 3,000
    holding = IsolatedHolding(btc(Side.LONG, "1", "60000", "58000"), D("3000"), 20)

    twin = isolated_twin(holding)

    # then LP = (3000 + 50 - 60000) / (0.005 - 1) = 57,236.18... (bracket 2: 57,236 >= 50,000);
    # margin balance 3000 - 2000 = 1000 > MM 58000 x 0.005 - 50 = 240: not liquidated
    assert twin == Twin(
        liquidation_price=D("57236.180904522613065326633165829145728643216080402"),
        at_risk=D("3000"),
        unrealized_pnl=D("-2000"),
        margin_balance=D("1000"),
        maintenance_margin=D("240"),
        liquidated=False,
    )


def test_the_isolated_twin_is_liquidated_once_its_margin_balance_meets_maintenance():
    # given the same long at a mark of 57,200: margin balance 3000 - 2800 = 200 <= MM 236
    twin = isolated_twin(IsolatedHolding(btc(Side.LONG, "1", "60000", "57200"), D("3000"), 20))

    assert (twin.margin_balance, twin.maintenance_margin, twin.liquidated) == (
        D("200"),
        D("236"),
        True,
    )
    assert twin.at_risk == D("3000")


def test_the_isolated_twin_of_a_short_is_above_the_entry():
    # given 2 ETH short at 3,000, mark 3,100, isolated 10x: margin 6000 / 10 = 600
    twin = isolated_twin(IsolatedHolding(eth(Side.SHORT, "2", "3000", "3100"), D("600"), 10))

    # then LP = (600 + 0 + 2 x 3000) / (2 x 0.004 + 2) = 6600 / 2.008 (notional 6,574: bracket
    # 1); margin balance 600 - 200 = 400, MM 6200 x 0.004 = 24.8
    assert twin.liquidation_price == D("3286.8525896414342629482071713147410358565737051793")
    assert (twin.unrealized_pnl, twin.margin_balance, twin.maintenance_margin) == (
        D("-200"),
        D("400"),
        D("24.8"),
    )
    assert (twin.at_risk, twin.liquidated) == (D("600"), False)


def test_an_isolated_twin_at_1x_has_no_liquidation_price():
    # given 1 BTC long at 60,000 on a margin of 60,000 (1x): its margin covers any fall
    twin = isolated_twin(IsolatedHolding(btc(Side.LONG, "1", "60000", "60000"), D("60000"), 1))

    # bracket 1: (60000 - 60000) / (0.004 - 1) = 0; bracket 2: 50 / -0.995 < 0: no price
    assert twin.liquidation_price is None
    assert twin.at_risk == D("60000")


def test_the_cross_twin_is_backed_by_the_whole_wallet():
    # given 2 BTC long at 60,000, mark 58,000, joining an empty cross set on a wallet of 20,000
    twin = cross_twin(
        CrossHolding(btc(Side.LONG, "2", "60000", "58000"), 20),
        wallet_balance=D("20000"),
        others=[],
    )

    # then LP = (20000 + 50 - 120000) / (2 x 0.005 - 2) = 50,226.13... (docs/margin.md);
    # margin balance 20000 - 4000 = 16000, MM 116000 x 0.005 - 50 = 530; the wallet at risk
    assert twin == Twin(
        liquidation_price=D("50226.130653266331658291457286432160804020100502513"),
        at_risk=D("20000"),
        unrealized_pnl=D("-4000"),
        margin_balance=D("16000"),
        maintenance_margin=D("530"),
        liquidated=False,
    )


def test_the_cross_twin_counts_the_other_cross_positions():
    # given the same BTC long beside a cross short of 40 ETH at 3,000, mark 2,800: uPnL +8,000,
    # MM 112000 x 0.005 - 50 = 510
    eth_short = CrossHolding(eth(Side.SHORT, "40", "3000", "2800"), 20)

    twin = cross_twin(
        CrossHolding(btc(Side.LONG, "2", "60000", "58000"), 20),
        wallet_balance=D("20000"),
        others=[eth_short],
    )

    # then LP = (20000 - 510 + 8000 + 50 - 120000) / (-1.99) = 46,462.31... (docs/margin.md);
    # margin balance 20000 - 4000 + 8000 = 24000, MM 530 + 510 = 1040
    assert twin.liquidation_price == D("46462.311557788944723618090452261306532663316582915")
    assert (twin.margin_balance, twin.maintenance_margin, twin.liquidated) == (
        D("24000"),
        D("1040"),
        False,
    )
    assert (twin.unrealized_pnl, twin.at_risk) == (D("-4000"), D("20000"))


def test_the_cross_twin_is_liquidated_with_the_cross_set():
    # given 1 BTC long at 60,000, mark 57,200, on a wallet of 3,000 alone: margin balance
    # 3000 - 2800 = 200 <= MM 57200 x 0.005 - 50 = 236
    twin = cross_twin(
        CrossHolding(btc(Side.LONG, "1", "60000", "57200"), 20),
        wallet_balance=D("3000"),
        others=[],
    )

    assert (twin.margin_balance, twin.maintenance_margin, twin.liquidated) == (
        D("200"),
        D("236"),
        True,
    )
    assert twin.at_risk == D("3000")
