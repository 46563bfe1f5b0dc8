"""A Binance USD-M compatible facade (/fapi/...), so that an unmodified ccxt ``binanceusdm``
client (and any bot built on it) trades against marginsite by changing its base URL.

It is Binance: it lists only the instruments on Binance's rules (``FACADE_VENUE``), and the
positions and orders on them. A client keys markets by base, quote and settle (BTC/USDT:USDT),
so BTCUSDT and BTCUSDT-BYBIT side by side would make its market map ambiguous; an instrument on
another venue's rules is traded on the website and the native API, and is unknown here."""

from trading.models import Venue

FACADE_VENUE = Venue.BINANCE
