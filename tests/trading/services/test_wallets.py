"""Wallets: deposits, the reset to the starting balance, the ledger that records them, and
``manage.py check_ledger``, the proof that the books balance."""

import re
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.builders import last_ledger_pk, ledger_rows, wallet_balance
from trading.errors import InvalidAmount, WalletResetRefused
from trading.models import LedgerAccount, LedgerEntry, Order, Position, Wallet
from trading.selectors import system_account_balance
from trading.services import (
    mark_price_set,
    order_place,
    position_close,
    wallet_deposit,
    wallet_reset,
)
from trading.services.ledger import ledger_post

pytestmark = pytest.mark.django_db


# wallet_deposit


def test_deposit_credits_the_wallet_through_one_deposit_entry(trader, balanced_ledger):
    # given a trader with the starting 10,000 USDT
    before = last_ledger_pk()

    # when the operator grants 250.5 USDT
    entry = wallet_deposit(user=trader, amount="250.5")

    # then the wallet holds 10,250.5, moved DEPOSITS -> WALLET by the entry returned
    assert wallet_balance(trader) == Decimal("10250.5")
    assert ledger_rows(user=trader, after=before) == [
        ("DEPOSIT", Decimal("250.5"), "DEPOSITS", "WALLET")
    ]
    assert isinstance(entry, LedgerEntry)
    assert entry.pk == last_ledger_pk()
    assert (entry.kind, entry.amount, entry.user) == ("DEPOSIT", Decimal("250.5"), trader)
    assert entry.destination.user == trader
    assert entry.memo == "paper funds granted"


def test_deposit_accepts_a_decimal_an_int_and_eight_decimals(trader, balanced_ledger):
    # given a trader with 10,000 USDT
    # when three deposits arrive in the accepted forms
    wallet_deposit(user=trader, amount=Decimal("0.00000001"))
    wallet_deposit(user=trader, amount=7)
    wallet_deposit(user=trader, amount=" 12.34567890 ")

    # then each is one entry and the wallet holds their exact sum
    assert wallet_balance(trader) == Decimal("10019.34567891")
    assert ledger_rows(user=trader)[1:] == [
        ("DEPOSIT", Decimal("0.00000001"), "DEPOSITS", "WALLET"),
        ("DEPOSIT", Decimal("7"), "DEPOSITS", "WALLET"),
        ("DEPOSIT", Decimal("12.3456789"), "DEPOSITS", "WALLET"),
    ]


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (0, "A deposit must be greater than 0."),
        ("-5", "A deposit must be greater than 0."),
        (Decimal("NaN"), "Amount must be a finite number."),
        ("Infinity", "Amount must be a finite number."),
        (1.5, "Amount must be a decimal number or string, not 1.5."),
        (True, "Amount must be a decimal number or string, not True."),
        ("abc", "Amount must be a number, not 'abc'."),
        (None, "Amount must be a number."),
        ("1e20", "Amount is too large."),
        ("0.000000001", "Amount has more than 8 decimal places."),
    ],
    ids=["zero", "negative", "nan", "infinity", "float", "bool", "text", "none", "huge", "9dp"],
)
def test_deposit_of_a_bad_amount_is_refused_and_changes_nothing(trader, unchanged, amount, message):
    # given a trader with 10,000 USDT
    # when a deposit of a bad amount is asked for
    # then it is refused with InvalidAmount naming the field, and nothing changed
    with pytest.raises(InvalidAmount, match=f"^{re.escape(message)}$") as refusal, unchanged():
        wallet_deposit(user=trader, amount=amount)
    assert refusal.value.code == "INVALID_AMOUNT"
    assert refusal.value.field == "amount"
    assert wallet_balance(trader) == Decimal("10000")


# wallet_reset


def test_reset_after_a_deposit_returns_the_wallet_to_the_starting_balance(trader, balanced_ledger):
    # given a trader who was granted 500 USDT on top of the 10,000
    wallet_deposit(user=trader, amount="500")
    before = last_ledger_pk()

    # when the account is reset
    wallet = wallet_reset(user=trader)

    # then the whole balance went back to DEPOSITS and 10,000 came out again, both RESET entries
    assert wallet.balance == Decimal("10000")
    assert wallet_balance(trader) == Decimal("10000")
    assert ledger_rows(user=trader, after=before) == [
        ("RESET", Decimal("10500"), "WALLET", "DEPOSITS"),
        ("RESET", Decimal("10000"), "DEPOSITS", "WALLET"),
    ]
    # the paper money issued is exactly what the wallet holds
    assert system_account_balance(LedgerAccount.Kind.DEPOSITS) == Decimal("-10000")


def test_reset_after_a_closed_trade_clears_the_fees_and_pnl_from_the_wallet(
    trader, balanced_ledger
):
    # given a trader who opened and closed 0.1 BTC at 60,000 (taker fee 3 USDT each way)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    position_close(user=trader, symbol="BTCUSDT", margin_mode="CROSS")
    assert wallet_balance(trader) == Decimal("9994")
    before = last_ledger_pk()

    # when the account is reset
    wallet_reset(user=trader)

    # then the 9,994 left went back and 10,000 came out
    assert wallet_balance(trader) == Decimal("10000")
    assert ledger_rows(user=trader, after=before) == [
        ("RESET", Decimal("9994"), "WALLET", "DEPOSITS"),
        ("RESET", Decimal("10000"), "DEPOSITS", "WALLET"),
    ]


def test_reset_is_refused_while_a_position_is_open(trader, unchanged):
    # given a trader with an open 0.1 BTC cross long (wallet 9,997 after the 3 USDT fee)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    assert Position.objects.get(user=trader).status == "OPEN"
    assert wallet_balance(trader) == Decimal("9997")

    # when the account is reset, then it is refused and nothing changed
    with (
        pytest.raises(
            WalletResetRefused, match=r"^Close your open positions before resetting the account\.$"
        ),
        unchanged(),
    ):
        wallet_reset(user=trader)
    assert wallet_balance(trader) == Decimal("9997")


def test_reset_is_refused_while_an_order_is_open(trader, unchanged):
    # given a trader with a LIMIT buy of 0.1 BTC at 59,000 resting below the 60,000 mark
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT", price="59000"
    )
    assert order.status == Order.Status.NEW
    # it holds its initial margin 5,900 / 20 = 295 and its maker fee 5,900 x 0.0002 = 1.18
    assert order.margin_held == Decimal("296.18")

    # when the account is reset, then it is refused and nothing changed
    with (
        pytest.raises(
            WalletResetRefused, match=r"^Cancel your open orders before resetting the account\.$"
        ),
        unchanged(),
    ):
        wallet_reset(user=trader)
    assert wallet_balance(trader) == Decimal("10000")


# check_ledger


def test_check_ledger_reports_a_balanced_ledger_after_real_activity(make_trader):
    # given two traders who deposited, traded in both modes with a profit, and left an order
    alice, bob = make_trader("alice"), make_trader("bob")
    wallet_deposit(user=alice, amount="1000")
    order_place(user=alice, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    order_place(user=alice, symbol="ETHUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    mark_price_set(symbol="BTCUSDT", price="61000")
    position_close(user=alice, symbol="BTCUSDT", margin_mode="ISOLATED")
    order_place(user=bob, symbol="BTCUSDT", side="SELL", quantity="0.05", margin_mode="ISOLATED")
    order_place(
        user=bob, symbol="ETHUSDT", side="BUY", quantity="1", order_type="LIMIT", price="2900"
    )
    # alice: 11,000 - 300 margin - 3 fee - 1.5 fee + 100 profit + 300 margin back - 3.05 fee
    assert wallet_balance(alice) == Decimal("11092.45")
    # bob: 0.05 BTC short at 61,000 isolated at 20x: 152.5 margin, 1.525 fee
    assert wallet_balance(bob) == Decimal("9845.975")

    # when check_ledger runs
    out, err = StringIO(), StringIO()
    call_command("check_ledger", stdout=out, stderr=err)

    # then it says the ledger balances, and nothing else
    assert out.getvalue() == "The ledger balances.\n"
    assert err.getvalue() == ""


def test_check_ledger_fails_naming_a_wallet_whose_balance_was_tampered_with(trader):
    # given a wallet whose balance was changed behind the ledger's back
    wallet_deposit(user=trader, amount="100")
    Wallet.objects.filter(user=trader).update(balance=Decimal("12345"))

    # when check_ledger runs, then it exits non-zero and names the wallet and both figures
    err = StringIO()
    with pytest.raises(CommandError, match=r"^The ledger does not balance: 1 problem\(s\)\.$"):
        call_command("check_ledger", stdout=StringIO(), stderr=err)
    # (the figures print as each database returns them: 12345 or 12345.00000000)
    problem = re.fullmatch(
        r"wallet of user (\d+) shows (\S+) USDT but its ledger entries add up to (\S+) USDT\n",
        err.getvalue(),
    )
    assert problem is not None, err.getvalue()
    assert int(problem[1]) == trader.pk
    assert (Decimal(problem[2]), Decimal(problem[3])) == (Decimal("12345"), Decimal("10100"))


# ledger_post


@pytest.mark.django_db(transaction=True)
def test_ledger_post_refuses_to_run_outside_a_transaction():
    # given no transaction open (a transactional test: autocommit, as in a shell)
    # when money is posted, then it is refused before anything is written
    with pytest.raises(
        RuntimeError,
        match=r"^ledger_post must run inside the transaction of the change it records$",
    ):
        ledger_post(
            kind=LedgerEntry.Kind.DEPOSIT,
            amount=Decimal("1"),
            source=LedgerAccount.Kind.DEPOSITS,
            destination=LedgerAccount.Kind.FEES,
        )
    assert LedgerEntry.objects.count() == 0
    assert LedgerAccount.objects.count() == 0
