from django.urls import path

from trading.live.consumers import TradeConsumer
from trading.live.paths import TRADE_SOCKET

websocket_urlpatterns = [path(TRADE_SOCKET, TradeConsumer.as_asgi())]
