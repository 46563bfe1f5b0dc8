"""prices_tick: the configured feed's next marks written (never over a held price), one candle per
instrument and minute, old candles deleted, the feed status kept; and the beat task behind it."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from trading import tasks
from trading.models import FeedStatus, MarkPrice, PriceCandle
from trading.prices import FeedError
from trading.services import mark_price_set, prices_tick

NOW = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
MINUTE = NOW
NEXT_MINUTE = NOW + timedelta(minutes=1)


class ScriptedFeed:
    """A feed that answers, tick after tick, the marks it was given (FeedError for an exception)."""

    source = MarkPrice.Source.REPLAY

    def __init__(self, *answers):
        self.answers = list(answers)
        self.asked = []

    def next_marks(self, instruments, now):
        self.asked.append((now, {i.symbol: i.price for i in instruments}))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {symbol: Decimal(price) for symbol, price in answer.items()}


@pytest.fixture
def scripted(monkeypatch):
    """scripted(answer, ...) -> the ScriptedFeed that prices_tick will use."""

    def install(*answers):
        feed = ScriptedFeed(*answers)
        monkeypatch.setattr("trading.services.ticks.feed_get", lambda: feed)
        return feed

    return install


def marks() -> dict:
    return {m.instrument.symbol: m.price for m in MarkPrice.objects.all()}


def candles(symbol: str) -> list[tuple]:
    return list(
        PriceCandle.objects.filter(instrument__symbol=symbol)
        .order_by("opened_at")
        .values_list("opened_at", "open", "high", "low", "close")
    )


def simulated_path(settings, seed: str, seconds: int) -> list[dict]:
    settings.PRICE_FEED = "simulated"
    settings.PRICE_SIMULATION_SEED = seed
    path = []
    for second in range(seconds):
        prices_tick(now=NOW + timedelta(seconds=second))
        path.append(marks())
    return path


def test_a_simulated_tick_moves_every_mark_from_the_seed_marks(market, settings):
    settings.PRICE_FEED = "simulated"
    settings.PRICE_SIMULATION_SEED = "42"

    changed = prices_tick(now=NOW)

    assert changed == ["BTCUSDT", "ETHUSDT", "SOLUSDT"]
    assert marks() == {
        "BTCUSDT": Decimal("60049.8"),
        "ETHUSDT": Decimal("2998.25"),
        "SOLUSDT": Decimal("149.98"),
    }
    assert set(MarkPrice.objects.values_list("source", flat=True)) == {"simulated"}


def test_the_simulated_walk_repeats_exactly_for_the_same_seed_and_ticks(market, settings):
    first = simulated_path(settings, "42", 5)
    MarkPrice.objects.filter(instrument__symbol="BTCUSDT").update(price=Decimal("60000"))
    MarkPrice.objects.filter(instrument__symbol="ETHUSDT").update(price=Decimal("3000"))
    MarkPrice.objects.filter(instrument__symbol="SOLUSDT").update(price=Decimal("150"))
    FeedStatus.objects.all().delete()

    again = simulated_path(settings, "42", 5)

    assert again == first
    assert first[-1] == {
        "BTCUSDT": Decimal("59938.4"),
        "ETHUSDT": Decimal("2997.94"),
        "SOLUSDT": Decimal("149.74"),
    }


def test_another_seed_walks_another_path(market, settings):
    assert simulated_path(settings, "42", 3) != simulated_path(settings, "43", 3)


def test_a_second_tick_in_the_same_interval_does_not_step_again(market, settings):
    settings.PRICE_FEED = "simulated"
    settings.PRICE_SIMULATION_SEED = "42"
    prices_tick(now=NOW)

    assert prices_tick(now=NOW + timedelta(milliseconds=900)) == []

    assert marks()["BTCUSDT"] == Decimal("60049.8")
    assert FeedStatus.objects.get(name="marks").last_tick_at == NOW + timedelta(milliseconds=900)


def test_a_held_price_is_never_overwritten_by_a_tick(market, scripted):
    mark_price_set(symbol="BTCUSDT", price="25000")
    scripted({"BTCUSDT": "61000", "ETHUSDT": "3100"})

    changed = prices_tick(now=NOW)

    assert changed == ["ETHUSDT"]
    btc = MarkPrice.objects.get(instrument__symbol="BTCUSDT")
    assert (btc.price, btc.source, btc.held) == (Decimal("25000"), "manual", True)
    assert candles("BTCUSDT") == [(MINUTE, 25000, 25000, 25000, 25000)]  # the held price


def test_a_feed_price_given_to_mark_price_set_leaves_a_held_mark_alone(market):
    mark_price_set(symbol="BTCUSDT", price="25000")

    mark = mark_price_set(symbol="BTCUSDT", price="61000", source="simulated")

    assert (mark.price, mark.source, mark.held) == (Decimal("25000"), "manual", True)
    assert marks()["BTCUSDT"] == Decimal("25000")


def test_candles_keep_open_high_low_close_over_the_ticks_of_one_minute(market, scripted):
    scripted(
        {"BTCUSDT": "60100"},
        {"BTCUSDT": "60500.5"},
        {"BTCUSDT": "59800.1"},
        {"BTCUSDT": "60200"},
    )

    for second in (0, 15, 30, 59):
        prices_tick(now=NOW + timedelta(seconds=second, microseconds=999))

    assert candles("BTCUSDT") == [
        (
            MINUTE,
            Decimal("60100"),
            Decimal("60500.5"),
            Decimal("59800.1"),
            Decimal("60200"),
        )
    ]
    # An instrument the feed did not move has a flat candle at its mark.
    assert candles("ETHUSDT") == [(MINUTE, 3000, 3000, 3000, 3000)]


def test_the_next_minute_opens_a_new_candle_at_the_mark(market, scripted):
    scripted({"BTCUSDT": "60100"}, {"BTCUSDT": "60300"}, {"BTCUSDT": "60250"}, {})

    for moment in (NOW, NOW + timedelta(seconds=30), NEXT_MINUTE, NEXT_MINUTE + timedelta(hours=1)):
        prices_tick(now=moment)

    assert candles("BTCUSDT") == [
        (MINUTE, Decimal("60100"), Decimal("60300"), Decimal("60100"), Decimal("60300")),
        (NEXT_MINUTE, Decimal("60250"), Decimal("60250"), Decimal("60250"), Decimal("60250")),
        (NEXT_MINUTE + timedelta(hours=1), 60250, 60250, 60250, 60250),
    ]


def test_candles_are_minutes_in_utc_whatever_the_zone_of_now(market, scripted):
    scripted({"BTCUSDT": "60100"})

    prices_tick(now=datetime(2026, 1, 5, 13, 0, 42, tzinfo=ZoneInfo("Europe/Paris")))

    assert candles("BTCUSDT")[0][0] == MINUTE


def test_candles_older_than_the_retention_are_deleted(market, scripted, settings):
    settings.PRICE_CANDLE_RETENTION_DAYS = 7
    btc = MarkPrice.objects.get(instrument__symbol="BTCUSDT").instrument
    for age in (timedelta(days=8), timedelta(days=7, minutes=1), timedelta(days=6, hours=23)):
        PriceCandle.objects.create(
            instrument=btc, opened_at=MINUTE - age, open=1, high=1, low=1, close=1
        )
    scripted({})

    prices_tick(now=NOW)

    assert [c[0] for c in candles("BTCUSDT")] == [MINUTE - timedelta(days=6, hours=23), MINUTE]


def test_the_feed_status_records_the_source_and_the_tick(market, scripted):
    scripted({"BTCUSDT": "60100"})

    prices_tick(now=NOW)

    status = FeedStatus.objects.get(name="marks")
    assert (status.source, status.last_tick_at, status.last_error, status.last_error_at) == (
        "replay",
        NOW,
        "",
        None,
    )


def test_a_failed_feed_keeps_every_price_and_records_why(market, scripted):
    scripted({"BTCUSDT": "60100"}, FeedError("The exchange did not answer."))
    prices_tick(now=NOW)
    later = NOW + timedelta(seconds=1)

    assert prices_tick(now=later) == []

    assert marks() == {
        "BTCUSDT": Decimal("60100"),
        "ETHUSDT": Decimal("3000"),
        "SOLUSDT": Decimal("150"),
    }
    status = FeedStatus.objects.get(name="marks")
    assert (status.last_tick_at, status.last_error, status.last_error_at) == (
        NOW,
        "The exchange did not answer.",
        later,
    )
    assert candles("BTCUSDT") == [(MINUTE, 60100, 60100, 60100, 60100)]


def test_a_price_below_one_tick_is_refused_for_its_symbol_alone(market, scripted):
    scripted({"BTCUSDT": "0.05", "ETHUSDT": "3100"})

    assert prices_tick(now=NOW) == ["ETHUSDT"]

    assert marks()["BTCUSDT"] == Decimal("60000")
    status = FeedStatus.objects.get(name="marks")
    assert status.last_tick_at == NOW
    assert status.last_error == "BTCUSDT: A mark price must be at least one tick (0.1)."


def test_the_feed_sees_each_instrument_with_its_current_mark(market, scripted):
    feed = scripted({})

    prices_tick(now=NOW)

    assert feed.asked == [
        (NOW, {"BTCUSDT": Decimal("60000"), "ETHUSDT": Decimal("3000"), "SOLUSDT": Decimal("150")})
    ]


def test_the_manual_feed_moves_nothing_but_keeps_candles_and_status(market, settings):
    settings.PRICE_FEED = "manual"

    assert prices_tick(now=NOW) == []

    assert marks()["BTCUSDT"] == Decimal("60000")
    assert candles("BTCUSDT") == [(MINUTE, 60000, 60000, 60000, 60000)]
    assert FeedStatus.objects.get(name="marks").source == "manual"


class SentTasks:
    def __init__(self):
        self.names = []

    def send_task(self, name, *args, **kwargs):
        self.names.append(name)


@pytest.mark.parametrize(("then_sweep", "sent"), [(True, ["trading.sweep"]), (False, [])])
def test_the_tick_task_runs_the_tick_then_sends_the_sweep_if_configured(
    market, settings, monkeypatch, then_sweep, sent
):
    settings.PRICE_FEED = "manual"
    settings.PRICE_TICK_THEN_SWEEP = then_sweep
    app = SentTasks()
    monkeypatch.setattr(tasks, "current_app", app)

    tasks.prices.apply()

    assert app.names == sent
    assert FeedStatus.objects.get(name="marks").last_tick_at is not None


def test_the_beat_schedule_runs_the_tick_every_price_tick_seconds(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["prices-tick"]

    assert entry["task"] == tasks.prices.name == "trading.prices_tick"
    assert entry["schedule"] == timedelta(seconds=float(settings.PRICE_TICK_SECONDS))
