"""Leverage brackets: which tier a notional falls in, and how much leverage a position may use.

A bracket table is valid when its tiers are contiguous from 0, maintenance margin rates rise, max
leverage does not rise, and each maintenance amount follows the recurrence
``amount_i = amount_(i-1) + floor_i x (rate_i - rate_(i-1))``: that keeps maintenance margin
continuous in the notional, which is what makes a liquidation price unique.
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from itertools import pairwise

from trading.engine.decimals import ZERO, checked_decimal, checked_leverage, exact
from trading.engine.positions import Bracket


class LeverageTooHigh(ValueError):
    """A leverage that the bracket table does not allow for the position's notional."""


class BracketTableInvalid(ValueError):
    """A bracket table that breaks a rule, with the tier (from 1) and the field at fault, so that
    a form can put the message next to the value to correct."""

    def __init__(self, message: str, *, tier: int, field: str):
        super().__init__(message)
        self.tier = tier
        self.field = field


def brackets_from_rows(rows: Iterable[Sequence]) -> tuple[Bracket, ...]:
    """Brackets from rows of (floor, cap, max leverage, rate, amount), decimals as strings: the
    shape of Binance's leverageBracket, the seed data and the reference vectors."""
    return tuple(
        Bracket(Decimal(floor), Decimal(cap), int(leverage), Decimal(rate), Decimal(amount))
        for floor, cap, leverage, rate, amount in rows
    )


@exact
def brackets_with_amounts(rows: Iterable[Sequence]) -> tuple[Bracket, ...]:
    """Brackets from rows of (floor, cap, max leverage, rate), the part an operator types: each
    maintenance amount is computed from the recurrence (0 for the first tier), never typed."""
    brackets: list[Bracket] = []
    for floor, cap, leverage, rate in rows:
        amount = (
            brackets[-1].maintenance_amount + floor * (rate - brackets[-1].maintenance_margin_rate)
            if brackets
            else ZERO
        )
        brackets.append(Bracket(floor, cap, leverage, rate, amount))
    return tuple(brackets)


def bracket_for(brackets: Sequence[Bracket], notional: Decimal) -> Bracket:
    """The maintenance tier of a notional: the bracket with the highest floor <= notional (the
    lowest one if none is). Maintenance margin is continuous at a floor, so a notional on it has
    the same MM in either neighbour; which leverage it may use is ``leverage_check``'s rule."""
    if not brackets:
        raise ValueError("no leverage brackets")
    checked_decimal("notional", notional, non_negative=True)
    # One pass (a sweep looks brackets up some 40 times per liquidation): the first of the
    # highest floors reached, else the first of the lowest floors, as max and min would pick.
    reached = lowest = None
    for bracket in brackets:
        floor = bracket.notional_floor
        if floor <= notional:
            if reached is None or floor > reached.notional_floor:
                reached = bracket
        elif lowest is None or floor < lowest.notional_floor:
            lowest = bracket
    return lowest if reached is None else reached


def max_notional_at_leverage(brackets: Sequence[Bracket], leverage: int) -> Decimal:
    """The largest position notional allowed at ``leverage``: the cap of the highest bracket whose
    max leverage is at least ``leverage`` (0 when the leverage is above every bracket's). The cap
    itself is allowed, as the "maximum position at current leverage" an exchange shows."""
    checked_leverage(leverage)
    caps = [bracket.notional_cap for bracket in brackets if bracket.max_leverage >= leverage]
    return max(caps, default=ZERO)


@exact
def leverage_check(brackets: Sequence[Bracket], *, notional: Decimal, leverage: int) -> None:
    """Raise LeverageTooHigh, naming the cap, unless a position of ``notional`` may use
    ``leverage``."""
    checked_decimal("notional", notional, non_negative=True)
    checked_leverage(leverage)
    highest = max(bracket.max_leverage for bracket in brackets)
    if leverage > highest:
        raise LeverageTooHigh(f"Leverage {leverage}x is above the maximum of {highest}x.")
    cap = max_notional_at_leverage(brackets, leverage)
    if notional > cap:
        raise LeverageTooHigh(
            f"At {leverage}x the largest position is {cap.normalize():,f} USDT; this one would be "
            f"{notional.normalize():,f} USDT. Lower the leverage or the size."
        )


@exact
def brackets_validate(brackets: Sequence[Bracket]) -> None:
    """Raise BracketTableInvalid, naming the wrong tier and field, unless the table is valid (see
    the module)."""
    if not brackets:
        raise BracketTableInvalid(
            "a bracket table needs at least one bracket", tier=1, field="notional_floor"
        )
    first = brackets[0]
    if first.notional_floor != 0:
        raise BracketTableInvalid(
            "the first bracket must start at a notional of 0", tier=1, field="notional_floor"
        )
    if first.maintenance_amount != 0:
        raise BracketTableInvalid(
            "the first bracket's maintenance amount must be 0", tier=1, field="maintenance_amount"
        )
    for tier, bracket in enumerate(brackets, start=1):
        if bracket.maintenance_margin_rate * bracket.max_leverage >= 1:
            raise BracketTableInvalid(
                f"bracket {tier}: a maintenance margin rate of {bracket.maintenance_margin_rate} "
                f"would liquidate a position opened at {bracket.max_leverage}x at once",
                tier=tier,
                field="maintenance_margin_rate",
            )
    for tier, (lower, upper) in enumerate(pairwise(brackets), start=2):
        if upper.notional_floor != lower.notional_cap:
            raise BracketTableInvalid(
                f"bracket {tier} must start where bracket {tier - 1} ends",
                tier=tier,
                field="notional_floor",
            )
        if upper.maintenance_margin_rate <= lower.maintenance_margin_rate:
            raise BracketTableInvalid(
                f"bracket {tier} must have a higher maintenance margin rate",
                tier=tier,
                field="maintenance_margin_rate",
            )
        if upper.max_leverage > lower.max_leverage:
            raise BracketTableInvalid(
                f"bracket {tier} must not allow more leverage than bracket {tier - 1}",
                tier=tier,
                field="max_leverage",
            )
        expected = lower.maintenance_amount + upper.notional_floor * (
            upper.maintenance_margin_rate - lower.maintenance_margin_rate
        )
        if upper.maintenance_amount != expected:
            raise BracketTableInvalid(
                f"bracket {tier} must have a maintenance amount of {expected}",
                tier=tier,
                field="maintenance_amount",
            )
