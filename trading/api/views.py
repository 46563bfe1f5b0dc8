"""The native API's endpoints: thin, each parses its input, calls one service or selector and
serializes the answer. Refusals are raised by the services and shaped by errors.py."""

import functools

from rest_framework import generics, status
from rest_framework.exceptions import ErrorDetail, NotFound, ValidationError
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from accounts.services import margin_mode_default_set
from marginsite.errors import InvalidInput
from trading.api.serializers import (
    AccountSerializer,
    BookQuerySerializer,
    BookSerializer,
    CandleQuerySerializer,
    CandleSerializer,
    FillSerializer,
    FundingPaymentSerializer,
    InstrumentSerializer,
    LedgerLineSerializer,
    LeverageRequestSerializer,
    LiquidationReceiptSerializer,
    LiquidationSerializer,
    MarginChangeRequestSerializer,
    MarginModeRequestSerializer,
    MarkSerializer,
    OrderEditSerializer,
    OrderPreviewSerializer,
    OrderRequestSerializer,
    OrderSerializer,
    PositionsCloseAllSerializer,
    PositionSerializer,
    PositionTpslCancelSerializer,
    PositionTpslRequestSerializer,
    PositionTpslSerializer,
    PreferencesSerializer,
    SymbolLeverageSerializer,
    SymbolMarginModeSerializer,
    order_shown,
)
from trading.csv_download import csv_download
from trading.errors import MarginModeUnchanged, NoMarkPrice, NoPosition
from trading.models import MarkPrice, Order, Preferences
from trading.selectors import (
    account_summary,
    instrument_get,
    instrument_list,
    margin_mode_default,
    order_book,
    position_list,
)
from trading.selectors.accounts import PositionRow
from trading.selectors.history import (
    fill_list,
    funding_payment_list,
    ledger_entry_list,
    ledger_kind_checked,
    ledger_lines,
    ledger_lines_of,
    liquidation_list,
    liquidation_receipt,
)
from trading.selectors.market import candles_recent, mark_get, mode_leverages
from trading.selectors.position_orders import order_quantity_for_cost, position_tpsl_orders
from trading.selectors.positions import open_isolated_position_get, open_position_get
from trading.services import (
    isolated_margin_add,
    isolated_margin_remove,
    leverage_set,
    order_cancel,
    order_edit,
    order_place,
    order_preview,
    position_close,
    position_margin_mode_change,
    position_reverse,
    position_tpsl_cancel,
    position_tpsl_set,
    positions_close_all,
    symbol_margin_mode_set,
)

MARGIN_CHANGES = {"add": isolated_margin_add, "remove": isolated_margin_remove}


class InstrumentList(generics.ListAPIView):
    """Every instrument with its tick and step sizes, fees and leverage brackets."""

    serializer_class = InstrumentSerializer
    pagination_class = None

    def get_queryset(self):
        return instrument_list()


class InstrumentDetail(APIView):
    """One instrument (case-insensitive symbol) with its brackets."""

    serializer_class = InstrumentSerializer

    def get(self, request, symbol):
        return Response(InstrumentSerializer(instrument_get(symbol)).data)


class Account(APIView):
    """Wallet, cross margin balance and ratio, available balance, isolated margin, equity."""

    serializer_class = AccountSerializer

    def get(self, request):
        return Response(AccountSerializer(account_summary(user=request.user)).data)


def _body(serializer_class, request) -> dict:
    """The request body, checked by ``serializer_class`` (a malformed or invalid one is a 400,
    its ValidationError the one ``is_valid(raise_exception=True)`` raises)."""
    if request.data is None:  # a JSON null, worded as is_valid words it
        detail = ErrorDetail("No data provided", code="null")
        raise ValidationError({api_settings.NON_FIELD_ERRORS_KEY: [detail]})
    return dict(_body_checker(serializer_class).run_validation(request.data))


@functools.cache
def _body_checker(serializer_class):
    """One instance of ``serializer_class`` per process, whose fields are built once: DRF builds
    them anew for every instance (150 of the 230 µs an order's body took to check).
    ``run_validation`` keeps nothing on the instance, and these serializers read no context,
    so every request (in any thread) shares it."""
    return serializer_class()


def _order_request(request) -> dict:
    """A new order's arguments, its size given by ``quantity`` or by ``cost`` (exactly one; a
    close-position order names neither)."""
    arguments = _body(OrderRequestSerializer, request)
    cost = arguments.pop("cost")
    if cost is None:
        if arguments["quantity"] is None and not arguments["close_position"]:
            raise InvalidInput(
                "Give the order's quantity, or its cost in USDT of initial margin.",
                field="quantity",
            )
        return arguments
    if arguments["quantity"] is not None or arguments["close_position"]:
        raise InvalidInput(
            "Give either quantity or cost, not both (and neither with close_position).",
            field="cost",
        )
    arguments["quantity"] = order_quantity_for_cost(
        user=request.user,
        cost=cost,
        **{
            name: arguments[name]
            for name in (
                "symbol", "side", "order_type", "price", "stop_price", "activation_price",
                "margin_mode",
            )
        },
    )  # fmt: skip
    return arguments


class Orders(generics.ListAPIView):
    """GET: the user's orders, newest first (``?status=NEW`` for the open ones). POST: place
    one (idempotent on ``client_order_id``)."""

    serializer_class = OrderSerializer

    def get_queryset(self):
        orders = Order.objects.filter(user=self.request.user).select_related("instrument")
        if wanted := self.request.query_params.get("status"):
            if wanted.upper() not in Order.Status.values:
                raise InvalidInput(
                    f"status must be one of {', '.join(Order.Status.values)}.", field="status"
                )
            orders = orders.filter(status=wanted.upper())
        return orders.order_by("-created_at", "-pk")

    def post(self, request):
        order = order_place(user=request.user, **_order_request(request))
        return Response(order_shown(order), status=status.HTTP_201_CREATED)


class OrderPreview(APIView):
    """What the order would do in each margin mode; places nothing."""

    serializer_class = OrderPreviewSerializer

    def post(self, request):
        arguments = _order_request(request)
        if arguments.pop("close_position"):
            raise InvalidInput(
                "A close_position order has no size until it triggers: preview it by quantity.",
                field="close_position",
            )
        for placing_only in ("reduce_only", "client_order_id"):
            arguments.pop(placing_only)
        preview = order_preview(user=request.user, **arguments)
        return Response(OrderPreviewSerializer(preview).data)


class OrderDetail(APIView):
    """GET: one of the user's orders. PUT: change an open LIMIT order's quantity and price (it
    keeps its id; a new price that crosses the book executes at once). DELETE: cancel it (an
    open one)."""

    serializer_class = OrderSerializer

    def get(self, request, order_id):
        order = generics.get_object_or_404(
            Order.objects.select_related("instrument"), pk=order_id, user=request.user
        )
        return Response(order_shown(order))

    def put(self, request, order_id):
        order = order_edit(
            user=request.user, order_id=order_id, **_body(OrderEditSerializer, request)
        )
        return Response(order_shown(order))

    def delete(self, request, order_id):
        return Response(order_shown(order_cancel(user=request.user, order_id=order_id)))


class Book(APIView):
    """The order book of a symbol around its mark, ``?depth=`` (1 to 1000, default 20) levels a
    side, best first: the levels market and crossing limit orders fill against."""

    serializer_class = BookSerializer

    def get(self, request, symbol):
        instrument = instrument_get(symbol)
        query = BookQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        book = order_book(instrument=instrument, depth=query.validated_data["depth"])
        return Response(BookSerializer({"symbol": instrument.symbol, "book": book}).data)


class Positions(APIView):
    """The user's open positions with their live figures (both modes)."""

    serializer_class = PositionSerializer

    def get(self, request):
        return Response(PositionSerializer(position_list(user=request.user), many=True).data)


class Marks(generics.ListAPIView):
    """Every instrument's mark price, the price all PnL, margin and liquidation figures use, with
    its source (simulated, replay, live, manual) and, on the live feed, the exchange's funding
    rate."""

    serializer_class = MarkSerializer
    pagination_class = None

    def get_queryset(self):
        return MarkPrice.objects.select_related("instrument").order_by("instrument__symbol")


class MarkDetail(APIView):
    """One instrument's mark price (NO_MARK_PRICE until the feed has given it one)."""

    serializer_class = MarkSerializer

    def get(self, request, symbol):
        instrument = instrument_get(symbol)
        mark = mark_get(instrument)
        if mark is None:
            raise NoMarkPrice(f"{instrument.symbol} has no mark price yet.", field="symbol")
        return Response(MarkSerializer(mark).data)


class Candles(APIView):
    """The last ``?limit=`` (1 to 1000, default 240) 1-minute candles of the mark price, oldest
    first: the chart of the trade page."""

    serializer_class = CandleSerializer

    def get(self, request, symbol):
        instrument = instrument_get(symbol)
        query = CandleQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        candles = candles_recent(instrument, limit=query.validated_data["limit"])
        return Response(CandleSerializer(candles, many=True).data)


class UserPreferences(APIView):
    """GET: the default margin mode of new orders (on symbols without a mode of their own). PUT
    ``{"default_margin_mode"}``: change it; open positions keep their mode."""

    serializer_class = PreferencesSerializer

    def get(self, request):
        # a user made outside user_create has no row yet: the model's default (Cross) applies
        preferences = Preferences.objects.filter(user=request.user).first()
        return Response(PreferencesSerializer(preferences or Preferences()).data)

    def put(self, request):
        margin_mode = _body(PreferencesSerializer, request)["default_margin_mode"]
        preferences = margin_mode_default_set(user=request.user, margin_mode=margin_mode)
        return Response(PreferencesSerializer(preferences).data)


class SymbolMarginMode(APIView):
    """GET: the margin mode a symbol's orders get when they name none (the symbol's own default,
    else the preference). PUT ``{"margin_mode"}``: the symbol's own default; refused while the
    symbol has an open position or open order in the current one (MARGIN_MODE_LOCKED)."""

    serializer_class = SymbolMarginModeSerializer

    def get(self, request, symbol):
        instrument = instrument_get(symbol)
        margin_mode = margin_mode_default(user=request.user, instrument=instrument)
        return Response(
            SymbolMarginModeSerializer(
                {"symbol": instrument.symbol, "margin_mode": margin_mode}
            ).data
        )

    def put(self, request, symbol):
        margin_mode = _body(SymbolMarginModeSerializer, request)["margin_mode"]
        setting = symbol_margin_mode_set(user=request.user, symbol=symbol, margin_mode=margin_mode)
        return Response(
            SymbolMarginModeSerializer(
                {"symbol": setting.instrument.symbol, "margin_mode": setting.margin_mode}
            ).data
        )


class SymbolLeverage(APIView):
    """GET: the symbol's leverage in each margin mode, with the largest position each allows.
    PUT ``{"margin_mode", "leverage"}``: set one mode's leverage (an open isolated position may
    only raise it; an open position must fit the new leverage's cap)."""

    serializer_class = SymbolLeverageSerializer

    def get(self, request, symbol):
        return Response(self._leverages(request.user, instrument_get(symbol)))

    def put(self, request, symbol):
        setting = leverage_set(
            user=request.user, symbol=symbol, **_body(LeverageRequestSerializer, request)
        )
        return Response(self._leverages(request.user, setting.instrument))

    @staticmethod
    def _leverages(user, instrument) -> dict:
        modes = mode_leverages(user=user, instrument=instrument)
        return SymbolLeverageSerializer({"instrument": instrument, "modes": modes}).data


def _position_row(user, position_id) -> PositionRow:
    """The user's open position ``position_id`` with its live figures. Someone else's id is not
    found, exactly like an unknown one (open_position_get); the figures are computed over all the
    open positions, since a cross position's liquidation price depends on the others."""
    position = open_position_get(user=user, position_id=position_id)
    row = next((row for row in position_list(user=user) if row.position.pk == position.pk), None)
    if row is None:
        raise NoPosition(
            f"This {position.instrument.symbol} position has just been closed.", field="position"
        )
    return row


class PositionDetail(APIView):
    """One of the user's open positions with its live figures at the mark."""

    serializer_class = PositionSerializer

    def get(self, request, position_id):
        return Response(PositionSerializer(_position_row(request.user, position_id)).data)


class PositionClose(APIView):
    """Close the whole position at market (a reduce-only market order); answers that order."""

    serializer_class = OrderSerializer

    def post(self, request, position_id):
        position = open_position_get(user=request.user, position_id=position_id)
        order = position_close(
            user=request.user, symbol=position.instrument.symbol, margin_mode=position.margin_mode
        )
        return Response(order_shown(order), status=status.HTTP_201_CREATED)


class PositionTpsl(APIView):
    """A position's take-profit and stop-loss, each a close-position order (TAKE_PROFIT_MARKET,
    STOP_MARKET) that closes the whole position when the mark reaches it. GET: them. POST
    ``{"take_profit", "stop_loss"}`` (either or both): set or replace them; a price the mark has
    already reached is refused. DELETE ``?which=both|take_profit|stop_loss``: cancel."""

    serializer_class = PositionTpslSerializer

    def get(self, request, position_id):
        position = open_position_get(user=request.user, position_id=position_id)
        tpsl = position_tpsl_orders(user=request.user, positions=[position])[position.pk]
        return Response(PositionTpslSerializer(tpsl).data)

    def post(self, request, position_id):
        tpsl = position_tpsl_set(
            user=request.user,
            position_id=position_id,
            **_body(PositionTpslRequestSerializer, request),
        )
        return Response(PositionTpslSerializer(tpsl).data)

    def delete(self, request, position_id):
        query = PositionTpslCancelSerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        tpsl = position_tpsl_cancel(
            user=request.user, position_id=position_id, which=query.validated_data["which"]
        )
        return Response(PositionTpslSerializer(tpsl).data)


class PositionReverse(APIView):
    """Close the position and open the other side with the same size and mode, at market, in one
    order; refused, changing nothing, if the margin or the book falls short. Answers that
    order."""

    serializer_class = OrderSerializer

    def post(self, request, position_id):
        order = position_reverse(user=request.user, position_id=position_id)
        return Response(order_shown(order), status=status.HTTP_201_CREATED)


class PositionsCloseAll(APIView):
    """Close every open position (``{"margin_mode"}``: of that mode only) at market, all or none;
    answers the closing orders."""

    serializer_class = PositionsCloseAllSerializer

    def post(self, request):
        orders = positions_close_all(
            user=request.user, **_body(PositionsCloseAllSerializer, request)
        )
        return Response(OrderSerializer(orders, many=True).data)


class PositionMargin(APIView):
    """Add margin to an isolated position (from the wallet: its liquidation price moves away) or
    remove some (at most what it does not need). ``expected_margin`` makes a retried or stale
    request harmless. Answers the position with its new figures."""

    serializer_class = MarginChangeRequestSerializer

    def post(self, request, position_id):
        body = _body(MarginChangeRequestSerializer, request)
        # refuses a cross position (no margin of its own) before the service, which finds the
        # isolated position by symbol, could act on the symbol's other one
        position = open_isolated_position_get(user=request.user, position_id=position_id)
        MARGIN_CHANGES[body["change"]](
            user=request.user,
            symbol=position.instrument.symbol,
            amount=body["amount"],
            expected_margin=body["expected_margin"],
        )
        return Response(PositionSerializer(_position_row(request.user, position_id)).data)


class PositionMarginMode(APIView):
    """Always refused: the margin mode of an open position never changes. The refusal says what
    to do instead (close the position and reopen it in the other mode)."""

    serializer_class = MarginModeRequestSerializer

    def put(self, request, position_id):
        margin_mode = _body(MarginModeRequestSerializer, request)["margin_mode"]
        position = open_position_get(user=request.user, position_id=position_id)
        if margin_mode == position.margin_mode:
            # the service answers for the symbol, which may also hold a position of the other mode
            raise MarginModeUnchanged(
                f"This {position.instrument.symbol} position is already {margin_mode.title()}.",
                field="margin_mode",
            )
        # always raises: its refusal, which says what to do instead, is the answer
        position_margin_mode_change(
            user=request.user, symbol=position.instrument.symbol, margin_mode=margin_mode
        )
        raise AssertionError("position_margin_mode_change never changes a position's mode")


class Fills(generics.ListAPIView):
    """The user's fills (executions), newest first, each with its price, fee and realized PnL."""

    serializer_class = FillSerializer

    def get_queryset(self):
        return fill_list(user=self.request.user)


class Ledger(generics.ListAPIView):
    """Every movement of the user's money, newest first (``?kind=FEE`` for one kind; an unknown
    kind is refused rather than ignored): amounts signed from the user's side."""

    serializer_class = LedgerLineSerializer

    def get_queryset(self):
        return ledger_entry_list(user=self.request.user, kind=self.request.query_params.get("kind"))

    def list(self, request):
        entries = self.paginate_queryset(self.get_queryset())
        lines = ledger_lines_of(entries, user=request.user)
        return self.get_paginated_response(self.get_serializer(lines, many=True).data)


def _csv_rows(serializer, objects):
    """One row per object, in the serializer's fields (null: an empty cell)."""
    columns = list(serializer.fields)
    for row in map(serializer.to_representation, objects):
        yield [row[column] for column in columns]


class CsvDownloadNegotiation(DefaultContentNegotiation):
    """The CSV is the answer whatever Accept asks for; a refusal is JSON in the error shape."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


class LedgerCsv(APIView):
    """The whole ledger (``?kind=`` as on /ledger) as CSV, newest first, with the columns of
    /ledger's JSON: streamed, so a long ledger is never held in memory; amounts are the stored
    decimals written out, never floats."""

    content_negotiation_class = CsvDownloadNegotiation

    def get(self, request):
        kind = ledger_kind_checked(request.query_params.get("kind"))
        lines = ledger_lines(user=request.user, kind=kind)
        filename = f"ledger-{kind}.csv" if kind else "ledger.csv"
        serializer = LedgerLineSerializer()
        return csv_download(
            list(serializer.fields), _csv_rows(serializer, lines), filename=filename
        )


class Liquidations(generics.ListAPIView):
    """The user's liquidations, newest first, with their positions at the trigger. Reading them
    here does not mark the site's liquidation notices read: that is for the person."""

    serializer_class = LiquidationSerializer

    def get_queryset(self):
        return liquidation_list(user=self.request.user)


class LiquidationDetail(APIView):
    """A liquidation's receipt: the figures at the trigger from which its liquidation and
    bankruptcy prices follow, so that it can be checked. Someone else's is not found."""

    serializer_class = LiquidationReceiptSerializer

    def get(self, request, event_id):
        receipt = liquidation_receipt(user=request.user, event_id=event_id)
        return Response(LiquidationReceiptSerializer(receipt).data)


class FundingPayments(generics.ListAPIView):
    """What the user's positions paid (-) or received (+) at each funding time, newest first,
    with the settlement's rate and mark."""

    serializer_class = FundingPaymentSerializer

    def get_queryset(self):
        return funding_payment_list(user=self.request.user)


class NoSuchEndpoint(APIView):
    """Any other path under /api/v1/: a 404 in the API's error shape, not the site's HTML page.
    Not an operation of the API, so not in its schema."""

    schema = None
    permission_classes = []
    authentication_classes = []

    def not_found(self, request, *args, **kwargs):
        raise NotFound("No such endpoint: see /api/docs/.")

    get = post = put = patch = delete = not_found
