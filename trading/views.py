"""HTML and health views: thin, they only call selectors."""

from django.http import JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from trading.selectors import health_status, instrument_list


@require_GET
def home(request):
    return render(request, "home.html", {"instruments": instrument_list()})


@require_GET
def healthz(request):
    return JsonResponse(health_status())
