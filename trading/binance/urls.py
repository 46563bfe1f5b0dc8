"""Binance USD-M's paths under /fapi/ (marginsite/urls.py mounts this module there)."""

from django.urls import path

from trading.binance import views

urlpatterns = [
    path("v1/ping", views.Ping.as_view()),
    path("v1/time", views.ServerTime.as_view()),
    path("v1/exchangeInfo", views.ExchangeInfo.as_view()),
    path("v1/ticker/24hr", views.Ticker24h.as_view()),
    path("v1/ticker/price", views.TickerPrice.as_view()),
    path("v2/ticker/price", views.TickerPrice.as_view()),
    path("v1/premiumIndex", views.PremiumIndex.as_view()),
    path("v1/klines", views.Klines.as_view()),
    path("v1/markPriceKlines", views.Klines.as_view()),
    path("v1/depth", views.Depth.as_view()),
    path("v2/account", views.Account.as_view()),
    path("v3/account", views.Account.as_view()),
    path("v2/balance", views.Balance.as_view()),
    path("v3/balance", views.Balance.as_view()),
    path("v2/positionRisk", views.PositionRisk.as_view()),
    path("v3/positionRisk", views.PositionRisk.as_view()),
    path("v1/leverageBracket", views.LeverageBracket.as_view()),
    path("v1/symbolConfig", views.SymbolConfig.as_view()),
    path("v1/leverage", views.Leverage.as_view()),
    path("v1/marginType", views.MarginType.as_view()),
    path("v1/positionMargin", views.PositionMargin.as_view()),
    path("v1/positionSide/dual", views.PositionSideDual.as_view()),
    path("v1/income", views.Income.as_view()),
    path("v1/order", views.OrderView.as_view()),
    path("v1/openOrders", views.OpenOrders.as_view()),
    path("v1/allOrders", views.AllOrders.as_view()),
    path("v1/allOpenOrders", views.AllOpenOrders.as_view()),
    path("v1/userTrades", views.UserTrades.as_view()),
    path("v1/algoOrder", views.AlgoOrder.as_view()),
    path("v1/openAlgoOrders", views.OpenAlgoOrders.as_view()),
    path("v1/allAlgoOrders", views.AllAlgoOrders.as_view()),
    path("v1/algoOpenOrders", views.AlgoOpenOrders.as_view()),
]
