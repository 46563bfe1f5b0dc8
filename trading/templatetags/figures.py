"""Template filters that format Decimal figures without ever going through float."""

from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from django import template

from trading.domain.triggers import trailing_stop_price

register = template.Library()

CENT = Decimal("0.01")


@register.filter
def percent(rate: Decimal) -> str:
    """0.0005 -> "0.05": a rate as a percentage, all its digits, no trailing zeros."""
    return format((rate * 100).normalize(), "f")


@register.filter
def plain(value: Decimal) -> str:
    """For a form field: all the digits, no exponent, no trailing zeros (10 -> "10", not
    "1E+1")."""
    return format(value.normalize(), "f")


@register.filter
def grouped(amount: Decimal) -> str:
    """1200000000.00000000 -> "1,200,000,000": thousands separators, no trailing zeros."""
    return format(amount.normalize(), ",f")


def _quantized(value: Decimal, quantum: Decimal) -> Decimal:
    """Rounded to the quantum; a zero loses its sign (no "-0.00" for a flat uPnL)."""
    rounded = value.quantize(quantum.normalize(), rounding=ROUND_HALF_EVEN)
    return rounded.copy_abs() if rounded.is_zero() else rounded


@register.filter
def to_tick(price: Decimal | None, tick_size: Decimal) -> str:
    """A price on the instrument's tick, grouped: 57236.18090452 with tick 0.1 -> "57,236.2".
    None (no price) -> "—". Liquidation prices are rounded on the safe side before they get
    here (engine.liquidation_price_for_display)."""
    if price is None:
        return "—"
    return format(_quantized(price, tick_size), ",f")


@register.filter
def to_step(quantity: Decimal, step_size: Decimal) -> str:
    """A quantity on the instrument's step: 1.50000000 with step 0.001 -> "1.500"."""
    return format(_quantized(quantity, step_size), ",f")


@register.filter
def usdt(amount: Decimal | None) -> str:
    """An amount of USDT to the cent, grouped: 9969.5 -> "9,969.50"; None -> "—"."""
    if amount is None:
        return "—"
    return format(_quantized(amount, CENT), ",f")


@register.filter
def ratio(value: Decimal | None) -> str:
    """A fraction as a percentage to 2 decimals: 0.0512 -> "5.12 %"; None (the margin balance is
    gone) -> "—"."""
    if value is None:
        return "—"
    return f"{_quantized(value * 100, CENT):f} %"


@register.filter
def health(value: Decimal | None) -> str:
    """The health bar's colour for a cross margin ratio: green below 50 %, amber below 80 %, red
    from 80 % (and when the margin balance is gone)."""
    if value is None or value >= Decimal("0.8"):
        return "red"
    return "amber" if value >= Decimal("0.5") else "green"


@register.filter
def meter(value: Decimal | None) -> int:
    """The health bar's fill, 0 to 100: a ratio past 100 % (or gone, None) fills it."""
    if value is None:
        return 100
    return min(100, int((value * 100).to_integral_value()))


@register.filter
def every(interval: timedelta) -> str:
    """An interval as a trader reads it: 8 h, 30 min, 7.5 s."""
    seconds = Decimal(interval / timedelta(microseconds=1)) / 1_000_000
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:f} {unit}"
    return f"{seconds.normalize():f} s"


@register.filter
def trailing_trigger(order) -> Decimal | None:
    """The mark at which an active trailing stop triggers now (None: not active yet), by the
    trigger rule (trading/domain/triggers.py)."""
    if order.trailing_extreme is None:
        return None
    return trailing_stop_price(
        side=order.side, extreme=order.trailing_extreme, callback_rate=order.callback_rate
    )
