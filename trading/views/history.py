"""Open orders and history. (Being written.)"""

from django.http import Http404


def order_cancel(request, order_id):
    raise Http404


def order_history(request):
    raise Http404


def trade_history(request):
    raise Http404


def ledger(request):
    raise Http404


def ledger_csv(request):
    raise Http404


def liquidation_list(request):
    raise Http404


def liquidation_detail(request, event_id):
    raise Http404
