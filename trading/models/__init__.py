from trading.models.choices import MarginMode, OrderSide, OrderType, PositionSide
from trading.models.heartbeats import Heartbeat
from trading.models.instruments import Instrument, LeverageBracket
from trading.models.leverage import LeverageSetting, SymbolMarginMode
from trading.models.orders import Fill, Order
from trading.models.positions import Position
from trading.models.prices import MarkPrice
from trading.models.wallets import LedgerAccount, LedgerEntry, Wallet

__all__ = [
    "Fill",
    "Heartbeat",
    "Instrument",
    "LedgerAccount",
    "LedgerEntry",
    "LeverageBracket",
    "LeverageSetting",
    "MarginMode",
    "MarkPrice",
    "Order",
    "OrderSide",
    "OrderType",
    "Position",
    "PositionSide",
    "SymbolMarginMode",
    "Wallet",
]
