"""sweep_run's liquidations: isolated (the user loses exactly the position's margin, the insurance
fund takes or pays the difference between the mark and the bankruptcy price), cross (every cross
position closed, the wallet to 0, the fund takes the rest or covers the shortfall), what each
leaves untouched, the receipts, and the run bookkeeping (SweepRun, the overlap guard, shards).

Seeded market: BTCUSDT mark 60,000, ETHUSDT 3,000, SOLUSDT 150; taker fee 0.05 %. BTCUSDT and
ETHUSDT brackets: notional below 50,000 -> MMR 0.004, cum 0; 50,000 up to 600,000 -> MMR 0.005,
cum 50. SOLUSDT below 5,000 -> MMR 0.005, cum 0. Every trader starts with 10,000 USDT. The insurance
fund starts empty (the ``insurance_fund`` fixture gives it capital where it must pay).

Liquidation (Binance): a position above its first bracket is first cut one bracket at a time
(kept: the bracket's floor / mark, down to the step), each step a fill at the mark with its
liquidation fee (BTCUSDT, ETHUSDT 0.0125, SOLUSDT 0.015 of the notional, up to 1e-8) paid to the
fund from what backs the position and capped at what is left there; what is still out of margin
is then closed whole.

Liquidation price (one-way): LP = (WB - TMM1 + UPNL1 + cum - s q EP) / (q MMR - s q), stored
in the receipt to 8 decimals (half even).
"""

from contextlib import contextmanager
from decimal import Decimal

import pytest
from django.db import DEFAULT_DB_ALIAS, connections

from tests.builders import last_ledger_pk, ledger_rows, open_position, wallet_balance
from trading.domain.holdings import engine_brackets
from trading.engine import brackets_from_rows
from trading.models import (
    Fill,
    Instrument,
    LedgerEntry,
    LiquidationEvent,
    Notification,
    Position,
    SweepRun,
)
from trading.selectors import system_account_balance
from trading.services import (
    SweepReport,
    leverage_set,
    liquidations,
    mark_price_set,
    order_place,
    sweep_run,
)
from trading.services.sweeps import sweep_lock_keys

pytestmark = pytest.mark.django_db

D = Decimal


# --- helpers -------------------------------------------------------------------------------


def isolated_btc_long_at_20x(user):
    """1 BTC isolated long at 60,000, 20x: margin 60000 / 20 = 3000, fee 60000 x 0.0005 = 30."""
    return open_position(user, "BUY", "1", leverage=20)


def seeded_brackets(symbol: str):
    return engine_brackets(Instrument.objects.get(symbol=symbol))


def fund() -> Decimal:
    return system_account_balance("INSURANCE_FUND")


def house() -> Decimal:
    return system_account_balance("HOUSE")


def refreshed(*rows):
    for row in rows:
        row.refresh_from_db()
    return rows


# --- isolated -----------------------------------------------------------------------------


def test_isolated_liquidation_closes_at_bankruptcy_so_the_user_loses_exactly_the_margin(
    trader, balanced_ledger
):
    # given a 1 BTC isolated long at 60,000, 20x: margin 3000, fee 30
    isolated = isolated_btc_long_at_20x(trader)
    # and a reduce-only take-profit on it (holds nothing)
    take_profit = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="1",
        order_type="TAKE_PROFIT_MARKET", stop_price="65000", margin_mode="ISOLATED",
        reduce_only=True,
    )  # fmt: skip
    # and, on the same symbol, a cross long of 0.1 BTC (fee 6000 x 0.0005 = 3)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    cross = open_position(trader, "BUY", "0.1", margin_mode="CROSS")
    # with a cross take-profit of its own
    cross_take_profit = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1",
        order_type="TAKE_PROFIT_MARKET", stop_price="65000", margin_mode="CROSS",
        reduce_only=True,
    )  # fmt: skip
    # wallet: 10000 - 3000 margin - 30 fee - 3 fee = 6967
    assert wallet_balance(trader) == D("6967")
    # liquidation price: bracket 2 at ~57,236 notional: (3000 + 50 - 60000) / (0.005 - 1)
    #   = -56950 / -0.995 = 57236.18090452261306532663...
    # when the mark falls to 57,200, below it:
    #   margin balance = 3000 + 1 x (57200 - 60000) = 200
    #   maintenance    = 57200 x 0.005 - 50 = 236; 200 <= 236
    mark_price_set(symbol="BTCUSDT", price="57200")
    fund_before, house_before, since = fund(), house(), last_ledger_pk()

    report = sweep_run()

    # then the isolated position is liquidated, its margin gone
    isolated, take_profit, cross, cross_take_profit = refreshed(
        isolated, take_profit, cross, cross_take_profit
    )
    assert (isolated.status, isolated.quantity, isolated.isolated_margin) == (
        "LIQUIDATED", D(0), D(0)
    )  # fmt: skip
    assert isolated.closed_at is not None
    assert (report.ran, report.isolated_liquidations, report.cross_liquidations) == (True, 1, 0)
    # the user loses exactly 3000: the wallet is not touched by the sweep
    assert wallet_balance(trader) == D("6967")
    # Binance's partial step first: the notional at the mark, 57,200, is in bracket 2 (from
    # 50,000), so the position is cut to 50,000 / 57,200 = 0.874 (on the step), closing 0.126
    # at the mark: loss 0.126 x 2,800 = 352.8 and the liquidation fee 0.126 x 57,200 x 0.0125 =
    # 90.09, both from its margin, which keeps the rest: 2,557.11. Still out of margin:
    #   margin balance = 2,557.11 - 0.874 x 2,800 = 109.91
    #   maintenance    = 0.874 x 57,200 x 0.004 = 199.9712 (bracket 1)
    # so the last step closes the 0.874: loss 2,447.2, and the fee, 624.91, is capped at the
    # 109.91 left. The user loses the margin, 3,000; the fund takes 90.09 + 109.91 = 200
    assert ledger_rows("position_id", "memo", after=since) == [
        ("LIQUIDATION", D("352.8"), "ISOLATED_MARGIN", "HOUSE", isolated.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("90.09"), "ISOLATED_MARGIN", "INSURANCE_FUND", isolated.pk,
         "liquidation fee"),
        ("LIQUIDATION", D("2447.2"), "ISOLATED_MARGIN", "HOUSE", isolated.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("109.91"), "ISOLATED_MARGIN", "INSURANCE_FUND", isolated.pk,
         "liquidation fee"),
    ]  # fmt: skip
    assert fund() - fund_before == D("200")
    # the house, the counterparty at the mark, gains the position's loss there: 3000 - 200
    assert house() - house_before == D("2800")
    # the realized PnL is the loss at the mark; with the fees, the 3,000 margin
    assert isolated.realized_pnl == D("-2800")
    # two liquidation fills: the partial one at the mark, the last at the bankruptcy price of
    # what was left, 60,000 - 2,557.11 / 0.874 = 57,074.24485125... (to 8 decimals)
    fills = Fill.objects.filter(position=isolated, order__reduce_only=True).order_by("pk")
    assert [(f.price, f.quantity, f.fee, f.realized_pnl) for f in fills] == [
        (D("57200"), D("0.126"), D("90.09"), D("-352.8")),
        (D("57074.24485126"), D("0.874"), D("109.91"), D("-2447.2")),
    ]
    assert {(f.order.side, f.order.status) for f in fills} == {("SELL", "FILLED")}
    # its open order is canceled; the cross position and its order are untouched
    assert take_profit.status == "CANCELED"
    assert cross_take_profit.status == "NEW"
    assert (cross.status, cross.quantity, cross.entry_price) == ("OPEN", D("0.1"), D("60000"))
    # the receipt
    event = LiquidationEvent.objects.get(user=trader)
    assert event.margin_mode == "ISOLATED"
    assert list(event.positions.all()) == [isolated]
    assert event.margin_balance == D("200")  # 3000 - 2800
    assert event.maintenance_margin == D("236")  # 286 - 50
    assert event.loss == D("3000")
    assert event.insurance_fund_change == D("200")
    assert (event.liquidation_fee, event.survived, event.deleveraged) == (D("200"), False, [])
    assert [
        (D(line["quantity"]), D(line["price"]), D(line["liquidation_fee"]), line["final"])
        for line in event.steps
    ] == [
        (D("0.126"), D("57200"), D("90.09"), False),
        (D("0.874"), D("57074.24485126"), D("109.91"), True),
    ]
    assert event.details == [
        {
            "position": isolated.pk,
            "symbol": "BTCUSDT",
            "venue": "BINANCE",
            "side": "LONG",
            "quantity": "1.00000000",
            "entry_price": "60000.00000000",
            "mark_price": "57200.00000000",
            "liquidation_price": "57236.18090452",  # to 8 decimals, half even
            "bankruptcy_price": "57000.00000000",
            # every other figure the receipt shows, exact, as it was at the trigger
            "unrealized_pnl": "-2800",
            "maintenance_bracket": ["50000", "600000", 100, "0.005", "50"],  # of 57,200
            "others_maintenance_margin": "0",
            "others_unrealized_pnl": "0",
            "liquidation_bracket": ["50000", "600000", 100, "0.005", "50"],  # of 57,236.18
            "tick_size": "0.10000000",
            "step_size": "0.00100000",
        }
    ]
    # with the bracket table the position was valued with
    assert brackets_from_rows(event.brackets["BTCUSDT"]) == seeded_brackets("BTCUSDT")
    assert list(event.brackets) == ["BTCUSDT"]
    # and the user is told
    notification = Notification.objects.get(user=trader)
    assert (notification.kind, notification.liquidation) == ("LIQUIDATION", event)
    # with what Cross would have done: the wallet, 6,967 + 3,000, beside the cross 0.1 BTC
    # long (MM 5,720 x 0.004 = 22.88, uPnL -280), carries the 2,800 loss and stays in margin;
    # LP = (9,967 - 22.88 - 280 + 50 - 60,000) / (0.005 - 1) = 50,538.57..., up to the tick
    assert notification.message == (
        "Your BTCUSDT Isolated long was liquidated at mark 57,200. You lost its margin of "
        "3,000 USDT; the rest of your account is untouched. In Cross, this move would have "
        "taken 2,800.00 USDT from your wallet and left you open (liq. price 50,538.6)."
    )


def test_isolated_liquidation_past_bankruptcy_costs_the_user_the_margin_and_the_fund_the_rest(
    trader, insurance_fund, balanced_ledger
):
    # given a 1 BTC isolated long at 60,000, 20x: margin 3000 (bankruptcy 57000); wallet 6970
    # and an insurance fund with capital to pay
    position = isolated_btc_long_at_20x(trader)
    assert wallet_balance(trader) == D("6970")
    # when the mark gaps down to 56,000, past bankruptcy:
    #   margin balance = 3000 + 1 x (56000 - 60000) = -1000
    #   maintenance    = 56000 x 0.005 - 50 = 230
    mark_price_set(symbol="BTCUSDT", price="56000")
    fund_before, house_before, since = fund(), house(), last_ledger_pk()

    sweep_run()

    # then the user still loses exactly the 3000 margin, never the wallet
    (position,) = refreshed(position)
    assert (position.status, position.isolated_margin) == ("LIQUIDATED", D(0))
    assert wallet_balance(trader) == D("6970")
    # Binance's partial step first: the notional at the mark, 56,000, is in bracket 2, so the
    # position is cut to 50,000 / 56,000 = 0.892857... -> 0.892 (on the step), closing 0.108 at
    # the mark: loss 0.108 x 4,000 = 432 and the fee 0.108 x 56,000 x 0.0125 = 75.6, both from
    # its margin, which keeps 3,000 - 432 - 75.6 = 2,492.4. Still out of margin:
    #   margin balance = 2,492.4 - 0.892 x 4,000 = -1,075.6
    #   maintenance    = 0.892 x 56,000 x 0.004 = 199.808 (bracket 1, 49,952)
    # so the last step closes the 0.892: loss 3,568, the margin pays its 2,492.4, the fund the
    # 1,075.6 beyond it, and the fee is capped at the 0 left
    assert ledger_rows("position_id", "memo", after=since) == [
        ("LIQUIDATION", D("432"), "ISOLATED_MARGIN", "HOUSE", position.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("75.6"), "ISOLATED_MARGIN", "INSURANCE_FUND", position.pk,
         "liquidation fee"),
        ("LIQUIDATION", D("2492.4"), "ISOLATED_MARGIN", "HOUSE", position.pk,
         "closed by the liquidation at the mark"),
        ("INSURANCE", D("1075.6"), "INSURANCE_FUND", "HOUSE", position.pk,
         "loss beyond the isolated margin"),
    ]  # fmt: skip
    # the fund pays the gap between the bankruptcy price and the mark, 1 x (57000 - 56000):
    # 75.6 - 1,075.6 = -1,000
    assert fund() - fund_before == D("-1000")
    # the house gains the whole loss at the mark: 1 x (60000 - 56000) = 432 + 2,492.4 + 1,075.6
    assert house() - house_before == D("4000")
    # the realized PnL is what the margin lost besides the fees: -432, then -2,492.4 (the last
    # fill at the bankruptcy price of what was left, 60,000 - 2,492.4 / 0.892 =
    # 57,205.82959641255...), -2,924.4 in all; with the 75.6 fee, the 3,000 margin
    assert position.realized_pnl == D("-2924.4")
    fills = Fill.objects.filter(position=position, order__reduce_only=True).order_by("pk")
    assert [(f.price, f.quantity, f.fee, f.realized_pnl) for f in fills] == [
        (D("56000"), D("0.108"), D("75.6"), D("-432")),
        (D("57205.82959641"), D("0.892"), D(0), D("-2492.4")),
    ]
    event = LiquidationEvent.objects.get(user=trader)
    assert (event.margin_balance, event.maintenance_margin) == (D("-1000"), D("230"))
    assert (event.loss, event.insurance_fund_change) == (D("3000"), D("-1000"))
    assert (event.liquidation_fee, event.survived, event.deleveraged) == (D("75.6"), False, [])
    assert event.details[0]["mark_price"] == "56000.00000000"
    assert event.details[0]["liquidation_price"] == "57236.18090452"
    assert event.details[0]["bankruptcy_price"] == "57000.00000000"


def test_the_funds_share_of_an_isolated_liquidation_is_exact_when_bankruptcy_never_terminates(
    trader, balanced_ledger
):
    # given 0.003 BTC isolated long at 60,000, 7x: margin 180 / 7 = 25.714285714... charged up
    # to 25.71428572, fee 0.09; bankruptcy 60000 - 25.71428572 / 0.003 = 51428.5714266666...
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=7)
    position = open_position(trader, "BUY", "0.003")
    assert position.isolated_margin == D("25.71428572")
    assert wallet_balance(trader) == D("9974.19571428")
    # when the mark falls to 51,438.9 (liquidation price 51,635.11...):
    #   margin balance = 25.71428572 + 0.003 x (51438.9 - 60000) = 0.03098572
    #   maintenance    = 154.3167 x 0.004 = 0.6172668
    mark_price_set(symbol="BTCUSDT", price="51438.9")
    fund_before, house_before, since = fund(), house(), last_ledger_pk()

    sweep_run()

    # then, the notional in bracket 1, the position is closed whole at the mark: its loss,
    # 25.6833, from the margin; the liquidation fee, 0.003 x 51438.9 x 0.0125 = 1.92895875, is
    # capped at the margin balance left at the mark, so the fund takes 0.03098572 exactly: not
    # 0.003 x (51438.9 - 51428.57142666...67) rounded down, 0.03098571, one 1e-8 short
    (position,) = refreshed(position)
    # the realized PnL: 0 - 25.71428572 + 0.03098572 (margin after - before + fee)
    assert (position.status, position.realized_pnl) == ("LIQUIDATED", D("-25.6833"))
    assert ledger_rows("position_id", "memo", after=since) == [
        ("LIQUIDATION", D("25.6833"), "ISOLATED_MARGIN", "HOUSE", position.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("0.03098572"), "ISOLATED_MARGIN", "INSURANCE_FUND", position.pk,
         "liquidation fee"),
    ]  # fmt: skip
    assert fund() - fund_before == D("0.03098572")
    # the fill shows the bankruptcy price, 51428.5714266666... to 8 decimals
    closing = Fill.objects.get(position=position, order__reduce_only=True)
    assert (closing.price, closing.fee) == (D("51428.57142667"), D("0.03098572"))
    # the house keeps exactly the position's loss at the mark: 0.003 x (60000 - 51438.9)
    assert house() - house_before == D("25.6833")
    assert wallet_balance(trader) == D("9974.19571428")
    event = LiquidationEvent.objects.get(user=trader)
    assert (event.margin_balance, event.insurance_fund_change, event.liquidation_fee) == (
        D("0.03098572"), D("0.03098572"), D("0.03098572")
    )  # fmt: skip
    assert event.loss == D("25.71428572")  # the margin
    assert event.details[0]["bankruptcy_price"] == "51428.57142667"
    assert event.details[0]["unrealized_pnl"] == "-25.6833"


def test_isolated_short_liquidation_closes_at_its_bankruptcy_price_above_the_entry(
    trader, balanced_ledger
):
    # given a 1 BTC isolated short at 60,000, 20x: margin 3000, fee 30; wallet 6970
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    position = open_position(trader, "SELL", "1")
    # liquidation price, s = -1: (3000 + 50 + 60000) / (0.005 + 1) = 63050 / 1.005
    #   = 62736.31840796019900497512...
    # when the mark rises to 62,800, above it:
    #   margin balance = 3000 - 1 x (62800 - 60000) = 200
    #   maintenance    = 62800 x 0.005 - 50 = 264; 200 <= 264
    mark_price_set(symbol="BTCUSDT", price="62800")
    fund_before, since = fund(), last_ledger_pk()

    sweep_run()

    # then Binance's partial step first: the notional at the mark, 62,800, is in bracket 2, so
    # the short is cut to 50,000 / 62,800 = 0.796178... -> 0.796 (on the step), buying 0.204 at
    # the mark: loss 0.204 x 2,800 = 571.2 and the fee 0.204 x 62,800 x 0.0125 = 160.14, both
    # from its margin, which keeps 3,000 - 571.2 - 160.14 = 2,268.66. Still out of margin:
    #   margin balance = 2,268.66 - 0.796 x 2,800 = 39.86
    #   maintenance    = 0.796 x 62,800 x 0.004 = 199.9552 (bracket 1, 49,988.8)
    # so the last step closes the 0.796: loss 2,228.8, and the fee, 624.86, is capped at the
    # 39.86 left. The user loses the 3000 margin; the fund takes 160.14 + 39.86 = 200, what the
    # bankruptcy price 60000 + 3000 / 1 = 63000 leaves beyond the mark: -1 x (62800 - 63000)
    (position,) = refreshed(position)
    # the realized PnL is the loss at the mark, -571.2 - 2,228.8; with the fees, the margin
    assert (position.status, position.isolated_margin, position.realized_pnl) == (
        "LIQUIDATED", D(0), D("-2800")
    )  # fmt: skip
    assert wallet_balance(trader) == D("6970")
    assert ledger_rows("position_id", "memo", after=since) == [
        ("LIQUIDATION", D("571.2"), "ISOLATED_MARGIN", "HOUSE", position.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("160.14"), "ISOLATED_MARGIN", "INSURANCE_FUND", position.pk,
         "liquidation fee"),
        ("LIQUIDATION", D("2228.8"), "ISOLATED_MARGIN", "HOUSE", position.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("39.86"), "ISOLATED_MARGIN", "INSURANCE_FUND", position.pk,
         "liquidation fee"),
    ]  # fmt: skip
    assert fund() - fund_before == D("200")
    # two buys: the partial one at the mark, the last at the bankruptcy price of what was left,
    # 60,000 + 2,268.66 / 0.796 = 62,850.07537688442... (to 8 decimals), above the entry
    fills = Fill.objects.filter(position=position, order__reduce_only=True).order_by("pk")
    assert [(f.order.side, f.price, f.quantity, f.fee, f.realized_pnl) for f in fills] == [
        ("BUY", D("62800"), D("0.204"), D("160.14"), D("-571.2")),
        ("BUY", D("62850.07537688"), D("0.796"), D("39.86"), D("-2228.8")),
    ]
    event = LiquidationEvent.objects.get(user=trader)
    assert (event.margin_balance, event.maintenance_margin) == (D("200"), D("264"))
    assert (event.loss, event.insurance_fund_change) == (D("3000"), D("200"))
    assert (event.liquidation_fee, event.survived) == (D("200"), False)
    assert event.details[0]["side"] == "SHORT"
    assert event.details[0]["liquidation_price"] == "62736.31840796"
    assert event.details[0]["bankruptcy_price"] == "63000.00000000"
    # in Cross, on 6,970 + 3,000: LP = (9,970 + 50 + 60,000) / (0.005 + 1) = 69,671.64...,
    # a short's down to the tick
    assert Notification.objects.get(user=trader).message == (
        "Your BTCUSDT Isolated short was liquidated at mark 62,800. You lost its margin of "
        "3,000 USDT; the rest of your account is untouched. In Cross, this move would have "
        "taken 2,800.00 USDT from your wallet and left you open (liq. price 69,671.6)."
    )


def test_an_isolated_position_just_above_its_liquidation_price_is_not_liquidated(
    trader, unchanged, balanced_ledger
):
    # given a 1 BTC isolated long at 60,000, 20x, liquidation price 57236.18...
    position = isolated_btc_long_at_20x(trader)
    # when the mark falls to 57,300, just above it:
    #   margin balance = 3000 - 2700 = 300 > maintenance 57300 x 0.005 - 50 = 236.5
    mark_price_set(symbol="BTCUSDT", price="57300")

    with unchanged():
        report = sweep_run()

    # then nothing happens
    assert (report.isolated_liquidations, report.cross_liquidations) == (0, 0)
    (position,) = refreshed(position)
    assert position.status == "OPEN"
    assert not LiquidationEvent.objects.exists()
    assert not Notification.objects.exists()


# --- cross ----------------------------------------------------------------------------------


@pytest.fixture
def cross_account(trader):
    """A trader with, in this order:
    - an isolated BTC long of 0.1 at 60,000, 20x: margin 300, fee 3, and a reduce-only
      take-profit on it;
    - a cross ETH long of 50 at 3000, 20x: notional 150,000, fee 75;
    - a cross SOL long of 20 at 150, 20x: notional 3000, fee 1.5;
    - a resting cross LIMIT buy of 1 ETH at 2000 (holds 2000 / 20 + 2000 x 0.0002 = 100.4).
    Wallet: 10000 - 300 - 3 - 75 - 1.5 = 9620.5."""
    for symbol, mode in (("BTCUSDT", "ISOLATED"), ("ETHUSDT", "CROSS"), ("SOLUSDT", "CROSS")):
        leverage_set(user=trader, symbol=symbol, margin_mode=mode, leverage=20)
    isolated = open_position(trader, "BUY", "0.1")
    isolated_order = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1",
        order_type="TAKE_PROFIT_MARKET", stop_price="65000", margin_mode="ISOLATED",
        reduce_only=True,
    )  # fmt: skip
    eth = open_position(trader, "BUY", "50", symbol="ETHUSDT", margin_mode="CROSS")
    sol = open_position(trader, "BUY", "20", symbol="SOLUSDT", margin_mode="CROSS")
    cross_order = order_place(
        user=trader, symbol="ETHUSDT", side="BUY", quantity="1", order_type="LIMIT",
        price="2000", margin_mode="CROSS",
    )  # fmt: skip
    assert cross_order.margin_held == D("100.4")
    assert wallet_balance(trader) == D("9620.5")
    return {
        "user": trader,
        "isolated": isolated,
        "isolated_order": isolated_order,
        "eth": eth,
        "sol": sol,
        "cross_order": cross_order,
    }


def assert_isolated_side_untouched(account):
    isolated, isolated_order = refreshed(account["isolated"], account["isolated_order"])
    assert (isolated.status, isolated.quantity, isolated.isolated_margin) == (
        "OPEN", D("0.1"), D("300")
    )  # fmt: skip
    assert isolated_order.status == "NEW"


def test_cross_liquidation_closes_every_cross_position_and_the_fund_takes_what_remains(
    cross_account, balanced_ledger
):
    user, eth, sol = cross_account["user"], cross_account["eth"], cross_account["sol"]
    # given the cross account above (wallet 9620.5)
    # when ETH falls to 2810 (SOL stays at 150):
    #   cross margin balance = 9620.5 + 50 x (2810 - 3000) + 0 = 9620.5 - 9500 = 120.5
    #   cross maintenance    = (140500 x 0.005 - 50) + 3000 x 0.005 = 652.5 + 15 = 667.5
    mark_price_set(symbol="ETHUSDT", price="2810")
    fund_before, since = fund(), last_ledger_pk()

    report = sweep_run()

    # then Binance's partial step first: ETH, the cross position with the largest maintenance
    # margin (SOL, in bracket 1, cannot be reduced), at 140,500 in bracket 2, is cut to
    # 50,000 / 2,810 = 17.7935... -> 17.793 (on the step), selling 32.207 at the mark: loss
    # 32.207 x 190 = 6,119.33 and the fee 32.207 x 2,810 x 0.0125 = 1,131.270875, both paid by
    # the wallet (9,620.5 -> 2,369.899125). Still out of margin:
    #   cross margin balance = 2,369.899125 + 17.793 x -190 = 2,369.899125 - 3,380.67
    #                        = -1,010.770875
    #   cross maintenance    = 17.793 x 2,810 x 0.004 + 15 = 199.99332 + 15 = 214.99332
    # so every cross position is closed at the mark, the profits first: SOL (uPnL 0) with its
    # fee 20 x 150 x 0.015 = 45 (wallet 2,324.899125), then ETH: loss 3,380.67, the wallet pays
    # its 2,324.899125 and the fund the 1,055.770875 beyond it (out of the fees it just took)
    assert (report.isolated_liquidations, report.cross_liquidations) == (0, 1)
    eth, sol, cross_order = refreshed(eth, sol, cross_account["cross_order"])
    # ETH's realized PnL is what left the wallet for it: -6,119.33 - 2,324.899125
    assert (eth.status, eth.quantity, eth.realized_pnl) == (
        "LIQUIDATED", D(0), D("-8444.229125")
    )  # fmt: skip
    assert (sol.status, sol.quantity, sol.realized_pnl) == ("LIQUIDATED", D(0), D(0))
    assert wallet_balance(user) == D(0)
    assert ledger_rows("position_id", "memo", after=since) == [
        ("LIQUIDATION", D("6119.33"), "WALLET", "HOUSE", eth.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("1131.270875"), "WALLET", "INSURANCE_FUND", eth.pk,
         "liquidation fee"),
        ("LIQUIDATION_FEE", D("45"), "WALLET", "INSURANCE_FUND", sol.pk, "liquidation fee"),
        ("LIQUIDATION", D("2324.899125"), "WALLET", "HOUSE", eth.pk,
         "closed by the liquidation at the mark"),
        ("INSURANCE", D("1055.770875"), "INSURANCE_FUND", "HOUSE", eth.pk,
         "loss beyond the cross wallet"),
    ]  # fmt: skip
    # the fund still nets what the wallet had beyond the ETH loss at the mark, 9,620.5 - 9,500:
    # 1,131.270875 + 45 - 1,055.770875 = 120.5
    assert fund() - fund_before == D("120.5")
    # the cross open order is canceled and holds nothing any more
    assert (cross_order.status, cross_order.margin_held) == ("CANCELED", D(0))
    # the isolated position, its margin and its order are untouched
    assert_isolated_side_untouched(cross_account)
    # the receipt
    event = LiquidationEvent.objects.get(user=user)
    assert event.margin_mode == "CROSS"
    assert set(event.positions.all()) == {eth, sol}
    assert event.margin_balance == D("120.5")
    assert event.maintenance_margin == D("667.5")
    assert event.loss == D("9620.5")  # the whole wallet
    assert event.insurance_fund_change == D("120.5")
    # the fees: 1,131.270875 + 45; the steps, in order, each at the mark
    assert (event.liquidation_fee, event.survived, event.deleveraged) == (
        D("1176.270875"), False, []
    )  # fmt: skip
    assert [
        (line["symbol"], D(line["quantity"]), D(line["price"]), D(line["liquidation_fee"]),
         D(line["realized_pnl"]), D(line["insurance_fund_change"]), line["final"])
        for line in event.steps
    ] == [
        ("ETHUSDT", D("32.207"), D("2810"), D("1131.270875"), D("-6119.33"),
         D("1131.270875"), False),
        ("SOLUSDT", D("20"), D("150"), D("45"), D(0), D("45"), True),
        ("ETHUSDT", D("17.793"), D("2810"), D(0), D("-2324.899125"), D("-1055.770875"), True),
    ]  # fmt: skip
    # ETH: LP with the SOL position held at 150 (TMM1 = 15, UPNL1 = 0):
    #   (9620.5 - 15 + 0 + 50 - 50 x 3000) / (50 x 0.005 - 50) = -140344.5 / -49.75
    #   = 2820.99497487437185929648...
    #   bankruptcy: 3000 - (9620.5 + 0) / 50 = 2807.59
    # SOL: LP with ETH held at 2810 (TMM1 = 652.5, UPNL1 = -9500), bracket 1 (cum 0):
    #   (9620.5 - 652.5 - 9500 + 0 - 20 x 150) / (20 x 0.005 - 20) = -3532 / -19.9
    #   = 177.48743718592964824120...
    #   bankruptcy: 150 - (9620.5 - 9500) / 20 = 143.975
    assert event.details == [
        {
            "position": eth.pk,
            "symbol": "ETHUSDT",
            "venue": "BINANCE",
            "side": "LONG",
            "quantity": "50.00000000",
            "entry_price": "3000.00000000",
            "mark_price": "2810.00000000",
            "liquidation_price": "2820.99497487",
            "bankruptcy_price": "2807.59000000",
            "unrealized_pnl": "-9500",
            "maintenance_bracket": ["50000", "600000", 100, "0.005", "50"],  # of 140,500
            "others_maintenance_margin": "15",
            "others_unrealized_pnl": "0",
            "liquidation_bracket": ["50000", "600000", 100, "0.005", "50"],  # of 141,049.75
            "tick_size": "0.01000000",
            "step_size": "0.00100000",
        },
        {
            "position": sol.pk,
            "symbol": "SOLUSDT",
            "venue": "BINANCE",
            "side": "LONG",
            "quantity": "20.00000000",
            "entry_price": "150.00000000",
            "mark_price": "150.00000000",
            "liquidation_price": "177.48743719",
            "bankruptcy_price": "143.97500000",
            "unrealized_pnl": "0",
            "maintenance_bracket": ["0", "5000", 75, "0.005", "0"],  # of 3,000
            "others_maintenance_margin": "652.5",
            "others_unrealized_pnl": "-9500",
            "liquidation_bracket": ["0", "5000", 75, "0.005", "0"],  # of 3,549.75
            "tick_size": "0.01000000",
            "step_size": "1.00000000",
        },
    ]
    assert {symbol: brackets_from_rows(rows) for symbol, rows in event.brackets.items()} == {
        "ETHUSDT": seeded_brackets("ETHUSDT"),
        "SOLUSDT": seeded_brackets("SOLUSDT"),
    }
    notification = Notification.objects.get(user=user)
    assert (notification.kind, notification.liquidation) == ("LIQUIDATION", event)
    # with what Isolated at 20x would have done: ETH on 150,000 / 20 = 7,500 loses 9,500 (gone);
    # SOL on 3,000 / 20 = 150, at its entry: LP = (150 - 3,000) / (0.1 - 20) = 143.216...
    assert notification.message == (
        "Your cross positions (ETHUSDT, SOLUSDT) were liquidated: the cross margin balance fell "
        "to the maintenance margin. Your wallet of 9,620.5 USDT is gone; your isolated "
        "positions are untouched. In Isolated, ETHUSDT long would have lost only its 7,500.00 "
        "USDT margin; SOLUSDT long would have survived on its 150.00 USDT margin (liq. price "
        "143.22)."
    )


def test_cross_liquidation_after_a_gap_down_has_the_fund_cover_the_shortfall(
    cross_account, insurance_fund, balanced_ledger
):
    user, eth, sol = cross_account["user"], cross_account["eth"], cross_account["sol"]
    # given the cross account above (wallet 9620.5), and an insurance fund with capital
    # when ETH gaps down to 2790:
    #   cross margin balance = 9620.5 + 50 x (2790 - 3000) = 9620.5 - 10500 = -879.5
    #   cross maintenance    = (139500 x 0.005 - 50) + 15 = 647.5 + 15 = 662.5
    mark_price_set(symbol="ETHUSDT", price="2790")
    fund_before, house_before, since = fund(), house(), last_ledger_pk()

    sweep_run()

    # then the wallet pays all it has, 9620.5, and never goes below 0
    assert wallet_balance(user) == D(0)
    # Binance's partial step first: ETH at 139,500 (bracket 2) is cut to 50,000 / 2,790 =
    # 17.9211... -> 17.921, selling 32.079 at the mark: loss 32.079 x 210 = 6,736.59 and the
    # fee 32.079 x 2,790 x 0.0125 = 1,118.755125, both paid by the wallet (-> 1,765.154875).
    # Still out of margin:
    #   cross margin balance = 1,765.154875 + 17.921 x -210 = 1,765.154875 - 3,763.41
    #                        = -1,998.255125
    #   cross maintenance    = 17.921 x 2,790 x 0.004 + 15 = 199.99836 + 15 = 214.99836
    # so every cross position is closed, the profits first: SOL (uPnL 0) with its fee
    # 20 x 150 x 0.015 = 45 (wallet 1,720.154875), then ETH: loss 3,763.41, the wallet pays its
    # 1,720.154875 and the fund covers the 2,043.255125 beyond it
    assert ledger_rows("position_id", "memo", after=since) == [
        ("LIQUIDATION", D("6736.59"), "WALLET", "HOUSE", eth.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("1118.755125"), "WALLET", "INSURANCE_FUND", eth.pk,
         "liquidation fee"),
        ("LIQUIDATION_FEE", D("45"), "WALLET", "INSURANCE_FUND", sol.pk, "liquidation fee"),
        ("LIQUIDATION", D("1720.154875"), "WALLET", "HOUSE", eth.pk,
         "closed by the liquidation at the mark"),
        ("INSURANCE", D("2043.255125"), "INSURANCE_FUND", "HOUSE", eth.pk,
         "loss beyond the cross wallet"),
    ]  # fmt: skip
    # net, the fund covers the 10500 - 9620.5 = 879.5 shortfall: 1,118.755125 + 45 -
    # 2,043.255125; the house gets the whole 10500 loss: 6,736.59 + 1,720.154875 + 2,043.255125
    assert fund() - fund_before == D("-879.5")
    assert house() - house_before == D("10500")
    eth, sol, cross_order = refreshed(eth, sol, cross_account["cross_order"])
    # the user's realized loss is what left their money for it: -6,736.59 - 1,720.154875
    # (the loss at the mark, -10500, + 2,043.255125 covered); the fees are not PnL
    assert (eth.status, eth.realized_pnl) == ("LIQUIDATED", D("-8456.744875"))
    assert (sol.status, sol.realized_pnl) == ("LIQUIDATED", D(0))
    assert cross_order.status == "CANCELED"
    assert_isolated_side_untouched(cross_account)
    event = LiquidationEvent.objects.get(user=user)
    assert (event.margin_balance, event.maintenance_margin) == (D("-879.5"), D("662.5"))
    assert (event.loss, event.insurance_fund_change) == (D("9620.5"), D("-879.5"))
    # the fees 1,118.755125 + 45; the fund covered it all: nothing deleveraged
    assert (event.liquidation_fee, event.survived, event.deleveraged) == (
        D("1163.755125"), False, []
    )  # fmt: skip
    # ETH's liquidation and bankruptcy prices depend on the wallet, not on the mark
    assert event.details[0]["mark_price"] == "2790.00000000"
    assert event.details[0]["liquidation_price"] == "2820.99497487"
    assert event.details[0]["bankruptcy_price"] == "2807.59000000"


def test_cross_liquidation_lets_the_profitable_positions_pay_before_the_fund_does(
    trader, insurance_fund, balanced_ledger
):
    # given a cross ETH long of 50 at 3000, 20x (fee 75) and a cross BTC short of 0.5 at
    # 60,000, 20x (fee 15): wallet 10000 - 75 - 15 = 9910; and an insurance fund with capital
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="CROSS", leverage=20)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=20)
    eth = open_position(trader, "BUY", "50", symbol="ETHUSDT", margin_mode="CROSS")
    btc = open_position(trader, "SELL", "0.5", margin_mode="CROSS")
    # when ETH gaps to 2790 (50 x -210 = -10500) and BTC eases to 59,000 (0.5 x 1000 = +500):
    #   cross margin balance = 9910 - 10500 + 500 = -90
    #   cross maintenance    = (139500 x 0.005 - 50) + 29500 x 0.004 = 647.5 + 118 = 765.5
    mark_price_set(symbol="ETHUSDT", price="2790")
    mark_price_set(symbol="BTCUSDT", price="59000")
    fund_before, since = fund(), last_ledger_pk()

    sweep_run()

    # then Binance's partial step first: ETH, the largest maintenance margin (647.5; BTC, in
    # bracket 1, cannot be reduced), is cut to 50,000 / 2,790 = 17.9211... -> 17.921, selling
    # 32.079 at the mark: loss 32.079 x 210 = 6,736.59 and the fee 32.079 x 2,790 x 0.0125 =
    # 1,118.755125, both paid by the wallet (9910 -> 2,054.654875). Still out of margin:
    #   cross margin balance = 2,054.654875 - 17.921 x 210 + 500 = -1,208.755125
    #   cross maintenance    = 17.921 x 2,790 x 0.004 + 118 = 199.99836 + 118 = 317.99836
    # so both are closed, the profit first: the BTC 500 reaches the wallet (2,554.654875) and
    # pays its fee 0.5 x 59,000 x 0.0125 = 368.75 (-> 2,185.904875); the wallet then pays the
    # ETH loss, 17.921 x 210 = 3,763.41, with all of that, and the fund covers 1,577.505125
    assert ledger_rows("position_id", "memo", after=since) == [
        ("LIQUIDATION", D("6736.59"), "WALLET", "HOUSE", eth.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("1118.755125"), "WALLET", "INSURANCE_FUND", eth.pk,
         "liquidation fee"),
        ("LIQUIDATION", D("500"), "HOUSE", "WALLET", btc.pk,
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("368.75"), "WALLET", "INSURANCE_FUND", btc.pk, "liquidation fee"),
        ("LIQUIDATION", D("2185.904875"), "WALLET", "HOUSE", eth.pk,
         "closed by the liquidation at the mark"),
        ("INSURANCE", D("1577.505125"), "INSURANCE_FUND", "HOUSE", eth.pk,
         "loss beyond the cross wallet"),
    ]  # fmt: skip
    assert wallet_balance(trader) == D(0)
    # net, the fund covers only 10500 - (9910 + 500) = 90: 1,118.755125 + 368.75 - 1,577.505125
    assert fund() - fund_before == D("-90")
    eth, btc = refreshed(eth, btc)
    assert (btc.status, btc.realized_pnl) == ("LIQUIDATED", D("500"))
    # -6,736.59 - 2,185.904875: the loss at the mark, -10500, + 1,577.505125 covered
    assert (eth.status, eth.realized_pnl) == ("LIQUIDATED", D("-8922.494875"))
    event = LiquidationEvent.objects.get(user=trader)
    assert (event.margin_balance, event.maintenance_margin) == (D("-90"), D("765.5"))
    assert (event.loss, event.insurance_fund_change) == (D("9910"), D("-90"))
    # the fees 1,118.755125 + 368.75
    assert (event.liquidation_fee, event.survived) == (D("1487.505125"), False)


def test_profit_on_another_cross_position_keeps_the_account_alive(
    trader, unchanged, balanced_ledger
):
    # given a cross ETH long of 50 at 3000, 20x (fee 75)
    # and a cross BTC short of 0.5 at 60,000, 20x (fee 30000 x 0.0005 = 15)
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="CROSS", leverage=20)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=20)
    eth = open_position(trader, "BUY", "50", symbol="ETHUSDT", margin_mode="CROSS")
    btc = open_position(trader, "SELL", "0.5", margin_mode="CROSS")
    assert wallet_balance(trader) == D("9910")  # 10000 - 75 - 15
    # when ETH falls to 2810 (alone, with a wallet of 9925, that is liquidation:
    # 9925 - 9500 = 425 <= 652.5) but BTC falls to 58,000 and the short gains 0.5 x 2000 = 1000:
    #   cross margin balance = 9910 - 9500 + 1000 = 1410
    #   cross maintenance    = 652.5 + 29000 x 0.004 = 652.5 + 116 = 768.5; 1410 > 768.5
    mark_price_set(symbol="ETHUSDT", price="2810")
    mark_price_set(symbol="BTCUSDT", price="58000")

    with unchanged():
        report = sweep_run()

    # then nothing is liquidated
    assert report.cross_liquidations == 0
    eth, btc = refreshed(eth, btc)
    assert (eth.status, btc.status) == ("OPEN", "OPEN")
    assert not LiquidationEvent.objects.exists()


# --- running the sweep --------------------------------------------------------------------


def test_a_second_sweep_changes_nothing(trader, unchanged, balanced_ledger):
    # given an isolated position liquidated by a first sweep
    isolated_btc_long_at_20x(trader)
    mark_price_set(symbol="BTCUSDT", price="57200")
    first = sweep_run()
    assert first.isolated_liquidations == 1

    # when the sweep runs again at the same mark
    with unchanged():
        second = sweep_run()

    # then it finds nothing to do
    assert (second.ran, second.isolated_liquidations, second.cross_liquidations) == (True, 0, 0)
    assert LiquidationEvent.objects.count() == 1
    assert Notification.objects.count() == 1


def test_each_sweep_records_one_done_run_with_its_counts(trader, balanced_ledger):
    # given an isolated BTC long below its liquidation price and a cross ETH long that is safe
    isolated_btc_long_at_20x(trader)
    open_position(trader, "BUY", "1", symbol="ETHUSDT", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="57200")

    # when the sweep runs twice
    sweep_run()
    sweep_run()

    # then each run left one DONE row: the changed account's 2 positions re-checked and 1
    # liquidation; then nothing due (the ETH mark is far from its watch price): 0 and 0
    runs = list(
        SweepRun.objects.order_by("pk").values_list("status", "positions_checked", "liquidations")
    )
    assert runs == [("DONE", 2, 1), ("DONE", 0, 0)]
    assert all(run.finished_at is not None for run in SweepRun.objects.all())


@contextmanager
def shard_lock_held_elsewhere(shard=0, shards=1):
    """The shard's advisory lock held by another connection: a live sweep on another worker."""
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    try:
        with other.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_lock(%s::integer, %s::integer)", sweep_lock_keys(shard, shards)
            )
        yield
    finally:
        other.close()


def test_a_sweep_started_while_another_runs_does_nothing(trader, unchanged, balanced_ledger):
    # given a liquidatable isolated position and a live sweep: its RUNNING row, and the shard's
    # advisory lock held on its worker's connection
    position = isolated_btc_long_at_20x(trader)
    mark_price_set(symbol="BTCUSDT", price="57200")
    running = SweepRun.objects.create()

    # when another sweep starts
    with shard_lock_held_elsewhere(), unchanged():
        report = sweep_run()

    # then it returns at once without sweeping
    assert report == SweepReport(ran=False)
    (position,) = refreshed(position)
    assert position.status == "OPEN"
    assert not LiquidationEvent.objects.exists()
    assert list(SweepRun.objects.values_list("pk", "status")) == [(running.pk, "RUNNING")]


def test_a_dead_sweeps_running_row_does_not_block_the_next_sweep(trader, balanced_ledger):
    # given a liquidatable isolated position and the RUNNING row of a sweep whose worker died a
    # second ago (nobody holds the shard's lock), and one of another shard's live sweep
    position = isolated_btc_long_at_20x(trader)
    mark_price_set(symbol="BTCUSDT", price="57200")
    dead = SweepRun.objects.create()
    other_shard = SweepRun.objects.create(shard=1, shards=2)

    # when a sweep starts, without waiting for anything
    with shard_lock_held_elsewhere(shard=1, shards=2):
        report = sweep_run()

    # then the dead run is marked ABANDONED, the other shard's run is left alone, and the new
    # run sweeps and liquidates
    assert (report.ran, report.isolated_liquidations) == (True, 1)
    (dead, other_shard) = refreshed(dead, other_shard)
    assert (dead.status, dead.finished_at) == ("ABANDONED", None)
    assert other_shard.status == "RUNNING"
    assert list(
        SweepRun.objects.exclude(pk__in=[dead.pk, other_shard.pk]).values_list(
            "status", "liquidations"
        )
    ) == [("DONE", 1)]
    (position,) = refreshed(position)
    assert position.status == "LIQUIDATED"


# --- shards ---------------------------------------------------------------------------------


def test_a_shard_sweeps_only_the_accounts_whose_user_id_falls_in_it(make_trader, balanced_ledger):
    # given two traders, one in each shard of 2 (user id % 2), each with a 1 BTC isolated long
    # at 60,000, 20x, below its liquidation price at 57,200
    first, second = make_trader("first"), make_trader("second")
    assert first.pk % 2 != second.pk % 2
    positions = {user.pk: isolated_btc_long_at_20x(user) for user in (first, second)}
    mark_price_set(symbol="BTCUSDT", price="57200")

    # when the shard of the first trader is swept
    report = sweep_run(shard=first.pk % 2, shards=2)

    # then only the first trader is liquidated
    assert (report.accounts, report.isolated_liquidations) == (1, 1)
    for position in positions.values():
        position.refresh_from_db()
    statuses = {pk: p.status for pk, p in positions.items()}
    assert statuses == {first.pk: "LIQUIDATED", second.pk: "OPEN"}
    assert list(LiquidationEvent.objects.values_list("user_id", flat=True)) == [first.pk]

    # and the other shard takes the second
    report = sweep_run(shard=second.pk % 2, shards=2)
    assert (report.accounts, report.isolated_liquidations) == (1, 1)
    positions[second.pk].refresh_from_db()
    assert positions[second.pk].status == "LIQUIDATED"


def test_a_shard_finds_cross_accounts_at_risk_in_it_only(make_trader, balanced_ledger):
    # given two traders, one in each shard of 2, each with a cross ETH long of 50 at 3000, 20x
    # (wallet 9925) that ETH at 2810 liquidates: 9925 - 9500 = 425 <= 652.5
    first, second = make_trader("first"), make_trader("second")
    for user in (first, second):
        leverage_set(user=user, symbol="ETHUSDT", margin_mode="CROSS", leverage=20)
        open_position(user, "BUY", "50", symbol="ETHUSDT", margin_mode="CROSS")
    mark_price_set(symbol="ETHUSDT", price="2810")

    # when the shard of the second trader is swept
    report = sweep_run(shard=second.pk % 2, shards=2)

    # then only the second trader is liquidated
    assert (report.accounts, report.cross_liquidations) == (1, 1)
    assert list(LiquidationEvent.objects.values_list("user_id", flat=True)) == [second.pk]
    assert wallet_balance(first) == D("9925")
    assert wallet_balance(second) == D(0)


def test_the_shards_of_one_tick_can_run_at_the_same_time(make_trader, balanced_ledger):
    # given an account at risk in shard 0 of 2, while the sweep of shard 1 is still running
    # (its RUNNING row)
    user = make_trader("first")
    if user.pk % 2:
        user = make_trader("second")
    assert user.pk % 2 == 0
    isolated_btc_long_at_20x(user)
    mark_price_set(symbol="BTCUSDT", price="57200")
    SweepRun.objects.create(shard=1, shards=2)  # shard 1's run, still going

    # when shard 0 is swept
    report = sweep_run(shard=0, shards=2)

    # then it runs: shards are how more workers sweep faster, so they must not exclude each other
    assert (report.ran, report.isolated_liquidations) == (True, 1)


def test_a_second_sweep_of_the_same_shard_does_not_start_while_the_first_runs(
    make_trader, unchanged
):
    user = make_trader("lonely")
    isolated_btc_long_at_20x(user)
    mark_price_set(symbol="BTCUSDT", price="57200")
    SweepRun.objects.create(shard=user.pk % 2, shards=2)

    with shard_lock_held_elsewhere(shard=user.pk % 2, shards=2), unchanged():
        report = sweep_run(shard=user.pk % 2, shards=2)

    assert report.ran is False


def test_a_crash_inside_one_accounts_liquidation_leaves_it_untouched_and_the_others_swept(
    make_trader, monkeypatch, balanced_ledger
):
    # given two accounts with an isolated long below its liquidation price
    doomed, survivor = make_trader("doomed"), make_trader("survivor")
    isolated_btc_long_at_20x(doomed)
    isolated_btc_long_at_20x(survivor)
    mark_price_set(symbol="BTCUSDT", price="57200")
    doomed_position = Position.objects.get(user=doomed)
    before = (wallet_balance(doomed), doomed_position.isolated_margin, last_ledger_pk())

    # when the sweep crashes at the last step of the first account's liquidation (its
    # notification, after the ledger entries and the position's update were written)
    real_notify = liquidations._notify

    def crash_for_doomed(event, message, writes):
        if event.user_id == doomed.pk:
            raise RuntimeError("worker died here")
        real_notify(event, message, writes)

    monkeypatch.setattr(liquidations, "_notify", crash_for_doomed)
    report = sweep_run()

    # then that account is exactly as before (its transaction rolled back as one), the error is
    # counted, and the other account was liquidated all the same
    doomed_position.refresh_from_db()
    assert (report.errors, report.isolated_liquidations) == (1, 1)
    assert doomed_position.status == "OPEN"
    assert (wallet_balance(doomed), doomed_position.isolated_margin) == before[:2]
    assert not LedgerEntry.objects.filter(pk__gt=before[2], user=doomed).exists()
    assert not LiquidationEvent.objects.filter(user=doomed).exists()
    assert Position.objects.get(user=survivor).status == "LIQUIDATED"
    assert SweepRun.objects.get().errors == 1

    # and the next sweep, without the fault, liquidates it once
    monkeypatch.setattr(liquidations, "_notify", real_notify)
    assert sweep_run().isolated_liquidations == 1
    assert LiquidationEvent.objects.filter(user=doomed).count() == 1
