from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from tests.trading.services.conftest import wallet_balance
from trading.models import (
    FundingPayment,
    FundingSettlement,
    Instrument,
    MarkPrice,
    Position,
    PriceCandle,
)
from trading.services import funding_settle, leverage_set, order_place
from trading.services.funding import funding_time_of

pytestmark = pytest.mark.django_db


def next_funding_after_now():
    """The first funding time after every position a test opened just now."""
    return funding_time_of(timezone.now()) + settings.FUNDING_INTERVAL


def test_funding_times_are_every_eight_hours_from_midnight_utc():
    day = timezone.now().replace(year=2026, month=11, day=22, minute=0, second=0, microsecond=0)

    assert funding_time_of(day.replace(hour=7, minute=59)) == day.replace(hour=0)
    assert funding_time_of(day.replace(hour=8)) == day.replace(hour=8)
    assert funding_time_of(day.replace(hour=23, minute=30)) == day.replace(hour=16)


def test_a_long_pays_a_short_notional_times_the_rate_from_wallet_and_isolated_margin(
    make_trader, balanced_ledger
):
    # given a cross long of 1 BTC (fee 30) and another trader's isolated short of 1 BTC at 20x
    long_trader, short_trader = make_trader("long"), make_trader("short")
    order_place(user=long_trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    leverage_set(user=short_trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    order_place(
        user=short_trader, symbol="BTCUSDT", side="SELL", quantity="1", margin_mode="ISOLATED"
    )

    # when funding settles with no price history: rate = interest 0.01 %
    funding_settle(now=next_funding_after_now())

    # then 60000 x 0.0001 = 6 leaves the long's wallet and reaches the short's isolated margin
    settlement = FundingSettlement.objects.get(instrument__symbol="BTCUSDT")
    assert (settlement.rate, settlement.mark_price) == (Decimal("0.0001"), Decimal("60000"))
    assert wallet_balance(long_trader) == Decimal("9964")  # 10000 - 30 - 6
    short = Position.objects.get(user=short_trader)
    assert short.isolated_margin == Decimal("3006")
    assert sorted(FundingPayment.objects.values_list("amount", flat=True)) == [
        Decimal("-6"),
        Decimal("6"),
    ]


def test_on_the_live_feed_funding_uses_the_exchanges_rate(make_trader, balanced_ledger):
    # given a cross long of 1 BTC and a live mark of 60,000 whose exchange rate is 0.025 %
    trader = make_trader("long")
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    MarkPrice.objects.filter(instrument__symbol="BTCUSDT").update(
        source="live", funding_rate=Decimal("0.00025")
    )
    # (ETHUSDT keeps a stale exchange rate from an earlier live spell, but its mark is simulated)
    MarkPrice.objects.filter(instrument__symbol="ETHUSDT").update(funding_rate=Decimal("0.005"))

    funding_settle(now=next_funding_after_now())

    # then the long pays 60,000 x 0.00025 = 15, not the simulated 6; ETH settles at 0.01 %
    rates = dict(FundingSettlement.objects.values_list("instrument__symbol", "rate"))
    assert rates["BTCUSDT"] == Decimal("0.00025")
    assert rates["ETHUSDT"] == Decimal("0.0001")
    assert wallet_balance(trader) == Decimal("9955")  # 10000 - 30 - 15


def test_settling_the_same_funding_time_twice_pays_once(trader, balanced_ledger):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")
    when = next_funding_after_now()

    first = funding_settle(now=when)
    second = funding_settle(now=when + timedelta(minutes=5))

    assert len(first) == 3  # one settlement per instrument with a mark
    assert second == []
    assert FundingPayment.objects.count() == 1
    assert wallet_balance(trader) == Decimal("9964")


def test_positions_opened_after_the_funding_time_do_not_pay(trader, balanced_ledger):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")

    funding_settle(now=timezone.now())  # the funding time at or before now: before the order

    assert FundingPayment.objects.count() == 0
    assert wallet_balance(trader) == Decimal("9970")


@pytest.mark.parametrize(
    ("average_close", "rate"),
    [
        ("59000", Decimal("0.0075")),  # 0.0001 + 1000/59000 = 0.017..., clamped
        ("61000", Decimal("-0.0075")),  # 0.0001 - 1000/61000 = -0.0163..., clamped
        ("59990", Decimal("0.00026669")),  # 0.0001 + 10/59990 = 0.000266694..., 8 decimals
    ],
)
def test_the_rate_is_interest_plus_the_marks_premium_over_its_average_clamped(
    average_close, rate, trader
):
    when = next_funding_after_now()
    btc = Instrument.objects.get(symbol="BTCUSDT")
    for minutes in (30, 90):
        PriceCandle.objects.create(
            instrument=btc,
            opened_at=when - timedelta(minutes=minutes),
            open=Decimal(average_close),
            high=Decimal(average_close),
            low=Decimal(average_close),
            close=Decimal(average_close),
        )

    funding_settle(now=when)

    assert FundingSettlement.objects.get(instrument=btc).rate == rate


def test_a_payer_who_cannot_pay_in_full_pays_what_its_isolated_margin_holds(
    trader, balanced_ledger
):
    # given an isolated long of 0.8 BTC at 125x: margin 384; the rate will be clamped at 0.75 %
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=125)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.8", margin_mode="ISOLATED")
    first = next_funding_after_now()
    second = first + settings.FUNDING_INTERVAL
    btc = Instrument.objects.get(symbol="BTCUSDT")
    for when in (first, second):
        PriceCandle.objects.create(
            instrument=btc,
            opened_at=when - timedelta(minutes=30),
            open=Decimal(1000),
            high=Decimal(1000),
            low=Decimal(1000),
            close=Decimal(1000),
        )

    # when two settlements each ask 0.8 x 60000 x 0.0075 = 360 of a 384 margin
    funding_settle(now=first)
    funding_settle(now=second)

    # then the first pays 360, the second only the 24 left; the margin never goes below 0
    position = Position.objects.get(user=trader)
    assert position.isolated_margin == Decimal("0")
    assert sorted(FundingPayment.objects.values_list("amount", flat=True)) == [
        Decimal("-360"),
        Decimal("-24"),
    ]
