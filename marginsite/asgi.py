"""The ASGI application: HTTP goes to Django (through the access log, and spread over the workers:
marginsite/connection_spread.py), WebSockets to Binance's
streams (trading/binance/streams/: bots, which send no Origin and no cookie; the listen key is
the user stream's credential) or else to the live trade page's socket (trading/live/), signed in
by the session cookie and refused from another origin. Served by gunicorn's uvicorn workers
(Procfile)."""

import gc
import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marginsite.settings")
django.setup(set_prefix=False)  # before the routes import models; ASGI sets the prefix per request

from marginsite.asgi_handler import SyncChainASGIHandler  # noqa: E402

django_application = SyncChainASGIHandler()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.urls import re_path  # noqa: E402

from marginsite.access_log import AccessLog  # noqa: E402
from marginsite.connection_spread import ConnectionSpread  # noqa: E402
from trading.binance.streams.routing import websocket_urlpatterns as binance_streams  # noqa: E402
from trading.live.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": AccessLog(ConnectionSpread(django_application)),
        "websocket": URLRouter(
            [
                *binance_streams,
                re_path(
                    r"",
                    AllowedHostsOriginValidator(
                        AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
                    ),
                ),
            ]
        ),
    }
)

# What is loaded by now (Django, the apps, the routes) lives as long as the worker: moved out of
# the cycle collector's reach, a full collection walks the requests' own objects, not these
# 130,000 too, and pauses a request some 4 ms instead of 140 ms (docs/operations.md, "Order
# placement"). Start-up's own garbage is collected first, or it would be kept for good.
gc.collect()
gc.freeze()
