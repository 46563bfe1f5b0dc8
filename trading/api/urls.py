from django.urls import path

from trading.api import views

urlpatterns = [
    path("instruments", views.InstrumentList.as_view(), name="api_instruments"),
    path("instruments/<str:symbol>", views.InstrumentDetail.as_view(), name="api_instrument"),
    path("account", views.Account.as_view(), name="api_account"),
    path("orders", views.Orders.as_view(), name="api_orders"),
    path("orders/preview", views.OrderPreview.as_view(), name="api_order_preview"),
    path("orders/<int:order_id>", views.OrderDetail.as_view(), name="api_order"),
    path("positions", views.Positions.as_view(), name="api_positions"),
]
