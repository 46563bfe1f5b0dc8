"""Paths where money could be created or lost, each closed and pinned: a solvent account's loss
paid by the insurance fund, fees waived on orders that open positions, and inputs that used to
escape as server errors."""

from decimal import Decimal

import pytest

from marginsite.errors import InvalidInput
from tests.builders import wallet_balance
from trading.errors import (
    InvalidAmount,
    InvalidPrice,
    InvalidQuantity,
    MarginInsufficient,
    UnknownSymbol,
)
from trading.models import LedgerEntry
from trading.selectors import system_account_balance
from trading.services import (
    isolated_margin_add,
    mark_price_set,
    order_place,
    order_preview,
    position_close,
    wallet_deposit,
)
from trading.services.margins import isolated_margin_remove

pytestmark = pytest.mark.django_db


def cross_buy(user, symbol, quantity):
    return order_place(user=user, symbol=symbol, side="BUY", quantity=quantity, margin_mode="CROSS")


def test_a_solvent_cross_account_cannot_make_the_insurance_fund_pay_its_loss(
    trader, unchanged, balanced_ledger
):
    # given cross BTC 1 @ 60000 and ETH 10 @ 3000 (fees 30 + 15: wallet 9955)
    cross_buy(trader, "BTCUSDT", "1")
    cross_buy(trader, "ETHUSDT", "10")
    # and BTC is up 30000 while ETH is down 10000: the account is healthy
    mark_price_set(symbol="BTCUSDT", price="90000")
    mark_price_set(symbol="ETHUSDT", price="2000")

    # when closing ETH first: loss 10000 + fee 10 > wallet 9955 while BTC's profit is unrealized
    with (
        pytest.raises(MarginInsufficient, match="Close your profitable cross positions first"),
        unchanged(),
    ):
        position_close(user=trader, symbol="ETHUSDT", margin_mode="CROSS")

    # then closing BTC first realizes its profit, and ETH can close: nobody else paid
    position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")  # +30000 - fee 45
    position_close(user=trader, symbol="ETHUSDT", margin_mode="CROSS")  # -10000 - fee 10
    assert wallet_balance(trader) == Decimal("29900")
    assert system_account_balance("INSURANCE_FUND") == 0
    assert not LedgerEntry.objects.filter(kind="INSURANCE").exists()


def test_unrealized_profit_cannot_pay_an_orders_fee(trader, unchanged, balanced_ledger):
    # given cross BTC 1 @ 60000 and ETH 10 @ 3000 (wallet 9955), BTC up to 90000
    cross_buy(trader, "BTCUSDT", "1")
    cross_buy(trader, "ETHUSDT", "10")
    mark_price_set(symbol="BTCUSDT", price="90000")
    mark_price_set(symbol="ETHUSDT", price="2006")
    # and closing ETH at 2006 costs 9940 + fee 10.03, leaving 4.97 in the wallet
    position_close(user=trader, symbol="ETHUSDT", margin_mode="CROSS")
    assert wallet_balance(trader) == Decimal("4.97")

    # when buying 0.2 BTC: margin 900 fits the available balance, but the fee 9 is cash
    with pytest.raises(MarginInsufficient) as refusal, unchanged():
        cross_buy(trader, "BTCUSDT", "0.2")

    assert refusal.value.message == (
        "Insufficient wallet balance: this order pays its fees in cash, 9 USDT, and your wallet "
        "has 4.97 USDT free. Unrealized profit becomes cash only when you close the position."
    )


def test_an_isolated_reversal_must_pay_both_fees_and_the_new_margin_in_cash(
    trader, unchanged, balanced_ledger
):
    # given an isolated BTC long of 0.002 @ 60000 at 20x (margin 6, fee 0.06)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.002", margin_mode="ISOLATED")
    # and an isolated ETH long whose margin takes all of the wallet but 0.06
    order_place(user=trader, symbol="ETHUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    isolated_margin_add(
        user=trader, symbol="ETHUSDT", amount=wallet_balance(trader) - Decimal("0.06")
    )

    # when reversing BTC (sell 0.004): 6 comes back, but 6 margin + 0.12 fees are needed
    with pytest.raises(MarginInsufficient), unchanged():
        order_place(
            user=trader, symbol="BTCUSDT", side="SELL", quantity="0.004", margin_mode="ISOLATED"
        )


def test_a_preview_reports_the_refused_loss_of_a_solvent_account(trader):
    cross_buy(trader, "BTCUSDT", "1")
    cross_buy(trader, "ETHUSDT", "10")
    mark_price_set(symbol="BTCUSDT", price="90000")
    mark_price_set(symbol="ETHUSDT", price="2000")

    preview = order_preview(
        user=trader, symbol="ETHUSDT", side="SELL", quantity="10", margin_mode="CROSS"
    )

    assert preview.chosen.accepted is False
    assert preview.chosen.rejection_code == "MARGIN_INSUFFICIENT"


@pytest.mark.parametrize("huge", ["1e1000000", "-1e1000000", "9" * 40])
def test_numbers_beyond_any_range_are_refused_not_a_server_error(huge, trader, unchanged):
    cross_buy(trader, "BTCUSDT", "0.1")
    isolated = order_place(
        user=trader, symbol="ETHUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED"
    )
    assert isolated.status == "FILLED"

    with pytest.raises(InvalidQuantity), unchanged():
        cross_buy(trader, "BTCUSDT", huge)
    with pytest.raises(InvalidQuantity), unchanged():
        order_preview(user=trader, symbol="BTCUSDT", side="BUY", quantity=huge)
    with pytest.raises(InvalidAmount), unchanged():
        wallet_deposit(user=trader, amount=huge)
    with pytest.raises(InvalidAmount), unchanged():
        isolated_margin_add(user=trader, symbol="ETHUSDT", amount=huge)
    with pytest.raises(InvalidAmount), unchanged():
        isolated_margin_remove(user=trader, symbol="ETHUSDT", amount=huge)
    with pytest.raises(InvalidPrice), unchanged():
        mark_price_set(symbol="BTCUSDT", price=huge)


@pytest.mark.parametrize("symbol", ["BTC\x00", "BTCUSDT; DROP", "B" * 21, "", "  ", None, 7])
def test_a_symbol_that_cannot_be_one_is_unknown(symbol, trader, unchanged):
    with pytest.raises(UnknownSymbol), unchanged():
        cross_buy(trader, symbol, "0.1")
    with pytest.raises(UnknownSymbol), unchanged():
        mark_price_set(symbol=symbol, price="100")


def test_a_mark_below_one_tick_is_refused(market, unchanged):
    with pytest.raises(InvalidPrice, match=r"at least one tick \(0\.1\)"), unchanged():
        mark_price_set(symbol="BTCUSDT", price="0.01")


@pytest.mark.parametrize("memo", [None, "x" * 201, "line\nbreak", "nul\x00"])
def test_a_deposit_memo_must_be_short_printable_text(memo, trader, unchanged):
    with pytest.raises(InvalidInput, match="Memo must be printable text") as refusal, unchanged():
        wallet_deposit(user=trader, amount="10", memo=memo)

    assert refusal.value.code == "INVALID_INPUT"
    assert refusal.value.field == "memo"
