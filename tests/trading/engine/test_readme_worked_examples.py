"""The worked examples of docs/margin.md ("How margin is computed"), figure by figure, so the page
a user reads can never drift from what the engine computes; the last test checks that the page
still shows the figures computed here."""

import json
from decimal import Decimal

from tests.conftest import REPO_DIR
from trading.engine import (
    CrossHolding,
    PositionState,
    Side,
    account_figures,
    brackets_from_rows,
    cross_bankruptcy_price,
    isolated_bankruptcy_price,
    isolated_liquidation_price,
    liquidation_price_for_display,
    maintenance_margin,
    max_removable_isolated_margin,
    unrealized_pnl,
)

MARGIN_PAGE = REPO_DIR / "docs" / "margin.md"
SEED = json.loads((REPO_DIR / "trading" / "seed" / "market.json").read_text())
BRACKETS = {spec["symbol"]: brackets_from_rows(spec["brackets"]) for spec in SEED["instruments"]}
BTC_TICK = Decimal("0.10")
CENT = Decimal("0.01")


def btc(side, quantity, entry, mark):
    return PositionState(
        side, Decimal(quantity), Decimal(entry), Decimal(mark), BRACKETS["BTCUSDT"]
    )


def eth(side, quantity, entry, mark):
    return PositionState(
        side, Decimal(quantity), Decimal(entry), Decimal(mark), BRACKETS["ETHUSDT"]
    )


def test_isolated_example_long_one_btc_at_20x():
    position = btc(Side.LONG, "1", "60000", "60000")
    margin = Decimal(60000) / 20

    price = isolated_liquidation_price(position, isolated_margin=margin)

    assert margin == Decimal(3000)
    assert maintenance_margin(position) == Decimal(250)
    assert price.quantize(CENT) == Decimal("57236.18")
    assert liquidation_price_for_display(price, side=Side.LONG, tick_size=BTC_TICK) == Decimal(
        "57236.20"
    )
    assert isolated_bankruptcy_price(position, isolated_margin=margin) == Decimal(57000)
    at_61000 = btc(Side.LONG, "1", "60000", "61000")
    assert max_removable_isolated_margin(at_61000, isolated_margin=margin, leverage=20) == 950


def test_cross_example_long_two_btc_alone():
    position = btc(Side.LONG, "2", "60000", "58000")

    figures = account_figures(
        wallet_balance=Decimal(20000), cross_holdings=[CrossHolding(position, 10)]
    )

    assert figures.cross_margin_balance == Decimal(16000)
    assert figures.cross_maintenance_margin == Decimal(530)
    assert figures.cross_margin_ratio == Decimal("0.033125")
    price = figures.cross_positions[0].liquidation_price
    assert price.quantize(CENT) == Decimal("50226.13")
    assert liquidation_price_for_display(price, side=Side.LONG, tick_size=BTC_TICK) == Decimal(
        "50226.20"
    )


def test_cross_example_a_winning_eth_short_moves_the_btc_liquidation_price_away():
    winner = eth(Side.SHORT, "40", "3000", "2800")
    holdings = [CrossHolding(btc(Side.LONG, "2", "60000", "58000"), 10), CrossHolding(winner, 10)]

    figures = account_figures(wallet_balance=Decimal(20000), cross_holdings=holdings)

    assert unrealized_pnl(winner) == Decimal(8000)
    assert maintenance_margin(winner) == Decimal(510)
    assert figures.cross_positions[0].liquidation_price.quantize(CENT) == Decimal("46462.31")


def test_cross_example_a_losing_eth_short_moves_the_btc_liquidation_price_closer():
    loser = eth(Side.SHORT, "30", "3000", "3300")
    holdings = [CrossHolding(btc(Side.LONG, "2", "60000", "58000"), 10), CrossHolding(loser, 10)]

    figures = account_figures(wallet_balance=Decimal(20000), cross_holdings=holdings)

    assert unrealized_pnl(loser) == Decimal(-9000)
    assert figures.cross_positions[0].liquidation_price.quantize(CENT) == Decimal("54972.36")


def test_cross_bankruptcy_price_is_where_the_whole_cross_balance_is_gone():
    # wallet 20000, long 2 BTC from 60000: 20000 + 2 x (P - 60000) = 0 at P = 50000
    position = btc(Side.LONG, "2", "60000", "58000")
    winner = eth(Side.SHORT, "40", "3000", "2800")  # +8000 moves it to 46000

    alone = cross_bankruptcy_price(position, wallet_balance=Decimal(20000), others=[])
    backed = cross_bankruptcy_price(position, wallet_balance=Decimal(20000), others=[winner])
    short = btc(Side.SHORT, "2", "60000", "61000")

    assert alone == Decimal(50000)
    assert backed == Decimal(46000)
    assert cross_bankruptcy_price(short, wallet_balance=Decimal(20000), others=[]) == 70000
    assert cross_bankruptcy_price(position, wallet_balance=Decimal(200000), others=[]) is None


def test_the_margin_page_shows_the_figures_these_examples_compute():
    page = MARGIN_PAGE.read_text()

    # isolated: the margin and the liquidation price; cross: the ratio, then the BTC liquidation
    # price alone, beside a winning ETH short and beside a losing one
    for figure in ("3,000 USDT", "57,236.18", "3.31 %", "50,226.13", "46,462.31", "54,972.36"):
        assert f"**{figure}**" in page, figure
    assert "(shown as 57,236.20)" in page
    assert "(shown as 50,226.20)" in page
