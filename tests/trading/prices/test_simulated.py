"""The simulated walk: exact Decimal steps, on the tick, the same for the same seed and tick."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from trading.prices import InstrumentMark
from trading.prices.simulated import (
    EPOCH,
    SimulatedFeed,
    WalkParameters,
    price_on_tick,
    tick_number,
    walk_step,
)

DEMO = WalkParameters(
    volatility=Decimal("0.0005"),
    jump_probability=Decimal("0.001"),
    jump_size=Decimal("0.05"),
)
BTC_TICK = Decimal("0.10")


def btc_step(price: str, *, tick: int, seed: str = "42", parameters=DEMO) -> Decimal:
    return walk_step(
        Decimal(price),
        tick_size=BTC_TICK,
        seed=seed,
        symbol="BTCUSDT",
        tick=tick,
        parameters=parameters,
    )


def test_a_step_depends_only_on_seed_symbol_and_tick():
    assert btc_step("60000", tick=1767614400) == Decimal("60049.8")
    assert btc_step("60000", tick=1767614400) == Decimal("60049.8")
    assert btc_step("60000", tick=1767614401) != Decimal("60049.8")
    assert btc_step("60000", tick=1767614400, seed="43") != Decimal("60049.8")


def test_the_walk_is_the_same_path_for_the_same_seed_and_ticks():
    def path(seed):
        price, prices = Decimal("60000"), []
        for tick in range(1767614400, 1767614405):
            price = btc_step(str(price), tick=tick, seed=seed)
            prices.append(price)
        return prices

    assert path("42") == [
        Decimal("60049.8"),
        Decimal("60037.0"),
        Decimal("60000.7"),
        Decimal("59966.1"),
        Decimal("59938.4"),
    ]
    assert path("42") == path("42")
    assert path("7") != path("42")


def test_every_step_lands_on_the_instruments_tick():
    for tick in range(1000):
        sol = walk_step(
            Decimal("150"),
            tick_size=Decimal("0.01"),
            seed="s",
            symbol="SOLUSDT",
            tick=tick,
            parameters=DEMO,
        )
        assert sol % Decimal("0.01") == 0


def test_without_volatility_or_jumps_the_drift_alone_moves_the_price():
    drift_only = WalkParameters(volatility=Decimal(0), drift=Decimal("0.001"))

    # 60000 x e^0.001 = 60060.03001..., rounded to the 0.10 tick
    assert btc_step("60000", tick=1, parameters=drift_only) == Decimal("60060.0")
    assert btc_step("60000", tick=1, parameters=WalkParameters(volatility=Decimal(0))) == 60000


def test_a_jump_moves_the_price_by_exactly_the_jump_size_either_way():
    always_jump = WalkParameters(
        volatility=Decimal(0), jump_probability=Decimal(1), jump_size=Decimal("0.05")
    )

    assert btc_step("60000", tick=1, seed="x", parameters=always_jump) == Decimal("57000.0")
    assert btc_step("60000", tick=2, seed="x", parameters=always_jump) == Decimal("63000.0")


def test_jumps_come_about_as_often_as_the_probability_says():
    jumps = sum(
        abs(btc_step("60000", tick=tick, seed="s") - 60000) > 1500 for tick in range(20_000)
    )

    assert jumps == 20  # 0.001 x 20,000


def test_a_price_is_never_rounded_below_one_tick():
    assert price_on_tick(Decimal("0.04"), BTC_TICK) == BTC_TICK
    assert price_on_tick(Decimal("60000.05"), BTC_TICK) == Decimal("60000.0")  # half to even
    assert price_on_tick(Decimal("60000.15"), BTC_TICK) == Decimal("60000.2")


def test_tick_numbers_count_intervals_since_the_epoch():
    moment = EPOCH + timedelta(seconds=10, microseconds=500_000)

    assert tick_number(moment, Decimal(1)) == 10
    assert tick_number(moment, Decimal("0.5")) == 21
    assert tick_number(moment, Decimal(60)) == 0


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"volatility": Decimal("-0.1")}, "volatility cannot be negative"),
        ({"volatility": Decimal(0), "jump_probability": Decimal("1.5")}, "from 0 to 1"),
        ({"volatility": Decimal(0), "jump_size": Decimal(1)}, "below 1"),
        ({"volatility": Decimal(0), "jump_size": Decimal("-0.05")}, "at least 0"),
    ],
)
def test_walk_parameters_refuse_values_that_make_no_walk(parameters, message):
    with pytest.raises(ValueError, match=message):
        WalkParameters(**parameters)


def test_the_feed_steps_every_instrument_that_has_a_mark(db):
    feed = SimulatedFeed(seed="42", tick_seconds=Decimal(1), parameters=DEMO)
    now = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)

    found = feed.next_marks(
        [
            InstrumentMark("BTCUSDT", BTC_TICK, Decimal("60000")),
            InstrumentMark("NEWUSDT", Decimal("0.01"), None),
        ],
        now,
    )

    assert found == {"BTCUSDT": Decimal("60049.8")}
