"""The admin back office: Django's admin site with the operator's own pages (the risk
dashboard) beside the model pages. Only staff get in; what each can do is their permissions
(superusers everything; the "support" group views only)."""

from django.contrib import admin
from django.urls import path

from accounts.forms import AdminLoginForm


class BackOfficeSite(admin.AdminSite):
    site_header = "marginsite back office"
    site_title = "marginsite back office"
    index_title = "Operator console"
    index_template = "admin/backoffice_index.html"
    login_form = AdminLoginForm  # a limit on wrong passwords (accounts/login_limits.py)

    def get_urls(self):
        from trading.admin.risk import risk_dashboard

        return [
            path("risk/", self.admin_view(risk_dashboard), name="risk_dashboard"),
            *super().get_urls(),
        ]
