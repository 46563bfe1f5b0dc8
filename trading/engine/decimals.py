"""Decimal discipline for the margin engine.

Every engine function computes inside one fixed context (50 significant digits, half-even), so the
result never depends on whatever context the caller left behind, and floats are refused at the door
because a binary fraction would leak rounding into money.
"""

import functools
from decimal import Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext

ENGINE_CONTEXT = Context(prec=50, traps=[InvalidOperation, DivisionByZero, Overflow])
ZERO = Decimal(0)


def exact(function):
    """Run ``function`` in the engine's own Decimal context."""

    @functools.wraps(function)
    def in_engine_context(*args, **kwargs):
        with localcontext(ENGINE_CONTEXT):
            return function(*args, **kwargs)

    return in_engine_context


def checked_decimal(name, value, *, positive=False, non_negative=False):
    """Return ``value`` if it is a finite Decimal within the stated bound, else raise."""
    if not isinstance(value, Decimal):
        raise TypeError(f"{name} must be a Decimal, not {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, not {value}")
    if positive and value <= 0:
        raise ValueError(f"{name} must be greater than 0, not {value}")
    if non_negative and value < 0:
        raise ValueError(f"{name} must not be negative, not {value}")
    return value


def checked_leverage(leverage):
    """Leverage is a whole number of at least 1 (an int, never a bool or a float)."""
    if isinstance(leverage, bool) or not isinstance(leverage, int):
        raise TypeError(f"leverage must be an int, not {type(leverage).__name__}")
    if leverage < 1:
        raise ValueError(f"leverage must be at least 1, not {leverage}")
    return leverage
