"""``order_preview``: both margin modes side by side, exact figures, and no state change.

Hand arithmetic in the comments; divisions at the engine's 50 significant digits. BTCUSDT 2024
table: notional below 50000 -> MMR 0.004, cum 0; 50000 up to 600000 -> MMR 0.005, cum 50.
Taker fee 0.05 %, maker fee 0.02 %. Liquidation price, one-way form:
LP = (WB - TMM1 + UPNL1 + cum - s q EP) / (q MMR - s q).
"""

from decimal import Context, Decimal

import pytest

from accounts.services import margin_mode_default_set
from tests.builders import position_state, wallet_balance
from trading import engine
from trading.errors import InvalidQuantity
from trading.services import (
    ModePreview,
    leverage_set,
    order_place,
    order_preview,
    symbol_margin_mode_set,
)

pytestmark = pytest.mark.django_db

D50 = Context(prec=50)


def btc_long(quantity, entry, mark="60000"):
    return position_state("BTCUSDT", engine.Side.LONG, quantity, entry, mark)


def test_a_market_buy_is_previewed_in_both_modes_side_by_side_with_exact_figures(trader):
    # given BTCUSDT at 60000, Cross at the default 20x and Isolated set to 10x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=10)

    # when the trader previews a market buy of 0.1 BTC without naming a mode
    preview = order_preview(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # then the chosen mode is the resolved one (CROSS by default), the other one is ISOLATED
    assert (preview.symbol, preview.side, preview.order_type) == ("BTCUSDT", "BUY", "MARKET")
    assert preview.quantity == Decimal("0.1")
    assert preview.margin_mode == "CROSS"
    assert preview.other_mode_position_open is False
    # cross: notional 6000, margin 6000 / 20 = 300, fee 6000 x 0.0005 = 3; the wallet after the
    # fee, 9997, backs the long: (9997 - 0.1 x 60000) / (0.1 x 0.004 - 0.1) < 0, no price.
    assert (
        engine.cross_liquidation_price(
            btc_long("0.1", "60000"), wallet_balance=Decimal("9997"), others=()
        )
        is None
    )
    # the ratio after: MM 6000 x 0.004 = 24 over the margin balance 9997 + 0; the most the
    # trader can lose in cross is that whole margin balance
    assert preview.chosen == ModePreview(
        margin_mode="CROSS",
        leverage=20,
        price=Decimal("60000"),
        fill_quantity=Decimal("0.1"),
        rest_quantity=Decimal("0"),
        notional=Decimal("6000"),
        initial_margin=Decimal("300"),
        fee=Decimal("3"),
        accepted=True,
        rejection_code=None,
        rejection_reason=None,
        rejection_message=None,
        liquidation_price=None,
        liquidation_price_display=None,
        position_margin=Decimal("300"),
        cross_margin_ratio_before=Decimal("0"),
        cross_margin_ratio_after=D50.divide(Decimal("24"), Decimal("9997")),
        max_loss=Decimal("9997"),
        closing_fee=Decimal("3"),  # no liquidation price: 0.1 x 60000 x 0.0005, at the price
    )
    # isolated: margin 6000 / 10 = 600, backed by nothing else:
    #   (600 - 6000) / (0.0004 - 0.1) = 5400 / 0.0996 = 54216.8674...; a long's shows 54216.9
    isolated_lp = D50.divide(Decimal("5400"), Decimal("0.0996"))
    assert isolated_lp == engine.isolated_liquidation_price(
        btc_long("0.1", "60000"), isolated_margin=Decimal("600")
    )
    # the cross side of the account holds nothing, so its ratio stays 0; the most the trader can
    # lose is the position's 600
    assert preview.alternative == ModePreview(
        margin_mode="ISOLATED",
        leverage=10,
        price=Decimal("60000"),
        fill_quantity=Decimal("0.1"),
        rest_quantity=Decimal("0"),
        notional=Decimal("6000"),
        initial_margin=Decimal("600"),
        fee=Decimal("3"),
        accepted=True,
        rejection_code=None,
        rejection_reason=None,
        rejection_message=None,
        liquidation_price=isolated_lp,
        liquidation_price_display=Decimal("54216.9"),
        position_margin=Decimal("600"),
        cross_margin_ratio_before=Decimal("0"),
        cross_margin_ratio_after=Decimal("0"),
        max_loss=Decimal("600"),
        # to close at the liquidation price: 0.1 x 54216.8674... x 0.0005 = 2.710843373...,
        # rounded up (a fee is owed)
        closing_fee=Decimal("2.71084338"),
    )


def test_a_cross_preview_prices_liquidation_with_the_wallet_after_the_fee(trader):
    # given BTCUSDT at 60000, Cross at 20x
    # when the trader previews a market buy of 1 BTC (notional 60000, margin 3000, fee 30)
    preview = order_preview(user=trader, symbol="BTCUSDT", side="BUY", quantity="1")

    # then the cross liquidation price uses the wallet after the fee, 9970; tier 2:
    #   (9970 + 50 - 60000) / (0.005 - 1) = 49980 / 0.995 = 50231.1557...; N 50231 is in tier 2
    expected = D50.divide(Decimal("49980"), Decimal("0.995"))
    assert expected == engine.cross_liquidation_price(
        btc_long("1", "60000"), wallet_balance=Decimal("9970"), others=()
    )
    assert preview.chosen.liquidation_price == expected
    assert preview.chosen.liquidation_price_display == Decimal("50231.2")  # up to the 0.1 tick
    # MM 60000 x 0.005 - 50 = 250 over 9970
    assert preview.chosen.cross_margin_ratio_after == D50.divide(Decimal("250"), Decimal("9970"))
    assert preview.chosen.max_loss == Decimal("9970")
    # isolated at 20x: (3000 + 50 - 60000) / -0.995 = 56950 / 0.995 = 57236.1809...
    assert preview.alternative.liquidation_price == D50.divide(Decimal("56950"), Decimal("0.995"))
    assert preview.alternative.liquidation_price_display == Decimal("57236.2")
    assert preview.alternative.max_loss == Decimal("3000")
    # with the fees it pays from the wallet: 30 now, and 57236.1809... x 0.0005 = 28.6180904...
    # to close at the liquidation price (a liquidation's own fee comes out of the margin)
    assert preview.alternative.closing_fee == Decimal("28.61809046")
    assert preview.alternative.isolated_loss_limit == Decimal("3058.61809046")


def test_an_order_preview_changes_nothing(trader, unchanged):
    # given a trader with an open cross position (so there is something a preview could touch)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    # when the trader previews more orders in both modes, then nothing changes
    with unchanged():
        order_preview(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.5")
        order_preview(
            user=trader, symbol="BTCUSDT", side="SELL", quantity="0.2", margin_mode="ISOLATED"
        )
        order_preview(
            user=trader,
            symbol="ETHUSDT",
            side="BUY",
            quantity="1",
            order_type="LIMIT",
            price="2900",
        )


def test_a_refusal_is_reported_in_the_preview_not_raised(trader, unchanged):
    # given Cross at 10x and 10000 USDT
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)

    # when the trader previews 2 BTC cross: notional 120000, margin 12000, fee 60
    with unchanged():
        preview = order_preview(
            user=trader, symbol="BTCUSDT", side="BUY", quantity="2", margin_mode="CROSS"
        )

    # then the chosen mode says why it would be refused, and still shows its figures
    chosen = preview.chosen
    assert chosen.accepted is False
    assert chosen.rejection_code == "MARGIN_INSUFFICIENT"
    assert chosen.rejection_message == (
        "Insufficient margin: this order needs 12,060 USDT (initial margin "
        "12,000 + fee 60); you have 10,000 USDT available."
    )
    assert (chosen.leverage, chosen.notional, chosen.initial_margin, chosen.fee) == (
        10,
        Decimal("120000"),
        Decimal("12000"),
        Decimal("60"),
    )
    # (10000 - 60 + 50 - 120000) / (2 x 0.005 - 2) = 110010 / 1.99 = 55281.4070...
    assert chosen.liquidation_price == D50.divide(Decimal("110010"), Decimal("1.99"))
    # and Isolated at 20x (margin 6000 + fee 60 <= 10000) would be accepted
    assert preview.alternative.accepted is True
    assert preview.alternative.rejection_code is None
    assert preview.alternative.initial_margin == Decimal("6000")


def test_bad_input_still_raises_from_a_preview_and_changes_nothing(trader, unchanged):
    # given a trader; when the quantity is 0; then the preview raises, as order_place would
    with pytest.raises(InvalidQuantity) as refusal, unchanged():
        order_preview(user=trader, symbol="BTCUSDT", side="BUY", quantity="0")
    assert refusal.value.code == "INVALID_QUANTITY"
    assert refusal.value.field == "quantity"


def test_other_mode_position_open_is_false_without_a_position_in_the_other_mode(trader):
    # given an open cross BTC position, and nothing isolated
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    # when the trader previews a cross order on BTC, or an isolated order on ETH
    same_mode = order_preview(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS"
    )
    other_symbol = order_preview(
        user=trader, symbol="ETHUSDT", side="BUY", quantity="1", margin_mode="ISOLATED"
    )

    # then neither symbol has a position in the order's other mode
    assert same_mode.other_mode_position_open is False
    assert other_symbol.other_mode_position_open is False


def test_other_mode_position_open_is_true_when_the_symbol_has_a_position_in_the_other_mode(
    trader,
):
    # given an open cross BTC position
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    # when the trader previews an isolated BTC order
    preview = order_preview(
        user=trader, symbol="BTCUSDT", side="SELL", quantity="0.1", margin_mode="ISOLATED"
    )

    # then the preview says the order would open a separate position next to the cross one;
    # the isolated short is priced alone: (300 + 6000) / (0.0004 + 0.1) = 6300 / 0.1004
    assert preview.other_mode_position_open is True
    assert preview.chosen.margin_mode == "ISOLATED"
    assert preview.chosen.liquidation_price == D50.divide(Decimal("6300"), Decimal("0.1004"))
    assert preview.chosen.liquidation_price_display == Decimal("62749.0")  # a short's rounds down


def test_a_preview_naming_isolated_makes_isolated_the_chosen_mode(trader):
    # given a trader whose default is Cross
    # when the preview names ISOLATED
    preview = order_preview(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED"
    )

    # then ISOLATED is chosen and CROSS is the alternative
    assert preview.margin_mode == "ISOLATED"
    assert (preview.chosen.margin_mode, preview.alternative.margin_mode) == ("ISOLATED", "CROSS")
    assert preview.chosen.max_loss == Decimal("300")
    assert preview.alternative.max_loss == Decimal("9997")


def test_a_preview_naming_no_mode_chooses_the_symbols_default_mode(trader):
    # given BTCUSDT's own default set to Isolated (the user's default stays Cross)
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # when the preview names no mode, on BTC and on ETH
    btc = order_preview(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    eth = order_preview(user=trader, symbol="ETHUSDT", side="BUY", quantity="1")

    # then BTC's default is chosen; ETH keeps the user's Cross
    assert (btc.margin_mode, btc.chosen.margin_mode, btc.alternative.margin_mode) == (
        "ISOLATED",
        "ISOLATED",
        "CROSS",
    )
    assert eth.margin_mode == "CROSS"


def test_a_preview_naming_no_mode_chooses_the_symbols_default_over_the_users_default(trader):
    # given the user's default Isolated, and BTCUSDT's own default set to Cross
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # when the preview names no mode
    btc = order_preview(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    eth = order_preview(user=trader, symbol="ETHUSDT", side="BUY", quantity="1")

    # then BTC is Cross (its own default); ETH follows the user's Isolated
    assert btc.margin_mode == "CROSS"
    assert eth.margin_mode == "ISOLATED"


def test_a_preview_of_a_resting_limit_uses_the_limit_price(trader):
    # given BTCUSDT at 60000
    # when the trader previews a limit buy of 0.1 at 59000 (below the mark: it would rest)
    preview = order_preview(
        user=trader,
        symbol="BTCUSDT",
        side="BUY",
        quantity="0.1",
        order_type="LIMIT",
        price="59000",
    )

    # then the figures use 59000: notional 5900, margin 5900 / 20 = 295, maker fee 5900 x 0.0002
    for mode in (preview.chosen, preview.alternative):
        assert mode.price == Decimal("59000")
        assert mode.notional == Decimal("5900")
        assert mode.initial_margin == Decimal("295")
        assert mode.fee == Decimal("1.18")
    # isolated, entry 59000, margin 295: (295 - 5900) / (0.0004 - 0.1) = 5605 / 0.0996
    isolated_lp = D50.divide(Decimal("5605"), Decimal("0.0996"))
    assert isolated_lp == engine.isolated_liquidation_price(
        btc_long("0.1", "59000"), isolated_margin=Decimal("295")
    )
    assert preview.alternative.liquidation_price == isolated_lp  # 56275.1004...
    assert preview.alternative.liquidation_price_display == Decimal("56275.2")
    assert preview.alternative.max_loss == Decimal("295")


def test_a_preview_of_a_limit_through_the_mark_uses_the_market_price_and_the_taker_fee(trader):
    # given BTCUSDT at 60000
    # when the trader previews a limit buy of 0.1 at 61000 (through the mark: it would fill now)
    preview = order_preview(
        user=trader,
        symbol="BTCUSDT",
        side="BUY",
        quantity="0.1",
        order_type="LIMIT",
        price="61000",
    )

    # then it is priced as a market order: 60000, notional 6000, taker fee 3
    assert (preview.chosen.price, preview.chosen.notional, preview.chosen.fee) == (
        Decimal("60000"),
        Decimal("6000"),
        Decimal("3"),
    )


@pytest.mark.parametrize(
    ("quantity", "fill_fees"),
    [
        ("0.1", Decimal("3")),  # closes the long: 0.1 x 60000 x 0.0005
        ("0.3", Decimal("9")),  # flips it: 3 on the closed 0.1 + 6 on the opened 0.2
    ],
)
def test_a_preview_of_an_order_that_closes_a_position_shows_the_fee_the_fill_charges(
    trader, balanced_ledger, quantity, fill_fees
):
    # given a cross long of 0.1 BTC at 60000 (fee 3): wallet 9997
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    # when the trader previews a cross market sell that closes (or flips) it, then places it
    preview = order_preview(
        user=trader, symbol="BTCUSDT", side="SELL", quantity=quantity, margin_mode="CROSS"
    )
    order = order_place(
        user=trader, symbol="BTCUSDT", side="SELL", quantity=quantity, margin_mode="CROSS"
    )

    # then the fills charged the taker fee on every part: the closed one too
    assert sum(order.fills.values_list("fee", flat=True)) == fill_fees
    # and the preview showed that fee, and the cross balance left after it
    assert preview.chosen.fee == fill_fees
    assert preview.chosen.max_loss == wallet_balance(trader)
