from django.contrib.auth import views as auth_views
from django.urls import path

from accounts import views

urlpatterns = [
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path(
        "password/",
        auth_views.PasswordChangeView.as_view(),
        name="password_change",
    ),
    path(
        "password/done/",
        auth_views.PasswordChangeDoneView.as_view(),
        name="password_change_done",
    ),
    path("settings/", views.settings_page, name="settings"),
    path("settings/default-mode/", views.default_mode_update, name="settings_default_mode"),
    path("settings/symbol-mode/", views.symbol_mode_update, name="settings_symbol_mode"),
    path("settings/leverage/", views.leverage_update, name="settings_leverage"),
    path("settings/reset/", views.account_reset, name="settings_reset"),
    path("settings/api-keys/", views.api_key_add, name="settings_api_key_add"),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        views.api_key_remove,
        name="settings_api_key_revoke",
    ),
]
