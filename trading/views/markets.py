"""The markets page and the health check: thin, they only call selectors."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from trading.selectors import health_status, instrument_list


@require_GET
def home(request):
    return render(request, "home.html", {"instruments": instrument_list()})


@require_GET
def healthz(request):
    """200 when everything answers, 503 otherwise, so a monitor needs only the status code."""
    health = health_status()
    return JsonResponse(health, status=200 if health["status"] == "ok" else 503)
