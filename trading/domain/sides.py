"""The sides, written once: a position's LONG/SHORT and an order's BUY/SELL as the engine's +1/-1,
and the order side that reduces a position."""

from trading.engine import Side
from trading.models import OrderSide, PositionSide


def engine_side(side: str) -> Side:
    """A position's side as the engine's."""
    return Side.LONG if side == PositionSide.LONG else Side.SHORT


def position_side(side: int) -> str:
    """The engine's side as a position's."""
    return PositionSide.LONG if side == Side.LONG else PositionSide.SHORT


def order_sign(side: str) -> int:
    """+1 for a buy, -1 for a sell."""
    return 1 if side == OrderSide.BUY else -1


def closing_side(side: str) -> str:
    """The order side that reduces a position of ``side``."""
    return OrderSide.SELL if side == PositionSide.LONG else OrderSide.BUY
