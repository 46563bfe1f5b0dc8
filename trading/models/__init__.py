from trading.models.audit import AuditEntry
from trading.models.choices import (
    MarginMode,
    OrderSide,
    OrderType,
    PositionSide,
    TimeInForce,
    Venue,
)
from trading.models.drills import PriceDrill
from trading.models.funding import FundingPayment, FundingSettlement
from trading.models.heartbeats import Heartbeat
from trading.models.instruments import Instrument, InstrumentsVersion, LeverageBracket
from trading.models.leverage import LeverageSetting, SymbolMarginMode
from trading.models.liquidations import Deleveraging, LiquidationEvent, Notification
from trading.models.listen_keys import ListenKey
from trading.models.orders import Fill, Order
from trading.models.positions import Position
from trading.models.preferences import Preferences
from trading.models.prices import FeedStatus, MarkPrice, PriceCandle
from trading.models.sweeps import SweepRun
from trading.models.wallets import Journal, LedgerAccount, LedgerEntry, Wallet

__all__ = [
    "AuditEntry",
    "Deleveraging",
    "FeedStatus",
    "Fill",
    "FundingPayment",
    "FundingSettlement",
    "Heartbeat",
    "Instrument",
    "InstrumentsVersion",
    "Journal",
    "LedgerAccount",
    "LedgerEntry",
    "LeverageBracket",
    "LeverageSetting",
    "LiquidationEvent",
    "ListenKey",
    "MarginMode",
    "MarkPrice",
    "Notification",
    "Order",
    "OrderSide",
    "OrderType",
    "Position",
    "PositionSide",
    "Preferences",
    "PriceCandle",
    "PriceDrill",
    "SweepRun",
    "SymbolMarginMode",
    "TimeInForce",
    "Venue",
    "Wallet",
]
