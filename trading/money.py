"""Rounding at the boundary between the exact engine and the 8-decimal database columns, each with
a named direction: what the user must pay (margin, fees) rounds up, what the user receives
(released margin, realized PnL) rounds down, so rounding never creates money."""

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

QUANTUM = Decimal("1e-8")
ZERO = Decimal(0)


def money_owed(amount: Decimal) -> Decimal:
    """A requirement (margin, fee): rounded up to the cent's millionth, against the user."""
    return amount.quantize(QUANTUM, rounding=ROUND_CEILING)


def money_received(amount: Decimal) -> Decimal:
    """An amount paid to the user (PnL, released margin): rounded down; a loss rounds away from 0,
    so a realized loss is never smaller than the exact one."""
    return amount.quantize(QUANTUM, rounding=ROUND_FLOOR)


def price_stored(price: Decimal) -> Decimal:
    """A computed price (a quantity-weighted entry) as the column holds it."""
    return price.quantize(QUANTUM, rounding=ROUND_HALF_EVEN)


def usdt(amount: Decimal) -> str:
    """An amount for a message: thousands separators, no trailing zeros ("2,024.5")."""
    return f"{amount.normalize():,f}"
