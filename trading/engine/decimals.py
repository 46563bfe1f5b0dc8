"""Decimal discipline for the margin engine.

Every engine function computes inside one fixed context (50 significant digits, half-even), so the
result never depends on whatever context the caller left behind, and floats are refused at the door
because a binary fraction would leak rounding into money.
"""

import functools
from decimal import (
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
    getcontext,
    setcontext,
)

ENGINE_CONTEXT = Context(prec=50, traps=[InvalidOperation, DivisionByZero, Overflow])
ZERO = Decimal(0)


class _EngineRun(Context):
    """The context an engine call runs in: ENGINE_CONTEXT's settings, its type the mark that an
    engine call is under way. Engine functions call each other (a sweep's one liquidation makes
    some 100 such calls), and a nested call that finds it current runs in it as it is instead of
    setting the same context again. Nothing changes it in place: a ``localcontext()`` inside
    the engine works on a copy, a plain Context, under which an engine call sets its own."""


_SETTINGS = {
    "prec": ENGINE_CONTEXT.prec,
    "rounding": ENGINE_CONTEXT.rounding,
    "Emin": ENGINE_CONTEXT.Emin,
    "Emax": ENGINE_CONTEXT.Emax,
    "capitals": ENGINE_CONTEXT.capitals,
    "clamp": ENGINE_CONTEXT.clamp,
    "traps": [signal for signal, trapped in ENGINE_CONTEXT.traps.items() if trapped],
}


def exact(function):
    """Run ``function`` in the engine's own Decimal context (the caller's, whatever it is, is
    back when it returns or raises)."""

    @functools.wraps(function)
    def in_engine_context(*args, **kwargs):
        caller = getcontext()
        if type(caller) is _EngineRun:
            return function(*args, **kwargs)
        setcontext(_EngineRun(**_SETTINGS))
        try:
            return function(*args, **kwargs)
        finally:
            setcontext(caller)

    return in_engine_context


def exact_once(kind: type):
    """``exact``, for a function of one frozen value of type ``kind``, its result kept on that
    value the first time: the value never changes (a changed position or holding is a new one),
    and an account's figures, the liquidation prices and a liquidation's steps ask for the same
    figure of the same value again and again. Any other argument (a look-alike that could
    change) is computed each time."""

    def decorate(function):
        name = f"_{function.__name__}"
        computed = exact(function)

        @functools.wraps(function)
        def once(value):
            if type(value) is not kind:
                return computed(value)
            kept = value.__dict__
            if name not in kept:
                kept[name] = computed(value)
            return kept[name]

        return once

    return decorate


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
