"""Binance USD-M's WebSocket streams (market data and the user data stream of a listen key), so
that ccxt pro's ``binanceusdm`` watches marginsite as it watches Binance: routing.py, routed by
marginsite/asgi.py."""
