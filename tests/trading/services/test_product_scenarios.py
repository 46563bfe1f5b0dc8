"""The product documents' scenarios (shared/seeds), by name, played through the services.

Expected liquidation prices are computed here, by hand with the one-way formula

    LP = (WB - TMM1 + UPNL1 + cum - s q EP) / (q MMR - s q)

(isolated: WB = the position's margin, TMM1 = UPNL1 = 0; cross: WB = the wallet, TMM1 and UPNL1
over the other cross positions), divided at the engine's 50 significant digits, and checked
against the engine functions as well. BTCUSDT and ETHUSDT 2024 tables: notional below 50000 ->
MMR 0.004, cum 0; 50000 up to 600000 -> MMR 0.005, cum 50; 600000 up to 3000000 -> 75x max,
MMR 0.0065, cum 950. Taker fee 0.05 % of the notional.
"""

from decimal import Context, Decimal

import pytest

from accounts.services import margin_mode_default_set
from tests.builders import SEED_BRACKETS, position_rows_by_key, position_state, wallet_balance
from trading import engine
from trading.errors import LeverageTooHigh
from trading.models import LedgerEntry, LeverageSetting, Order, Position
from trading.selectors import account_summary, position_list, system_account_balance
from trading.services import (
    leverage_set,
    mark_price_set,
    order_place,
    order_preview,
    position_close,
)

pytestmark = pytest.mark.django_db

D50 = Context(prec=50)  # the engine's precision: a hand division lands on the same digits


# --- both modes at once, on one symbol ---------------------------------------------------------


def test_a_cross_and_an_isolated_position_on_one_symbol_in_opposite_directions_each_have_their_own_margin_and_liquidation_price(  # noqa: E501
    trader, balanced_ledger
):
    # given a cross long of 10 ETH at 3000, 20x (margin 30000 / 20 = 1500, fee 15)
    order_place(user=trader, symbol="ETHUSDT", side="BUY", quantity="10", margin_mode="CROSS")

    # when the trader also sells 1 ETH in ISOLATED mode (margin 3000 / 20 = 150, fee 1.5)
    order_place(user=trader, symbol="ETHUSDT", side="SELL", quantity="1", margin_mode="ISOLATED")

    # then there are two open ETHUSDT positions, one per mode, in opposite directions
    positions = Position.objects.filter(user=trader, status=Position.Status.OPEN)
    assert sorted(positions.values_list("margin_mode", "side", "quantity", "entry_price")) == [
        ("CROSS", "LONG", Decimal("10"), Decimal("3000")),
        ("ISOLATED", "SHORT", Decimal("1"), Decimal("3000")),
    ]
    # the isolated margin left the wallet: 10000 - 15 - 150 - 1.5 = 9833.5
    assert wallet_balance(trader) == Decimal("9833.5")
    rows = position_rows_by_key(trader)
    cross, isolated = rows[("ETHUSDT", "CROSS")], rows[("ETHUSDT", "ISOLATED")]
    assert cross.figures.margin == Decimal("1500")
    assert isolated.figures.margin == Decimal("150")
    assert isolated.position.isolated_margin == Decimal("150")
    assert cross.position.isolated_margin == Decimal("0")
    # cross long, the wallet backs it, the isolated short is outside the cross computation:
    #   (9833.5 - 10 x 3000) / (10 x 0.004 - 10) = 20166.5 / 9.96 = 2024.7489...; N 20247 < 50000
    cross_lp = D50.divide(Decimal("20166.5"), Decimal("9.96"))
    assert cross.figures.liquidation_price == cross_lp
    assert cross_lp == engine.cross_liquidation_price(
        position_state("ETHUSDT", 1, "10", "3000", "3000"),
        wallet_balance=Decimal("9833.5"),
        others=(),
    )
    assert cross.liquidation_price_display == Decimal("2024.75")  # a long's rounds up
    # isolated short, backed by its 150 only: (150 + 1 x 3000) / (0.004 + 1) = 3137.4501...
    isolated_lp = D50.divide(Decimal("3150"), Decimal("1.004"))
    assert isolated.figures.liquidation_price == isolated_lp
    assert isolated_lp == engine.isolated_liquidation_price(
        position_state("ETHUSDT", -1, "1", "3000", "3000"), isolated_margin=Decimal("150")
    )
    assert isolated.liquidation_price_display == Decimal("3137.45")  # a short's rounds down


# --- leverage per symbol and per mode ----------------------------------------------------------


def test_btc_cross_10x_btc_isolated_20x_and_eth_isolated_5x_are_set_independently_and_used_by_orders(  # noqa: E501
    trader, balanced_ledger
):
    # given the documents' three settings
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED", leverage=5)

    # when the trader buys 0.1 BTC in each mode and 1 ETH isolated
    btc_cross = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS"
    )
    btc_isolated = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED"
    )
    eth_isolated = order_place(
        user=trader, symbol="ETHUSDT", side="BUY", quantity="1", margin_mode="ISOLATED"
    )

    # then three settings are stored, none overwriting another
    assert sorted(
        LeverageSetting.objects.filter(user=trader).values_list(
            "instrument__symbol", "margin_mode", "leverage"
        )
    ) == [("BTCUSDT", "CROSS", 10), ("BTCUSDT", "ISOLATED", 20), ("ETHUSDT", "ISOLATED", 5)]
    # each order and its position carry the leverage of its (symbol, mode)
    assert (btc_cross.leverage, btc_isolated.leverage, eth_isolated.leverage) == (10, 20, 5)
    rows = position_rows_by_key(trader)
    assert rows[("BTCUSDT", "CROSS")].position.leverage == 10
    assert rows[("BTCUSDT", "ISOLATED")].position.leverage == 20
    assert rows[("ETHUSDT", "ISOLATED")].position.leverage == 5
    # cross holds 6000 / 10 = 600 at the mark; isolated margins are notional / leverage
    assert rows[("BTCUSDT", "CROSS")].figures.margin == Decimal("600")
    assert rows[("BTCUSDT", "ISOLATED")].position.isolated_margin == Decimal("300")  # 6000 / 20
    assert rows[("ETHUSDT", "ISOLATED")].position.isolated_margin == Decimal("600")  # 3000 / 5
    # wallet: 10000 - fees 3 + 3 + 1.5 - isolated margins 300 + 600 = 9092.5
    assert wallet_balance(trader) == Decimal("9092.5")


def test_an_eth_cross_order_keeps_the_default_leverage_when_only_eth_isolated_was_set(
    trader, balanced_ledger
):
    # given ETH Isolated set to 5x, ETH Cross never set
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED", leverage=5)

    # when the trader buys 1 ETH cross
    order = order_place(
        user=trader, symbol="ETHUSDT", side="BUY", quantity="1", margin_mode="CROSS"
    )

    # then the cross order uses the instrument's default 20x, not the isolated 5x
    assert order.leverage == 20
    assert Position.objects.get(user=trader, margin_mode="CROSS").leverage == 20


# --- 10 BTC at 100x ----------------------------------------------------------------------------


@pytest.mark.parametrize("margin_mode", ["CROSS", "ISOLATED"])
def test_ten_btc_at_100x_costs_a_hundredth_of_the_notional_in_margin(
    trader, balanced_ledger, margin_mode
):
    # given 100x; 10 BTC at 60000 is 600000 USDT, exactly the cap of the 100x tier (allowed).
    # No deposit is needed: margin 6000 + fee 300 fits in the starting 10000.
    assert engine.max_notional_at_leverage(SEED_BRACKETS["BTCUSDT"], 100) == Decimal("600000")
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode=margin_mode, leverage=100)

    # when the trader buys 10 BTC
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="10", margin_mode=margin_mode
    )

    # then the order fills at 100x and the position's margin is 600000 / 100 = 6000 (0.1 BTC)
    assert order.status == Order.Status.FILLED
    assert order.leverage == 100
    (row,) = position_list(user=trader)
    assert row.position.quantity == Decimal("10")
    assert row.figures.notional == Decimal("600000")
    assert row.figures.margin == Decimal("6000")
    # MM at the bracket boundary, either tier: 600000 x 0.0065 - 950 = 600000 x 0.005 - 50 = 2950
    assert row.figures.maintenance_margin == Decimal("2950")
    # 10000 - 6000 - 300 = 3700 left to trade with, in either mode
    assert account_summary(user=trader).available_balance == Decimal("3700")
    if margin_mode == "ISOLATED":
        assert row.position.isolated_margin == Decimal("6000")
        assert wallet_balance(trader) == Decimal("3700")
    else:
        assert row.position.isolated_margin == Decimal("0")
        assert wallet_balance(trader) == Decimal("9700")


def test_ten_btc_and_one_step_more_at_100x_is_refused_as_above_the_bracket(trader, unchanged):
    # given 100x isolated
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=100)

    # when the trader asks for 10.001 BTC: 600060 USDT, above the 100x cap of 600000
    # then it is refused, naming the cap, and nothing changes
    with pytest.raises(LeverageTooHigh, match="600,000") as refusal, unchanged():
        order_place(
            user=trader, symbol="BTCUSDT", side="BUY", quantity="10.001", margin_mode="ISOLATED"
        )
    assert refusal.value.code == "LEVERAGE_TOO_HIGH"


# --- isolated caps the loss --------------------------------------------------------------------


def test_a_long_worth_1000_usd_at_10x_isolated_with_a_2000_balance_risks_100_and_not_more(
    settings, make_trader, insurance_fund, balanced_ledger
):
    # given Alice with a 2000 USDT balance, and BTC at 50000 so that 0.02 BTC is worth 1000 USD
    # (and an insurance fund with capital to cover a loss beyond a margin)
    settings.PAPER_STARTING_BALANCE = Decimal("2000")
    alice = make_trader("alice")
    assert wallet_balance(alice) == Decimal("2000")
    mark_price_set(symbol="BTCUSDT", price="50000")
    leverage_set(user=alice, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=10)
    preview = order_preview(
        user=alice, symbol="BTCUSDT", side="BUY", quantity="0.02", margin_mode="ISOLATED"
    )
    assert preview.chosen.max_loss == Decimal("100")  # what she is told before she trades

    # when she opens the long (margin 1000 / 10 = 100, fee 0.5) ...
    order_place(user=alice, symbol="BTCUSDT", side="BUY", quantity="0.02", margin_mode="ISOLATED")
    position = Position.objects.get(user=alice)
    assert position.isolated_margin == Decimal("100")
    assert wallet_balance(alice) == Decimal("1899.5")  # 2000 - 100 - 0.5
    # ... BTC crashes far below the bankruptcy price 50000 - 100 / 0.02 = 45000 ...
    assert engine.isolated_bankruptcy_price(
        position_state("BTCUSDT", 1, "0.02", "50000", "50000"), isolated_margin=Decimal("100")
    ) == Decimal("45000")
    mark_price_set(symbol="BTCUSDT", price="30000")
    # ... and she closes it: a loss of 0.02 x (30000 - 50000) = -400, fee 0.02 x 30000 x 0.0005
    position_close(user=alice, symbol="BTCUSDT", margin_mode="ISOLATED")

    # then she lost her 100 and the fees (0.5 + 0.3), never more: 2000 - 100 - 0.8 = 1899.2
    assert wallet_balance(alice) == Decimal("1899.2")
    position.refresh_from_db()
    assert position.status == Position.Status.CLOSED
    assert position.isolated_margin == Decimal("0")
    # the other 300 of the loss came from the insurance fund: 1,000,000 - 300
    insurance = LedgerEntry.objects.filter(user=alice, kind=LedgerEntry.Kind.INSURANCE)
    assert list(insurance.values_list("amount", flat=True)) == [Decimal("300")]
    assert system_account_balance("INSURANCE_FUND") == insurance_fund - 300 == Decimal("999700")
    assert system_account_balance("HOUSE") == Decimal("400")
    assert system_account_balance("FEES") == Decimal("0.8")


# --- cross shares profit -----------------------------------------------------------------------


def test_profit_on_one_cross_position_supports_a_losing_one(make_trader, balanced_ledger):
    # given two traders with the same cross long of 1 BTC at 60000, 20x (fee 30); Bob also holds
    # a cross short of 1 ETH at 3000 (fee 1.5)
    alice, bob = make_trader("alice"), make_trader("bob")
    for user in (alice, bob):
        order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    order_place(user=bob, symbol="ETHUSDT", side="SELL", quantity="1", margin_mode="CROSS")

    # when ETH falls to 2500: Bob's short wins 500
    mark_price_set(symbol="ETHUSDT", price="2500")

    # then Bob's BTC long is liquidated further from the mark than Alice's
    alice_lp = position_rows_by_key(alice)[("BTCUSDT", "CROSS")].figures.liquidation_price
    bob_lp = position_rows_by_key(bob)[("BTCUSDT", "CROSS")].figures.liquidation_price
    # Alice: WB 9970, no others; tier 2: (9970 + 50 - 60000) / (0.005 - 1) = 49980 / 0.995
    assert alice_lp == D50.divide(Decimal("49980"), Decimal("0.995"))  # 50231.1557...
    # Bob: WB 9968.5, ETH short MM 2500 x 0.004 = 10, uPnL +500: collateral 10458.5;
    #   tier 2 gives (10458.5 + 50 - 60000) / -0.995 = 49740.19 (N below 50000: not its tier);
    #   tier 1: (10458.5 - 60000) / (0.004 - 1) = 49541.5 / 0.996
    assert bob_lp == D50.divide(Decimal("49541.5"), Decimal("0.996"))  # 49740.4618...
    btc_long = position_state("BTCUSDT", 1, "1", "60000", "60000")
    assert alice_lp == engine.cross_liquidation_price(
        btc_long, wallet_balance=Decimal("9970"), others=()
    )
    assert bob_lp == engine.cross_liquidation_price(
        btc_long,
        wallet_balance=Decimal("9968.5"),
        others=[position_state("ETHUSDT", -1, "1", "3000", "2500")],
    )
    assert bob_lp < alice_lp

    # and at BTC 50100, between the two prices, only Alice's cross account is past 100 %
    mark_price_set(symbol="BTCUSDT", price="50100")
    # Alice: MM 50100 x 0.005 - 50 = 200.5 over 9970 - 9900 = 70
    assert account_summary(user=alice).cross_margin_ratio == D50.divide(
        Decimal("200.5"), Decimal("70")
    )
    # Bob: MM 200.5 + 10 = 210.5 over 9968.5 - 9900 + 500 = 568.5
    assert account_summary(user=bob).cross_margin_ratio == D50.divide(
        Decimal("210.5"), Decimal("568.5")
    )
    assert (
        account_summary(user=alice).cross_margin_ratio
        > 1
        > account_summary(user=bob).cross_margin_ratio
    )


# --- the default margin mode -------------------------------------------------------------------


def test_the_default_mode_from_the_preferences_is_used_when_an_order_names_none(
    trader, balanced_ledger
):
    # given the trader chose Isolated on /settings
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")

    # when an order names no mode
    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # then it is isolated, and so is its position (its margin 6000 / 20 = 300 left the wallet)
    assert order.margin_mode == "ISOLATED"
    position = Position.objects.get(user=trader)
    assert (position.margin_mode, position.isolated_margin) == ("ISOLATED", Decimal("300"))
    assert wallet_balance(trader) == Decimal("9697")  # 10000 - 300 - 3


def test_an_explicit_mode_on_the_order_overrides_the_default_from_the_preferences(
    trader, balanced_ledger
):
    # given the trader chose Isolated on /settings
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")

    # when an order names CROSS
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS"
    )

    # then it is cross, and its position holds no isolated margin: only the fee left the wallet
    assert order.margin_mode == "CROSS"
    position = Position.objects.get(user=trader)
    assert (position.margin_mode, position.isolated_margin) == ("CROSS", Decimal("0"))
    assert wallet_balance(trader) == Decimal("9997")


def test_without_any_choice_an_order_is_cross(trader, balanced_ledger):
    # given a trader who changed nothing
    # when an order names no mode
    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # then it is cross (the documents' "initial default setup")
    assert order.margin_mode == "CROSS"
    assert Position.objects.get(user=trader).margin_mode == "CROSS"


# --- an isolated liquidation loses only that margin --------------------------------------------


@pytest.mark.parametrize(
    ("close_mark", "close_fee", "insurance"),
    [
        # exactly at the bankruptcy price: the loss 0.1 x 3000 = 300 is the whole margin
        ("57000", Decimal("2.85"), []),
        # far below it: the loss is 0.1 x 15000 = 1500; 300 from the margin, 1200 insured
        ("45000", Decimal("2.25"), [Decimal("1200")]),
    ],
)
def test_closing_an_isolated_position_at_its_bankruptcy_price_or_worse_costs_exactly_its_margin(
    trader, insurance_fund, balanced_ledger, close_mark, close_fee, insurance
):
    # given an insurance fund with capital to cover a loss beyond a margin,
    # and a cross long of 1 ETH (fee 1.5) and an isolated long of 0.1 BTC at 60000, 20x
    # (margin 300, fee 3): the wallet holds 10000 - 1.5 - 3 - 300 = 9695.5
    order_place(user=trader, symbol="ETHUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    isolated = Position.objects.get(user=trader, margin_mode="ISOLATED")
    assert isolated.isolated_margin == Decimal("300")
    assert engine.isolated_bankruptcy_price(
        position_state("BTCUSDT", 1, "0.1", "60000", "60000"), isolated_margin=Decimal("300")
    ) == Decimal("57000")  # 60000 - 300 / 0.1
    assert wallet_balance(trader) == Decimal("9695.5")
    cross_before = position_rows_by_key(trader)[("ETHUSDT", "CROSS")]

    # when BTC falls to the bankruptcy price or below, and the isolated position is closed
    mark_price_set(symbol="BTCUSDT", price=close_mark)
    position_close(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # then the wallet paid only the closing fee (0.1 x mark x 0.0005); the margin is gone
    assert wallet_balance(trader) == Decimal("9695.5") - close_fee
    isolated.refresh_from_db()
    assert (isolated.status, isolated.quantity, isolated.isolated_margin) == (
        Position.Status.CLOSED,
        Decimal("0"),
        Decimal("0"),
    )
    # the user's money that went to the house on this position is exactly its 300 margin
    losses = LedgerEntry.objects.filter(position=isolated, kind=LedgerEntry.Kind.REALIZED_PNL)
    assert list(losses.values_list("amount", flat=True)) == [Decimal("300")]
    covered = LedgerEntry.objects.filter(position=isolated, kind=LedgerEntry.Kind.INSURANCE)
    assert list(covered.values_list("amount", flat=True)) == insurance
    # and the cross position is untouched: same size, entry and margin, still open
    (cross_after,) = position_list(user=trader)
    assert cross_after.position.pk == cross_before.position.pk
    assert (cross_after.position.quantity, cross_after.position.entry_price) == (
        Decimal("1"),
        Decimal("3000"),
    )
    assert cross_after.figures.margin == cross_before.figures.margin == Decimal("150")
