"""The replay feed plays a CSV file of marks at N x speed, looping or holding its end, and keeps
its place so that a restart resumes there."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from trading.models import FeedStatus, MarkPrice
from trading.prices import FeedError
from trading.prices.replay import recording_read
from trading.services import prices_tick

NOW = datetime(2026, 1, 5, 12, 0, 0, tzinfo=UTC)
FILE_START = datetime(2024, 8, 5, tzinfo=UTC)
CRASH = """timestamp,symbol,mark_price
2024-08-05T00:00:00Z,BTCUSDT,60000
2024-08-05T00:00:00Z,ETHUSDT,3000
2024-08-05T00:00:10Z,BTCUSDT,59000
2024-08-05T00:00:20Z,BTCUSDT,55000.5
2024-08-05T00:00:20Z,ETHUSDT,2700
2024-08-05T00:00:30Z,BTCUSDT,56000
"""


@pytest.fixture
def replay(settings, tmp_path):
    """PRICE_FEED=replay on a file in tmp_path (CRASH unless a test writes another), 10 x speed,
    one tick a second."""
    path = tmp_path / "crash.csv"
    path.write_text(CRASH)
    settings.PRICE_FEED = "replay"
    settings.PRICE_REPLAY_FILE = path
    settings.PRICE_REPLAY_SPEED = Decimal(10)
    settings.PRICE_REPLAY_LOOP = True
    settings.PRICE_TICK_SECONDS = Decimal(1)
    return path


def btc_and_eth() -> tuple[Decimal, Decimal]:
    marks = {m.instrument.symbol: m.price for m in MarkPrice.objects.all()}
    return marks["BTCUSDT"], marks["ETHUSDT"]


def ticks(*seconds: float) -> list[tuple[Decimal, Decimal]]:
    """Tick at NOW + each of ``seconds``; the BTC and ETH marks after each."""
    seen = []
    for second in seconds:
        prices_tick(now=NOW + timedelta(seconds=second))
        seen.append(btc_and_eth())
    return seen


def replay_place() -> datetime:
    return FeedStatus.objects.get(name="marks").replay_place


def test_replay_plays_the_file_at_ten_times_speed_from_its_first_moment(market, replay):
    assert ticks(0, 1, 2, 3) == [
        (Decimal("60000"), Decimal("3000")),
        (Decimal("59000"), Decimal("3000")),
        (Decimal("55000.5"), Decimal("2700")),
        (Decimal("56000"), Decimal("2700")),
    ]
    assert MarkPrice.objects.get(instrument__symbol="BTCUSDT").source == "replay"
    assert MarkPrice.objects.get(instrument__symbol="SOLUSDT").source == "seed"  # not in the file


def test_replay_loops_after_holding_the_last_moment_for_one_step(market, replay):
    seen = ticks(0, 1, 2, 3, 4, 5)

    assert seen[3:] == [
        (Decimal("56000"), Decimal("2700")),  # the end, file time +30 s
        (Decimal("60000"), Decimal("3000")),  # +40 s: the first moment again
        (Decimal("59000"), Decimal("3000")),
    ]


def test_replay_without_loop_holds_the_last_prices(market, replay, settings):
    settings.PRICE_REPLAY_LOOP = False

    assert ticks(0, 1, 2, 3, 4, 60)[3:] == [(Decimal("56000"), Decimal("2700"))] * 3
    assert replay_place() == FILE_START + timedelta(seconds=30)


def test_replay_keeps_its_place_so_a_restart_resumes_where_it_stopped(market, replay):
    ticks(0, 1)
    assert replay_place() == FILE_START + timedelta(seconds=10)

    # The worker was stopped for an hour: the replay moves on by one tick, not by an hour.
    assert ticks(3600) == [(Decimal("55000.5"), Decimal("2700"))]
    assert replay_place() == FILE_START + timedelta(seconds=20)


def test_replay_starts_at_the_beginning_when_it_takes_over_from_another_feed(
    market, replay, settings
):
    ticks(0, 1, 2)
    settings.PRICE_FEED = "manual"
    ticks(3)

    settings.PRICE_FEED = "replay"

    assert ticks(4) == [(Decimal("60000"), Decimal("3000"))]


def test_replay_follows_wall_time_between_ticks_at_its_speed(market, replay, settings):
    settings.PRICE_REPLAY_SPEED = Decimal("2.5")

    ticks(0, 4)  # 4 s later at 2.5 x: file time +10 s

    assert replay_place() == FILE_START + timedelta(seconds=10)
    assert btc_and_eth() == (Decimal("59000"), Decimal("3000"))


def test_a_replay_file_need_not_be_sorted_and_may_carry_index_prices(tmp_path):
    path = tmp_path / "any.csv"
    path.write_text(
        "symbol,timestamp,mark_price,index_price\n"
        "btcusdt,2024-08-05T00:00:10,59000,59010.5\n"
        "BTCUSDT,2024-08-05T00:00:00+00:00,60000,\n"
        "ETHUSDT,2024-08-05T02:00:05+02:00,3000.25,3001\n"
    )

    recording = recording_read(path)

    assert (recording.start, recording.end, recording.step) == (
        FILE_START,
        FILE_START + timedelta(seconds=10),
        timedelta(seconds=5),
    )
    assert recording.marks_at(FILE_START) == {"BTCUSDT": Decimal("60000")}
    assert recording.marks_at(FILE_START + timedelta(seconds=7)) == {
        "BTCUSDT": Decimal("60000"),
        "ETHUSDT": Decimal("3000.25"),
    }


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("time,symbol,mark_price\n", "missing: timestamp"),
        ("timestamp,symbol,mark_price\n", "has no rows"),
        ("timestamp,symbol,mark_price\n2024-08-05T00:00:00Z,BTCUSDT,lots\n", "line 2: mark_price"),
        ("timestamp,symbol,mark_price\n2024-08-05T00:00:00Z,BTCUSDT,-1\n", "not a positive"),
        ("timestamp,symbol,mark_price\nyesterday,BTCUSDT,60000\n", "line 2: Invalid isoformat"),
        ("timestamp,symbol,mark_price\n2024-08-05T00:00:00Z,,60000\n", "the symbol is empty"),
        (
            "timestamp,symbol,mark_price,index_price\n2024-08-05T00:00:00Z,BTCUSDT,1,x\n",
            "index_price 'x' is not a number",
        ),
    ],
)
def test_a_broken_replay_file_is_refused_with_the_line_at_fault(tmp_path, content, message):
    path = tmp_path / "broken.csv"
    path.write_text(content)

    with pytest.raises(FeedError, match=message):
        recording_read(path)


def test_a_missing_replay_file_keeps_the_prices_and_says_so(market, replay, settings):
    settings.PRICE_REPLAY_FILE = Path(replay.parent / "nowhere.csv")

    assert prices_tick(now=NOW) == []

    assert btc_and_eth() == (Decimal("60000"), Decimal("3000"))
    status = FeedStatus.objects.get(name="marks")
    assert status.source == "replay"
    assert status.last_tick_at is None
    assert "nowhere.csv cannot be read" in status.last_error


def test_the_shipped_sample_starts_at_the_seed_marks_and_crashes():
    recording = recording_read(django_settings.PRICE_REPLAY_FILE)

    assert recording.marks_at(recording.start) == {
        "BTCUSDT": Decimal("60000.0"),
        "ETHUSDT": Decimal("3000.00"),
        "SOLUSDT": Decimal("150.00"),
    }
    assert recording.end - recording.start == timedelta(minutes=5)
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT"):
        marks = recording.marks[symbol]
        falls = [later / earlier - 1 for earlier, later in zip(marks, marks[3:], strict=False)]
        assert min(falls) < Decimal("-0.10"), f"{symbol} has no sharp drop"  # > 10 % in 30 s
