"""Margin modes: the per-symbol default (Binance's rules and wording for changing it), how an order
that names no mode gets one, and the refusal to change the mode of an open position."""

import re
from decimal import Decimal

import pytest

from accounts.services import margin_mode_default_set
from marginsite.errors import InvalidInput
from tests.builders import last_ledger_pk, ledger_rows, wallet_balance
from trading.errors import MarginModeLocked, MarginModeUnchanged, NoPosition, UnknownSymbol
from trading.models import Instrument, Position, SymbolMarginMode
from trading.selectors import margin_mode_default
from trading.services import (
    order_cancel,
    order_place,
    position_close,
    position_margin_mode_change,
    symbol_margin_mode_clear,
    symbol_margin_mode_set,
)

pytestmark = pytest.mark.django_db

POSITION_EXISTS = "The margin mode of an open position cannot be changed."
ORDERS_EXIST = "The margin mode of an open order cannot be changed."
NO_NEED = r"^No need to change margin type\.$"


def symbol_modes(user) -> list[tuple]:
    return list(
        SymbolMarginMode.objects.filter(user=user)
        .order_by("instrument__symbol")
        .values_list("instrument__symbol", "margin_mode")
    )


def open_positions(user) -> list[tuple]:
    return list(
        Position.objects.filter(user=user, status="OPEN")
        .order_by("instrument__symbol", "margin_mode")
        .values_list("instrument__symbol", "margin_mode", "side", "quantity", "isolated_margin")
    )


def default_mode(user, symbol: str) -> str:
    return margin_mode_default(user=user, instrument=Instrument.objects.get(symbol=symbol))


def resting_buy(user, symbol="BTCUSDT", margin_mode=None, price="59000", quantity="0.1"):
    """A LIMIT buy below the mark: it rests (status NEW)."""
    return order_place(
        user=user,
        symbol=symbol,
        side="BUY",
        order_type="LIMIT",
        price=price,
        quantity=quantity,
        margin_mode=margin_mode,
    )


# symbol_margin_mode_set


def test_symbol_mode_can_be_set_and_is_the_default_for_that_symbol_only(trader):
    # given a trader with no per-symbol mode (everything defaults to Cross)
    # when BTCUSDT's default is set to Isolated
    setting = symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # then BTCUSDT defaults to Isolated and ETHUSDT still to Cross
    assert (setting.instrument.symbol, setting.margin_mode) == ("BTCUSDT", "ISOLATED")
    assert symbol_modes(trader) == [("BTCUSDT", "ISOLATED")]
    assert default_mode(trader, "BTCUSDT") == "ISOLATED"
    assert default_mode(trader, "ETHUSDT") == "CROSS"

    # and it can be set back (one row per symbol)
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")
    assert symbol_modes(trader) == [("BTCUSDT", "CROSS")]


def test_setting_the_mode_a_symbol_already_has_is_refused(trader, unchanged):
    # given BTCUSDT defaulting to Cross (nothing set)
    # when it is set to Cross, then it is refused and nothing changed
    with (
        pytest.raises(MarginModeUnchanged, match=NO_NEED) as refusal,
        unchanged(),
    ):
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")
    assert refusal.value.code == "MARGIN_MODE_UNCHANGED"
    assert symbol_modes(trader) == []


def test_setting_the_mode_already_set_for_the_symbol_is_refused(trader, unchanged):
    # given BTCUSDT set to Isolated
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # when it is set to Isolated again, then it is refused and nothing changed
    with pytest.raises(MarginModeUnchanged, match=NO_NEED), unchanged():
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")


def test_setting_the_mode_inherited_from_the_user_default_is_refused(trader, unchanged):
    # given a user whose /settings default is Isolated, and no per-symbol mode
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")

    # when BTCUSDT is set to Isolated, then it is refused: that is already its mode
    with pytest.raises(MarginModeUnchanged, match=NO_NEED), unchanged():
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert symbol_modes(trader) == []


def test_symbol_mode_change_is_refused_with_an_open_position_in_the_current_mode(trader, unchanged):
    # given an open BTCUSDT Cross position (Cross is the symbol's current default)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # when BTCUSDT's default is set to Isolated, then it is refused and nothing changed
    with (
        pytest.raises(MarginModeLocked, match=f"^{re.escape(POSITION_EXISTS)}") as refusal,
        unchanged(),
    ):
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert refusal.value.message == (
        f"{POSITION_EXISTS} Close your BTCUSDT Cross position and reopen it in Isolated mode."
    )
    assert refusal.value.code == "MARGIN_MODE_LOCKED"
    assert default_mode(trader, "BTCUSDT") == "CROSS"


def test_symbol_mode_change_is_refused_with_an_open_order_in_the_current_mode(trader, unchanged):
    # given a resting BTCUSDT Cross LIMIT buy at 59,000 (mark 60,000), and no position
    order = resting_buy(trader)
    assert (order.status, order.margin_mode) == ("NEW", "CROSS")

    # when BTCUSDT's default is set to Isolated, then it is refused and nothing changed
    with (
        pytest.raises(MarginModeLocked, match=f"^{re.escape(ORDERS_EXIST)}") as refusal,
        unchanged(),
    ):
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert refusal.value.message == (
        f"{ORDERS_EXIST} Cancel your BTCUSDT Cross orders and place them again in Isolated mode."
    )


def test_symbol_mode_change_is_refused_with_a_position_in_the_mode_inherited_from_the_user(
    trader, unchanged
):
    # given a user default of Isolated and an open BTCUSDT position opened without a mode
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # when BTCUSDT's default is set to Cross, then it is refused naming the Isolated position
    with (
        pytest.raises(
            MarginModeLocked,
            match=f"^{re.escape(POSITION_EXISTS)} Close your BTCUSDT Isolated position and "
            "reopen it in Cross mode\\.$",
        ),
        unchanged(),
    ):
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")


def test_symbol_mode_change_is_allowed_when_the_only_open_position_is_in_the_other_mode(trader):
    # given an open BTCUSDT Isolated position while the symbol's default is Cross
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")

    # when BTCUSDT's default is set to Isolated
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # then it is the default, and the position is untouched
    assert symbol_modes(trader) == [("BTCUSDT", "ISOLATED")]
    assert open_positions(trader) == [
        ("BTCUSDT", "ISOLATED", "LONG", Decimal("0.1"), Decimal("300"))
    ]


def test_symbol_mode_cannot_go_back_while_a_position_is_open_in_the_new_default(trader, unchanged):
    # given BTCUSDT switched to Isolated while an Isolated position was open
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # when it is set back to Cross, then it is refused: the Isolated position is in its mode now
    with (
        pytest.raises(
            MarginModeLocked,
            match=f"^{re.escape(POSITION_EXISTS)} Close your BTCUSDT Isolated position and "
            "reopen it in Cross mode\\.$",
        ),
        unchanged(),
    ):
        symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")


def test_symbol_mode_change_is_allowed_when_the_only_open_order_is_in_the_other_mode(trader):
    # given a resting BTCUSDT Isolated LIMIT buy while the symbol's default is Cross
    resting_buy(trader, margin_mode="ISOLATED")

    # when BTCUSDT's default is set to Isolated, then it is allowed
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert symbol_modes(trader) == [("BTCUSDT", "ISOLATED")]


def test_positions_and_orders_on_other_symbols_do_not_lock_the_symbol_mode(trader):
    # given an open ETHUSDT Cross position and a resting SOLUSDT Cross order
    order_place(user=trader, symbol="ETHUSDT", side="BUY", quantity="1")
    resting_buy(trader, symbol="SOLUSDT", price="140", quantity="10")

    # when BTCUSDT's default is set to Isolated, then it is allowed
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert symbol_modes(trader) == [("BTCUSDT", "ISOLATED")]


def test_closed_positions_and_canceled_orders_do_not_lock_the_symbol_mode(trader):
    # given a BTCUSDT Cross position opened and closed, and a Cross order placed and canceled
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")
    order = resting_buy(trader)
    order_cancel(user=trader, order_id=order.pk)

    # when BTCUSDT's default is set to Isolated, then it is allowed
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert symbol_modes(trader) == [("BTCUSDT", "ISOLATED")]


@pytest.mark.parametrize(
    ("symbol", "margin_mode", "error", "message"),
    [
        pytest.param(
            "BTCUSDT",
            "cross",
            InvalidInput,
            "The margin_mode must be CROSS or ISOLATED, not 'cross'.",
            id="lower-case",
        ),
        pytest.param(
            "BTCUSDT",
            None,
            InvalidInput,
            "The margin_mode must be CROSS or ISOLATED, not None.",
            id="none",
        ),
        pytest.param(
            "DOGEUSDT", "ISOLATED", UnknownSymbol, "Unknown symbol 'DOGEUSDT'.", id="unknown"
        ),
    ],
)
def test_symbol_mode_with_a_bad_mode_or_symbol_is_refused(
    trader, unchanged, symbol, margin_mode, error, message
):
    with pytest.raises(error, match=f"^{re.escape(message)}$"), unchanged():
        symbol_margin_mode_set(user=trader, symbol=symbol, margin_mode=margin_mode)


# symbol_margin_mode_clear: the symbol follows the default again


def test_clearing_a_symbols_own_mode_makes_it_follow_the_default_again(trader):
    # given a user default of Isolated and BTCUSDT set to Cross
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # when it is cleared, then it follows the user's default: Isolated
    assert symbol_margin_mode_clear(user=trader, symbol="BTCUSDT") == "ISOLATED"
    assert symbol_modes(trader) == []
    assert default_mode(trader, "BTCUSDT") == "ISOLATED"


def test_clearing_a_symbol_that_follows_the_default_is_refused(trader, unchanged):
    with (
        pytest.raises(
            MarginModeUnchanged, match=r"^BTCUSDT already follows your default margin mode\.$"
        ),
        unchanged(),
    ):
        symbol_margin_mode_clear(user=trader, symbol="BTCUSDT")


def test_clearing_is_refused_while_a_position_is_open_in_the_symbols_own_mode(trader, unchanged):
    # given BTCUSDT set to Isolated (the default is Cross) and an Isolated position opened in it
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # when it is cleared, then it is refused as any change of the mode, and nothing changed
    with pytest.raises(MarginModeLocked) as refusal, unchanged():
        symbol_margin_mode_clear(user=trader, symbol="BTCUSDT")
    assert refusal.value.message == (
        f"{POSITION_EXISTS} Close your BTCUSDT Isolated position and reopen it in Cross mode."
    )
    assert refusal.value.reason == MarginModeLocked.Reason.OPEN_POSITION


def test_clearing_the_mode_the_default_also_gives_is_allowed_with_a_position_open(trader):
    # given BTCUSDT set to Cross, the user's default Cross again, and a Cross position open
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")
    margin_mode_default_set(user=trader, margin_mode="CROSS")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # when it is cleared, then it is allowed: its orders stay Cross
    assert symbol_margin_mode_clear(user=trader, symbol="BTCUSDT") == "CROSS"
    assert symbol_modes(trader) == []


# The mode of an order that names none


def test_order_without_a_mode_is_cross_when_nothing_is_set(trader, balanced_ledger):
    # given a trader who never chose a mode
    before = last_ledger_pk()

    # when they buy 0.1 BTC naming no mode
    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # then it is a Cross order and position: only the 3 USDT fee left the wallet
    assert order.margin_mode == "CROSS"
    assert open_positions(trader) == [("BTCUSDT", "CROSS", "LONG", Decimal("0.1"), Decimal("0"))]
    assert ledger_rows(user=trader, after=before) == [("FEE", Decimal("3"), "WALLET", "FEES")]
    assert wallet_balance(trader) == Decimal("9997")


def test_order_without_a_mode_uses_the_user_default(trader, balanced_ledger):
    # given a user default of Isolated on /settings
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    before = last_ledger_pk()

    # when they buy 0.1 BTC naming no mode
    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    # then it is Isolated: 6,000 / 20 = 300 moved into the position, plus the 3 USDT fee
    assert order.margin_mode == "ISOLATED"
    assert open_positions(trader) == [
        ("BTCUSDT", "ISOLATED", "LONG", Decimal("0.1"), Decimal("300"))
    ]
    assert ledger_rows(user=trader, after=before) == [
        ("ISOLATED_MARGIN", Decimal("300"), "WALLET", "ISOLATED_MARGIN"),
        ("FEE", Decimal("3"), "WALLET", "FEES"),
    ]
    assert wallet_balance(trader) == Decimal("9697")


def test_order_without_a_mode_uses_the_symbol_default_before_the_user_default(
    trader, balanced_ledger
):
    # given a user default of Isolated and BTCUSDT's own default set to Cross
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS")

    # when they buy 0.1 BTC and 1 ETH naming no mode
    btc = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    eth = order_place(user=trader, symbol="ETHUSDT", side="BUY", quantity="1")

    # then BTC follows its symbol default (Cross), ETH the user default (Isolated, 3,000 / 20)
    assert (btc.margin_mode, eth.margin_mode) == ("CROSS", "ISOLATED")
    assert open_positions(trader) == [
        ("BTCUSDT", "CROSS", "LONG", Decimal("0.1"), Decimal("0")),
        ("ETHUSDT", "ISOLATED", "LONG", Decimal("1"), Decimal("150")),
    ]
    # 10,000 - 3 (BTC fee) - 150 (ETH margin) - 1.5 (ETH fee)
    assert wallet_balance(trader) == Decimal("9845.5")


def test_symbol_default_of_isolated_applies_while_the_user_default_is_cross(trader):
    # given the user default Cross (unchanged) and BTCUSDT set to Isolated
    symbol_margin_mode_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")

    # when they buy 0.1 BTC naming no mode, then it is Isolated
    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    assert order.margin_mode == "ISOLATED"
    assert open_positions(trader) == [
        ("BTCUSDT", "ISOLATED", "LONG", Decimal("0.1"), Decimal("300"))
    ]


def test_explicit_mode_on_the_order_overrides_symbol_and_user_defaults(trader, balanced_ledger):
    # given the user default Isolated (so BTCUSDT's too) and ETHUSDT's own default Cross
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")
    symbol_margin_mode_set(user=trader, symbol="ETHUSDT", margin_mode="CROSS")
    before = last_ledger_pk()

    # when they buy 0.1 BTC explicitly Cross and 1 ETH explicitly Isolated
    btc = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS"
    )
    eth = order_place(
        user=trader, symbol="ETHUSDT", side="BUY", quantity="1", margin_mode="ISOLATED"
    )

    # then each order has the mode it named
    assert (btc.margin_mode, eth.margin_mode) == ("CROSS", "ISOLATED")
    assert open_positions(trader) == [
        ("BTCUSDT", "CROSS", "LONG", Decimal("0.1"), Decimal("0")),
        ("ETHUSDT", "ISOLATED", "LONG", Decimal("1"), Decimal("150")),
    ]
    assert ledger_rows(user=trader, after=before) == [
        ("FEE", Decimal("3"), "WALLET", "FEES"),
        ("ISOLATED_MARGIN", Decimal("150"), "WALLET", "ISOLATED_MARGIN"),
        ("FEE", Decimal("1.5"), "WALLET", "FEES"),
    ]


def test_order_acts_only_on_the_position_of_its_resolved_mode(trader, balanced_ledger):
    # given an open 0.1 BTC Cross long, then BTCUSDT's default switched to Isolated
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")
    margin_mode_default_set(user=trader, margin_mode="ISOLATED")

    # when they sell 0.05 BTC naming no mode
    order = order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity="0.05")

    # then it opens an Isolated short (3,000 / 20 = 150) and leaves the Cross long whole
    assert order.margin_mode == "ISOLATED"
    assert open_positions(trader) == [
        ("BTCUSDT", "CROSS", "LONG", Decimal("0.1"), Decimal("0")),
        ("BTCUSDT", "ISOLATED", "SHORT", Decimal("0.05"), Decimal("150")),
    ]
    # 10,000 - 3 - 150 - 1.5
    assert wallet_balance(trader) == Decimal("9845.5")


# position_margin_mode_change


def test_changing_a_cross_position_to_isolated_is_refused_telling_to_close_and_reopen(
    trader, unchanged
):
    # given an open BTCUSDT Cross position
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    # when it is asked to become Isolated, then it is refused and nothing changed
    with pytest.raises(MarginModeLocked) as refusal, unchanged():
        position_margin_mode_change(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert refusal.value.message == (
        "The margin mode of an open position cannot be changed. Close your BTCUSDT Cross "
        "position and reopen it in Isolated mode."
    )
    assert refusal.value.code == "MARGIN_MODE_LOCKED"
    assert open_positions(trader) == [("BTCUSDT", "CROSS", "LONG", Decimal("0.1"), Decimal("0"))]


def test_changing_an_isolated_position_to_cross_is_refused_telling_to_close_and_reopen(
    trader, unchanged
):
    # given an open ETHUSDT Isolated short
    order_place(user=trader, symbol="ETHUSDT", side="SELL", quantity="1", margin_mode="ISOLATED")

    # when it is asked to become Cross, then it is refused and nothing changed
    with (
        pytest.raises(
            MarginModeLocked,
            match=r"^The margin mode of an open position cannot be changed\. Close your ETHUSDT "
            r"Isolated position and reopen it in Cross mode\.$",
        ),
        unchanged(),
    ):
        position_margin_mode_change(user=trader, symbol="ETHUSDT", margin_mode="CROSS")


def test_changing_the_mode_without_an_open_position_in_the_other_mode_is_no_position(
    trader, unchanged
):
    # given no open position at all
    # when a BTCUSDT position is asked to become Isolated, then there is no Cross one to change
    with (
        pytest.raises(NoPosition, match=r"^You have no open BTCUSDT Cross position\.$") as refusal,
        unchanged(),
    ):
        position_margin_mode_change(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")
    assert refusal.value.code == "NO_POSITION"


def test_changing_to_the_mode_of_the_only_open_position_says_it_already_is(trader, unchanged):
    # given only an open BTCUSDT Isolated position
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")

    # when a BTCUSDT position is asked to become Isolated, then it already is
    with (
        pytest.raises(MarginModeUnchanged, match=r"^Your BTCUSDT position is already Isolated\.$"),
        unchanged(),
    ):
        position_margin_mode_change(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED")


def test_changing_the_mode_of_a_position_with_a_bad_mode_is_invalid_input(trader, unchanged):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    with (
        pytest.raises(
            InvalidInput, match=r"^The margin_mode must be CROSS or ISOLATED, not 'HEDGE'\.$"
        ),
        unchanged(),
    ):
        position_margin_mode_change(user=trader, symbol="BTCUSDT", margin_mode="HEDGE")
