"""The values the margin maths works on: a side, a leverage bracket, a position at a mark.

They are frozen and validated on construction, so every engine function can trust its inputs:
quantities and prices are positive finite Decimals and a position's bracket table is non-empty and
ordered by notional floor.
"""

from dataclasses import dataclass
from decimal import Decimal
from enum import IntEnum
from itertools import pairwise

from trading.engine.decimals import ENGINE_CONTEXT, checked_decimal, checked_leverage


class Side(IntEnum):
    """The sign of a position in every formula: s = +1 long, -1 short."""

    LONG = 1
    SHORT = -1


def checked_side(value) -> Side:
    """A Side from Side.LONG/SHORT or the ints 1/-1; a bool or a float is refused, not coerced."""
    if type(value) is Side:
        return value
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"side must be 1 (long) or -1 (short), not {value!r}")
    return Side(value)


@dataclass(frozen=True)
class Bracket:
    """One tier of an instrument's leverage table (Binance's leverageBracket row).

    A position whose notional N sits in this tier (the highest floor <= N) needs a maintenance
    margin of N x maintenance_margin_rate - maintenance_amount and may use up to max_leverage.
    """

    notional_floor: Decimal
    notional_cap: Decimal
    max_leverage: int
    maintenance_margin_rate: Decimal
    maintenance_amount: Decimal

    def __post_init__(self):
        checked_decimal("notional_floor", self.notional_floor, non_negative=True)
        checked_decimal("notional_cap", self.notional_cap, positive=True)
        if self.notional_cap <= self.notional_floor:
            raise ValueError(
                f"notional_cap {self.notional_cap} must be above notional_floor "
                f"{self.notional_floor}"
            )
        checked_leverage(self.max_leverage)
        checked_decimal("maintenance_margin_rate", self.maintenance_margin_rate, positive=True)
        if self.maintenance_margin_rate >= 1:
            raise ValueError("maintenance_margin_rate must be below 1")
        checked_decimal("maintenance_amount", self.maintenance_amount)


@dataclass(frozen=True)
class PositionState:
    """An open position valued at a mark price, with the bracket table of its instrument."""

    side: Side
    quantity: Decimal
    entry_price: Decimal
    mark_price: Decimal
    brackets: tuple[Bracket, ...]

    def __post_init__(self):
        object.__setattr__(self, "side", checked_side(self.side))
        checked_decimal("quantity", self.quantity, positive=True)
        checked_decimal("entry_price", self.entry_price, positive=True)
        checked_decimal("mark_price", self.mark_price, positive=True)
        brackets = tuple(self.brackets)
        if _TABLES_CHECKED.get(id(brackets)) is not brackets:
            _brackets_check(brackets)
        object.__setattr__(self, "brackets", brackets)

    @property
    def notional(self) -> Decimal:
        """N = q x MP: the position's value at the mark."""
        return ENGINE_CONTEXT.multiply(self.quantity, self.mark_price)


# Bracket tables found valid, by id, each kept alive here so that its id cannot be reused: an
# instrument's table is one tuple that every position on it shares (and a liquidation's steps
# make new positions from), and a tuple of frozen Brackets stays as valid as it was found.
_TABLES_CHECKED: dict[int, tuple[Bracket, ...]] = {}
_TABLES_KEPT = 1024


def _brackets_check(brackets: tuple[Bracket, ...]) -> None:
    """Raise unless ``brackets`` is a non-empty table of Brackets ordered by rising floor."""
    if not brackets:
        raise ValueError("a position needs at least one leverage bracket")
    if not all(isinstance(bracket, Bracket) for bracket in brackets):
        raise TypeError("brackets must be Bracket instances")
    floors = [bracket.notional_floor for bracket in brackets]
    if any(lower >= upper for lower, upper in pairwise(floors)):
        raise ValueError("brackets must be ordered by rising notional_floor")
    if len(_TABLES_CHECKED) >= _TABLES_KEPT:
        _TABLES_CHECKED.clear()
    _TABLES_CHECKED[id(brackets)] = brackets
