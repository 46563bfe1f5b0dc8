"""The simulated feed (the default): per instrument, a seeded geometric random walk that starts
from the current mark.

Each tick multiplies a mark by exp(drift - volatility^2 / 2 + volatility * z), z a standard
normal draw, and now and then by 1 +/- PRICE_SIMULATION_JUMP_SIZE, so that liquidations happen in
a demo; the result is rounded to the instrument's tick.

The draws of an instrument at a tick depend only on the seed, the symbol and the tick's number:
the count of PRICE_TICK_SECONDS intervals since the Unix epoch. So the same seed and the same tick
times give the same prices, every worker process (on any machine) agrees without sharing a
counter, and a restart continues the sequence where the clock is instead of replaying its start.
The walk itself needs no other state: it steps from the mark stored by the last tick.

One step per interval: a tick in the interval of the previous simulated tick (FeedStatus) moves
nothing. Otherwise ticks queued behind a stopped worker, run back to back within one interval,
would apply that interval's move again and again.
"""

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal

from django.conf import settings

from trading.models import FeedStatus, MarkPrice
from trading.prices.feeds import STATUS_NAME, InstrumentMark

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class WalkParameters:
    """Per tick: the log drift, the volatility (standard deviation of the log return), the
    chance of a jump and its relative size (0.05: the price moves 5 % up or down at once)."""

    volatility: Decimal
    drift: Decimal = Decimal(0)
    jump_probability: Decimal = Decimal(0)
    jump_size: Decimal = Decimal(0)

    def __post_init__(self):
        if self.volatility < 0:
            raise ValueError("The volatility cannot be negative.")
        if not 0 <= self.jump_probability <= 1:
            raise ValueError("The jump probability must be from 0 to 1.")
        if not 0 <= self.jump_size < 1:
            raise ValueError("The jump size must be at least 0 and below 1 (100 %).")


def tick_number(now: datetime, tick_seconds: Decimal) -> int:
    """The number of the PRICE_TICK_SECONDS interval that ``now`` falls in, counted from the Unix
    epoch (integer microseconds: exact)."""
    elapsed = now - EPOCH
    microseconds = (elapsed.days * 86_400 + elapsed.seconds) * 1_000_000 + elapsed.microseconds
    return int(Decimal(microseconds) // (tick_seconds * 1_000_000))


def price_on_tick(price: Decimal, tick_size: Decimal) -> Decimal:
    """``price`` rounded to the nearest tick (half to even), and at least one tick."""
    ticks = (price / tick_size).to_integral_value(rounding=ROUND_HALF_EVEN)
    return max(ticks, Decimal(1)) * tick_size


def walk_step(
    price: Decimal,
    *,
    tick_size: Decimal,
    seed: str,
    symbol: str,
    tick: int,
    parameters: WalkParameters,
) -> Decimal:
    """The mark after one tick of the walk, from ``price``."""
    # One generator per (seed, symbol, tick): a string seed is hashed with SHA-512, so the draws
    # are the same in every process and Python version, whatever PYTHONHASHSEED is.
    draws = random.Random(f"{seed}:{symbol}:{tick}")
    # random.Random only speaks floats. They are used for the draws alone: each becomes a Decimal
    # through its shortest repr at once, and every price figure below is Decimal arithmetic. All
    # three are drawn on every tick, so a jump never shifts the stream of later draws.
    z = Decimal(str(draws.gauss(0.0, 1.0)))
    jump_draw = Decimal(str(draws.random()))
    jump_up = draws.random() < 0.5
    p = parameters
    factor = (p.drift - p.volatility * p.volatility / 2 + p.volatility * z).exp()
    if jump_draw < p.jump_probability:
        factor *= 1 + p.jump_size if jump_up else 1 - p.jump_size
    return price_on_tick(price * factor, tick_size)


class SimulatedFeed:
    source = MarkPrice.Source.SIMULATED

    def __init__(self, *, seed: str, tick_seconds: Decimal, parameters: WalkParameters):
        self.seed = seed
        self.tick_seconds = tick_seconds
        self.parameters = parameters

    @classmethod
    def from_settings(cls) -> "SimulatedFeed":
        return cls(
            seed=settings.PRICE_SIMULATION_SEED,
            tick_seconds=settings.PRICE_TICK_SECONDS,
            parameters=WalkParameters(
                volatility=settings.PRICE_SIMULATION_VOLATILITY,
                drift=settings.PRICE_SIMULATION_DRIFT,
                jump_probability=settings.PRICE_SIMULATION_JUMP_PROBABILITY,
                jump_size=settings.PRICE_SIMULATION_JUMP_SIZE,
            ),
        )

    def next_marks(self, instruments: Sequence[InstrumentMark], now: datetime) -> dict:
        """One step of the walk for every instrument that has a mark to start from (none if this
        interval has had its step)."""
        tick = tick_number(now, self.tick_seconds)
        previous = (
            FeedStatus.objects.filter(name=STATUS_NAME, source=self.source)
            .values_list("last_tick_at", flat=True)
            .first()
        )
        if previous is not None and tick <= tick_number(previous, self.tick_seconds):
            return {}
        return {
            instrument.symbol: walk_step(
                instrument.price,
                tick_size=instrument.tick_size,
                seed=self.seed,
                symbol=instrument.symbol,
                tick=tick,
                parameters=self.parameters,
            )
            for instrument in instruments
            if instrument.price is not None
        }
