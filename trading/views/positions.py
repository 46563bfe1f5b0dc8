"""Positions: /portfolio, closing, isolated margin add/remove. (Being written.)"""

from django.http import Http404


def portfolio(request):
    raise Http404


def position_close(request, position_id):
    raise Http404


def position_close_limit(request, position_id):
    raise Http404


def position_margin(request, position_id):
    raise Http404
