from django.urls import path, re_path

from trading.api import views

urlpatterns = [
    path("instruments", views.InstrumentList.as_view(), name="api_instruments"),
    path("instruments/<str:symbol>", views.InstrumentDetail.as_view(), name="api_instrument"),
    path("account", views.Account.as_view(), name="api_account"),
    path("orders", views.Orders.as_view(), name="api_orders"),
    path("orders/preview", views.OrderPreview.as_view(), name="api_order_preview"),
    path("orders/<int:order_id>", views.OrderDetail.as_view(), name="api_order"),
    path("positions", views.Positions.as_view(), name="api_positions"),
    path("positions/close-all", views.PositionsCloseAll.as_view(), name="api_positions_close_all"),
    path("positions/<int:position_id>", views.PositionDetail.as_view(), name="api_position"),
    path(
        "positions/<int:position_id>/tpsl", views.PositionTpsl.as_view(), name="api_position_tpsl"
    ),
    path(
        "positions/<int:position_id>/reverse",
        views.PositionReverse.as_view(),
        name="api_position_reverse",
    ),
    path(
        "positions/<int:position_id>/close",
        views.PositionClose.as_view(),
        name="api_position_close",
    ),
    path(
        "positions/<int:position_id>/margin",
        views.PositionMargin.as_view(),
        name="api_position_margin",
    ),
    path(
        "positions/<int:position_id>/margin-mode",
        views.PositionMarginMode.as_view(),
        name="api_position_margin_mode",
    ),
    path("fills", views.Fills.as_view(), name="api_fills"),
    path("ledger", views.Ledger.as_view(), name="api_ledger"),
    path("ledger.csv", views.LedgerCsv.as_view(), name="api_ledger_csv"),
    path("liquidations", views.Liquidations.as_view(), name="api_liquidations"),
    path(
        "liquidations/<int:event_id>",
        views.LiquidationDetail.as_view(),
        name="api_liquidation",
    ),
    path("funding-payments", views.FundingPayments.as_view(), name="api_funding_payments"),
    path("marks", views.Marks.as_view(), name="api_marks"),
    path("marks/<str:symbol>", views.MarkDetail.as_view(), name="api_mark"),
    path("candles/<str:symbol>", views.Candles.as_view(), name="api_candles"),
    path("book/<str:symbol>", views.Book.as_view(), name="api_book"),
    path("preferences", views.UserPreferences.as_view(), name="api_preferences"),
    path(
        "symbols/<str:symbol>/margin-mode",
        views.SymbolMarginMode.as_view(),
        name="api_symbol_margin_mode",
    ),
    path("symbols/<str:symbol>/leverage", views.SymbolLeverage.as_view(), name="api_leverage"),
    re_path(r"^[\s\S]*$", views.NoSuchEndpoint.as_view()),
]
