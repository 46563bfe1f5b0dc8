"""Margin figures of a single position, valued at its mark price."""

from decimal import Decimal

from trading.engine.brackets import bracket_for
from trading.engine.decimals import checked_decimal, checked_leverage, exact, exact_once
from trading.engine.positions import PositionState


@exact
def initial_margin(notional: Decimal, leverage: int) -> Decimal:
    """Initial margin = N / leverage."""
    checked_decimal("notional", notional, non_negative=True)
    return notional / checked_leverage(leverage)


@exact_once(PositionState)
def maintenance_margin(position: PositionState) -> Decimal:
    """MM = N x MMR - maintenance amount, with the bracket of N at the mark."""
    notional = position.notional
    bracket = bracket_for(position.brackets, notional)
    return notional * bracket.maintenance_margin_rate - bracket.maintenance_amount


@exact_once(PositionState)
def unrealized_pnl(position: PositionState) -> Decimal:
    """uPnL = s x q x (MP - EP)."""
    return position.side * position.quantity * (position.mark_price - position.entry_price)
