"""The enumerations every trading table shares (values are the public API's strings)."""

from django.db import models


class MarginMode(models.TextChoices):
    CROSS = "CROSS", "Cross"
    ISOLATED = "ISOLATED", "Isolated"


class Venue(models.TextChoices):
    """The venue whose rules an instrument's margin and liquidation follow
    (trading/domain/venues.py)."""

    BINANCE = "BINANCE", "Binance USD-M"
    BYBIT = "BYBIT", "Bybit USDT perpetual"
    HYPERLIQUID = "HYPERLIQUID", "Hyperliquid perps"


class PositionSide(models.TextChoices):
    LONG = "LONG", "Long"
    SHORT = "SHORT", "Short"


class OrderSide(models.TextChoices):
    BUY = "BUY", "Buy"
    SELL = "SELL", "Sell"


class OrderType(models.TextChoices):
    MARKET = "MARKET", "Market"
    LIMIT = "LIMIT", "Limit"
    STOP_MARKET = "STOP_MARKET", "Stop market"
    TAKE_PROFIT_MARKET = "TAKE_PROFIT_MARKET", "Take profit market"
    TRAILING_STOP_MARKET = "TRAILING_STOP_MARKET", "Trailing stop market"


class TimeInForce(models.TextChoices):
    """How long a LIMIT order stays on the book (Binance's values)."""

    GTC = "GTC", "Good till canceled"
    IOC = "IOC", "Immediate or cancel"
    FOK = "FOK", "Fill or kill"
    GTX = "GTX", "Post only"
