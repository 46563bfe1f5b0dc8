"""Exchange-grade liquidation on the Binance profile: partial steps that stop once the position
is back in margin, the liquidation fee, an insurance fund that never goes below 0, and
auto-deleveraging of the most profitable and most leveraged opposite positions behind it.

Seeded BTCUSDT brackets (Binance, October 2024): tier 7 from 100,000,000 (MMR 0.05, cum
2,981,450), tier 8 from 230,000,000 (MMR 0.1, cum 14,481,450), 5x at most; tier 1 below 50,000
(MMR 0.004). Liquidation fee 0.0125 of the liquidated amount at the mark. The tests' insurance
fund starts empty.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.builders import (
    last_ledger_pk,
    ledger_rows,
    market_order,
    open_position,
    position_of,
    wallet_balance,
)
from trading.models import (
    Deleveraging,
    Fill,
    Instrument,
    LedgerAccount,
    LiquidationEvent,
    MarkPrice,
    Notification,
    Position,
)
from trading.selectors.deleveraging import position_adl_quantiles
from trading.services import (
    mark_price_set,
    price_drill_start,
    prices_tick,
    sweep_run,
    wallet_deposit,
)
from trading.services.wallets import insurance_fund_grant

pytestmark = pytest.mark.django_db

D = Decimal


def fund_balance() -> Decimal:
    return LedgerAccount.objects.get(kind="INSURANCE_FUND").balance


@pytest.fixture
def deep_book():
    """A BTCUSDT book that fills any size at the mark: the entry prices stay round."""
    Instrument.objects.filter(symbol="BTCUSDT").update(
        book_half_spread_ticks=0, book_level_quantity="1000000"
    )


def test_a_partial_liquidation_steps_one_bracket_down_and_stops_once_back_in_margin(
    make_trader, deep_book, balanced_ledger
):
    # given a whale's isolated long of 5,000 BTC at 60,000, 5x: notional 300,000,000 (tier 8),
    # margin 60,000,000, fee 150,000
    whale = make_trader("whale")
    wallet_deposit(user=whale, amount="70000000")
    position = open_position(whale, "BUY", "5000", leverage=5)
    assert position.isolated_margin == D("60000000")
    # its liquidation price: (60,000,000 + 14,481,450 - 300,000,000) / (500 - 5,000)
    #   = 50,115.23333... (notional 250,576,166.67 at it: tier 8)
    # when the mark falls to 50,100:
    #   margin balance = 60,000,000 - 5,000 x 9,900 = 10,500,000
    #   maintenance    = 250,500,000 x 0.1 - 14,481,450 = 10,568,550: liquidated
    mark_price_set(symbol="BTCUSDT", price="50100")
    wallet_before, since = wallet_balance(whale), last_ledger_pk()

    report = sweep_run()

    # then the first step cuts it to tier 7's cap: 230,000,000 / 50,100 = 4,590.818 (on the
    # step), closing 409.182 at the mark: loss 409.182 x 9,900 = 4,050,901.8, fee 409.182 x
    # 50,100 x 0.0125 = 256,250.2275, both from the margin: 55,692,847.9725 left. Then:
    #   margin balance = 55,692,847.9725 - 4,590.818 x 9,900 = 10,243,749.7725
    #   maintenance    = 229,999,981.8 x 0.05 - 2,981,450 = 8,518,549.09 (tier 7)
    # back in margin: the liquidation stops, the rest stays open
    assert report.isolated_liquidations == 1
    position.refresh_from_db()
    assert (position.status, position.quantity, position.isolated_margin) == (
        "OPEN", D("4590.818"), D("55692847.9725")
    )  # fmt: skip
    assert ledger_rows("memo", after=since) == [
        ("LIQUIDATION", D("4050901.8"), "ISOLATED_MARGIN", "HOUSE",
         "closed by the liquidation at the mark"),
        ("LIQUIDATION_FEE", D("256250.2275"), "ISOLATED_MARGIN", "INSURANCE_FUND",
         "liquidation fee"),
    ]  # fmt: skip
    assert wallet_balance(whale) == wallet_before
    assert fund_balance() == D("256250.2275")
    [fill] = Fill.objects.filter(position=position, order__reduce_only=True)
    assert (fill.price, fill.quantity, fill.fee, fill.realized_pnl) == (
        D("50100"), D("409.182"), D("256250.2275"), D("-4050901.8")
    )  # fmt: skip
    event = LiquidationEvent.objects.get(user=whale)
    assert (event.survived, event.loss, event.liquidation_fee, event.insurance_fund_change) == (
        True, D("4307152.0275"), D("256250.2275"), D("256250.2275")
    )  # fmt: skip
    assert [(D(s["quantity"]), s["final"]) for s in event.steps] == [(D("409.182"), False)]
    # in Cross the wallet, 9,860,000 + 60,000,000, would have carried the 49,500,000 loss:
    # LP = (69,860,000 + 14,481,450 - 300,000,000) / (500 - 5,000) = 47,924.12...
    assert Notification.objects.get(user=whale).message == (
        "Your BTCUSDT Isolated long was partly liquidated at mark 50,100: 409.182 closed, "
        "4,307,152.0275 USDT lost with the fee; the rest is still open. In Cross, this move "
        "would have taken 49,500,000.00 USDT from your wallet and left you open (liq. price "
        "47,924.2)."
    )
    # and a second sweep at the same mark changes nothing
    since = last_ledger_pk()
    assert sweep_run().isolated_liquidations == 0
    assert ledger_rows(after=since) == []


def test_a_bankrupt_position_beyond_an_empty_fund_is_deleveraged_against_two_winners(
    make_trader, balanced_ledger
):
    # given a loser's isolated long of 0.5 BTC at 60,000, 20x: margin 1,500 (bankruptcy 57,000)
    loser, cross_winner, isolated_winner = (make_trader(n) for n in ("loser", "bob", "carol"))
    open_position(loser, "BUY", "0.5", leverage=20)
    # and two shorts at 60,000: bob's cross 0.3 (fee 9), carol's isolated 0.4 at 20x (margin
    # 1,200, fee 12)
    market_order(cross_winner, "SELL", "0.3")
    open_position(isolated_winner, "SELL", "0.4", leverage=20)
    bob_short, carol_short = position_of(cross_winner), position_of(isolated_winner, "ISOLATED")
    # when the mark gaps down to 56,000, past the loser's bankruptcy price, with an empty fund
    mark_price_set(symbol="BTCUSDT", price="56000")
    # the queue of shorts (both in profit, PnL% = 4,000 / 56,000 each) ranks carol first:
    #   carol: effective leverage 22,400 / (1,200 + 1,600) = 8
    #   bob:   effective leverage 16,800 / (9,991 + 1,200) = 1.501...
    assert position_adl_quantiles([bob_short, carol_short]) == {
        carol_short.pk: 4,
        bob_short.pk: 2,
    }

    sweep_run()

    # then the loser's margin pays 1,500 of the 2,000 loss; the fund, empty, pays nothing; the
    # 500 left is recovered by closing 0.5 BTC of shorts at the bankruptcy price 57,000
    # instead of 56,000: carol's 0.4 first, then 0.1 of bob's
    assert fund_balance() == D("0")
    event = LiquidationEvent.objects.get(user=loser)
    assert event.deleveraged == [
        {"symbol": "BTCUSDT", "quantity": "0.40000000", "price": "57000.00000000"},
        {"symbol": "BTCUSDT", "quantity": "0.10000000", "price": "57000.00000000"},
    ]
    carol_short.refresh_from_db()
    bob_short.refresh_from_db()
    assert (carol_short.status, carol_short.realized_pnl) == ("CLOSED", D("1200"))
    assert (bob_short.status, bob_short.quantity, bob_short.realized_pnl) == (
        "OPEN", D("0.2"), D("300")
    )  # fmt: skip
    # carol: 10,000 - 1,200 - 12 + her margin 1,200 + 0.4 x 3,000; bob: 10,000 - 9 + 0.1 x 3,000
    assert wallet_balance(isolated_winner) == D("11188")
    assert wallet_balance(cross_winner) == D("10291")
    # each gets a receipt and a notice; the ADL fills have no fee
    receipts = {
        r.user.username: (r.quantity, r.price, r.mark_price, r.realized_pnl)
        for r in Deleveraging.objects.all()
    }
    assert receipts == {
        "carol": (D("0.4"), D("57000"), D("56000"), D("1200")),
        "bob": (D("0.1"), D("57000"), D("56000"), D("300")),
    }
    assert {f.fee for f in Fill.objects.filter(journal__kind="DELEVERAGE")} == {D("0")}
    assert Notification.objects.get(user=isolated_winner, kind="DELEVERAGE").message == (
        "Auto-deleveraging closed 0.4 of your BTCUSDT Isolated short at 57000 (mark 56000): a "
        "trader on the other side went bankrupt beyond the insurance fund. Realized PnL 1,200 "
        "USDT, no fee."
    )


def test_a_gap_past_many_bankruptcy_prices_leaves_the_fund_and_every_wallet_at_0_or_more(
    make_trader, django_user_model, deep_book, balanced_ledger
):
    """Twelve longs at 60,000 (isolated and cross, 10x to 100x), four shorts at 5x, a fund of
    50 USDT; a drill gaps BTCUSDT 30 % down in one tick, past every long's bankruptcy price."""
    # given the longs and the shorts
    insurance_fund_grant(amount="50")
    longs = []
    # (a cross long is backed by the whole wallet, 10,000: each loses more than that at 42,000)
    isolated = ((10, "1"), (20, "0.8"), (50, "0.5"), (100, "0.3"), (25, "1.2"), (75, "0.4"))
    cross = ((10, "1"), (20, "0.8"), (50, "1.5"), (100, "1.6"), (25, "1.2"), (75, "0.9"))
    for n, (mode, (leverage, quantity)) in enumerate(
        [("ISOLATED", size) for size in isolated] + [("CROSS", size) for size in cross]
    ):
        user = make_trader(f"long{n}")
        open_position(user, "BUY", quantity, margin_mode=mode, leverage=leverage)
        longs.append(user)
    shorts = [make_trader(f"short{n}") for n in range(4)]
    for n, user in enumerate(shorts):
        open_position(user, "SELL", "0.5", margin_mode=("CROSS", "ISOLATED")[n % 2], leverage=5)
    operator = django_user_model.objects.create_superuser(username="op", password="pw-0123456789")
    start = timezone.now()
    price_drill_start(
        operator=operator, symbol="BTCUSDT", move_percent="-30", seconds=1, reason="gap", now=start
    )

    # when the drill's tick gaps the mark to 42,000 and the sweep runs
    prices_tick(now=start + timedelta(seconds=1))
    assert MarkPrice.objects.get(instrument__symbol="BTCUSDT").price == D("42000")
    sweep_run()

    # then every long is liquidated, the fund is at its floor or above, no wallet and no
    # isolated margin is below 0, and auto-deleveraging closed shorts for what the fund lacked
    assert not Position.objects.filter(user__in=longs, status="OPEN").exists()
    assert fund_balance() == 0  # every long was bankrupt: the fund's 50 went to the first
    assert all(wallet_balance(user) >= 0 for user in longs + shorts)
    assert not Position.objects.filter(isolated_margin__lt=0).exists()
    # (the longs' uncovered losses need more than the 2 BTC of shorts: all are closed by it,
    # and the house keeps the rest)
    assert sum(Deleveraging.objects.values_list("quantity", flat=True)) == D("2")
    assert not Position.objects.filter(user__in=shorts, status="OPEN").exists()
    assert not Deleveraging.objects.filter(user__in=longs).exists()
    # and each short closed by it was paid at a bankruptcy price above the mark, without a fee
    assert all(r.price > r.mark_price == D("42000") for r in Deleveraging.objects.all())
    assert {f.fee for f in Fill.objects.filter(journal__kind="DELEVERAGE")} == {D("0")}


@pytest.mark.redis
def test_no_positions_have_no_quantiles_and_ask_the_cache_nothing(redis_sends):
    sends = redis_sends()

    assert position_adl_quantiles([]) == {}
    assert sends == []  # it sent an MGET of no keys: a round trip for nothing
