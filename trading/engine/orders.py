"""What an order costs, and what a fill does to the position of its margin mode (one-way mode:
an opposite fill reduces the position first, and only what is left over opens the other way)."""

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal, localcontext

from trading.engine.decimals import ZERO, checked_decimal, checked_leverage, exact
from trading.engine.margins import initial_margin
from trading.engine.positions import Side, checked_side


@dataclass(frozen=True)
class OrderCost:
    """``opening_quantity`` opens or increases the position and needs margin and a fee;
    ``reducing_quantity`` closes part of an opposite position and needs no margin."""

    opening_quantity: Decimal
    reducing_quantity: Decimal
    opening_notional: Decimal
    initial_margin: Decimal
    fee: Decimal
    total: Decimal


@dataclass(frozen=True)
class FillResult:
    """The position after a fill (side None and quantity 0 when it is flat), what the fill closed
    and opened, and the PnL it realized on the closed part."""

    side: Side | None
    quantity: Decimal
    entry_price: Decimal | None
    closed_quantity: Decimal
    opened_quantity: Decimal
    realized_pnl: Decimal


def _checked_position(position_side, position_quantity) -> Side | None:
    """The side of the position an order meets, None when flat."""
    checked_decimal("position_quantity", position_quantity, non_negative=True)
    if (position_side is None) != (position_quantity == 0):
        raise ValueError("a position has a side exactly when its quantity is above 0")
    return None if position_side is None else checked_side(position_side)


@exact
def order_cost(
    *,
    side: Side,
    quantity: Decimal,
    price: Decimal,
    leverage: int,
    fee_rate: Decimal,
    position_side: Side | None = None,
    position_quantity: Decimal = ZERO,
) -> OrderCost:
    """Initial margin + fee for the part of an order that opens or increases a position."""
    side = checked_side(side)
    checked_decimal("quantity", quantity, positive=True)
    checked_decimal("price", price, positive=True)
    checked_decimal("fee_rate", fee_rate, non_negative=True)
    position_side = _checked_position(position_side, position_quantity)
    opposite = position_side is not None and position_side != side
    reducing = min(position_quantity, quantity) if opposite else ZERO
    opening = quantity - reducing
    notional = opening * price
    margin = initial_margin(notional, leverage)
    fee = notional * fee_rate
    return OrderCost(
        opening_quantity=opening,
        reducing_quantity=reducing,
        opening_notional=notional,
        initial_margin=margin,
        fee=fee,
        total=margin + fee,
    )


@exact
def position_after_fill(
    *,
    position_side: Side | None,
    position_quantity: Decimal,
    entry_price: Decimal | None,
    fill_side: Side,
    fill_quantity: Decimal,
    fill_price: Decimal,
) -> FillResult:
    """Increase: quantity-weighted entry. Reduce: entry unchanged, PnL realized on the closed
    part. Flip: the remainder opens the other way at the fill price."""
    fill_side = checked_side(fill_side)
    checked_decimal("fill_quantity", fill_quantity, positive=True)
    checked_decimal("fill_price", fill_price, positive=True)
    position_side = _checked_position(position_side, position_quantity)
    if position_side is None:
        return FillResult(fill_side, fill_quantity, fill_price, ZERO, fill_quantity, ZERO)
    checked_decimal("entry_price", entry_price, positive=True)
    if position_side == fill_side:
        quantity = position_quantity + fill_quantity
        entry = (position_quantity * entry_price + fill_quantity * fill_price) / quantity
        return FillResult(position_side, quantity, entry, ZERO, fill_quantity, ZERO)
    closed = min(position_quantity, fill_quantity)
    realized = position_side * closed * (fill_price - entry_price)
    if fill_quantity < position_quantity:
        left = position_quantity - fill_quantity
        return FillResult(position_side, left, entry_price, closed, ZERO, realized)
    if fill_quantity == position_quantity:
        return FillResult(None, ZERO, None, closed, ZERO, realized)
    opened = fill_quantity - position_quantity
    return FillResult(fill_side, opened, fill_price, closed, opened, realized)


@exact
def quantity_for_cost(
    *, cost: Decimal, leverage: int, price: Decimal, step_size: Decimal
) -> Decimal:
    """The largest quantity on the step whose initial margin at ``price`` is at most ``cost``:
    cost x leverage / price, rounded down to ``step_size``. The division rounds down too, so a
    quotient just under a step is never taken for the step."""
    checked_decimal("cost", cost, positive=True)
    checked_leverage(leverage)
    checked_decimal("price", price, positive=True)
    checked_decimal("step_size", step_size, positive=True)
    with localcontext() as context:
        context.rounding = ROUND_FLOOR
        steps = (cost * leverage / (price * step_size)).to_integral_value()
    return (steps * step_size).quantize(step_size)
