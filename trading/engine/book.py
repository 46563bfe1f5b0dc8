"""The order book an instrument's liquidity model makes around a mark, and what a taker gets.

A paper venue has no other traders, so its book is a model: the best ask sits
``half_spread_ticks`` ticks above the mark (rounded up to the tick), the best bid as many below
it (rounded down), and further levels follow every ``level_ticks`` ticks, each with
``level_quantity``. A taker walks the levels, best first, and stops at its limit price and at
the maximum slippage (the mark moved by ``max_slippage_rate`` against it); the best level is
always within reach, so a market order never finds an empty book while the best price is above
zero. The walk is computed in closed form (an arithmetic series), not level by level: a wide
slippage band may hold tens of thousands of levels.

Invariants (property-tested): a take's quantity is the requested one or all the book holds
within its limits, whichever is less; its average price lies between the best price and the
worst level it reached; a larger order never averages a better price.
"""

from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

ZERO = Decimal(0)


@dataclass(frozen=True)
class BookModel:
    """An instrument's liquidity: all quantities in the base asset, prices in the quote."""

    tick_size: Decimal
    half_spread_ticks: int
    level_ticks: int
    level_quantity: Decimal
    max_slippage_rate: Decimal


@dataclass(frozen=True)
class Book:
    """The levels as (price, quantity), each side best first, and the mark they were built
    around."""

    mark: Decimal
    bids: tuple[tuple[Decimal, Decimal], ...]
    asks: tuple[tuple[Decimal, Decimal], ...]


@dataclass(frozen=True)
class Take:
    """What a taker gets: ``quantity`` (0: nothing within its limits), the exact ``notional``
    it pays or receives, its ``average_price`` (None when nothing fills; exact up to the
    context's precision: the caller rounds it for storage) and the ``worst_price`` it reached."""

    quantity: Decimal
    notional: Decimal
    average_price: Decimal | None
    worst_price: Decimal | None


def _on_tick(price: Decimal, tick: Decimal, rounding: str) -> Decimal:
    return (price / tick).to_integral_value(rounding=rounding) * tick


def book_best_price(model: BookModel, *, mark: Decimal, side: str) -> Decimal | None:
    """The best price a taker on ``side`` ("BUY" takes asks, "SELL" takes bids) gets; None when
    the bids would sit at or below zero (a mark a few ticks above zero)."""
    tick = model.tick_size
    if side == "BUY":
        return _on_tick(mark, tick, ROUND_CEILING) + model.half_spread_ticks * tick
    best_bid = _on_tick(mark, tick, ROUND_FLOOR) - model.half_spread_ticks * tick
    return best_bid if best_bid > 0 else None


def _level_count(model: BookModel, *, mark, side, limit_price) -> tuple[Decimal | None, int]:
    """The best price and how many levels a taker on ``side`` may take: those within the
    maximum slippage (the best one always) and, with ``limit_price``, not beyond it."""
    best = book_best_price(model, mark=mark, side=side)
    if best is None:
        return None, 0
    step = model.level_ticks * model.tick_size
    if side == "BUY":
        bound = mark * (1 + model.max_slippage_rate)
        reach = max(bound, best)
        if limit_price is not None:
            reach = min(reach, limit_price)
        room = reach - best
    else:
        bound = mark * (1 - model.max_slippage_rate)
        reach = min(bound, best)
        if limit_price is not None:
            reach = max(reach, limit_price)
        # bids stop one tick above zero
        reach = max(reach, model.tick_size)
        room = best - reach
    if room < 0:
        return best, 0
    return best, int((room / step).to_integral_value(rounding=ROUND_FLOOR)) + 1


def _level_price(model: BookModel, best: Decimal, side: str, index: int) -> Decimal:
    step = model.level_ticks * model.tick_size
    return best + index * step if side == "BUY" else best - index * step


def book_levels(model: BookModel, *, mark: Decimal, depth: int) -> Book:
    """The first ``depth`` levels of each side that a taker may reach (fewer when the maximum
    slippage holds fewer)."""
    sides = {}
    for taker_side in ("BUY", "SELL"):
        best, count = _level_count(model, mark=mark, side=taker_side, limit_price=None)
        sides[taker_side] = tuple(
            (_level_price(model, best, taker_side, index), model.level_quantity)
            for index in range(min(depth, count))
        )
    return Book(mark=mark, bids=sides["SELL"], asks=sides["BUY"])


def book_take(
    model: BookModel,
    *,
    mark: Decimal,
    side: str,
    quantity: Decimal,
    limit_price: Decimal | None = None,
) -> Take:
    """What a taker on ``side`` gets for ``quantity``: the levels best first, each in full but
    the last, up to ``limit_price`` (None: a market order) and the maximum slippage."""
    best, count = _level_count(model, mark=mark, side=side, limit_price=limit_price)
    filled = min(quantity, count * model.level_quantity)
    if filled <= 0:
        return Take(ZERO, ZERO, None, None)
    whole = min(count, int((filled / model.level_quantity).to_integral_value(rounding=ROUND_FLOOR)))
    rest = filled - whole * model.level_quantity
    direction = 1 if side == "BUY" else -1
    step = direction * model.level_ticks * model.tick_size
    # sum of the whole levels' prices: whole * best + step * (0 + 1 + ... + whole - 1)
    notional = model.level_quantity * (whole * best + step * (whole * (whole - 1) // 2))
    last = whole if rest else whole - 1
    notional += rest * _level_price(model, best, side, whole)
    return Take(
        quantity=filled,
        notional=notional,
        average_price=notional / filled,
        worst_price=_level_price(model, best, side, last),
    )
