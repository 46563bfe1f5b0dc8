"""/portfolio, closing positions (at market or at a limit price), isolated margin add/remove.

Every action names a position by id and finds it only among the user's own open positions, so
someone else's id answers 404 exactly like an unknown one. A refusal re-renders the page with its
message and 4xx status, and nothing changed. Success redirects to ``next`` when it points into
this site (the trade page sends its own URL), else to /portfolio, with a message.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from marginsite.errors import ApplicationError, InvalidInput
from trading import services
from trading.domain.sides import closing_side
from trading.models import Order, Position
from trading.selectors.positions import (
    isolated_margin_change_preview,
    isolated_margin_state,
    margin_change_checked,
    open_position_get,
    position_rows,
)
from trading.templatetags.figures import to_step, to_tick, usdt
from trading.views.common import account_panel, refused

PORTFOLIO = "trading/portfolio.html"
MARGIN = "trading/position_margin.html"
MARGIN_CONFIRM = "trading/position_margin_confirm.html"
MARGIN_SERVICES = {"add": services.isolated_margin_add, "remove": services.isolated_margin_remove}


def _next_url(request) -> str:
    """``next`` (form or query string) if it is a URL of this site, else /portfolio: an
    open redirect would let a link send a signed-in trader anywhere."""
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return reverse("portfolio")


def _described(position: Position) -> str:
    """ "BTCUSDT Isolated long": how messages name a position."""
    return (
        f"{position.instrument.symbol} {position.get_margin_mode_display()} "
        f"{position.get_side_display().lower()}"
    )


def _portfolio_refused(request, error: ApplicationError, **extra):
    """The portfolio again, with the refusal; ``return_to`` keeps the forms' ``next`` pointing
    where the trader came from, not at the POST URL."""
    context = {
        **account_panel(request.user),
        "positions": position_rows(user=request.user),
        "return_to": _next_url(request),
        **extra,
    }
    return refused(request, PORTFOLIO, context, error)


@login_required
@require_GET
def portfolio(request):
    return render(
        request,
        PORTFOLIO,
        {**account_panel(request.user), "positions": position_rows(user=request.user)},
    )


@login_required
@require_POST
def position_close(request, position_id):
    """Close the whole position at market (a reduce-only market order)."""
    try:
        position = open_position_get(user=request.user, position_id=position_id)
        order = services.position_close(
            user=request.user,
            symbol=position.instrument.symbol,
            margin_mode=position.margin_mode,
        )
    except ApplicationError as error:
        return _portfolio_refused(request, error)
    instrument = position.instrument
    messages.success(
        request,
        f"Closed your {_described(position)} of {to_step(order.quantity, instrument.step_size)} "
        f"at market, at {to_tick(order.average_fill_price, instrument.tick_size)}.",
    )
    return redirect(_next_url(request))


@login_required
@require_POST
def position_close_limit(request, position_id):
    """Close the whole position with a reduce-only limit order at ``price``: it rests until the
    mark reaches the price, or fills at once if the price is already through the market."""
    price = request.POST.get("price", "").strip() or None
    try:
        position = open_position_get(user=request.user, position_id=position_id)
        order = services.order_place(
            user=request.user,
            symbol=position.instrument.symbol,
            side=closing_side(position.side),
            quantity=position.quantity,
            order_type="LIMIT",
            price=price,
            margin_mode=position.margin_mode,
            reduce_only=True,
        )
    except ApplicationError as error:
        return _portfolio_refused(
            request, error, failed_position_id=position_id, entered_price=price or ""
        )
    instrument = position.instrument
    quantity = to_step(order.quantity, instrument.step_size)
    if order.status == Order.Status.FILLED:
        filled_at = to_tick(order.average_fill_price, instrument.tick_size)
        messages.success(
            request,
            f"Your limit price was already through the market: your {_described(position)} of "
            f"{quantity} closed at once, at {filled_at}.",
        )
    else:
        messages.success(
            request,
            f"Placed a reduce-only limit order to {order.side.lower()} {quantity} "
            f"{instrument.symbol} at {to_tick(order.price, instrument.tick_size)}: it closes your "
            f"{_described(position)} when the mark reaches that price. You can cancel it under "
            "History.",
        )
    return redirect(_next_url(request))


@login_required
@require_http_methods(["GET", "POST"])
def position_margin(request, position_id):
    """GET: the isolated position, its maxima and the form. POST action=review: the figures
    after the change and a Confirm button; action=confirm: the change itself."""
    return_to = _next_url(request)
    try:
        margin = isolated_margin_state(user=request.user, position_id=position_id)
    except ApplicationError as error:
        return refused(request, MARGIN, {"return_to": return_to}, error)
    typed = request.POST if request.method == "POST" else request.GET  # "Change the amount"
    context = {
        "margin": margin,
        "return_to": return_to,
        "change": typed.get("change", "add"),
        "amount": typed.get("amount", "").strip(),
    }
    if request.method == "GET":
        return render(request, MARGIN, context)
    action = request.POST.get("action")
    try:
        if action == "review":
            preview = isolated_margin_change_preview(
                margin, change=context["change"], amount=context["amount"] or None
            )
            return render(request, MARGIN_CONFIRM, {**context, "preview": preview})
        if action != "confirm":
            raise InvalidInput("Review the change, then confirm it.", field="action")
        change = margin_change_checked(context["change"])
        position = MARGIN_SERVICES[change](
            user=request.user,
            symbol=margin.position.instrument.symbol,
            amount=context["amount"] or None,
            expected_margin=request.POST.get("expected_margin") or None,
        )
    except ApplicationError as error:
        return refused(request, MARGIN, context, error)
    done = "Added margin to" if change == "add" else "Removed margin from"
    messages.success(
        request,
        f"{done} your {_described(margin.position)}: its margin is now "
        f"{usdt(position.isolated_margin)} USDT (was {usdt(margin.position.isolated_margin)}).",
    )
    return redirect(return_to)


@login_required
@require_POST
def position_tpsl(request, position_id):
    """Set, change or cancel the position's take-profit and stop-loss, each for the whole
    position at the mark. ``action`` "set" sets the prices typed (an empty field leaves that
    one as it is), "cancel_take_profit"/"cancel_stop_loss" cancel one."""
    action = request.POST.get("action", "set")
    take_profit = request.POST.get("take_profit", "").strip() or None
    stop_loss = request.POST.get("stop_loss", "").strip() or None
    try:
        position = open_position_get(user=request.user, position_id=position_id)
        if action == "set":
            tpsl = services.position_tpsl_set(
                user=request.user,
                position_id=position.pk,
                take_profit=take_profit,
                stop_loss=stop_loss,
            )
        elif action in TPSL_CANCELS:
            tpsl = services.position_tpsl_cancel(
                user=request.user, position_id=position.pk, which=TPSL_CANCELS[action]
            )
        else:
            raise InvalidInput("Choose Set, or cancel the take-profit or the stop-loss.")
    except ApplicationError as error:
        return _portfolio_refused(
            request,
            error,
            tpsl_failed_id=position_id,
            entered_take_profit=take_profit or "",
            entered_stop_loss=stop_loss or "",
        )
    messages.success(request, f"Your {_described(position)}: {_tpsl_sentence(position, tpsl)}")
    return redirect(_next_url(request))


TPSL_CANCELS = {"cancel_take_profit": "take_profit", "cancel_stop_loss": "stop_loss"}


def _tpsl_sentence(position: Position, tpsl) -> str:
    tick = position.instrument.tick_size
    parts = [
        f"{name} {to_tick(price, tick)}" if price is not None else f"no {name}"
        for name, price in (("take-profit", tpsl.take_profit), ("stop-loss", tpsl.stop_loss))
    ]
    return f"{parts[0]}, {parts[1]} (each closes the whole position at the mark)."


@login_required
@require_POST
def position_reverse(request, position_id):
    """Close the position and open the same size on the other side, in the same mode."""
    try:
        position = open_position_get(user=request.user, position_id=position_id)
        order = services.position_reverse(user=request.user, position_id=position.pk)
    except ApplicationError as error:
        return _portfolio_refused(request, error)
    instrument = position.instrument
    new_side = "short" if position.side == "LONG" else "long"
    messages.success(
        request,
        f"Reversed your {_described(position)}: now {new_side} "
        f"{to_step(position.quantity, instrument.step_size)} {instrument.base_asset} "
        f"({position.get_margin_mode_display()}), at "
        f"{to_tick(order.average_fill_price, instrument.tick_size)}.",
    )
    return redirect(_next_url(request))


@login_required
@require_POST
def positions_close_all(request):
    """Close every open position at market: of one mode (``positions`` CROSS or ISOLATED) or
    ALL of them."""
    which = request.POST.get("positions", "")
    margin_mode = None if which == "ALL" else which
    try:
        orders = services.positions_close_all(user=request.user, margin_mode=margin_mode)
    except ApplicationError as error:
        return _portfolio_refused(request, error)
    which = {"CROSS": "Cross ", "ISOLATED": "Isolated "}.get(margin_mode, "")
    if orders:
        count = len(orders)
        messages.success(
            request, f"Closed your {count} {which}position{'s' if count > 1 else ''} at market."
        )
    else:
        messages.info(request, f"You had no open {which}positions: nothing to close.")
    return redirect(_next_url(request))
