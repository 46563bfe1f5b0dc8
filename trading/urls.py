from django.urls import path

from trading.views import history, leverage, notifications, positions, settings, trade

urlpatterns = [
    path("trade/", trade.trade_default, name="trade_default"),
    path("trade/<str:symbol>/", trade.trade_page, name="trade"),
    path("trade/<str:symbol>/confirm/", trade.order_confirm, name="order_confirm"),
    path("trade/<str:symbol>/place/", trade.order_submit, name="order_submit"),
    path("trade/<str:symbol>/leverage/", leverage.leverage_update, name="leverage_update"),
    path("trade/<str:symbol>/live/", trade.live, name="live"),
    path("portfolio/", positions.portfolio, name="portfolio"),
    path("positions/<int:position_id>/close/", positions.position_close, name="position_close"),
    path(
        "positions/<int:position_id>/close-limit/",
        positions.position_close_limit,
        name="position_close_limit",
    ),
    path("positions/<int:position_id>/margin/", positions.position_margin, name="position_margin"),
    path("positions/<int:position_id>/tpsl/", positions.position_tpsl, name="position_tpsl"),
    path(
        "positions/<int:position_id>/reverse/",
        positions.position_reverse,
        name="position_reverse",
    ),
    path("positions/close-all/", positions.positions_close_all, name="positions_close_all"),
    path("orders/<int:order_id>/cancel/", history.order_cancel, name="order_cancel"),
    path("orders/<int:order_id>/edit/", history.order_edit, name="order_edit"),
    path("history/orders/", history.order_history, name="order_history"),
    path("history/trades/", history.trade_history, name="trade_history"),
    path("history/ledger/", history.ledger, name="ledger"),
    path("history/ledger.csv", history.ledger_csv, name="ledger_csv"),
    path("history/liquidations/", history.liquidation_list, name="liquidation_list"),
    path(
        "history/liquidations/<int:event_id>/",
        history.liquidation_detail,
        name="liquidation_detail",
    ),
    path("notifications/dismiss/", notifications.dismiss, name="notifications_dismiss"),
    path("settings/", settings.settings_page, name="settings"),
    path("settings/default-mode/", settings.default_mode_update, name="settings_default_mode"),
    path("settings/symbol-mode/", settings.symbol_mode_update, name="settings_symbol_mode"),
    path("settings/leverage/", settings.leverage_update, name="settings_leverage"),
    path("settings/reset/", settings.account_reset, name="settings_reset"),
    path("settings/api-keys/", settings.api_key_add, name="settings_api_key_add"),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        settings.api_key_remove,
        name="settings_api_key_revoke",
    ),
]
