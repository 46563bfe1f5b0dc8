from django.contrib import admin
from django.urls import path

from trading import views as trading_views

urlpatterns = [
    path("", trading_views.home, name="home"),
    path("healthz", trading_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
