"""The read models ``account_summary`` and ``position_list``: live figures at the current marks.

Hand arithmetic in the comments; divisions at the engine's 50 significant digits. BTCUSDT and
ETHUSDT 2024 tables: notional below 50000 -> MMR 0.004, cum 0; 50000 up to 600000 -> MMR 0.005,
cum 50. SOLUSDT (illustrative): below 5000 -> MMR 0.005, cum 0. Taker fee 0.05 %, maker 0.02 %.
Liquidation price, one-way form: LP = (WB - TMM1 + UPNL1 + cum - s q EP) / (q MMR - s q).
"""

from decimal import Context, Decimal

import pytest

from tests.builders import position_rows_by_key, position_state, wallet_balance
from trading import engine
from trading.selectors import AccountSummary, account_summary, position_list
from trading.services import mark_price_set, order_cancel, order_place

pytestmark = pytest.mark.django_db

D50 = Context(prec=50)


def test_a_fresh_traders_summary_is_the_wallet_and_nothing_else(trader):
    # given a trader who has not traded
    # when the account summary is read
    summary = account_summary(user=trader)

    # then the 10000 USDT wallet is the margin balance, the available balance and the equity
    assert summary == AccountSummary(
        wallet_balance=Decimal("10000"),
        cross_unrealized_pnl=Decimal("0"),
        cross_margin_balance=Decimal("10000"),
        cross_maintenance_margin=Decimal("0"),
        cross_margin_ratio=Decimal("0"),
        available_balance=Decimal("10000"),
        open_order_margin=Decimal("0"),
        isolated_margin=Decimal("0"),
        isolated_unrealized_pnl=Decimal("0"),
        equity=Decimal("10000"),
    )
    assert position_list(user=trader) == []


def test_the_summary_of_a_cross_long_an_isolated_short_and_a_resting_order_after_a_mark_move(
    trader, balanced_ledger
):
    # given a cross long of 1 BTC at 60000, 20x (fee 30), an isolated short of 2 ETH at 3000,
    # 20x (margin 300, fee 3): wallet 10000 - 30 - 3 - 300 = 9667; and a resting cross limit buy
    # of 1 ETH at 2800 holding 2800 / 20 + 2800 x 0.0002 = 140.56
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    order_place(user=trader, symbol="ETHUSDT", side="SELL", quantity="2", margin_mode="ISOLATED")
    order_place(
        user=trader,
        symbol="ETHUSDT",
        side="BUY",
        quantity="1",
        order_type="LIMIT",
        price="2800",
        margin_mode="CROSS",
    )

    # when BTC rises to 61000 and ETH to 3100
    mark_price_set(symbol="BTCUSDT", price="61000")
    mark_price_set(symbol="ETHUSDT", price="3100")
    summary = account_summary(user=trader)

    # then, by hand:
    #   cross uPnL 1 x (61000 - 60000) = 1000; cross margin balance 9667 + 1000 = 10667
    #   cross MM: N 61000 (tier 2) x 0.005 - 50 = 255; ratio 255 / 10667
    #   available 9667 + 1000 - 61000 / 20 - 140.56 = 7476.44
    #   isolated: margin 300, uPnL -2 x (3100 - 3000) = -200
    #   equity 10667 + max(0, 300 - 200) = 10767
    assert summary == AccountSummary(
        wallet_balance=Decimal("9667"),
        cross_unrealized_pnl=Decimal("1000"),
        cross_margin_balance=Decimal("10667"),
        cross_maintenance_margin=Decimal("255"),
        cross_margin_ratio=D50.divide(Decimal("255"), Decimal("10667")),
        available_balance=Decimal("7476.44"),
        open_order_margin=Decimal("140.56"),
        isolated_margin=Decimal("300"),
        isolated_unrealized_pnl=Decimal("-200"),
        equity=Decimal("10767"),
    )
    assert wallet_balance(trader) == summary.wallet_balance


def test_each_position_row_has_its_live_figures(trader, balanced_ledger):
    # given a cross long of 1 BTC at 60000 (fee 30), a cross short of 2 ETH at 3000 (fee 3) and
    # an isolated long of 10 SOL at 150 (margin 75, fee 0.75), all 20x:
    # wallet 10000 - 30 - 3 - 0.75 - 75 = 9891.25
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    order_place(user=trader, symbol="ETHUSDT", side="SELL", quantity="2", margin_mode="CROSS")
    order_place(user=trader, symbol="SOLUSDT", side="BUY", quantity="10", margin_mode="ISOLATED")
    assert wallet_balance(trader) == Decimal("9891.25")

    # when the marks move: BTC 59000, ETH 2900, SOL 145
    mark_price_set(symbol="BTCUSDT", price="59000")
    mark_price_set(symbol="ETHUSDT", price="2900")
    mark_price_set(symbol="SOLUSDT", price="145")
    rows = position_list(user=trader)

    # then the rows come newest first
    assert [row.position.instrument.symbol for row in rows] == ["SOLUSDT", "ETHUSDT", "BTCUSDT"]
    by_key = position_rows_by_key(trader)
    btc, eth, sol = (
        by_key[("BTCUSDT", "CROSS")],
        by_key[("ETHUSDT", "CROSS")],
        by_key[("SOLUSDT", "ISOLATED")],
    )
    # BTC cross long: uPnL 59000 - 60000 = -1000; MM 59000 x 0.005 - 50 = 245;
    # margin 59000 / 20 = 2950. Backed by the wallet, the ETH short's MM 5800 x 0.004 = 23.2
    # and uPnL +200: collateral 9891.25 - 23.2 + 200 = 10068.05
    #   tier 2: (10068.05 + 50 - 60000) / (0.005 - 1) = 49881.95 / 0.995 = 50132.61...
    assert btc.mark_price == Decimal("59000")
    assert btc.figures.unrealized_pnl == Decimal("-1000")
    assert btc.figures.maintenance_margin == Decimal("245")
    assert btc.figures.margin == Decimal("2950")
    assert btc.figures.liquidation_price == D50.divide(Decimal("49881.95"), Decimal("0.995"))
    assert btc.liquidation_price_display == Decimal("50132.7")  # a long's rounds up
    # ETH cross short: uPnL -2 x (2900 - 3000) = 200; MM 23.2; margin 5800 / 20 = 290.
    # Backed by the wallet, the BTC long's MM 245 and uPnL -1000: collateral 8646.25
    #   tier 1: (8646.25 + 2 x 3000) / (2 x 0.004 + 2) = 14646.25 / 2.008 = 7293.94...
    assert eth.figures.unrealized_pnl == Decimal("200")
    assert eth.figures.maintenance_margin == Decimal("23.2")
    assert eth.figures.margin == Decimal("290")
    assert eth.figures.liquidation_price == D50.divide(Decimal("14646.25"), Decimal("2.008"))
    assert eth.liquidation_price_display == Decimal("7293.94")  # a short's rounds down
    # both cross ratios are the account's: (245 + 23.2) / (9891.25 - 1000 + 200)
    cross_ratio = D50.divide(Decimal("268.2"), Decimal("9091.25"))
    assert btc.figures.margin_ratio == eth.figures.margin_ratio == cross_ratio
    # SOL isolated long: uPnL 10 x (145 - 150) = -50; MM 1450 x 0.005 = 7.25; margin 75;
    # backed by its 75 only: (75 - 10 x 150) / (10 x 0.005 - 10) = 1425 / 9.95 = 143.2160...
    assert sol.figures.unrealized_pnl == Decimal("-50")
    assert sol.figures.maintenance_margin == Decimal("7.25")
    assert sol.figures.margin == Decimal("75")
    assert sol.figures.margin_ratio == Decimal("7.25") / Decimal("25")  # MM / (75 - 50)
    assert sol.figures.liquidation_price == D50.divide(Decimal("1425"), Decimal("9.95"))
    assert sol.liquidation_price_display == Decimal("143.22")  # up to the 0.01 tick


def test_a_cross_positions_liquidation_price_takes_the_other_cross_positions_into_account(
    trader, balanced_ledger
):
    # given a cross long of 1 BTC at 60000 and a cross short of 2 ETH at 3000, then ETH at 2900
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    order_place(user=trader, symbol="ETHUSDT", side="SELL", quantity="2", margin_mode="CROSS")
    mark_price_set(symbol="ETHUSDT", price="2900")
    wallet = wallet_balance(trader)
    assert wallet == Decimal("9967")  # 10000 - 30 - 3

    # when the positions are listed
    rows = position_rows_by_key(trader)

    # then each cross position's liquidation price is the engine's with the other as `others`
    btc_state = position_state("BTCUSDT", 1, "1", "60000", "60000")
    eth_state = position_state("ETHUSDT", -1, "2", "3000", "2900")
    with_eth = engine.cross_liquidation_price(btc_state, wallet_balance=wallet, others=[eth_state])
    with_btc = engine.cross_liquidation_price(eth_state, wallet_balance=wallet, others=[btc_state])
    assert rows[("BTCUSDT", "CROSS")].figures.liquidation_price == with_eth
    assert rows[("ETHUSDT", "CROSS")].figures.liquidation_price == with_btc
    # the ETH short's profit (+200, MM 23.2) moves the BTC long's price away from the mark:
    #   alone: (9967 + 50 - 60000) / -0.995 = 49983 / 0.995 = 50234.17...
    #   with:  (9967 - 23.2 + 200 + 50 - 60000) / -0.995 = 49806.2 / 0.995 = 50056.48...
    alone = engine.cross_liquidation_price(btc_state, wallet_balance=wallet, others=())
    assert alone == D50.divide(Decimal("49983"), Decimal("0.995"))
    assert with_eth == D50.divide(Decimal("49806.2"), Decimal("0.995"))
    assert with_eth < alone


def test_an_isolated_position_is_left_out_of_the_cross_liquidation_price(trader, balanced_ledger):
    # given a cross long of 1 BTC (fee 30) and an isolated short of 2 ETH (margin 300, fee 3)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    order_place(user=trader, symbol="ETHUSDT", side="SELL", quantity="2", margin_mode="ISOLATED")
    # when ETH falls to 2500: the isolated short wins 1000
    mark_price_set(symbol="ETHUSDT", price="2500")

    # then the BTC long is priced with the wallet (9667) alone; the isolated profit does not help
    #   (9667 + 50 - 60000) / -0.995 = 50283 / 0.995 = 50535.67...
    rows = position_rows_by_key(trader)
    assert rows[("BTCUSDT", "CROSS")].figures.liquidation_price == D50.divide(
        Decimal("50283"), Decimal("0.995")
    )


def test_an_open_limit_orders_margin_held_lowers_the_available_balance(trader, balanced_ledger):
    # given a trader with 10000 USDT
    # when the trader places a resting limit buy of 0.1 BTC at 59000 (the mark is 60000): it
    # holds its margin 5900 / 20 = 295 and its maker fee 5900 x 0.0002 = 1.18
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT", price="59000"
    )

    # then the wallet keeps its 10000, the available balance falls by the 296.18 held
    assert order.status == "NEW"
    assert order.margin_held == Decimal("296.18")
    summary = account_summary(user=trader)
    assert summary.wallet_balance == Decimal("10000")
    assert summary.open_order_margin == Decimal("296.18")
    assert summary.available_balance == Decimal("9703.82")
    assert summary.cross_margin_balance == Decimal("10000")
    assert summary.equity == Decimal("10000")

    # and once it is canceled, the whole wallet is available again
    order_cancel(user=trader, order_id=order.pk)
    summary = account_summary(user=trader)
    assert (summary.open_order_margin, summary.available_balance) == (
        Decimal("0"),
        Decimal("10000"),
    )
