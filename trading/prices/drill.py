"""The path of a price drill: from the start price in a straight line to start x (1 + move) over
N seconds, straight back over N more, then the start price again.

With m = move_percent / 100 and e the seconds elapsed since the drill started:

    e < N        start x (1 + m x e / N)
    N <= e < 2N  start x (1 + m x (2N - e) / N)
    e >= 2N      start (the drill is over)

Prices on the way are rounded to the nearest tick (a half tick rounds up), and never below one
tick; the start and the end are the start price exactly, even off the tick (a manual mark need
not sit on it). Pure Decimal arithmetic on values passed in: no Django, no clock, so every
worker computes the same price for the same moment.
"""

from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

MICROSECOND = Decimal("0.000001")


def drill_elapsed(started_at: datetime, now: datetime) -> Decimal:
    """The seconds from ``started_at`` to ``now``, exact to the microsecond; 0 when ``now`` is
    earlier (a tick computed on a worker whose clock is behind)."""
    delta = now - started_at
    seconds = Decimal(delta.days * 86400 + delta.seconds) + delta.microseconds * MICROSECOND
    return max(seconds, Decimal(0))


def drill_done(*, seconds: int, elapsed: Decimal) -> bool:
    """Whether the drill is over: it went out and came back."""
    return elapsed >= 2 * seconds


def drill_progress(*, seconds: int, elapsed: Decimal) -> Decimal:
    """How much of the whole drill (out and back) has run, from 0 to 1."""
    return min(elapsed / (2 * seconds), Decimal(1))


def drill_price(
    *,
    start_price: Decimal,
    move_percent: Decimal,
    seconds: int,
    elapsed: Decimal,
    tick_size: Decimal,
) -> Decimal:
    """The drill's mark ``elapsed`` seconds after it started (see the module)."""
    if elapsed <= 0 or drill_done(seconds=seconds, elapsed=elapsed):
        return start_price
    leg = elapsed if elapsed < seconds else 2 * seconds - elapsed
    # One division, last: start + start x move% x leg / (100 N) keeps every digit until then.
    exact = start_price + start_price * move_percent * leg / (100 * seconds)
    rounded = (exact / tick_size).to_integral_value(rounding=ROUND_HALF_UP) * tick_size
    return max(rounded, tick_size)
