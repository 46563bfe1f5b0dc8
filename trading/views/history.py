"""Open orders and history: editing and cancelling an order, the order and trade history, the
ledger (and its CSV) and the liquidation receipts. Thin: each reads its input, calls one selector
(and, to edit, cancel or mark liquidation notices read, one service) and renders or redirects."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from marginsite.errors import ApplicationError, NotFound
from trading import services
from trading.csv_download import csv_download
from trading.models import LedgerEntry
from trading.selectors import history
from trading.views.common import refused

LEDGER_TEMPLATE = "trading/history/ledger.html"
CSV_COLUMNS = ["id", "time_utc", "kind", "symbol", "amount_usdt", "from", "to", "memo"]


def _order_history(request, *, status: int = 200):
    page = history.order_page(user=request.user, page=request.GET.get("page"))
    context = {"page": page, "tab": "orders"}
    return render(request, "trading/history/orders.html", context, status=status)


@login_required
@require_POST
def order_cancel(request, order_id):
    """A refusal (not the user's order, already filled...) is shown on the order history with its
    status; success goes back where the form was (``next``, if it is on this site)."""
    try:
        order = services.order_cancel(user=request.user, order_id=order_id)
    except ApplicationError as error:
        messages.error(request, error.message)
        return _order_history(request, status=error.status)
    messages.success(
        request,
        f"Order {order.pk} canceled ({order.instrument.symbol} "
        f"{order.get_order_type_display().lower()} {order.get_side_display().lower()}).",
    )
    back = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(back if safe else reverse("order_history"))


@login_required
@require_POST
def order_edit(request, order_id):
    """A resting limit order's new quantity and price (the open orders panel's Edit). A refusal
    is shown on the order history with its status, as for a cancel; success goes back where the
    form was (``next``)."""
    try:
        order = services.order_edit(
            user=request.user,
            order_id=order_id,
            quantity=request.POST.get("quantity", "").strip(),
            price=request.POST.get("price", "").strip(),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return _order_history(request, status=error.status)
    messages.success(request, _edited(order))
    back = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(
        back, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return redirect(back if safe else reverse("order_history"))


def _edited(order) -> str:
    if order.status == order.Status.NEW:
        filled = order.filled_quantity
        so_far = (
            f" ({filled.normalize():f} filled so far, at an average of "
            f"{order.average_fill_price.normalize():f})"
            if filled
            else ""
        )
        return (
            f"Order {order.pk} now {order.get_side_display().lower()}s "
            f"{order.quantity.normalize():f} {order.instrument.base_asset} at "
            f"{order.price.normalize():f}{so_far}."
        )
    return (
        f"Order {order.pk}'s new price crossed the book: {order.filled_quantity.normalize():f} "
        f"{order.instrument.base_asset} filled at {order.average_fill_price.normalize():f} "
        f"({order.get_status_display().lower()})."
    )


@login_required
@require_GET
def order_history(request):
    return _order_history(request)


@login_required
@require_GET
def trade_history(request):
    page = history.fill_page(user=request.user, page=request.GET.get("page"))
    return render(request, "trading/history/trades.html", {"page": page, "tab": "trades"})


def _ledger_context(kind: str) -> dict:
    return {
        "tab": "ledger",
        "kind": kind,
        "kinds": LedgerEntry.Kind.choices,
        "filter_query": urlencode({"kind": kind}) if kind else "",
    }


@login_required
@require_GET
def ledger(request):
    kind = request.GET.get("kind", "")
    context = _ledger_context(kind)
    try:
        page = history.ledger_page(user=request.user, kind=kind, page=request.GET.get("page"))
    except ApplicationError as error:
        return refused(request, LEDGER_TEMPLATE, context, error)
    return render(request, LEDGER_TEMPLATE, {**context, "page": page})


@login_required
@require_GET
def ledger_csv(request):
    """The ledger's rows (with its kind filter), newest first, as CSV: streamed, so a long ledger
    is never held in memory; amounts are the stored decimals written out, never floats."""
    kind = request.GET.get("kind", "")
    try:
        kind = history.ledger_kind_checked(kind)
    except ApplicationError as error:
        return refused(request, LEDGER_TEMPLATE, _ledger_context(kind), error)
    rows = (
        [
            line.entry.pk,
            line.entry.created_at.isoformat(),
            line.entry.kind,
            line.symbol,
            format(line.amount, "f"),
            line.source,
            line.destination,
            line.entry.memo,
        ]
        for line in history.ledger_lines(user=request.user, kind=kind)
    )
    filename = f"ledger-{kind}.csv" if kind else "ledger.csv"
    return csv_download(CSV_COLUMNS, rows, filename=filename)


@login_required
@require_GET
def liquidation_list(request):
    """Opening the list is seeing the liquidations: their banner is marked read first, so it is
    already gone from this page."""
    services.notifications_read(user=request.user)
    page = history.liquidation_page(user=request.user, page=request.GET.get("page"))
    context = {"page": page, "tab": "liquidations"}
    return render(request, "trading/history/liquidations.html", context)


@login_required
@require_GET
def liquidation_detail(request, event_id):
    try:
        receipt = history.liquidation_receipt(user=request.user, event_id=event_id)
    except NotFound as error:
        raise Http404(error.message) from error
    context = {"receipt": receipt, "tab": "liquidations"}
    return render(request, "trading/history/liquidation_detail.html", context)
