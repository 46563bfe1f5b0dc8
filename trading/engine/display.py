"""Rounding for display, the only rounding the engine offers: a price shown to the tick is moved
to the safe side, so a trader is never told a liquidation is further away than it is."""

from decimal import Decimal

from trading.engine.decimals import checked_decimal, exact
from trading.engine.positions import Side, checked_side


@exact
def liquidation_price_for_display(
    price: Decimal | None, *, side: Side, tick_size: Decimal
) -> Decimal | None:
    """A long's liquidation price rounded up to the tick, a short's down; None stays None."""
    if price is None:
        return None
    side = checked_side(side)
    checked_decimal("tick_size", tick_size, positive=True)
    # divmod is exact (a division would round at the context's precision and could land a price a
    # hair above a tick on the tick itself, the unsafe side for a long).
    ticks, remainder = divmod(price, tick_size)
    if remainder and side == Side.LONG:
        ticks += 1
    return ticks * tick_size
