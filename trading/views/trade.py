"""The trade page and its confirmation step. (Being written.)"""

from django.http import Http404


def trade_default(request):
    raise Http404


def trade_page(request, symbol):
    raise Http404


def order_confirm(request, symbol):
    raise Http404


def order_submit(request, symbol):
    raise Http404


def leverage_update(request, symbol):
    raise Http404


def live(request, symbol):
    raise Http404
