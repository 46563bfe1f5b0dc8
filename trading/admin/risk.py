"""The risk dashboard: a page of the back office (not a model's), for staff who may view
positions. Thin: one selector, one template; it reloads itself every REFRESH_SECONDS so that a
drill or a crash can be watched as it happens."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse

from trading.selectors.risk_dashboard import risk_dashboard_load

REFRESH_SECONDS = 5


def risk_dashboard(request):
    if not request.user.has_perm("trading.view_position"):
        raise PermissionDenied
    context = {
        **admin.site.each_context(request),
        "title": "Risk dashboard",
        "dashboard": risk_dashboard_load(),
        "refresh_seconds": REFRESH_SECONDS,
    }
    return TemplateResponse(request, "admin/risk_dashboard.html", context)
