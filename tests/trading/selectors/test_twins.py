"""Each open position's other-mode twin, as ``position_list`` gives it to the positions panel and
the API (trading/domain/twin.py).

Seeded market: BTCUSDT 60,000, ETHUSDT 3,000; 20x by default in both modes; taker fee 0.05 %.
BTCUSDT and ETHUSDT brackets: below 50,000 notional MMR 0.004, cum 0; 50,000 up to 600,000
MMR 0.005, cum 50. LP = (WB - TMM1 + UPNL1 + cum - s q EP) / (q MMR - s q). Every trader starts
with 10,000 USDT.
"""

from decimal import ROUND_FLOOR, Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import assume, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from marginsite.errors import ApplicationError
from tests.builders import DATABASE_PROPERTY, open_position, position_rows_by_key, scaled
from trading.models import Instrument
from trading.selectors import position_list
from trading.services import leverage_set, mark_price_set

pytestmark = pytest.mark.django_db

D = Decimal


def test_the_isolated_twin_of_a_cross_position_holds_the_isolated_margin_at_entry(trader):
    # given a cross long of 1 BTC at 60,000; the mark falls to 58,000
    open_position(trader, "BUY", "1", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="58000")

    twin = position_rows_by_key(trader)[("BTCUSDT", "CROSS")].twin

    # then in Isolated at 20x its margin is 60,000 / 20 = 3,000, all it can lose, and
    # LP = (3,000 + 50 - 60,000) / (0.005 - 1) = 57,236.18..., shown up to the tick
    assert (twin.mode, twin.at_risk, twin.unrealized_pnl, twin.liquidated) == (
        "ISOLATED",
        D("3000"),
        D("-2000"),
        False,
    )
    assert twin.liquidation_price == D("57236.180904522613065326633165829145728643216080402")
    assert twin.liquidation_price_display == D("57236.2")


def test_the_isolated_twin_takes_the_leverage_set_for_the_symbols_isolated_mode(trader):
    # given BTCUSDT Isolated at 10x (Cross stays 20x) and a cross long of 1 BTC at 60,000
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=10)
    open_position(trader, "BUY", "1", margin_mode="CROSS")

    twin = position_rows_by_key(trader)[("BTCUSDT", "CROSS")].twin

    # then its margin is 60,000 / 10 = 6,000: LP = (6,000 + 50 - 60,000) / (0.005 - 1)
    assert twin.at_risk == D("6000")
    assert twin.liquidation_price == D("54221.105527638190954773869346733668341708542713568")
    assert twin.liquidation_price_display == D("54221.2")


def test_the_cross_twin_of_an_isolated_position_has_its_margin_back_in_the_wallet(trader):
    # given an isolated long of 1 BTC at 60,000, 20x: margin 3,000, fee 30, wallet 6,970
    open_position(trader, "BUY", "1")

    twin = position_rows_by_key(trader)[("BTCUSDT", "ISOLATED")].twin

    # then in Cross the wallet would be 6,970 + 3,000 = 9,970, all of it at risk:
    # LP = (9,970 + 50 - 60,000) / (0.005 - 1) = 50,231.15...
    assert (twin.mode, twin.at_risk, twin.liquidated) == ("CROSS", D("9970"), False)
    assert twin.liquidation_price == D("50231.155778894472361809045226130653266331658291457")
    assert twin.liquidation_price_display == D("50231.2")


def test_the_cross_twin_counts_the_accounts_cross_positions(trader):
    # given the isolated BTC long (margin 3,000, fee 30) and a cross short of 10 ETH at 3,000
    # (fee 15): wallet 6,955; the ETH short's MM is 30,000 x 0.004 = 120, its uPnL 0
    open_position(trader, "BUY", "1")
    open_position(trader, "SELL", "10", symbol="ETHUSDT", margin_mode="CROSS")

    rows = position_rows_by_key(trader)

    # then the BTC twin joins it: LP = (9,955 - 120 + 0 + 50 - 60,000) / (0.005 - 1)
    twin = rows[("BTCUSDT", "ISOLATED")].twin
    assert twin.at_risk == D("9955")
    assert twin.liquidation_price == D("50366.834170854271356783919597989949748743718592965")
    # and the ETH short's isolated twin stands alone on 30,000 / 20 = 1,500:
    # LP = (1,500 + 10 x 3,000) / (10 x 0.004 + 10) = 3,137.45...
    eth = rows[("ETHUSDT", "CROSS")].twin
    assert (eth.mode, eth.at_risk) == ("ISOLATED", D("1500"))
    assert eth.liquidation_price == D("3137.4501992031872509960159362549800796812749003984")


def test_a_twin_already_past_its_liquidation_price_says_so(trader):
    # given a cross long of 1 BTC at 60,000; at 57,200 its isolated twin's margin balance,
    # 3,000 - 2,800 = 200, is below its maintenance margin, 57,200 x 0.005 - 50 = 236
    open_position(trader, "BUY", "1", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="57200")

    twin = position_rows_by_key(trader)[("BTCUSDT", "CROSS")].twin

    assert twin.liquidated is True


def queries_of_position_list(user) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        position_list(user=user)
    return [query["sql"] for query in captured.captured_queries]


def test_the_twins_cost_one_query_for_all_the_positions(trader, make_trader):
    # given one trader with one position and another with four, in both modes
    open_position(trader, "BUY", "1", margin_mode="CROSS")
    other = make_trader("bob")
    open_position(other, "BUY", "0.1", margin_mode="CROSS")
    open_position(other, "SELL", "0.1")
    open_position(other, "BUY", "1", symbol="ETHUSDT", margin_mode="CROSS")
    open_position(other, "BUY", "10", symbol="SOLUSDT")
    queries_of_position_list(trader)  # the ADL snapshot is cached now
    queries_of_position_list(other)

    one, four = queries_of_position_list(trader), queries_of_position_list(other)

    # then the leverages of the other modes are one query, whatever the number of positions
    assert sum("trading_leveragesetting" in sql for sql in four) == 1
    assert len(four) == len(one)


@pytest.mark.usefixtures("venue_market")
@hypothesis_settings(DATABASE_PROPERTY, max_examples=25)
@given(
    symbol=st.sampled_from(["BTCUSDT", "BTCUSDT-BYBIT", "BTCUSDT-HL", "ETHUSDT"]),
    side=st.sampled_from(["BUY", "SELL"]),
    leverage=st.integers(1, 40),
    fraction=scaled(5, 90, 2),
    move=scaled(-30, 30, 2),
)
def test_the_isolated_twin_is_exactly_the_position_opened_isolated_in_a_fresh_account(
    make_trader, symbol, side, leverage, fraction, move
):
    # given a trader whose symbol is at ``leverage`` in both modes, with a cross position of
    # ``fraction`` of what the wallet backs, and a fresh trader who opens it isolated
    instrument = Instrument.objects.get(symbol=symbol)
    entry = D("60000") if symbol.startswith("BTC") else D("3000")
    mark_price_set(symbol=symbol, price=entry)
    notional = D("10000") * fraction * leverage / (1 + leverage * D("0.001"))
    quantity = (notional / entry / instrument.step_size).to_integral_value(ROUND_FLOOR)
    quantity *= instrument.step_size
    alice, bob = make_trader(), make_trader()
    try:
        for mode in ("CROSS", "ISOLATED"):
            leverage_set(user=alice, symbol=symbol, margin_mode=mode, leverage=leverage)
        open_position(alice, side, quantity, symbol=symbol, margin_mode="CROSS")
        isolated = open_position(bob, side, quantity, symbol=symbol, leverage=leverage)
    except ApplicationError:
        assume(False)  # too small, or above the bracket's cap at that leverage

    # when the mark moves by ``move`` of the initial margin rate either way
    mark = (entry * (1 + move / leverage)).quantize(instrument.tick_size)
    assume(mark > 0)
    mark_price_set(symbol=symbol, price=mark)

    # then the cross position's isolated twin is bob's position, to the last digit
    twin = position_rows_by_key(alice)[(symbol, "CROSS")].twin
    real = position_rows_by_key(bob)[(symbol, "ISOLATED")]
    assert real.position.entry_price == entry
    assert twin.at_risk == isolated.isolated_margin
    assert twin.liquidation_price == real.figures.liquidation_price
    assert twin.liquidation_price_display == real.liquidation_price_display
    assert twin.unrealized_pnl == real.figures.unrealized_pnl
    assert twin.liquidated == real.figures.liquidatable
