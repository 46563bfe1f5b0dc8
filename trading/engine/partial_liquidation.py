"""How much of a position a partial liquidation step keeps (pure quantities, no money).

Binance USD-M: a position above its table's first bracket is reduced one bracket at a time: to
the largest size whose notional at the mark is at most the floor of its current bracket, the cap
of the one below, so its maintenance rate drops a tier. A position in the first bracket has no
lower tier to go to: it is closed. Hyperliquid: a position above a notional threshold is reduced
by a fixed fraction.
"""

from decimal import ROUND_DOWN, ROUND_UP, Decimal

from trading.engine.brackets import bracket_for
from trading.engine.decimals import ZERO, checked_decimal, exact
from trading.engine.positions import PositionState


def _on_step(quantity: Decimal, step_size: Decimal, rounding=ROUND_DOWN) -> Decimal:
    return (quantity / step_size).to_integral_value(rounding=rounding) * step_size


@exact
def bracket_step_keep(position: PositionState, *, step_size: Decimal) -> Decimal | None:
    """The size kept after one bracket step down (Binance); None: nothing can be kept, the
    position is in its first bracket (or one step would leave less than a step)."""
    checked_decimal("step_size", step_size, positive=True)
    bracket = bracket_for(position.brackets, position.notional)
    if bracket.notional_floor == 0:
        return None
    kept = _on_step(bracket.notional_floor / position.mark_price, step_size)
    return kept if ZERO < kept < position.quantity else None


@exact
def fraction_keep(
    position: PositionState, *, step_size: Decimal, above_notional: Decimal, fraction: Decimal
) -> Decimal | None:
    """The size kept after sending ``fraction`` of a position whose notional at the mark is above
    ``above_notional`` (Hyperliquid), at least one step; None: the position is closed whole."""
    checked_decimal("step_size", step_size, positive=True)
    if position.notional <= above_notional:
        return None
    kept = position.quantity - _on_step(position.quantity * fraction, step_size, ROUND_UP)
    return kept if ZERO < kept < position.quantity else None
