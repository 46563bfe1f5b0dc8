"""Where the trade page's socket is, for the page (views) and for the router (routing.py)."""

TRADE_SOCKET = "live/trade/<str:symbol>/"


def trade_socket_path(symbol: str) -> str:
    return "/" + TRADE_SOCKET.replace("<str:symbol>", symbol)
