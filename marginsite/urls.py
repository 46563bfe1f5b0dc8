from django.contrib import admin
from django.urls import include, path
from django.views.generic import TemplateView
from drf_spectacular.views import SpectacularAPIView

from trading.views import markets

urlpatterns = [
    path("", markets.home, name="home"),
    path("healthz", markets.healthz, name="healthz"),
    # the bots' paths before the pages': Django tries each pattern in turn, on every request
    path("api/v1/", include("trading.api.urls")),
    path("fapi/", include("trading.binance.urls")),
    path("futures/data/", include("trading.binance.data_urls")),
    path("", include("accounts.urls")),
    path("", include("trading.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    path("api/docs/", TemplateView.as_view(template_name="api_docs.html"), name="api_docs"),
    path("admin/", admin.site.urls),
]

# a dependency that is down answers 503 (marginsite/unavailable.py), anything else 500
handler500 = "marginsite.unavailable.server_error"
