"""Worked examples of an account's figures, each computed by hand (arithmetic in the comments).

BTCUSDT and ETHUSDT 2024 tables: notional below 50000 -> MMR 0.004, amount 0; 50000 up to
600000 -> MMR 0.005, amount 50. Liquidation prices that do not terminate are given to the engine's
50 significant digits.
"""

from decimal import Decimal

import pytest

from tests.trading.engine.reference_tables import BTCUSDT, ETHUSDT
from trading.engine import (
    AccountFigures,
    CrossHolding,
    IsolatedHolding,
    PositionState,
    Side,
    account_figures,
    margin_ratio,
)


def btc(side, quantity, entry, mark):
    return PositionState(side, Decimal(quantity), Decimal(entry), Decimal(mark), BTCUSDT)


def eth(side, quantity, entry, mark):
    return PositionState(side, Decimal(quantity), Decimal(entry), Decimal(mark), ETHUSDT)


# A cross long 1 BTC @ 62500 at mark 57500, 10x:
#   uPnL = 57500 - 62500 = -5000; N = 57500 (tier 2): MM = 57500 x 0.005 - 50 = 237.5
#   initial margin = 57500 / 10 = 5750; ROE = -5000 / (62500 / 10) = -0.8
CROSS_LONG = CrossHolding(btc(Side.LONG, "1", "62500", "57500"), leverage=10)
# A cross short 8 ETH @ 3125 at mark 2500, 10x:
#   uPnL = -8 x (2500 - 3125) = 5000; N = 20000 (tier 1): MM = 20000 x 0.004 = 80
#   initial margin = 2000; ROE = 5000 / (25000 / 10) = 2
WINNING_CROSS_SHORT = CrossHolding(eth(Side.SHORT, "8", "3125", "2500"), leverage=10)


def test_an_account_with_only_a_wallet_has_its_wallet_as_every_balance():
    figures = account_figures(wallet_balance=Decimal("10000"))

    assert figures == AccountFigures(
        wallet_balance=Decimal(10000),
        cross_unrealized_pnl=Decimal(0),
        cross_margin_balance=Decimal(10000),
        cross_initial_margin=Decimal(0),
        cross_maintenance_margin=Decimal(0),
        cross_margin_ratio=Decimal(0),
        cross_liquidatable=False,
        open_order_margin=Decimal(0),
        isolated_margin=Decimal(0),
        isolated_unrealized_pnl=Decimal(0),
        available_balance=Decimal(10000),
        equity=Decimal(10000),
        cross_positions=(),
        isolated_positions=(),
    )


def test_one_cross_long_carries_its_loss_into_the_cross_margin_balance():
    figures = account_figures(wallet_balance=Decimal("14500"), cross_holdings=[CROSS_LONG])

    # margin balance 14500 - 5000 = 9500; ratio 237.5 / 9500 = 0.025
    assert figures.cross_unrealized_pnl == Decimal(-5000)
    assert figures.cross_margin_balance == Decimal(9500)
    assert figures.cross_initial_margin == Decimal(5750)
    assert figures.cross_maintenance_margin == Decimal("237.5")
    assert figures.cross_margin_ratio == Decimal("0.025")
    assert figures.cross_liquidatable is False
    # available 9500 - 5750 = 3750; equity = the margin balance
    assert figures.available_balance == Decimal(3750)
    assert figures.equity == Decimal(9500)
    (position,) = figures.cross_positions
    assert position.notional == Decimal(57500)
    assert position.unrealized_pnl == Decimal(-5000)
    assert position.return_on_equity == Decimal("-0.8")
    assert position.initial_margin == Decimal(5750)
    assert position.margin == Decimal(5750)
    assert position.maintenance_margin == Decimal("237.5")
    assert position.margin_ratio == Decimal("0.025")
    assert position.liquidatable is False
    # LP in tier 1: (14500 - 62500) / (0.004 - 1) = 48000 / 0.996
    # (tier 2 gives 47950 / 0.995 = 48190.95..., below its floor of 50000)
    assert position.liquidation_price == Decimal(
        "48192.771084337349397590361445783132530120481927711"
    )


def test_a_winning_cross_short_offsets_the_longs_loss_and_pushes_its_liquidation_further_away():
    alone = account_figures(wallet_balance=Decimal("12700"), cross_holdings=[CROSS_LONG])
    both = account_figures(
        wallet_balance=Decimal("12700"), cross_holdings=[CROSS_LONG, WINNING_CROSS_SHORT]
    )

    # uPnL -5000 + 5000 = 0, so the margin balance is the wallet
    assert both.cross_unrealized_pnl == Decimal(0)
    assert both.cross_margin_balance == Decimal(12700)
    # MM 237.5 + 80 = 317.5; ratio 317.5 / 12700 = 0.025
    assert both.cross_maintenance_margin == Decimal("317.5")
    assert both.cross_margin_ratio == Decimal("0.025")
    # initial margin 5750 + 2000 = 7750; available 12700 + 0 - 7750 = 4950
    assert both.cross_initial_margin == Decimal(7750)
    assert both.available_balance == Decimal(4950)
    assert both.equity == Decimal(12700)
    long_figures, short_figures = both.cross_positions
    assert short_figures.unrealized_pnl == Decimal(5000)
    assert short_figures.return_on_equity == Decimal(2)
    assert short_figures.margin_ratio == Decimal("0.025")
    # long alone: (62500 - 12700) / 0.996 = 49800 / 0.996 = 50000, exactly tier 2's floor
    # (tier 2 agrees: (62500 - 12700 - 50) / 0.995 = 50000)
    assert alone.cross_positions[0].liquidation_price == Decimal(50000)
    # with the short: collateral 12700 - 80 + 5000 = 17620; (62500 - 17620) / 0.996 = 44880 / 0.996
    assert long_figures.liquidation_price == Decimal(
        "45060.240963855421686746987951807228915662650602410"
    )
    assert long_figures.liquidation_price < alone.cross_positions[0].liquidation_price
    # the short, with the losing long as its neighbour: collateral 12700 - 237.5 - 5000 = 7462.5;
    # (7462.5 + 8 x 3125) / (8 x 0.004 + 8) = 32462.5 / 8.032
    assert short_figures.liquidation_price == Decimal(
        "4041.6459163346613545816733067729083665338645418327"
    )


def test_an_isolated_positions_loss_counts_in_equity_only_up_to_its_margin():
    # isolated long 1 BTC @ 60000, margin 3000, 20x, mark 56000: uPnL -4000, margin balance -1000;
    # N = 56000 (tier 2): MM = 56000 x 0.005 - 50 = 230
    holding = IsolatedHolding(btc(Side.LONG, "1", "60000", "56000"), Decimal("3000"), leverage=20)

    figures = account_figures(wallet_balance=Decimal("10000"), isolated_holdings=[holding])

    # equity = wallet 10000 + max(0, 3000 - 4000) = 10000, not 9000
    assert figures.equity == Decimal(10000)
    assert figures.isolated_margin == Decimal(3000)
    assert figures.isolated_unrealized_pnl == Decimal(-4000)
    # the wallet is untouched: cross balance and available balance are still 10000
    assert figures.cross_margin_balance == Decimal(10000)
    assert figures.available_balance == Decimal(10000)
    (position,) = figures.isolated_positions
    assert position.maintenance_margin == Decimal(230)
    assert position.initial_margin == Decimal(2800)
    assert position.margin == Decimal(3000)
    assert position.margin_ratio is None
    assert position.liquidatable is True
    # reference case "BTCUSDT 2024 brackets long 1 @ 60000 margin 3000", in tier 2:
    # (60000 - 3000 - 50) / (1 - 0.005) = 56950 / 0.995
    assert position.liquidation_price == Decimal(
        "57236.180904522613065326633165829145728643216080402"
    )


def test_an_isolated_position_in_partial_loss_adds_its_margin_less_the_loss_to_equity():
    holding = IsolatedHolding(btc(Side.LONG, "1", "60000", "58000"), Decimal("3000"), leverage=20)

    figures = account_figures(wallet_balance=Decimal("10000"), isolated_holdings=[holding])

    # 10000 + (3000 - 2000) = 11000
    assert figures.equity == Decimal(11000)
    # own ratio: MM 240 / margin balance 1000
    assert figures.isolated_positions[0].margin_ratio == Decimal("0.24")
    assert figures.isolated_positions[0].liquidatable is False


# Cross long 1 BTC @ 60000 at mark 58000, 10x: uPnL -2000; MM = 58000 x 0.005 - 50 = 240;
# initial margin 5800. Margin balance = wallet - 2000.
BOUNDARY_LONG = CrossHolding(btc(Side.LONG, "1", "60000", "58000"), leverage=10)


def test_cross_is_liquidatable_when_its_margin_balance_equals_its_maintenance_margin():
    figures = account_figures(wallet_balance=Decimal("2240"), cross_holdings=[BOUNDARY_LONG])

    # balance 2240 - 2000 = 240 = MM: ratio 100 %
    assert figures.cross_margin_balance == Decimal(240)
    assert figures.cross_margin_ratio == Decimal(1)
    assert figures.cross_liquidatable is True
    assert figures.cross_positions[0].liquidatable is True
    # and the liquidation price is the mark: (2240 + 50 - 60000) / (0.005 - 1) = 57710 / 0.995
    assert figures.cross_positions[0].liquidation_price == Decimal(58000)


def test_cross_is_not_liquidatable_one_cent_above_its_maintenance_margin():
    figures = account_figures(wallet_balance=Decimal("2240.01"), cross_holdings=[BOUNDARY_LONG])

    assert figures.cross_margin_balance == Decimal("240.01")
    assert figures.cross_liquidatable is False
    assert figures.cross_positions[0].liquidatable is False


def test_cross_is_liquidatable_one_cent_below_its_maintenance_margin():
    figures = account_figures(wallet_balance=Decimal("2239.99"), cross_holdings=[BOUNDARY_LONG])

    assert figures.cross_margin_balance == Decimal("239.99")
    assert figures.cross_liquidatable is True


@pytest.mark.parametrize(
    ("isolated_margin", "liquidatable"),
    [("2239.99", True), ("2240", True), ("2240.01", False)],
)
def test_an_isolated_position_is_liquidatable_at_and_below_margin_balance_equals_maintenance(
    isolated_margin, liquidatable
):
    # margin balance = margin - 2000 against MM 240
    holding = IsolatedHolding(BOUNDARY_LONG.position, Decimal(isolated_margin), leverage=10)

    figures = account_figures(wallet_balance=Decimal(0), isolated_holdings=[holding])

    assert figures.isolated_positions[0].liquidatable is liquidatable


@pytest.mark.parametrize("wallet", ["2000", "1000"])
def test_cross_margin_ratio_is_none_once_the_margin_balance_is_gone_with_maintenance_due(wallet):
    figures = account_figures(wallet_balance=Decimal(wallet), cross_holdings=[BOUNDARY_LONG])

    # balance 2000 - 2000 = 0 or 1000 - 2000 = -1000, against MM 240
    assert figures.cross_margin_ratio is None
    assert figures.cross_positions[0].margin_ratio is None
    assert figures.cross_liquidatable is True
    # a cross loss is capped at the margin balance in equity
    assert figures.equity == Decimal(0)


@pytest.mark.parametrize("wallet", ["0", "10000"])
def test_cross_margin_ratio_is_zero_with_no_positions(wallet):
    figures = account_figures(wallet_balance=Decimal(wallet))

    assert figures.cross_margin_ratio == Decimal(0)
    assert figures.cross_liquidatable is False


@pytest.mark.parametrize(
    ("maintenance", "margin_balance", "ratio"),
    [
        ("240", "16000", Decimal("0.015")),
        ("240", "240", Decimal(1)),
        ("240", "0", None),
        ("240", "-1", None),
        ("0", "0", Decimal(0)),
        ("0", "-500", Decimal(0)),
    ],
)
def test_margin_ratio_is_maintenance_over_margin_balance(maintenance, margin_balance, ratio):
    assert margin_ratio(Decimal(maintenance), Decimal(margin_balance)) == ratio


def test_available_balance_deducts_cross_initial_margin_and_open_order_margin_from_a_loss():
    figures = account_figures(
        wallet_balance=Decimal("18000"),
        cross_holdings=[BOUNDARY_LONG],
        open_order_margin=Decimal("1000"),
    )

    # 18000 + (-2000) - 5800 - 1000 = 9200
    assert figures.available_balance == Decimal(9200)
    assert figures.open_order_margin == Decimal(1000)


def test_available_balance_counts_cross_unrealized_profit():
    winning = CrossHolding(btc(Side.LONG, "1", "60000", "64000"), leverage=10)

    figures = account_figures(
        wallet_balance=Decimal("18000"),
        cross_holdings=[winning],
        open_order_margin=Decimal("1000"),
    )

    # 18000 + 4000 - 6400 - 1000 = 14600
    assert figures.available_balance == Decimal(14600)


def test_available_balance_ignores_isolated_positions_whose_margin_already_left_the_wallet():
    isolated = IsolatedHolding(btc(Side.SHORT, "1", "60000", "64000"), Decimal("3000"), 20)

    figures = account_figures(
        wallet_balance=Decimal("18000"),
        cross_holdings=[BOUNDARY_LONG],
        isolated_holdings=[isolated],
        open_order_margin=Decimal("1000"),
    )

    assert figures.available_balance == Decimal(9200)
    # equity: cross 18000 - 2000 = 16000, isolated 3000 - 4000 -> 0
    assert figures.equity == Decimal(16000)
