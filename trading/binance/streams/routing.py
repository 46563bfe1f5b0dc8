"""Where Binance's streams are, as ccxt pro finds them from a base URL ``ws://<site>/ws``: it
opens ``/market/ws/<n>`` (tickers, mark prices, candles) and ``/public/ws/<n>`` (books, best bid
and ask), one socket per watch, and ``/private/ws?listenKey=`` for the user data stream.
``/ws`` itself serves the market streams too (Binance's raw stream address)."""

from django.urls import path, re_path

from trading.binance.streams.consumers import MarketStreamConsumer, UserDataStreamConsumer

websocket_urlpatterns = [
    re_path(r"^(?:market|public)/ws(?:/[0-9]+)?$", MarketStreamConsumer.as_asgi()),
    path("ws", MarketStreamConsumer.as_asgi()),
    path("private/ws", UserDataStreamConsumer.as_asgi()),
]
