from django.contrib import admin
from django.urls import include, path

from trading.views import markets

urlpatterns = [
    path("", markets.home, name="home"),
    path("healthz", markets.healthz, name="healthz"),
    path("", include("accounts.urls")),
    path("", include("trading.urls")),
    path("api/v1/", include("trading.api.urls")),
    path("fapi/", include("trading.binance.urls")),
    path("admin/", admin.site.urls),
]
