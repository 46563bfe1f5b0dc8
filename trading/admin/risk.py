"""The risk dashboard (to be written)."""

from django.template.response import TemplateResponse


def risk_dashboard(request):
    return TemplateResponse(request, "admin/risk_dashboard.html", {})
