import pickle
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from accounts.services import api_key_create
from tests.builders import race, wallet_balance
from tests.clients import BinanceClient, SignedClient
from trading.binance.mapping import ms
from trading.domain.venues import BINANCE, HYPERLIQUID
from trading.models import (
    Fill,
    FundingPayment,
    FundingSettlement,
    Instrument,
    LedgerEntry,
    MarkPrice,
    Position,
    PriceCandle,
)
from trading.schedules import FundingSchedule, funding_time_after
from trading.services import (
    funding_settle,
    leverage_set,
    mark_price_set,
    order_place,
    sweep_run,
)
from trading.services.funding import funding_time_of

SECOND, HOUR = timedelta(seconds=1), timedelta(hours=1)
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


# --- charged as exchanges charge it: the holders at the funding time, on their size then ------


def past_funding_time():
    """A funding time an interval ago: its settlement reads the marks from the candles, since
    the seed marks are newer."""
    return funding_time_of(timezone.now()) - settings.FUNDING_INTERVAL


def mark_was(symbol, price, *, at):
    """The mark ``price`` ticked in the minute before ``at``: the history a settlement of ``at``
    reads (the only candle of its interval, so the premium is 0 and the rate 0.01 %)."""
    PriceCandle.objects.create(
        instrument=Instrument.objects.get(symbol=symbol),
        opened_at=at - timedelta(minutes=1),
        open=Decimal(price),
        high=Decimal(price),
        low=Decimal(price),
        close=Decimal(price),
    )


def trade(user, side, quantity, *, at, margin_mode="CROSS"):
    """A real BTCUSDT order (order_place) whose fills are dated ``at``: the services stamp the
    current time, and a test moves its trades to the moments around a funding time it needs."""
    order = order_place(
        user=user, symbol="BTCUSDT", side=side, quantity=quantity, margin_mode=margin_mode
    )
    Fill.objects.filter(order=order).update(created_at=at)
    touched = Position.objects.filter(fills__order=order)
    touched.filter(opened_at__gt=at).update(opened_at=at)
    touched.exclude(status="OPEN").update(closed_at=at)
    return order


def funding_rows(user):
    """The user's funding ledger entries: amount, from, to, time, memo."""
    return list(
        LedgerEntry.objects.filter(user=user, kind="FUNDING")
        .order_by("pk")
        .values_list("amount", "source__kind", "destination__kind", "created_at", "memo")
    )


ONE_BTC_AT_60000 = "1 held x mark 60000 x rate 0.0001"


def test_a_position_closed_a_second_after_the_funding_time_still_pays(make_trader, balanced_ledger):
    # given a cross long and an isolated short of 1 BTC held across T, both closed at T + 1 s
    when = past_funding_time()
    mark_was("BTCUSDT", "60000", at=when)
    long_trader, short_trader = make_trader("long"), make_trader("short")
    leverage_set(user=short_trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    trade(long_trader, "BUY", "1", at=when - HOUR)
    trade(short_trader, "SELL", "1", at=when - HOUR, margin_mode="ISOLATED")
    trade(long_trader, "SELL", "1", at=when + SECOND)
    trade(short_trader, "BUY", "1", at=when + SECOND, margin_mode="ISOLATED")
    long_before, short_before = wallet_balance(long_trader), wallet_balance(short_trader)

    # when T settles, after both closed
    funding_settle(now=when + 2 * SECOND)

    # then each pays or receives 1 x 60000 x 0.0001 = 6 with its wallet (the isolated margin
    # went back to the wallet when it closed), at T
    assert wallet_balance(long_trader) == long_before - Decimal("6")
    assert wallet_balance(short_trader) == short_before + Decimal("6")
    assert funding_rows(long_trader) == [(Decimal("6"), "WALLET", "HOUSE", when, ONE_BTC_AT_60000)]
    assert funding_rows(short_trader) == [(Decimal("6"), "HOUSE", "WALLET", when, ONE_BTC_AT_60000)]
    assert sorted(FundingPayment.objects.values_list("position__status", "amount")) == [
        ("CLOSED", Decimal("-6")),
        ("CLOSED", Decimal("6")),
    ]


def test_an_isolated_position_liquidated_after_the_funding_time_never_takes_from_the_wallet(
    trader, balanced_ledger
):
    # given an isolated long of 1 BTC at 20x held across T, liquidated since (its margin lost)
    when = past_funding_time()
    mark_was("BTCUSDT", "60000", at=when)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    trade(trader, "BUY", "1", at=when - HOUR, margin_mode="ISOLATED")
    mark_price_set(symbol="BTCUSDT", price=Decimal("57200"))
    sweep_run()
    position = Position.objects.get(user=trader)
    assert (position.status, position.isolated_margin) == ("LIQUIDATED", Decimal("0"))
    wallet = wallet_balance(trader)

    funding_settle(now=when + HOUR)

    # then it pays nothing: its margin is gone, and an isolated loss never reaches the wallet
    assert wallet_balance(trader) == wallet
    assert funding_rows(trader) == []
    assert list(FundingPayment.objects.values_list("position", "amount")) == [
        (position.pk, Decimal("0"))
    ]


def test_a_position_doubled_a_second_after_the_funding_time_pays_on_its_old_size(
    trader, balanced_ledger
):
    # given an isolated long of 1 BTC held across T, and 1 more bought at T + 1 s
    when = past_funding_time()
    mark_was("BTCUSDT", "60000", at=when)
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
    trade(trader, "BUY", "1", at=when - HOUR, margin_mode="ISOLATED")
    trade(trader, "BUY", "1", at=when + SECOND, margin_mode="ISOLATED")
    position = Position.objects.get(user=trader)
    margin, wallet = position.isolated_margin, wallet_balance(trader)

    funding_settle(now=when + 2 * SECOND)

    # then it pays on 1 BTC, 6 (not 12), from its own margin: it is still open
    position.refresh_from_db()
    assert position.quantity == Decimal("2")
    assert position.isolated_margin == margin - Decimal("6")
    assert wallet_balance(trader) == wallet
    assert funding_rows(trader) == [
        (Decimal("6"), "ISOLATED_MARGIN", "HOUSE", when, ONE_BTC_AT_60000)
    ]
    assert list(FundingPayment.objects.values_list("position", "amount")) == [
        (position.pk, Decimal("-6"))
    ]


def test_a_position_opened_a_second_after_the_funding_time_pays_nothing(trader, balanced_ledger):
    when = past_funding_time()
    mark_was("BTCUSDT", "60000", at=when)
    trade(trader, "BUY", "1", at=when + SECOND)
    wallet = wallet_balance(trader)

    settled = funding_settle(now=when + 2 * SECOND)

    # T settles (its rate and mark are history) but nobody held BTC then
    assert [(s.instrument.symbol, s.funding_time, s.mark_price) for s in settled] == [
        ("BTCUSDT", when, Decimal("60000"))
    ]
    assert FundingPayment.objects.count() == 0
    assert funding_rows(trader) == []
    assert wallet_balance(trader) == wallet


def test_three_missed_funding_times_settle_three_times_on_restart(trader, balanced_ledger):
    # given a cross long of 1 BTC settled at T0; then three intervals with no worker, during
    # which the mark was 61000, 62000 and 63000 at T1, T2, T3 and the long doubled after T1
    interval = settings.FUNDING_INTERVAL
    times = [funding_time_of(timezone.now()) - (3 - n) * interval for n in range(4)]
    for when, price in zip(times, ["60000", "61000", "62000", "63000"], strict=True):
        mark_was("BTCUSDT", price, at=when)
    trade(trader, "BUY", "1", at=times[0] - HOUR)
    assert len(funding_settle(now=times[0] + SECOND)) == 1
    trade(trader, "BUY", "1", at=times[1] + HOUR)
    wallet = wallet_balance(trader)

    # when the worker is back an hour after T3
    restart = funding_settle(now=times[3] + HOUR)

    # then T1, T2 and T3 settle once each, as they would have then: 1 x 61000, 2 x 62000 and
    # 2 x 63000, times 0.01 %; each ledger entry at its own funding time
    assert [(s.funding_time, s.mark_price, s.rate) for s in restart] == [
        (times[1], Decimal("61000"), Decimal("0.0001")),
        (times[2], Decimal("62000"), Decimal("0.0001")),
        (times[3], Decimal("63000"), Decimal("0.0001")),
    ]
    assert [(amount, at, memo) for amount, _, _, at, memo in funding_rows(trader)] == [
        (Decimal("6"), times[0], ONE_BTC_AT_60000),
        (Decimal("6.1"), times[1], "1 held x mark 61000 x rate 0.0001"),
        (Decimal("12.4"), times[2], "2 held x mark 62000 x rate 0.0001"),
        (Decimal("12.6"), times[3], "2 held x mark 63000 x rate 0.0001"),
    ]
    assert wallet_balance(trader) == wallet - Decimal("31.1")

    # and a fourth run settles nothing
    assert funding_settle(now=times[3] + 2 * HOUR) == []
    assert FundingPayment.objects.count() == 4
    assert wallet_balance(trader) == wallet - Decimal("31.1")


def test_on_the_live_feed_a_missed_earlier_time_gets_the_simulated_rate_of_its_candles(
    trader, balanced_ledger
):
    # given a long held since before T1, and a live mark whose exchange rate is 0.025 % now
    interval = settings.FUNDING_INTERVAL
    latest = funding_time_of(timezone.now())
    earlier = latest - interval
    for when in (earlier, latest):
        mark_was("BTCUSDT", "60000", at=when)
    trade(trader, "BUY", "1", at=earlier - HOUR)
    MarkPrice.objects.filter(instrument__symbol="BTCUSDT").update(
        source="live", funding_rate=Decimal("0.00025")
    )
    FundingSettlement.objects.create(
        instrument=Instrument.objects.get(symbol="BTCUSDT"),
        funding_time=earlier - interval,
        rate=Decimal("0.0001"),
        mark_price=Decimal("60000"),
    )

    settled = funding_settle(now=latest + HOUR)

    # then the feed's rate is the latest time's only: the feed keeps no past rates
    assert [(s.funding_time, s.rate) for s in settled] == [
        (earlier, Decimal("0.0001")),
        (latest, Decimal("0.00025")),
    ]
    assert [row[0] for row in funding_rows(trader)] == [Decimal("6"), Decimal("15")]


def test_the_mark_of_a_funding_time_is_the_last_one_ticked_before_it(trader, balanced_ledger):
    # given a long held across T; the mark ticked 59940 then 60000 in the two minutes before T,
    # 70000 in the minute of T, and the operator set 65000 since
    when = past_funding_time()
    trade(trader, "BUY", "1", at=when - HOUR)
    btc = Instrument.objects.get(symbol="BTCUSDT")
    for minutes, close in ((-2, "59940"), (-1, "60000"), (0, "70000")):
        price = Decimal(close)
        PriceCandle.objects.create(
            instrument=btc,
            opened_at=when + timedelta(minutes=minutes),
            open=price,
            high=price,
            low=price,
            close=price,
        )
    mark_price_set(symbol="BTCUSDT", price=Decimal("65000"))
    wallet = wallet_balance(trader)

    # when T settles an hour late
    funding_settle(now=when + HOUR)

    # then the mark is 60000, and the rate 0.0001 + (60000 - 59970) / 59970 = 0.00060025
    settlement = FundingSettlement.objects.get(instrument=btc)
    assert (settlement.mark_price, settlement.rate) == (Decimal("60000"), Decimal("0.00060025"))
    assert wallet_balance(trader) == wallet - Decimal("36.015")  # 60000 x 0.00060025


def test_a_funding_time_no_price_history_covers_is_not_settled(trader, balanced_ledger):
    # given a long held across T, but the mark changed since T and no candle says what it was
    when = past_funding_time()
    trade(trader, "BUY", "1", at=when - HOUR)
    wallet = wallet_balance(trader)

    assert funding_settle(now=when + HOUR) == []

    assert FundingSettlement.objects.count() == 0
    assert FundingPayment.objects.count() == 0
    assert wallet_balance(trader) == wallet


def test_the_income_time_is_the_funding_time_in_the_facade_and_the_api(trader, balanced_ledger):
    # given a long held across T and closed at T + 1 s; T settles an hour late
    when = past_funding_time()
    mark_was("BTCUSDT", "60000", at=when)
    trade(trader, "BUY", "1", at=when - HOUR)
    trade(trader, "SELL", "1", at=when + SECOND)
    funding_settle(now=when + HOUR)
    key = api_key_create(user=trader, name="bot", permission="TRADING")
    binance = BinanceClient(key.api_key.key, key.secret)
    api = SignedClient(key.api_key.key, key.secret)

    # the facade lists the funding fee at T, found from T on and not after it
    funding = {"incomeType": "FUNDING_FEE", "symbol": "BTCUSDT"}
    income = binance.get("/fapi/v1/income", {**funding, "startTime": ms(when)}).json()
    assert [(row["incomeType"], row["income"], row["time"]) for row in income] == [
        ("FUNDING_FEE", "-6.00000000", ms(when))
    ]
    assert binance.get("/fapi/v1/income", {**funding, "startTime": ms(when) + 1}).json() == []
    assert binance.get("/fapi/v1/income", {**funding, "endTime": ms(when) - 1}).json() == []
    # in time order: posted last, it is still the oldest line (the trades came after T)
    every = binance.get("/fapi/v1/income").json()
    assert every[0]["incomeType"] == "FUNDING_FEE"
    assert [row["time"] for row in every] == sorted(row["time"] for row in every)

    # the native API's funding payments and ledger show T too
    iso = when.isoformat().replace("+00:00", "Z")
    payments = api.get("/api/v1/funding-payments").json()["results"]
    assert [(p["funding_time"], p["amount"]) for p in payments] == [(iso, "-6.00000000")]
    ledger = api.get("/api/v1/ledger").json()["results"]
    assert [
        (line["created_at"], line["amount"]) for line in ledger if line["kind"] == "FUNDING"
    ] == [(iso, "-6.00000000")]


def test_beat_sends_the_settlement_exactly_at_each_funding_time():
    # the finest grid: Hyperliquid's hourly funding times, every eighth of the interval
    interval = settings.FUNDING_INTERVAL / 8
    when = funding_time_of(timezone.now(), interval)
    ran_last_time = when - interval + SECOND

    def schedule_at(moment):
        return FundingSchedule(nowfun=lambda: moment)

    # not due a millisecond before T, and asks beat to wake at T; due at T, then the next one
    assert schedule_at(when - timedelta(milliseconds=1)).is_due(ran_last_time) == (False, 0.001)
    assert schedule_at(when).is_due(ran_last_time) == (True, interval.total_seconds())
    assert schedule_at(when + SECOND).is_due(when) == (False, interval.total_seconds() - 1)
    # a beat that was down for intervals sends one run on its return (the task catches up)
    assert schedule_at(when + SECOND).is_due(when - 3 * interval).is_due
    # it is the beat entry, and survives beat's schedule file
    assert settings.CELERY_BEAT_SCHEDULE["funding"] == {
        "task": "trading.funding_settle",
        "schedule": FundingSchedule(),
    }
    assert pickle.loads(pickle.dumps(FundingSchedule())) == FundingSchedule()


def test_funding_times_restart_at_midnight_when_the_interval_does_not_divide_a_day(settings):
    settings.FUNDING_INTERVAL = timedelta(hours=7)
    day = timezone.now().replace(year=2026, month=11, day=22, minute=0, second=0, microsecond=0)

    assert funding_time_of(day.replace(hour=23)) == day.replace(hour=21)
    assert funding_time_after(day.replace(hour=21)) == day.replace(hour=0) + timedelta(days=1)
    assert funding_time_after(day.replace(hour=8)) == day.replace(hour=14)


@pytest.mark.django_db(transaction=True)
def test_workers_settling_the_same_time_at_once_pay_once(make_trader):
    # given five traders holding 1 BTC across T
    when = past_funding_time()
    mark_was("BTCUSDT", "60000", at=when)
    traders = [make_trader() for _ in range(5)]
    for trader in traders:
        trade(trader, "BUY", "1", at=when - HOUR)
    wallets = [wallet_balance(trader) for trader in traders]

    # when four workers settle T at once
    results, errors = race(*[lambda: funding_settle(now=when + SECOND)] * 4)

    # then one made the settlement, and each holder paid 6 once
    assert errors == []
    assert sorted(len(settled) for settled in results) == [0, 0, 0, 1]
    assert [wallet_balance(trader) for trader in traders] == [w - 6 for w in wallets]
    assert FundingPayment.objects.count() == 5


def test_hyperliquid_pays_every_hour_an_eighth_of_the_eight_hour_rate(
    trader, venue_market, balanced_ledger
):
    # given 1 BTC long on Hyperliquid's rules, and 1 on Binance's, at 60,000
    for symbol in ("BTCUSDT-HL", "BTCUSDT"):
        order_place(user=trader, symbol=symbol, side="BUY", quantity="1", margin_mode="CROSS")
    hour = next_funding_after_now()  # an 8-hour funding time, on the hourly grid too

    # when funding runs then, and an hour later
    funding_settle(now=hour)
    funding_settle(now=hour + HOUR)

    # then Hyperliquid settles each hour at 0.01 % / 8: 60,000 x 0.0000125 = 0.75 each time;
    # Binance (and Bybit) only at the 8-hour time, at 0.01 %: 6
    assert list(
        FundingSettlement.objects.order_by("instrument__symbol", "funding_time").values_list(
            "instrument__symbol", "funding_time", "rate"
        )
    ) == [
        ("BTCUSDT", hour, Decimal("0.0001")),
        ("BTCUSDT-BYBIT", hour, Decimal("0.0001")),
        ("BTCUSDT-HL", hour, Decimal("0.0000125")),
        ("BTCUSDT-HL", hour + HOUR, Decimal("0.0000125")),
        ("ETHUSDT", hour, Decimal("0.0001")),
        ("SOLUSDT", hour, Decimal("0.0001")),
    ]
    assert sorted(FundingPayment.objects.values_list("position__instrument__symbol", "amount")) == [
        ("BTCUSDT", Decimal("-6")),
        ("BTCUSDT-HL", Decimal("-0.75")),
        ("BTCUSDT-HL", Decimal("-0.75")),
    ]
    # the fees: Binance's taker 0.05 % (30), Hyperliquid's 0.045 % (27)
    assert wallet_balance(trader) == Decimal("9935.5")  # 10000 - 30 - 27 - 6 - 0.75 x 2


@pytest.mark.parametrize(
    ("interval_rate", "hourly"),
    [
        (Decimal("0.0001"), Decimal("0.0000125")),
        (Decimal("-0.0075"), Decimal("-0.00093750")),
        (Decimal("0.5"), Decimal("0.04")),  # an hour's rate is capped at 4 %
        (Decimal("-0.4"), Decimal("-0.04")),
    ],
)
def test_hyperliquid_funding_rate_is_an_eighth_capped_at_four_percent(interval_rate, hourly):
    assert HYPERLIQUID.funding_rate(interval_rate) == hourly
    assert BINANCE.funding_rate(interval_rate) == interval_rate
    assert HYPERLIQUID.funding_interval(timedelta(hours=8)) == HOUR
