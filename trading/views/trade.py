"""The trade page (/trade/<SYMBOL>/) and its confirmation step, where the margin mode is chosen.

The order form posts to the confirmation, which shows what the order would do in each mode
(order_preview) with the mode preselected, and a taker's estimated fill price from the book;
Confirm places it (order_place) with the chosen mode, Back returns to the filled form. The page
shows the book's best levels around the mark, server-rendered. The page is live by push: its
socket (trading/live/consumers.py) sends the page's live panels again whenever the trader's
account or a mark they watch changes, and the page's script swaps them in (static/js/live.js).
The live endpoint gives the mark and the candles to a page whose socket is down (polled every 2
seconds); without JavaScript the page is complete, only not live.
"""

import uuid
from dataclasses import asdict, dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from marginsite.errors import ApplicationError, InvalidInput
from trading.domain.orders import RESTING_TYPES
from trading.errors import NoMarkPrice
from trading.inputs import decimal_from_input, quantity_from_notional
from trading.live.paths import trade_socket_path
from trading.models import Instrument, OrderType, TimeInForce
from trading.selectors import instrument_get, instrument_list, margin_mode_default
from trading.selectors.history import open_orders, order_with_client_id, recent_fills
from trading.selectors.instruments import instrument_cached, instrument_rules
from trading.selectors.market import (
    candles_recent,
    leverage_marks,
    mark_get,
    mode_leverages,
    open_position_modes,
    open_position_symbols,
    order_book,
)
from trading.selectors.position_orders import order_price_basis, order_quantity_for_cost
from trading.selectors.positions import account_and_position_rows
from trading.services import order_place, order_place_with_tpsl, order_preview
from trading.views.common import account_panel_of, refused

FORM_TYPES = (
    OrderType.MARKET,
    OrderType.LIMIT,
    OrderType.STOP_MARKET,
    OrderType.TAKE_PROFIT_MARKET,
    OrderType.TRAILING_STOP_MARKET,
)

# The quantity in the base asset, in USDT of notional, or in USDT of margin (the order's cost).
QUANTITY_UNITS = ("BASE", "USDT", "MARGIN")
# The levels a side of the trade page's depth ladder shows.
LADDER_DEPTH = 5


@dataclass(frozen=True)
class OrderForm:
    """The order form's fields as typed (strings), so that Back can fill the form again."""

    side: str = "BUY"
    order_type: str = OrderType.MARKET
    quantity: str = ""
    quantity_unit: str = "BASE"
    price: str = ""
    stop_price: str = ""
    callback_rate: str = ""
    activation_price: str = ""
    margin_mode: str = ""
    take_profit: str = ""
    stop_loss: str = ""
    time_in_force: str = TimeInForce.GTC

    @classmethod
    def of(cls, data) -> "OrderForm":
        return cls(**{name: data.get(name, default).strip() for name, default in _DEFAULTS})

    def query(self) -> str:
        return urlencode(asdict(self))


_DEFAULTS = tuple(asdict(OrderForm()).items())


def _instrument(symbol: str, *, kept: bool = False) -> Instrument:
    """The page's instrument, or 404. ``kept``: from the copy this process keeps in memory, for
    an order (``order_place`` checks it again under its lock if the instruments have changed)."""
    try:
        return (instrument_cached if kept else instrument_get)(symbol)
    except ApplicationError:
        raise Http404(f"No instrument {symbol!r}.") from None


def _order_arguments(form: OrderForm, instrument: Instrument, user) -> dict:
    """The service's arguments from the form: the price fields its type uses (empty: none), and
    the quantity, converted when it was entered in USDT (``order_price_basis``): of notional,
    at the price it would fill at; of margin (the order's cost), by ``order_quantity_for_cost``
    at the chosen mode's leverage. A time in force for a limit order only."""
    price = (form.price or None) if form.order_type == OrderType.LIMIT else None
    stop_price = (form.stop_price or None) if form.order_type in RESTING_TYPES else None
    trailing = form.order_type == OrderType.TRAILING_STOP_MARKET
    callback_rate = (form.callback_rate or None) if trailing else None
    activation_price = (form.activation_price or None) if trailing else None
    quantity = form.quantity
    if form.quantity_unit not in QUANTITY_UNITS:
        raise InvalidInput(
            "The quantity is in the base asset, in USDT or in USDT of margin.",
            field="quantity_unit",
        )
    if form.quantity_unit == "USDT":
        amount = decimal_from_input(form.quantity, field="quantity")
        if amount <= 0:
            raise InvalidInput("Enter a positive amount of USDT.", field="quantity")
        basis = order_price_basis(
            instrument=instrument, side=form.side, order_type=form.order_type, price=price,
            stop_price=stop_price, activation_price=activation_price,
        )  # fmt: skip
        quantity = quantity_from_notional(amount, price=basis, step=instrument.step_size)
        if quantity <= 0:
            raise InvalidInput(
                f"{amount.normalize():f} USDT buys less than one step "
                f"({instrument.step_size.normalize():f} {instrument.base_asset}).",
                field="quantity",
            )
    elif form.quantity_unit == "MARGIN":
        quantity = order_quantity_for_cost(
            user=user, symbol=instrument.symbol, side=form.side, cost=form.quantity,
            order_type=form.order_type, price=price, stop_price=stop_price,
            activation_price=activation_price, margin_mode=form.margin_mode or None,
        )  # fmt: skip
    return {
        "symbol": instrument.symbol,
        "side": form.side,
        "quantity": quantity,
        "order_type": form.order_type,
        "price": price,
        "stop_price": stop_price,
        "callback_rate": callback_rate,
        "activation_price": activation_price,
        "margin_mode": form.margin_mode or None,
        "time_in_force": (
            form.time_in_force if form.order_type == OrderType.LIMIT else TimeInForce.GTC
        ),
    }


# The parts of the trade page its socket renders again, by name (data-live-panel), each the
# template the page includes there.
LIVE_PANELS = {
    "account": "trading/partials/account_panel.html",
    "book": "trading/partials/order_book.html",
    "positions": "trading/partials/positions.html",
    "orders": "trading/partials/open_orders.html",
    "fills": "trading/partials/recent_fills.html",
    "banners": "partials/banners.html",
}


# What a tick of a symbol the trader holds moves: the figures valued at the mark.
HOLDINGS_PANELS = ("account", "positions", "banners")


def _panels_context(user, instrument: Instrument) -> dict:
    """What the live panels show: the figures that a tick, an order or a liquidation moves."""
    return {
        **_holdings_context(user, instrument),
        "mark": mark_get(instrument),
        "book": _ladder(instrument),
        "open_orders": open_orders(user=user, symbol=instrument.symbol),
        "fills": recent_fills(user=user, symbol=instrument.symbol),
    }


def _holdings_context(user, instrument: Instrument) -> dict:
    summary, positions = account_and_position_rows(user=user, symbol=instrument.symbol)
    return {
        "instrument": instrument,
        "positions": positions,
        "return_to": reverse("trade", args=[instrument.symbol]),
        **account_panel_of(summary),
    }


def _rendered(request, context: dict, names) -> dict[str, str]:
    return {name: render_to_string(LIVE_PANELS[name], context, request) for name in names}


def trade_snapshot(request, instrument: Instrument) -> dict:
    """Everything live on the trade page, as the socket sends it: the mark and the last candles,
    the chart's lines, each live panel's HTML, and the symbols whose marks move this account
    (``held``: the socket renders again when one of them ticks). ``request`` carries the user and
    the CSRF cookie the panels' forms need."""
    context = _panels_context(request.user, instrument)
    return {
        "type": "snapshot",
        **_mark_json(context["mark"]),
        "candles": _candles_json(candles_recent(instrument, limit=2)),
        "lines": _price_lines(context["positions"]),
        "panels": _rendered(request, context, LIVE_PANELS),
        "held": open_position_symbols(user=request.user),
    }


def trade_holdings(request, instrument: Instrument) -> dict:
    """What a tick of a held symbol changes on the page: the account, the positions (their
    uPnL, margin ratios and cross liquidation prices), the banners (the cross ratio warning) and
    the chart's lines; orders, fills and the book stay as they are."""
    context = _holdings_context(request.user, instrument)
    return {
        "type": "holdings",
        "lines": _price_lines(context["positions"]),
        "panels": _rendered(request, context, HOLDINGS_PANELS),
        "held": open_position_symbols(user=request.user),
    }


def trade_market(instrument: Instrument, mark) -> dict:
    """The trade page's market part (the same for every trader): the mark, the last candles and
    the book, sent on a tick that moves none of the trader's positions."""
    return {
        "type": "market",
        **_mark_json(mark),
        "candles": _candles_json(candles_recent(instrument, limit=2)),
        "panels": {
            "book": render_to_string(
                LIVE_PANELS["book"], {"instrument": instrument, "book": _ladder(instrument)}
            )
        },
    }


def _mark_json(mark) -> dict:
    return {
        "mark": str(mark.price) if mark else None,
        "source": mark.get_source_display() if mark else None,
        "updated_at": mark.updated_at.isoformat() if mark else None,
    }


def _candles_json(candles) -> list[dict]:
    return [
        {
            "time": int(candle.opened_at.timestamp()),
            "open": str(candle.open),
            "high": str(candle.high),
            "low": str(candle.low),
            "close": str(candle.close),
        }
        for candle in candles
    ]


def _trade_context(request, instrument: Instrument, form: OrderForm) -> dict:
    user = request.user
    panels = _panels_context(user, instrument)
    return {
        **panels,
        "instruments": instrument_list(),
        "form": form,
        "form_types": FORM_TYPES,
        "times_in_force": TimeInForce.choices,
        "chosen_mode": form.margin_mode or margin_mode_default(user=user, instrument=instrument),
        "modes": mode_leverages(user=user, instrument=instrument),
        "leverage_marks": leverage_marks(instrument.max_leverage),
        "brackets": [
            {"max_leverage": b.max_leverage, "cap": str(b.notional_cap)}
            for b in instrument.brackets.all()
        ],
        "chart": {
            "live": reverse("live", args=[instrument.symbol]),
            "socket": trade_socket_path(instrument.symbol),
            "lines": _price_lines(panels["positions"]),
        },
    }


def _ladder(instrument: Instrument):
    """The book's best levels for the page's depth ladder (None before the first mark)."""
    try:
        return order_book(instrument=instrument, depth=LADDER_DEPTH)
    except NoMarkPrice:
        return None


def _price_lines(positions) -> list[dict]:
    """The chart's lines: the entry and liquidation price of each position on the symbol, and
    its take-profit and stop-loss."""
    lines = []
    for row in positions:
        label = row.position.get_margin_mode_display()
        for price, what in (
            (row.position.entry_price, "entry"),
            (row.liquidation_price_display, "liquidation"),
            (row.tpsl.take_profit, "take-profit"),
            (row.tpsl.stop_loss, "stop-loss"),
        ):
            if price is not None:
                lines.append({"price": str(price), "title": f"{label} {what}"})
    return lines


@login_required
@require_GET
def trade_default(request):
    instruments = instrument_list()
    if not instruments:
        return redirect("home")
    return redirect("trade", instruments[0].symbol)


@login_required
@require_GET
def trade_page(request, symbol):
    instrument = _instrument(symbol)
    context = _trade_context(request, instrument, OrderForm.of(request.GET))
    return render(request, "trading/trade.html", context)


@login_required
@require_POST
def order_confirm(request, symbol):
    """The confirmation step: both modes side by side, the chosen one preselected."""
    instrument = _instrument(symbol)
    form = OrderForm.of(request.POST)
    try:
        arguments = _order_arguments(form, instrument, request.user)
        preview = order_preview(user=request.user, **arguments)
    except ApplicationError as error:
        context = _trade_context(request, instrument, form)
        return refused(request, "trading/trade.html", context, error)
    context = _confirm_context(request.user, instrument, form, preview)
    return render(request, "trading/confirm.html", context)


def _confirm_context(user, instrument, form: OrderForm, preview) -> dict:
    modes = {preview.chosen.margin_mode: preview.chosen}
    modes[preview.alternative.margin_mode] = preview.alternative
    held = open_position_modes(user=user, instrument=instrument)
    return {
        "instrument": instrument,
        "rules": instrument_rules(instrument),
        "form": form,
        "preview": preview,
        "cross": modes["CROSS"],
        "isolated": modes["ISOLATED"],
        "order_type_label": OrderType(preview.order_type).label,
        "time_in_force_label": TimeInForce(preview.time_in_force).label,
        "isolated_held": "ISOLATED" in held,
        "cross_held": "CROSS" in held,
        "client_order_id": uuid.uuid4().hex,
        "back": f"{reverse('trade', args=[instrument.symbol])}?{form.query()}",
    }


@login_required
@require_POST
def order_submit(request, symbol):
    """Confirm: place the order in the chosen mode. ``client_order_id`` makes a second click (or
    a resent form) return the first order instead of placing another."""
    instrument = _instrument(symbol, kept=True)
    form = OrderForm.of(request.POST)
    try:
        arguments = _order_arguments(form, instrument, request.user)
    except ApplicationError as error:
        return refused(
            request, "trading/trade.html", _trade_context(request, instrument, form), error
        )
    client_order_id = request.POST.get("client_order_id") or None
    if client_order_id and (placed := order_with_client_id(request.user, client_order_id)):
        messages.info(request, f"This order was already placed (order {placed.pk}): nothing new.")
        return redirect("trade", instrument.symbol)
    # the position's take-profit and stop-loss typed on the confirmation, set with the order
    tpsl = {
        name: value
        for name, value in (("take_profit", form.take_profit), ("stop_loss", form.stop_loss))
        if value
    }
    place = order_place_with_tpsl if tpsl else order_place
    try:
        order = place(
            user=request.user,
            client_order_id=client_order_id,
            expected_leverage=request.POST.get(f"leverage_{form.margin_mode}") or None,
            **arguments,
            **tpsl,
        )
    except ApplicationError as error:
        return _confirm_refused(request, instrument, form, arguments, error)
    messages.success(request, _placed(order))
    return redirect("trade", instrument.symbol)


def _confirm_refused(request, instrument, form, arguments, error):
    """A refused Confirm: the confirmation again, with the refusal, or the form if even the
    preview is refused now."""
    try:
        preview = order_preview(user=request.user, **arguments)
    except ApplicationError:
        return refused(
            request, "trading/trade.html", _trade_context(request, instrument, form), error
        )
    return refused(
        request,
        "trading/confirm.html",
        _confirm_context(request.user, instrument, form, preview),
        error,
    )


def _placed(order) -> str:
    what = (
        f"{order.get_side_display()} {order.quantity.normalize():f} "
        f"{order.instrument.base_asset} {order.get_order_type_display().lower()} "
        f"({order.get_margin_mode_display()} {order.leverage}x)"
    )
    filled, base = order.filled_quantity, order.instrument.base_asset
    if order.status == order.Status.NEW and filled:
        return (
            f"{what}: {filled.normalize():f} {base} filled at "
            f"{order.average_fill_price.normalize():f}; the other "
            f"{(order.quantity - filled).normalize():f} {base} rests at "
            f"{order.price.normalize():f}."
        )
    return f"{what}: {order.get_status_display().lower()}."


@login_required
@require_GET
def live(request, symbol):
    """The mark and the recent candles, as strings (decimals never become JSON floats)."""
    instrument = _instrument(symbol)
    return JsonResponse(
        {
            "symbol": instrument.symbol,
            **_mark_json(mark_get(instrument)),
            "candles": _candles_json(candles_recent(instrument)),
        }
    )
