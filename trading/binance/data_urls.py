"""Binance's /futures/data/ paths (ccxt's ``fapiData`` URL: open interest and long/short ratio
statistics). marginsite keeps no such statistics, so every path there is refused in Binance's
shape (marginsite/urls.py mounts this module), never with Django's HTML page."""

from django.urls import re_path

from trading.binance import views

urlpatterns = [re_path(r"", views.UnknownPath.as_view())]
