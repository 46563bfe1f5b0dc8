"""Leverage per (symbol, margin mode): stored independently, used by orders, checked against the
instrument's maximum and the bracket cap, and the rules for changing it under an open position
(isolated: raise only; cross: lower while the available balance stays >= 0)."""

import re
from decimal import Decimal

import pytest

from marginsite.errors import InvalidInput
from tests.builders import last_ledger_pk, ledger_rows, position_of, wallet_balance
from trading.errors import (
    InvalidLeverage,
    LeverageReductionRefused,
    LeverageTooHigh,
    MarginInsufficient,
    UnknownSymbol,
)
from trading.models import Instrument, LeverageSetting, Position
from trading.selectors import account_summary, leverage_for
from trading.selectors.positions import isolated_margin_max_removable
from trading.services import leverage_set, mark_price_set, order_place, wallet_deposit

pytestmark = pytest.mark.django_db


def max_removable(user, position: Position) -> Decimal:
    positions = list(Position.objects.filter(user=user, status="OPEN").select_related("instrument"))
    position = next(p for p in positions if p.pk == position.pk)
    return isolated_margin_max_removable(user=user, position=position, positions=positions)


def stored_leverage(user) -> list[tuple]:
    return list(
        LeverageSetting.objects.filter(user=user)
        .order_by("instrument__symbol", "margin_mode")
        .values_list("instrument__symbol", "margin_mode", "leverage")
    )


def whole(figure: str) -> str:
    """A pattern for a whole USDT figure printed with or without trailing decimal zeros."""
    return re.escape(figure) + r"(\.0+)?"


# Stored per (symbol, mode) and used by orders


def test_leverage_is_stored_per_symbol_and_mode_independently(trader):
    # given a trader who never set a leverage
    # when BTC Cross 10x, BTC Isolated 20x and ETH Isolated 5x are set
    cross = leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    isolated = leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    eth = leverage_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED", leverage=5)

    # then three independent settings are stored and returned
    assert (cross.margin_mode, cross.leverage) == ("CROSS", 10)
    assert (isolated.margin_mode, isolated.leverage) == ("ISOLATED", 20)
    assert (eth.instrument.symbol, eth.margin_mode, eth.leverage) == ("ETHUSDT", "ISOLATED", 5)
    assert stored_leverage(trader) == [
        ("BTCUSDT", "CROSS", 10),
        ("BTCUSDT", "ISOLATED", 20),
        ("ETHUSDT", "ISOLATED", 5),
    ]
    btc, eth_instrument = (
        Instrument.objects.get(symbol="BTCUSDT"),
        Instrument.objects.get(symbol="ETHUSDT"),
    )
    assert leverage_for(user=trader, instrument=btc, margin_mode="CROSS") == 10
    assert leverage_for(user=trader, instrument=btc, margin_mode="ISOLATED") == 20
    assert leverage_for(user=trader, instrument=eth_instrument, margin_mode="ISOLATED") == 5
    # ETH Cross was never set: the instrument's default
    assert leverage_for(user=trader, instrument=eth_instrument, margin_mode="CROSS") == 20


def test_setting_a_leverage_again_updates_the_one_row_of_its_key(trader):
    # given BTC Cross at 10x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)

    # when it is set to 25x (the symbol given in lower case)
    leverage_set(user=trader, symbol="btcusdt", margin_mode="CROSS", leverage=25)

    # then the same key holds 25x
    assert stored_leverage(trader) == [("BTCUSDT", "CROSS", 25)]


def test_leverage_of_another_user_is_not_shared(make_trader):
    # given alice at BTC Cross 10x
    alice, bob = make_trader("alice"), make_trader("bob")
    leverage_set(user=alice, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)

    # then bob still has the default
    btc = Instrument.objects.get(symbol="BTCUSDT")
    assert leverage_for(user=bob, instrument=btc, margin_mode="CROSS") == 20


def test_orders_use_the_leverage_of_their_symbol_and_mode(trader, balanced_ledger):
    # given BTC Cross 10x, BTC Isolated 20x and ETH Isolated 5x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="ISOLATED", leverage=5)
    before = last_ledger_pk()

    # when the trader buys 0.1 BTC in each mode and 1 ETH isolated, at the marks
    btc_cross = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS"
    )
    btc_isolated = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED"
    )
    eth_isolated = order_place(
        user=trader, symbol="ETHUSDT", side="BUY", quantity="1", margin_mode="ISOLATED"
    )

    # then each order and position carries the leverage of its key
    assert (btc_cross.leverage, btc_isolated.leverage, eth_isolated.leverage) == (10, 20, 5)
    cross = position_of(trader, "CROSS")
    isolated = position_of(trader, "ISOLATED")
    eth = position_of(trader, "ISOLATED", symbol="ETHUSDT")
    assert (cross.leverage, cross.isolated_margin) == (10, Decimal("0"))
    # isolated initial margin = notional / leverage: 6,000 / 20 = 300 and 3,000 / 5 = 600
    assert (isolated.leverage, isolated.isolated_margin) == (20, Decimal("300"))
    assert (eth.leverage, eth.isolated_margin) == (5, Decimal("600"))
    # cross holds its margin implicitly; fees are 0.05 % of each notional
    assert ledger_rows(user=trader, after=before) == [
        ("FEE", Decimal("3"), "WALLET", "FEES"),
        ("ISOLATED_MARGIN", Decimal("300"), "WALLET", "ISOLATED_MARGIN"),
        ("FEE", Decimal("3"), "WALLET", "FEES"),
        ("ISOLATED_MARGIN", Decimal("600"), "WALLET", "ISOLATED_MARGIN"),
        ("FEE", Decimal("1.5"), "WALLET", "FEES"),
    ]
    assert wallet_balance(trader) == Decimal("9092.5")
    # the cross position's margin at 10x is 600: available = 9,092.5 - 600
    assert account_summary(user=trader).available_balance == Decimal("8492.5")


def test_default_leverage_is_twenty_when_never_set(trader):
    # given a trader who never set a leverage
    # then every (symbol, mode) has the instrument's default of 20x, SOLUSDT (max 75x) included
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        instrument = Instrument.objects.get(symbol=symbol)
        for mode in ("CROSS", "ISOLATED"):
            assert leverage_for(user=trader, instrument=instrument, margin_mode=mode) == 20

    # and an isolated order uses it: 0.1 BTC x 60,000 / 20 = 300 of margin
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED"
    )
    assert order.leverage == 20
    assert position_of(trader, "ISOLATED").isolated_margin == Decimal("300")
    assert LeverageSetting.objects.filter(user=trader).count() == 0


def test_leverage_given_as_a_string_of_digits_is_accepted(trader):
    # given a form that sends the leverage as text
    setting = leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage="20")
    spaced = leverage_set(user=trader, symbol="ETHUSDT", margin_mode="CROSS", leverage=" 7 ")

    # then it is stored as a whole number
    assert (setting.leverage, spaced.leverage) == (20, 7)
    assert stored_leverage(trader) == [("BTCUSDT", "CROSS", 20), ("ETHUSDT", "CROSS", 7)]


# Refusals

AT_LEAST_1 = "Leverage must be at least 1, not %d."
ABOVE_MAX = "Leverage %dx is above this symbol's maximum of %dx."
NOT_WHOLE = "Leverage must be a whole number from 1 to %d."


@pytest.mark.parametrize(
    ("symbol", "margin_mode", "leverage", "error", "message"),
    [
        pytest.param("BTCUSDT", "CROSS", 0, InvalidLeverage, AT_LEAST_1 % 0, id="zero"),
        pytest.param("BTCUSDT", "CROSS", -1, InvalidLeverage, AT_LEAST_1 % -1, id="negative"),
        pytest.param("BTCUSDT", "CROSS", "0", InvalidLeverage, AT_LEAST_1 % 0, id="zero-text"),
        pytest.param(
            "BTCUSDT", "CROSS", 126, LeverageTooHigh, ABOVE_MAX % (126, 125), id="btc-126"
        ),
        pytest.param("SOLUSDT", "ISOLATED", 76, LeverageTooHigh, ABOVE_MAX % (76, 75), id="sol-76"),
        pytest.param("BTCUSDT", "CROSS", "abc", InvalidLeverage, NOT_WHOLE % 125, id="text"),
        pytest.param("BTCUSDT", "CROSS", 1.5, InvalidLeverage, NOT_WHOLE % 125, id="float"),
        pytest.param("BTCUSDT", "CROSS", True, InvalidLeverage, NOT_WHOLE % 125, id="bool"),
        pytest.param("BTCUSDT", "CROSS", None, InvalidLeverage, NOT_WHOLE % 125, id="none"),
        pytest.param("SOLUSDT", "CROSS", "-5", InvalidLeverage, NOT_WHOLE % 75, id="minus-text"),
        # int() of more than 4,300 digits raises: the digits are counted before it
        pytest.param(
            "BTCUSDT", "CROSS", "9" * 5000, InvalidLeverage, NOT_WHOLE % 125, id="5000-digits"
        ),
        pytest.param(
            "DOGEUSDT", "CROSS", 10, UnknownSymbol, "Unknown symbol 'DOGEUSDT'.", id="unknown"
        ),
        pytest.param(
            "BTCUSDT",
            "BOTH",
            10,
            InvalidInput,
            "The margin_mode must be CROSS or ISOLATED, not 'BOTH'.",
            id="mode-both",
        ),
    ],
)
def test_bad_leverage_requests_are_refused_and_change_nothing(
    trader, unchanged, symbol, margin_mode, leverage, error, message
):
    # given a trader at BTC Cross 10x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)

    # when a bad request arrives, then it is refused with its error and nothing changed
    with pytest.raises(error, match=f"^{re.escape(message)}$") as refusal, unchanged():
        leverage_set(user=trader, symbol=symbol, margin_mode=margin_mode, leverage=leverage)
    assert type(refusal.value) is error
    assert stored_leverage(trader) == [("BTCUSDT", "CROSS", 10)]


def test_leverage_of_unicode_digits_is_refused_as_invalid_leverage(trader, unchanged):
    # given a form that sends a superscript two ("²".isdigit() is True, int("²") fails)
    # when it is used as the leverage, then it is refused as InvalidLeverage, not a crash
    with (
        pytest.raises(InvalidLeverage, match=f"^{re.escape(NOT_WHOLE % 125)}$"),
        unchanged(),
    ):
        leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage="²")


# With an open isolated position


def test_lowering_isolated_leverage_with_an_open_position_is_refused(trader, unchanged):
    # given an open 0.1 BTC isolated long at 20x (300 of isolated margin)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")

    # when the isolated leverage is lowered to 10x, then it is refused and nothing changed
    with (
        pytest.raises(
            LeverageReductionRefused,
            match=r"^Leverage reduction is not supported in Isolated Margin Mode with open "
            r"positions\.$",
        ) as refusal,
        unchanged(),
    ):
        leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=10)
    assert refusal.value.code == "LEVERAGE_REDUCTION_NOT_SUPPORTED"
    position = position_of(trader, "ISOLATED")
    assert (position.leverage, position.isolated_margin) == (20, Decimal("300"))


def test_raising_isolated_leverage_keeps_the_margin_and_makes_more_removable(
    trader, balanced_ledger
):
    # given an open 0.1 BTC isolated long at 20x: 300 of margin, all of it needed at 20x
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    position = position_of(trader, "ISOLATED")
    assert max_removable(trader, position) == Decimal("0")
    before = last_ledger_pk()

    # when the isolated leverage is raised to 50x
    setting = leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=50)

    # then the position is at 50x, its margin and the wallet did not move, no money moved,
    # and 300 - 6,000 / 50 = 180 may now be removed (maintenance 6,000 x 0.004 = 24 is below)
    position.refresh_from_db()
    assert setting.leverage == 50
    assert (position.leverage, position.isolated_margin) == (50, Decimal("300"))
    assert wallet_balance(trader) == Decimal("9697")
    assert ledger_rows(user=trader, after=before) == []
    assert max_removable(trader, position) == Decimal("180")


def test_after_raising_isolated_leverage_going_back_down_is_refused(trader, unchanged):
    # given an isolated BTC position whose leverage was raised from 20x to 50x
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=50)

    # when it is set back to 20x, then it is refused: 20x is a reduction now
    with pytest.raises(LeverageReductionRefused), unchanged():
        leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    assert position_of(trader, "ISOLATED").leverage == 50


def test_cross_leverage_can_be_lowered_while_only_an_isolated_position_is_open(trader):
    # given an open isolated BTC position at 20x
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")

    # when the Cross leverage of BTC is set to 5x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=5)

    # then the isolated position keeps its leverage and margin
    position = position_of(trader, "ISOLATED")
    assert (position.leverage, position.isolated_margin) == (20, Decimal("300"))
    assert stored_leverage(trader) == [("BTCUSDT", "CROSS", 5)]


# With an open cross position


def test_lowering_cross_leverage_is_allowed_while_the_available_balance_stays_positive(
    trader, balanced_ledger
):
    # given 0.8 BTC cross long at 125x: notional 48,000, margin 384, fee 24 (wallet 9,976)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.8", margin_mode="CROSS")
    assert wallet_balance(trader) == Decimal("9976")
    assert account_summary(user=trader).available_balance == Decimal("9592")
    before = last_ledger_pk()

    # when the cross leverage is lowered to 10x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)

    # then the position is at 10x and holds 4,800: available 9,976 - 4,800; no money moved
    assert position_of(trader, "CROSS").leverage == 10
    assert account_summary(user=trader).available_balance == Decimal("5176")
    assert wallet_balance(trader) == Decimal("9976")
    assert ledger_rows(user=trader, after=before) == []


def test_lowering_cross_leverage_is_refused_when_the_available_balance_would_go_negative(
    trader, unchanged
):
    # given 0.8 BTC cross long at 125x (notional 48,000) and a wallet of 9,976
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.8", margin_mode="CROSS")

    # when the cross leverage is lowered to 4x (margin 12,000 > 9,976 by 2,024)
    # then it is refused and nothing changed
    with (
        pytest.raises(
            MarginInsufficient,
            match=f"^At 4x your cross positions would need {whole('2,024')} USDT more than your "
            r"available balance\.$",
        ) as refusal,
        unchanged(),
    ):
        leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=4)
    assert refusal.value.code == "MARGIN_INSUFFICIENT"
    assert position_of(trader, "CROSS").leverage == 125
    assert stored_leverage(trader) == [("BTCUSDT", "CROSS", 125)]


def test_lowering_cross_leverage_to_exactly_zero_available_is_allowed(trader, balanced_ledger):
    # given 0.8 BTC cross long at 125x and 2,024 more in the wallet (9,976 + 2,024 = 12,000)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.8", margin_mode="CROSS")
    wallet_deposit(user=trader, amount="2024")

    # when the cross leverage is lowered to 4x, whose margin is 48,000 / 4 = 12,000
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=4)

    # then it is allowed and the available balance is exactly 0
    assert position_of(trader, "CROSS").leverage == 4
    assert account_summary(user=trader).available_balance == Decimal("0")
    assert stored_leverage(trader) == [("BTCUSDT", "CROSS", 4)]


# The bracket cap at the new leverage


@pytest.mark.parametrize("margin_mode", ["CROSS", "ISOLATED"])
def test_raising_leverage_above_the_bracket_cap_of_the_open_position_is_refused(
    trader, unchanged, margin_mode
):
    # given 1 BTC long at 20x: notional 60,000
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode=margin_mode)

    # when the leverage is raised to 125x, whose bracket caps a position at 50,000 USDT
    # then it is refused naming the cap and the position, and nothing changed
    with (
        pytest.raises(
            LeverageTooHigh,
            match=f"^At 125x the largest position is {whole('50,000')} USDT; your BTCUSDT "
            f"position is {whole('60,000')} USDT\\.$",
        ) as refusal,
        unchanged(),
    ):
        leverage_set(user=trader, symbol="BTCUSDT", margin_mode=margin_mode, leverage=125)
    assert refusal.value.code == "LEVERAGE_TOO_HIGH"
    assert position_of(trader, margin_mode).leverage == 20


def test_raising_leverage_within_the_bracket_cap_of_the_open_position_is_allowed(trader):
    # given 1 BTC cross long at 20x: notional 60,000, within the 600,000 cap of 100x
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")

    # when the leverage is raised to 100x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=100)

    # then the position is at 100x: its margin is 600, available 9,970 - 600
    assert position_of(trader, "CROSS").leverage == 100
    assert account_summary(user=trader).available_balance == Decimal("9370")


def test_a_position_exactly_at_the_bracket_cap_may_use_that_leverage(trader):
    # given 0.8 BTC cross long at 20x whose mark rose to 62,500: notional exactly 50,000
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.8", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="62500")

    # when the leverage is raised to 125x, whose cap is 50,000 (the cap itself is allowed)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)

    # then the position is at 125x
    assert position_of(trader, "CROSS").leverage == 125


def test_the_bracket_cap_is_checked_at_the_mark_not_at_the_entry(trader, unchanged):
    # given 0.8 BTC cross long entered at 60,000 (48,000) whose mark rose to 62,500.1
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.8", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="62500.1")

    # when the leverage is raised to 125x, then it is refused: 0.8 x 62,500.1 = 50,000.08
    with (
        pytest.raises(
            LeverageTooHigh,
            match=f"^At 125x the largest position is {whole('50,000')} USDT; your BTCUSDT "
            r"position is 50,000\.080* USDT\.$",
        ),
        unchanged(),
    ):
        leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)
