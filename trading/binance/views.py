"""The facade's endpoints, at Binance USD-M's paths. Each reads and checks its parameters as
Binance does (params.py), calls one marginsite service or selector, and shapes the answer
(mapping.py); a refusal is answered in Binance's shape (errors.py).

Orders act on the position of the symbol's margin type (marginsite's per-symbol default mode,
set with POST /fapi/v1/marginType): ``order_place`` gets no mode and resolves that default
itself, under its lock. The position lists show that position alone per symbol, so a one-way
client never sees a position its orders do not act on. Conditional orders are Binance's algo
orders (/fapi/v1/algoOrder): stops and take-profits (with closePosition, a position's own) and
trailing stops.
"""

import json
from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.api_keys import KeyRateThrottle
from marginsite.errors import ApplicationError
from trading.binance import FACADE_VENUE, mapping
from trading.binance import selectors as reads
from trading.binance.errors import (
    ALGO_ORDER_TYPE,
    ASSET_MODE_UNCHANGED,
    CLOSE_POSITION_QUANTITY,
    INVALID_INTERVAL,
    INVALID_ORDER_TYPE,
    INVALID_SIDE,
    INVALID_TIME_IN_FORCE,
    LISTEN_KEY_UNKNOWN,
    MULTI_ASSETS_WITH_ISOLATED,
    ORDER_DOES_NOT_EXIST,
    POSITION_SIDE_MISMATCH,
    POSITION_SIDE_UNCHANGED,
    SAME_ORDER,
    TOO_MANY_REQUESTS,
    TRAILING_CLOSE_POSITION,
    UNKNOWN_ERROR,
    UNKNOWN_ORDER,
    BinanceError,
    ErrorContext,
    binance_error_from,
    binance_errors,
    either_missing,
    explanation,
    invalid_value,
    mandatory_missing,
    not_required,
    path_invalid,
)
from trading.binance.params import Params, request_params
from trading.binance.signing import ApiKeyAuthentication, BinanceSignatureAuthentication
from trading.domain.orders import RESTING_TYPES
from trading.errors import NoMarkPrice, NotIsolated, OrderNotCancelable
from trading.models import MarginMode, Order, TimeInForce
from trading.selectors import instrument_list, leverage_for, margin_mode_default
from trading.selectors.instruments import margin_mode_defaults
from trading.services import (
    isolated_margin_add,
    isolated_margin_remove,
    leverage_set,
    order_cancel,
    order_edit,
    order_place,
    symbol_margin_mode_set,
)
from trading.services.listen_keys import (
    listen_key_close,
    listen_key_keep_alive,
    listen_key_open,
)

SIDES = ("BUY", "SELL")
REGULAR_TYPES = ("MARKET", "LIMIT")
ALGO_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
BATCH_ORDERS_MAX = 5
BATCH_CANCEL_MAX = 10
DEPTH_LIMITS = ("5", "10", "20", "50", "100", "500", "1000")
MARGIN_MODES = {"CROSSED": MarginMode.CROSS, "ISOLATED": MarginMode.ISOLATED}
CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}
SINGLE_ASSET_ONLY = (
    "marginsite margins in USDT alone (Single-Asset mode): Multi-Assets mode would exclude "
    "isolated margin, which every symbol here offers."
)
ONE_WAY_ONLY = (
    "marginsite trades in one-way mode only: a symbol holds at most one position per margin "
    "mode (and may hold one of each)."
)


def binance_exception_handler(error, context):
    """Every refusal of the facade in Binance's shape (DRF's own included: a throttled client,
    a wrong method); anything else is a server error."""
    if isinstance(error, ApplicationError):
        error = binance_error_from(error, ErrorContext("read"))
    elif isinstance(error, exceptions.MethodNotAllowed):
        request = context["request"]
        error = path_invalid(request.path, request.method)
    elif isinstance(error, exceptions.Throttled):
        error = BinanceError.of(TOO_MANY_REQUESTS, status=429)
    elif isinstance(error, exceptions.APIException):
        error = BinanceError(UNKNOWN_ERROR[0], str(error.detail), status=error.status_code)
    if isinstance(error, BinanceError):
        return Response(error.body(), status=error.status)
    return None


class PublicView(APIView):
    """Market data: no key needed. ``self.params``: the request's parameters."""

    authentication_classes = []
    permission_classes = []
    throttle_classes = [KeyRateThrottle]

    def initial(self, request, *args, **kwargs):
        """A method the path does not take is refused first, as Binance's gateway does (before
        the signature is read)."""
        method = request.method.lower()
        if method not in self.http_method_names or not hasattr(self, method):
            raise exceptions.MethodNotAllowed(request.method)
        super().initial(request, *args, **kwargs)
        self.params = request_params(request)

    def get_exception_handler(self):
        return binance_exception_handler

    def options(self, request, *args, **kwargs):
        """Binance answers no OPTIONS request (DRF would describe the view)."""
        raise exceptions.MethodNotAllowed(request.method)


class SignedView(PublicView):
    """USER_DATA and TRADE endpoints: signed with an API key (signing.py)."""

    authentication_classes = [BinanceSignatureAuthentication]


def _one_way(params) -> None:
    """Orders name no position side, or BOTH (one-way mode)."""
    if params.choice("positionSide", ("BOTH", "LONG", "SHORT"), default="BOTH") != "BOTH":
        raise BinanceError.of(POSITION_SIDE_MISMATCH)


def _order_base(params, *, order_type: str) -> dict:
    """The side, quantity and reduce-only flag of a new order (of one-way mode). With
    ``closePosition=true`` (a STOP_MARKET or TAKE_PROFIT_MARKET algo order) it names no quantity
    and no reduceOnly, as on Binance: it closes the whole position when it triggers."""
    _one_way(params)
    side = params.choice("side", SIDES, error=BinanceError.of(INVALID_SIDE))
    if not params.boolean("closePosition"):
        return {
            "side": side,
            "quantity": params.number("quantity", required=True),
            "reduce_only": params.boolean("reduceOnly"),
        }
    if order_type == "TRAILING_STOP_MARKET":
        raise BinanceError.of(TRAILING_CLOSE_POSITION)
    if order_type not in RESTING_TYPES:
        raise invalid_value(
            "closePosition",
            detail="closePosition is for STOP_MARKET and TAKE_PROFIT_MARKET algo orders.",
        )
    if "quantity" in params:
        raise BinanceError.of(CLOSE_POSITION_QUANTITY)
    params.forbidden("reduceOnly")
    return {"side": side, "quantity": None, "close_position": True}


# Times past this (the year 9000) are refused: a window of candles after one would overflow.
LATEST_TIME_MS = 221845392000000


def _time_param(params, name: str):
    """A time parameter (ms since the epoch) as a datetime, or None."""
    milliseconds = params.integer(name)
    if milliseconds is not None and milliseconds > LATEST_TIME_MS:
        raise invalid_value(name)
    return reads.moment(milliseconds)


def _now_ms() -> int:
    return mapping.ms(timezone.now())


# --- market data ---------------------------------------------------------------------------


class UnknownPath(PublicView):
    """Every /fapi/ path without an endpoint: each method is refused as Binance refuses it
    (never Django's HTML page, which a client reads as a network failure and retries)."""


class Ping(PublicView):
    def get(self, request):
        return Response({})


class ServerTime(PublicView):
    def get(self, request):
        return Response({"serverTime": _now_ms()})


def _rate_limits() -> list[dict]:
    """The request budget of a key (or an IP), as Binance states its limits: every request
    weighs 1 here."""
    throttle = KeyRateThrottle()
    if throttle.num_requests is None:
        return []
    interval = {1: "SECOND", 60: "MINUTE", 3600: "HOUR", 86400: "DAY"}[throttle.duration]
    return [
        {
            "rateLimitType": "REQUEST_WEIGHT",
            "interval": interval,
            "intervalNum": 1,
            "limit": throttle.num_requests,
        }
    ]


class ExchangeInfo(PublicView):
    def get(self, request):
        return Response(
            {
                "timezone": "UTC",
                "serverTime": _now_ms(),
                "futuresType": "U_MARGINED",
                "rateLimits": _rate_limits(),
                "exchangeFilters": [],
                "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "0"}],
                "symbols": [
                    mapping.symbol_info(instrument)
                    for instrument in instrument_list(venue=FACADE_VENUE)
                ],
            }
        )


def _no_mark(instrument) -> NoMarkPrice:
    return NoMarkPrice(f"{instrument.symbol} has no mark price yet; try again shortly.")


def _marks_answer(params, shape):
    """One shaped mark for ``symbol``, else the list of all."""
    instrument = params.instrument(required=False)
    shaped = [shape(mark) for mark in reads.marks(instrument)]
    if instrument is None:
        return Response(shaped)
    if not shaped:
        raise _no_mark(instrument)
    return Response(shaped[0])


class Ticker24h(PublicView):
    def get(self, request):
        now = timezone.now()
        return _marks_answer(
            self.params,
            lambda mark: mapping.ticker_24h(
                mark, reads.day_stats(mark, now=now), now_ms=mapping.ms(now)
            ),
        )


class TickerPrice(PublicView):
    def get(self, request):
        return _marks_answer(self.params, mapping.price_ticker)


class PremiumIndex(PublicView):
    def get(self, request):
        now = timezone.now()
        return _marks_answer(
            self.params,
            lambda mark: mapping.premium_index(
                mark, reads.funding_next(mark, now=now), now_ms=mapping.ms(now)
            ),
        )


class FundingRate(PublicView):
    """The funding history: one row per settlement (its rate and mark)."""

    def get(self, request):
        params = self.params
        settlements = reads.funding_history(
            instrument=params.instrument(required=False),
            start=_time_param(params, "startTime"),
            end=_time_param(params, "endTime"),
            limit=params.limit(default=100, maximum=1000),
        )
        return Response([mapping.funding_rate_info(each) for each in settlements])


class FundingInfo(PublicView):
    def get(self, request):
        return Response(
            [
                mapping.funding_interval_info(each, interval=settings.FUNDING_INTERVAL)
                for each in instrument_list(venue=FACADE_VENUE)
            ]
        )


class Klines(PublicView):
    """Mark price candles (marginsite's candles are the mark's): klines and markPriceKlines;
    indexPriceKlines too, which names a ``pair`` (marginsite's one price feed is the index as
    well as the mark)."""

    instrument_param = "symbol"
    row = staticmethod(mapping.kline_row)

    def get(self, request):
        params = self.params
        instrument = params.instrument(name=self.instrument_param)
        interval = params.choice(
            "interval", reads.KLINE_MINUTES, error=BinanceError.of(INVALID_INTERVAL)
        )
        minutes = reads.KLINE_MINUTES[interval]
        klines = reads.klines(
            instrument,
            minutes=minutes,
            start=_time_param(params, "startTime"),
            end=_time_param(params, "endTime"),
            limit=params.limit(default=500, maximum=1500),
            now=timezone.now(),
        )
        return Response([self.row(kline) for kline in klines])


class IndexPriceKlines(Klines):
    instrument_param = "pair"


class PremiumIndexKlines(Klines):
    """The premium's candles at the mark's candle times: 0, the mark being the index."""

    row = staticmethod(mapping.premium_kline_row)


class Depth(PublicView):
    def get(self, request):
        params = self.params
        instrument = params.instrument()
        levels = int(params.choice("limit", DEPTH_LIMITS, default="500"))
        marks = reads.marks(instrument)
        if not marks:
            raise _no_mark(instrument)
        book = reads.book(marks[0], depth=levels)
        return Response(mapping.order_book(marks[0], book, now_ms=_now_ms()))


class BookTicker(PublicView):
    """The best bid and ask of one symbol, else of every symbol."""

    def get(self, request):
        instrument = self.params.instrument(required=False)
        now_ms = _now_ms()
        tickers = [
            mapping.book_ticker(mark, reads.book(mark, depth=1), now_ms=now_ms)
            for mark in reads.marks(instrument)
        ]
        if instrument is None:
            return Response(tickers)
        if not tickers:
            raise _no_mark(instrument)
        return Response(tickers[0])


class Trades(PublicView):
    """trades and historicalTrades (from ``fromId``): the venue's fills, anonymised."""

    def get(self, request):
        params = self.params
        fills = reads.public_trades(
            params.instrument(),
            from_id=params.integer("fromId"),
            start=None,
            end=None,
            limit=params.limit(default=500, maximum=1000),
        )
        return Response([mapping.public_trade_info(fill) for fill in fills])


class AggTrades(PublicView):
    """The venue's fills, each its own aggregate trade."""

    def get(self, request):
        params = self.params
        fills = reads.public_trades(
            params.instrument(),
            from_id=params.integer("fromId"),
            start=_time_param(params, "startTime"),
            end=_time_param(params, "endTime"),
            limit=params.limit(default=500, maximum=1000),
        )
        return Response([mapping.aggregate_trade_info(fill) for fill in fills])


class OpenInterest(PublicView):
    def get(self, request):
        instrument = self.params.instrument()
        return Response(
            mapping.open_interest_info(
                instrument, reads.open_interest(instrument), now_ms=_now_ms()
            )
        )


class SymbolAdlRisk(PublicView):
    """Every symbol's auto-deleveraging risk: LOW, the insurance fund covering bankruptcies
    first (each position's place in the queue is adlQuantile's)."""

    def get(self, request):
        instrument = self.params.instrument(required=False)
        now_ms = _now_ms()
        if instrument is not None:
            return Response(mapping.adl_risk_info(instrument, now_ms=now_ms))
        return Response(
            [
                mapping.adl_risk_info(each, now_ms=now_ms)
                for each in instrument_list(venue=FACADE_VENUE)
            ]
        )


# --- account -------------------------------------------------------------------------------


class Account(SignedView):
    def get(self, request):
        return Response(mapping.account_info(reads.account_state(user=request.user)))


class Balance(SignedView):
    def get(self, request):
        return Response(mapping.balance_info(reads.account_state(user=request.user)))


class PositionRisk(SignedView):
    """The open positions a one-way client sees: per symbol, the position of the symbol's
    margin type (selectors.account_state says why)."""

    def get(self, request):
        instrument = self.params.instrument(required=False)
        symbol = instrument.symbol if instrument else None
        state = reads.account_state(user=request.user, symbol=symbol)
        return Response(mapping.positions_info(state))


class CommissionRate(SignedView):
    def get(self, request):
        return Response(mapping.commission_rate_info(self.params.instrument()))


class AccountConfig(SignedView):
    def get(self, request):
        return Response(mapping.account_config_info())


class LeverageBracket(SignedView):
    def get(self, request):
        instrument = self.params.instrument(required=False)
        if instrument is not None:
            return Response(mapping.brackets_info(instrument))
        return Response(
            [mapping.brackets_info(each) for each in instrument_list(venue=FACADE_VENUE)]
        )


class SymbolConfig(SignedView):
    """Each symbol's margin type (marginsite's default mode of the symbol) and that mode's
    leverage."""

    def get(self, request):
        instrument = self.params.instrument(required=False)
        instruments = [instrument] if instrument else instrument_list(venue=FACADE_VENUE)
        modes = margin_mode_defaults(user=request.user, instruments=instruments)
        configs = []
        for each in instruments:
            mode = modes[each.pk]
            leverage = leverage_for(user=request.user, instrument=each, margin_mode=mode)
            configs.append(
                {
                    "symbol": each.symbol,
                    "marginType": mapping.MARGIN_TYPES[mode],
                    "isAutoAddMargin": "false",
                    "leverage": leverage,
                    "maxNotionalValue": mapping.figure(reads.max_notional(each, leverage)),
                }
            )
        return Response(configs)


class Leverage(SignedView):
    """The leverage of the symbol's margin type (marginsite keeps one per mode)."""

    def post(self, request):
        params = self.params
        instrument = params.instrument()
        leverage = params.integer("leverage", required=True)
        with binance_errors("leverage", instrument=instrument, leverage=leverage):
            mode = margin_mode_default(user=request.user, instrument=instrument)
            setting = leverage_set(
                user=request.user, symbol=instrument.symbol, margin_mode=mode, leverage=leverage
            )
        return Response(
            {
                "leverage": setting.leverage,
                "maxNotionalValue": mapping.figure(reads.max_notional(instrument, leverage)),
                "symbol": instrument.symbol,
            }
        )


class MarginType(SignedView):
    """The symbol's margin type: marginsite's default mode of the symbol, refused as Binance
    refuses it while a position or an open order of the current type exists."""

    def post(self, request):
        params = self.params
        instrument = params.instrument()
        margin_type = params.text("marginType", required=True).upper()
        if margin_type not in MARGIN_MODES:
            raise invalid_value("marginType")
        with binance_errors("margin_type", instrument=instrument):
            symbol_margin_mode_set(
                user=request.user,
                symbol=instrument.symbol,
                margin_mode=MARGIN_MODES[margin_type],
            )
        return Response({"code": 200, "msg": "success"})


class PositionMargin(SignedView):
    """Add (type 1) or remove (type 2) margin of the symbol's isolated position."""

    def post(self, request):
        params = self.params
        instrument = params.instrument()
        amount = params.number("amount", required=True)
        kind = params.choice("type", ("1", "2"))
        _one_way(params)
        action, change = {
            "1": ("margin_add", isolated_margin_add),
            "2": ("margin_remove", isolated_margin_remove),
        }[kind]
        with binance_errors(action, instrument=instrument):
            # a one-way client acts on the position it sees: the symbol's margin type's
            if reads.isolated_position_hidden(user=request.user, instrument=instrument):
                raise NotIsolated(
                    f"{instrument.symbol}'s margin type is CROSSED: only an isolated "
                    "position's margin can be changed.",
                    field="symbol",
                )
            change(user=request.user, symbol=instrument.symbol, amount=amount)
        return Response(
            {
                "amount": mapping.number(Decimal(amount)),
                "code": 200,
                "msg": "Successfully modify position margin.",
                "type": int(kind),
            }
        )


class PositionSideDual(SignedView):
    """One-way mode only: asking for hedge mode is refused."""

    def get(self, request):
        return Response({"dualSidePosition": False})

    def post(self, request):
        if "dualSidePosition" not in self.params:
            raise mandatory_missing("dualSidePosition")
        if self.params.boolean("dualSidePosition"):
            raise invalid_value("dualSidePosition", detail=ONE_WAY_ONLY)
        raise BinanceError.of(POSITION_SIDE_UNCHANGED)


class MultiAssetsMargin(SignedView):
    """Single-Asset mode only (USDT margins everything): asking for Multi-Assets mode is refused
    with the error Binance gives an account whose symbols may be isolated, which every
    marginsite symbol may; asking for Single-Asset mode is "already set", as on Binance."""

    def get(self, request):
        return Response({"multiAssetsMargin": False})

    def post(self, request):
        if "multiAssetsMargin" not in self.params:
            raise mandatory_missing("multiAssetsMargin")
        if self.params.boolean("multiAssetsMargin"):
            raise BinanceError(
                *MULTI_ASSETS_WITH_ISOLATED,
                explanation=explanation(
                    "NOT_SUPPORTED", SINGLE_ASSET_ONLY, field="multiAssetsMargin"
                ),
            )
        raise BinanceError.of(ASSET_MODE_UNCHANGED)


class PositionMarginHistory(SignedView):
    """The margin the user added to (type 1) or removed from (type 2) the symbol's isolated
    positions."""

    def get(self, request):
        params = self.params
        instrument = params.instrument()
        kind = params.choice("type", ("1", "2")) if "type" in params else None
        changes = reads.margin_changes(
            user=request.user,
            instrument=instrument,
            kind=int(kind) if kind else None,
            start=_time_param(params, "startTime"),
            end=_time_param(params, "endTime"),
            limit=params.limit(default=500, maximum=500),
        )
        return Response([mapping.margin_change_info(change) for change in changes])


class AdlQuantile(SignedView):
    """The auto-deleveraging quantile (0 to 4) of each symbol the user holds, by side
    (trading/selectors/deleveraging.py)."""

    def get(self, request):
        instrument = self.params.instrument(required=False)
        held = reads.adl_quantiles_held(user=request.user)
        if instrument is not None:
            held = {symbol: sides for symbol, sides in held.items() if symbol == instrument.symbol}
        return Response(
            [mapping.adl_quantile_info(symbol, sides) for symbol, sides in held.items()]
        )


class Income(SignedView):
    def get(self, request):
        params = self.params
        instrument = params.instrument(required=False)
        income_type = params.text("incomeType")
        if income_type is not None and income_type not in reads.BINANCE_INCOME_TYPES:
            raise invalid_value("incomeType")
        incomes = reads.income_history(
            user=request.user,
            symbol=instrument.symbol if instrument else None,
            income_type=income_type,
            start=_time_param(params, "startTime"),
            end=_time_param(params, "endTime"),
            limit=params.limit(default=100, maximum=1000),
        )
        return Response([mapping.income_info(income) for income in incomes])


# --- orders --------------------------------------------------------------------------------


def _order_lookup(request, params, *, conditional: bool, not_found):
    """The order a query or cancel names (by id or client id), or ``not_found``."""
    names = ("algoId", "clientAlgoId") if conditional else ("orderId", "origClientOrderId")
    instrument = params.instrument(required=not conditional)
    order_id, client_id = params.integer(names[0]), params.text(names[1])
    if order_id is None and client_id is None:
        raise either_missing(*names)
    order = reads.order_find(
        user=request.user,
        instrument=instrument,
        conditional=conditional,
        order_id=order_id,
        client_id=client_id,
    )
    if order is None:
        raise BinanceError.of(not_found)
    return order


def _cancel(request, order):
    with binance_errors("cancel"):
        return order_cancel(user=request.user, order_id=order.pk)


def _cancel_all(request, orders) -> None:
    """Cancel each open order; one that filled meanwhile is left as it is."""
    for order in orders:
        try:
            order_cancel(user=request.user, order_id=order.pk)
        except OrderNotCancelable:
            continue


def _order_new(user, params) -> dict:
    """A new MARKET or LIMIT order from ``params``, answered as Binance answers it (or the
    BinanceError it raises): POST /fapi/v1/order, and each order of /fapi/v1/batchOrders."""
    instrument = params.instrument(kept=True)
    order_type = params.text("type", required=True)
    if order_type in ALGO_TYPES:
        raise BinanceError.of(ALGO_ORDER_TYPE)
    if order_type not in REGULAR_TYPES:
        raise BinanceError.of(INVALID_ORDER_TYPE)
    order = _order_base(params, order_type=order_type)
    params.forbidden("stopPrice")
    if order_type == "LIMIT":
        order["price"] = params.number("price", required=True)
        order["time_in_force"] = params.choice(
            "timeInForce",
            TimeInForce.values,
            default=TimeInForce.GTC,
            error=BinanceError.of(INVALID_TIME_IN_FORCE),
        )
    else:
        params.forbidden("price", "timeInForce")
    with binance_errors("order", instrument=instrument):
        placed = order_place(
            user=user,
            symbol=instrument.symbol,
            venue=FACADE_VENUE,
            order_type=order_type,
            client_order_id=params.text("newClientOrderId"),
            **order,
        )
    return mapping.order_info(placed)


def _order_edit(request, params) -> dict:
    """A resting limit order with a new price and quantity, answered as Binance answers it (or
    the BinanceError it raises): PUT /fapi/v1/order, and each order of PUT batchOrders."""
    order = _order_lookup(request, params, conditional=False, not_found=ORDER_DOES_NOT_EXIST)
    side = params.choice("side", SIDES, error=BinanceError.of(INVALID_SIDE))
    quantity = params.number("quantity", required=True)
    price = params.number("price", required=True)
    params.forbidden("priceMatch")
    if side != order.side:
        raise BinanceError(
            *INVALID_SIDE,
            explanation=explanation(
                "INVALID_INPUT",
                f"Order {order.pk} is a {order.side}: an edit keeps the side.",
                field="side",
            ),
        )
    unchanged = (Decimal(quantity), Decimal(price)) == (order.quantity, order.price)
    if unchanged and order.status == Order.Status.NEW:
        raise BinanceError.of(SAME_ORDER)
    with binance_errors("order", instrument=order.instrument):
        edited = order_edit(user=request.user, order_id=order.pk, quantity=quantity, price=price)
    return mapping.order_info(edited)


def _batch_entries(params) -> list[Params]:
    """``batchOrders``: a JSON list of 1 to 5 orders, each an object of Binance's order
    parameters, as strings (ccxt's) or JSON numbers and booleans; numbers keep their text."""
    try:
        entries = json.loads(
            params.text("batchOrders", required=True), parse_float=str, parse_int=str
        )
    except (ValueError, RecursionError):  # RecursionError: JSON nested past Python's stack
        raise invalid_value("batchOrders") from None
    if not isinstance(entries, list) or not entries:
        raise invalid_value("batchOrders")
    if len(entries) > BATCH_ORDERS_MAX:
        raise invalid_value("batchOrders", detail=f"At most {BATCH_ORDERS_MAX} orders a batch.")
    scalars = (str, bool)  # JSON numbers were read as their text
    if not all(
        isinstance(entry, dict)
        and all(value is None or isinstance(value, scalars) for value in entry.values())
        for entry in entries
    ):
        raise invalid_value("batchOrders")
    return [
        Params(
            {
                name: str(value).lower() if isinstance(value, bool) else value
                for name, value in entry.items()
                if value not in (None, "")
            }
        )
        for entry in entries
    ]


class OrderView(SignedView):
    """POST: a MARKET or LIMIT order (time in force GTC, IOC, FOK or GTX); conditional types go
    to /fapi/v1/algoOrder, as on Binance. GET: query one. PUT: change a resting limit order's
    price and quantity (it keeps its id). DELETE: cancel one."""

    def post(self, request):
        return Response(_order_new(request.user, self.params))

    def put(self, request):
        return Response(_order_edit(request, self.params))

    def get(self, request):
        order = _order_lookup(
            request, self.params, conditional=False, not_found=ORDER_DOES_NOT_EXIST
        )
        return Response(mapping.order_info(order))

    def delete(self, request):
        order = _order_lookup(request, self.params, conditional=False, not_found=UNKNOWN_ORDER)
        return Response(mapping.order_info(_cancel(request, order)))


def _each_answered(action, items) -> list[dict]:
    """``action(item)`` for each item, in order: its answer, or its refusal's body (Binance's
    batch answers: the good ones done whatever the others do)."""
    answers = []
    for item in items:
        try:
            answers.append(action(item))
        except BinanceError as error:
            answers.append(error.body())
    return answers


def _id_list(params, *names: str, integers: bool) -> list | None:
    """A batch cancel's list of ids (JSON, at most 10), under Binance's name or ccxt's
    lowercase one; None when neither is sent."""
    name = next((name for name in names if name in params), None)
    if name is None:
        return None
    try:
        ids = json.loads(params.text(name))
    except (ValueError, RecursionError):  # RecursionError: JSON nested past Python's stack
        raise invalid_value(names[0]) from None
    kind = int if integers else str
    valid = (
        isinstance(ids, list)
        and 0 < len(ids) <= BATCH_CANCEL_MAX
        and all(isinstance(each, kind) and not isinstance(each, bool) for each in ids)
    )
    if not valid:
        raise invalid_value(names[0])
    return ids


class BatchOrders(SignedView):
    """POST: up to 5 new orders; PUT: up to 5 edits; DELETE: cancel up to 10 orders of a symbol
    by id or client id. One answer per order, in order: the order or its refusal."""

    def post(self, request):
        return Response(
            _each_answered(
                lambda params: _order_new(request.user, params), _batch_entries(self.params)
            )
        )

    def put(self, request):
        return Response(
            _each_answered(lambda params: _order_edit(request, params), _batch_entries(self.params))
        )

    def delete(self, request):
        params = self.params
        instrument = params.instrument()
        order_ids = _id_list(params, "orderIdList", "orderidlist", integers=True)
        client_ids = _id_list(
            params, "origClientOrderIdList", "origclientorderidlist", integers=False
        )
        if order_ids is None and client_ids is None:
            raise either_missing("orderIdList", "origClientOrderIdList")
        names = [{"orderId": each} for each in order_ids or []]
        names += [{"origClientOrderId": each} for each in client_ids or []]

        def cancel(name: dict) -> dict:
            found = Params({"symbol": instrument.symbol, **{k: str(v) for k, v in name.items()}})
            order = _order_lookup(request, found, conditional=False, not_found=UNKNOWN_ORDER)
            return mapping.order_info(_cancel(request, order))

        return Response(_each_answered(cancel, names))


class OpenOrders(SignedView):
    def get(self, request):
        instrument = self.params.instrument(required=False)
        orders = reads.open_orders(user=request.user, instrument=instrument, conditional=False)
        return Response([mapping.order_info(order) for order in orders])


class OpenOrder(SignedView):
    """One open order: an order that is no longer open does not exist here, as on Binance."""

    def get(self, request):
        order = _order_lookup(
            request, self.params, conditional=False, not_found=ORDER_DOES_NOT_EXIST
        )
        if order.status != Order.Status.NEW:
            raise BinanceError.of(ORDER_DOES_NOT_EXIST)
        return Response(mapping.order_info(order))


class ForceOrders(SignedView):
    """The orders that closed the user's liquidated positions. marginsite never
    auto-deleverages, so autoCloseType=ADL lists none."""

    def get(self, request):
        params = self.params
        instrument = params.instrument(required=False)
        close_type = params.choice("autoCloseType", ("LIQUIDATION", "ADL"), default="LIQUIDATION")
        start, end = _time_param(params, "startTime"), _time_param(params, "endTime")
        limit = params.limit(default=50, maximum=100)
        if close_type == "ADL":
            return Response([])
        orders = reads.liquidation_orders(
            user=request.user, instrument=instrument, start=start, end=end, limit=limit
        )
        return Response([mapping.liquidation_order_info(order) for order in orders])


class AllOrders(SignedView):
    def get(self, request):
        params = self.params
        orders = reads.order_history(
            user=request.user,
            instrument=params.instrument(),
            conditional=False,
            from_id=params.integer("orderId"),
            start=_time_param(params, "startTime"),
            end=_time_param(params, "endTime"),
            limit=params.limit(default=500, maximum=1000),
        )
        return Response([mapping.order_info(order) for order in orders])


class AllOpenOrders(SignedView):
    def delete(self, request):
        instrument = self.params.instrument()
        _cancel_all(
            request,
            reads.open_orders(user=request.user, instrument=instrument, conditional=False),
        )
        return Response(CANCEL_ALL_DONE)


class UserTrades(SignedView):
    def get(self, request):
        params = self.params
        fills = reads.fill_history(
            user=request.user,
            instrument=params.instrument(),
            order_id=params.integer("orderId"),
            from_id=params.integer("fromId"),
            start=_time_param(params, "startTime"),
            end=_time_param(params, "endTime"),
            limit=params.limit(default=500, maximum=1000),
        )
        return Response([mapping.trade_info(fill) for fill in fills])


def _trailing_terms(params) -> dict:
    """A TRAILING_STOP_MARKET's callback rate and activation price (Binance's algo endpoint
    names it ``activatePrice``; its order endpoint named it ``activationPrice``: either is read,
    not both)."""
    if "activatePrice" in params and "activationPrice" in params:
        raise not_required("activationPrice")
    activation = params.number("activatePrice") or params.number("activationPrice")
    return {
        "callback_rate": params.number("callbackRate", required=True),
        "activation_price": activation,
    }


class AlgoOrder(SignedView):
    """Conditional orders, triggered by the mark price: STOP_MARKET and TAKE_PROFIT_MARKET
    (``closePosition=true``: with no quantity, closing the whole position) and
    TRAILING_STOP_MARKET (``callbackRate``, optional ``activatePrice``)."""

    def post(self, request):
        params = self.params
        params.choice("algoType", ("CONDITIONAL",))
        instrument = params.instrument(kept=True)
        order_type = params.text("type", required=True)
        if order_type not in reads.CONDITIONAL_TYPES:
            raise BinanceError.of(INVALID_ORDER_TYPE)
        order = _order_base(params, order_type=order_type)
        params.forbidden("price")
        params.choice("workingType", ("MARK_PRICE", "CONTRACT_PRICE"), default="MARK_PRICE")
        if order_type == "TRAILING_STOP_MARKET":
            params.forbidden("triggerPrice")
            order.update(_trailing_terms(params))
        else:
            params.forbidden("callbackRate", "activatePrice", "activationPrice")
            order["stop_price"] = params.number("triggerPrice", required=True)
        with binance_errors("order", instrument=instrument):
            placed = order_place(
                user=request.user,
                symbol=instrument.symbol,
                venue=FACADE_VENUE,
                order_type=order_type,
                client_order_id=params.text("clientAlgoId"),
                **order,
            )
        return Response(mapping.algo_order_info(placed))

    def get(self, request):
        order = _order_lookup(
            request, self.params, conditional=True, not_found=ORDER_DOES_NOT_EXIST
        )
        return Response(mapping.algo_order_info(order))

    def delete(self, request):
        order = _cancel(
            request,
            _order_lookup(request, self.params, conditional=True, not_found=UNKNOWN_ORDER),
        )
        return Response(
            {
                "algoId": order.pk,
                "clientAlgoId": order.client_order_id,
                "code": "200",
                "msg": "success",
            }
        )


class OpenAlgoOrders(SignedView):
    def get(self, request):
        instrument = self.params.instrument(required=False)
        orders = reads.open_orders(user=request.user, instrument=instrument, conditional=True)
        return Response([mapping.algo_order_info(order) for order in orders])


class AllAlgoOrders(SignedView):
    def get(self, request):
        params = self.params
        orders = reads.order_history(
            user=request.user,
            instrument=params.instrument(),
            conditional=True,
            from_id=params.integer("algoId"),
            start=_time_param(params, "startTime"),
            end=_time_param(params, "endTime"),
            limit=params.limit(default=500, maximum=1000),
        )
        return Response([mapping.algo_order_info(order) for order in orders])


class AlgoOpenOrders(SignedView):
    def delete(self, request):
        instrument = self.params.instrument()
        _cancel_all(
            request, reads.open_orders(user=request.user, instrument=instrument, conditional=True)
        )
        return Response(CANCEL_ALL_DONE)


# --- user data streams ---------------------------------------------------------------------


class ListenKeyView(PublicView):
    """The listen key of the key's user data stream (trading/binance/streams/): POST opens it
    (or answers the valid one, kept alive), PUT keeps it alive 60 minutes more, DELETE closes
    it. Binance's USER_STREAM security: the X-MBX-APIKEY header alone, a read-only key too."""

    authentication_classes = [ApiKeyAuthentication]

    def post(self, request):
        return Response({"listenKey": listen_key_open(api_key=request.auth).key})

    def put(self, request):
        kept = listen_key_keep_alive(api_key=request.auth)
        if kept is None:
            raise BinanceError.of(LISTEN_KEY_UNKNOWN)
        return Response({"listenKey": kept.key})

    def delete(self, request):
        listen_key_close(api_key=request.auth)
        return Response({})
