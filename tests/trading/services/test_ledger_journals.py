"""Each event's ledger entries are one journal: a fill (both parts of a reversal), a liquidation
(every position it closes and the wallet it takes), a funding payment, a single movement. And
check_ledger finds a fill's journal that does not move what its fills record."""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone

from trading.models import Fill, Journal, LedgerEntry
from trading.selectors import ledger_problems
from trading.services import (
    leverage_set,
    mark_price_set,
    order_place,
    sweep_run,
    wallet_deposit,
)
from trading.services.funding import funding_settle

D = Decimal


def journal_of(entries) -> Journal:
    (journal,) = {entry.journal for entry in entries}
    return journal


def test_an_isolated_opening_s_margin_and_fee_are_the_fill_s_journal(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)

    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED"
    )

    entries = list(LedgerEntry.objects.filter(order=order))
    assert [(e.kind, e.amount) for e in entries] == [("ISOLATED_MARGIN", 3000), ("FEE", 30)]
    journal = journal_of(entries)
    assert journal.kind == "FILL"
    assert list(Fill.objects.filter(order=order).values_list("journal", flat=True)) == [journal.pk]


def test_a_reversal_s_close_and_open_are_one_journal(trader):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")

    reversal = order_place(user=trader, symbol="BTCUSDT", side="SELL", quantity="0.3")

    fills = list(Fill.objects.filter(order=reversal).order_by("pk"))
    assert [fill.quantity for fill in fills] == [D("0.1"), D("0.2")]
    journal = journal_of(LedgerEntry.objects.filter(order=reversal))
    assert {fill.journal_id for fill in fills} == {journal.pk}
    # 0.3 x 60000 x 0.0005, in two parts
    assert [e.amount for e in journal.entries.order_by("pk")] == [D(3), D(6)]


def test_a_cross_liquidation_s_closes_and_the_wallet_it_takes_are_one_journal(trader):
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=20)
    leverage_set(user=trader, symbol="ETHUSDT", margin_mode="CROSS", leverage=20)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="2")
    order_place(user=trader, symbol="ETHUSDT", side="BUY", quantity="10")
    since = LedgerEntry.objects.latest("pk").pk

    # wallet 10000 - fees 60 - 15 = 9925; at 55,200 the BTC long has lost 9600: a margin
    # balance of 325, below the maintenance margin 110,400 x 0.005 - 50 + 30,000 x 0.004 = 622
    mark_price_set(symbol="BTCUSDT", price="55200")
    sweep_run()

    # the BTC long is first cut to 50,000 / 55,200 = 0.9057... -> 0.905 (loss 1.095 x 4,800 =
    # 5,256, fee 1.095 x 55,200 x 0.0125 = 755.55; wallet 3,913.45); still out of margin
    # (3,913.45 - 0.905 x 4,800 = -430.55), ETH (uPnL 0) is closed with its fee 10 x 3,000 x
    # 0.0125 = 375, then the rest of BTC, its loss 4,344 taking the wallet's 3,538.45 and the
    # fund the 805.55 beyond it: every entry in one journal
    entries = list(LedgerEntry.objects.filter(pk__gt=since).order_by("pk"))
    journal = journal_of(entries)
    assert journal.kind == "LIQUIDATION"
    assert [(entry.kind, entry.amount) for entry in entries] == [
        ("LIQUIDATION", D("5256")),
        ("LIQUIDATION_FEE", D("755.55")),
        ("LIQUIDATION_FEE", D("375")),
        ("LIQUIDATION", D("3538.45")),
        ("INSURANCE", D("805.55")),
    ]
    closing_fills = Fill.objects.filter(order__reduce_only=True, order__user=trader)
    assert {fill.journal_id for fill in closing_fills} == {journal.pk}
    assert closing_fills.count() == 3  # BTC's partial step, ETH, the rest of BTC
    assert ledger_problems() == []


def test_a_deposit_and_a_funding_payment_are_journals_of_their_own(trader):
    deposit = wallet_deposit(user=trader, amount="5")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1")

    funding_settle(now=timezone.now() + settings.FUNDING_INTERVAL)

    assert deposit.journal.kind == "TRANSFER"
    assert deposit.journal.entries.count() == 1
    (payment,) = LedgerEntry.objects.filter(kind="FUNDING", user=trader)
    assert (payment.journal.kind, payment.journal.entries.count()) == ("FUNDING", 1)
    assert payment.journal.created_at == payment.created_at  # the funding time


def test_check_ledger_finds_a_fill_whose_journal_moves_other_money(trader):
    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1")
    fill = Fill.objects.get(order=order)
    Fill.objects.filter(pk=fill.pk).update(fee=D("29"))  # a bug, as check_ledger sees it

    assert ledger_problems() == [
        f"journal {fill.journal_id} moves -30.00000000 USDT of its user's money but its fills "
        "record -29.00000000 USDT (realized PnL less fees)"
    ]
