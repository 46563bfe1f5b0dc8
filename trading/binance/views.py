"""The facade's endpoints, at Binance USD-M's paths. Each reads and checks its parameters as
Binance does (params.py), calls one marginsite service or selector, and shapes the answer
(mapping.py); a refusal is answered in Binance's shape (errors.py).

Orders act on the position of the symbol's margin type (marginsite's per-symbol default mode,
set with POST /fapi/v1/marginType): ``order_place`` gets no mode and resolves that default
itself, under its lock. Conditional orders are Binance's algo orders (/fapi/v1/algoOrder).
"""

from decimal import Decimal

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from marginsite.errors import ApplicationError
from trading.api.authentication import KeyRateThrottle
from trading.binance import mapping
from trading.binance import selectors as reads
from trading.binance.errors import (
    ALGO_ORDER_TYPE,
    INVALID_INTERVAL,
    INVALID_ORDER_TYPE,
    INVALID_SIDE,
    INVALID_TIME_IN_FORCE,
    ORDER_DOES_NOT_EXIST,
    POSITION_SIDE_MISMATCH,
    POSITION_SIDE_UNCHANGED,
    TOO_MANY_REQUESTS,
    UNKNOWN_ERROR,
    UNKNOWN_ORDER,
    BinanceError,
    ErrorContext,
    binance_error_from,
    binance_errors,
    either_missing,
    invalid_value,
    mandatory_missing,
)
from trading.binance.params import request_params
from trading.binance.signing import BinanceSignatureAuthentication
from trading.errors import NoMarkPrice, OrderNotCancelable
from trading.models import MarginMode
from trading.selectors import instrument_list, leverage_for, margin_mode_default
from trading.selectors.market import open_position_modes
from trading.services import (
    isolated_margin_add,
    isolated_margin_remove,
    leverage_set,
    order_cancel,
    order_place,
    symbol_margin_mode_set,
)

SIDES = ("BUY", "SELL")
REGULAR_TYPES = ("MARKET", "LIMIT")
ALGO_TYPES = ("STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
DEPTH_LIMITS = ("5", "10", "20", "50", "100", "500", "1000")
MARGIN_MODES = {"CROSSED": MarginMode.CROSS, "ISOLATED": MarginMode.ISOLATED}
CANCEL_ALL_DONE = {"code": 200, "msg": "The operation of cancel all open order is done."}
ONE_WAY_ONLY = (
    "marginsite trades in one-way mode only: a symbol holds at most one position per margin "
    "mode (and may hold one of each)."
)


def binance_exception_handler(error, context):
    """Every refusal of the facade in Binance's shape (DRF's own included: a throttled client,
    a wrong method); anything else is a server error."""
    if isinstance(error, ApplicationError):
        error = binance_error_from(error, ErrorContext("read"))
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
        super().initial(request, *args, **kwargs)
        self.params = request_params(request)

    def get_exception_handler(self):
        return binance_exception_handler


class SignedView(PublicView):
    """USER_DATA and TRADE endpoints: signed with an API key (signing.py)."""

    authentication_classes = [BinanceSignatureAuthentication]


def _one_way(params) -> None:
    """Orders name no position side, or BOTH (one-way mode)."""
    if params.choice("positionSide", ("BOTH", "LONG", "SHORT"), default="BOTH") != "BOTH":
        raise BinanceError.of(POSITION_SIDE_MISMATCH)


def _one_position_per_symbol(user, instrument) -> None:
    """Binance's API addresses one position per symbol (one-way mode). A symbol held in both
    modes in marginsite cannot be traded through it safely: an order would act on the position of
    the symbol's margin type, whichever the bot meant, so it is refused (close one of them)."""
    if len(open_position_modes(user=user, instrument=instrument)) > 1:
        raise BinanceError(
            *POSITION_SIDE_MISMATCH,
            explanation={
                "code": "BOTH_MODES_HELD",
                "message": f"You hold both a Cross and an Isolated {instrument.symbol} position: "
                "the Binance API can address only one. Close one of them (in marginsite or "
                "its native API) to trade this symbol here.",
                "field": "symbol",
            },
        )


def _order_base(params) -> dict:
    """The side, quantity and reduce-only flag of a new order (of one-way mode, with a
    quantity: marginsite has no closePosition orders)."""
    _one_way(params)
    if params.boolean("closePosition"):
        raise invalid_value(
            "closePosition", detail="Name the quantity: marginsite has no closePosition orders."
        )
    return {
        "side": params.choice("side", SIDES, error=BinanceError.of(INVALID_SIDE)),
        "quantity": params.number("quantity", required=True),
        "reduce_only": params.boolean("reduceOnly"),
    }


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
                "symbols": [mapping.symbol_info(instrument) for instrument in instrument_list()],
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


class Klines(PublicView):
    """Mark price candles (marginsite's candles are the mark's): klines and markPriceKlines."""

    def get(self, request):
        params = self.params
        instrument = params.instrument()
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
        return Response([mapping.kline_row(kline) for kline in klines])


class Depth(PublicView):
    def get(self, request):
        params = self.params
        instrument = params.instrument()
        levels = int(params.choice("limit", DEPTH_LIMITS, default="500"))
        marks = reads.marks(instrument)
        if not marks:
            raise _no_mark(instrument)
        return Response(mapping.order_book(marks[0], levels=levels, now_ms=_now_ms()))


# --- account -------------------------------------------------------------------------------


class Account(SignedView):
    def get(self, request):
        return Response(mapping.account_info(reads.account_state(user=request.user)))


class Balance(SignedView):
    def get(self, request):
        return Response(mapping.balance_info(reads.account_state(user=request.user)))


class PositionRisk(SignedView):
    """Every open position, each with its own margin type (a symbol may have two)."""

    def get(self, request):
        instrument = self.params.instrument(required=False)
        symbol = instrument.symbol if instrument else None
        state = reads.account_state(user=request.user, symbol=symbol)
        return Response(mapping.positions_info(state))


class LeverageBracket(SignedView):
    def get(self, request):
        instrument = self.params.instrument(required=False)
        if instrument is not None:
            return Response(mapping.brackets_info(instrument))
        return Response([mapping.brackets_info(each) for each in instrument_list()])


class SymbolConfig(SignedView):
    """Each symbol's margin type (marginsite's default mode of the symbol) and that mode's
    leverage."""

    def get(self, request):
        instrument = self.params.instrument(required=False)
        instruments = [instrument] if instrument else instrument_list()
        configs = []
        for each in instruments:
            mode = margin_mode_default(user=request.user, instrument=each)
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


class Income(SignedView):
    def get(self, request):
        params = self.params
        instrument = params.instrument(required=False)
        incomes = reads.income_history(
            user=request.user,
            symbol=instrument.symbol if instrument else None,
            income_type=params.text("incomeType"),
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


class OrderView(SignedView):
    """POST: a MARKET or LIMIT (GTC) order; conditional types go to /fapi/v1/algoOrder, as on
    Binance. GET: query one. DELETE: cancel one."""

    def post(self, request):
        params = self.params
        instrument = params.instrument()
        order_type = params.text("type", required=True)
        if order_type in ALGO_TYPES:
            raise BinanceError.of(ALGO_ORDER_TYPE)
        if order_type not in REGULAR_TYPES:
            raise BinanceError.of(INVALID_ORDER_TYPE)
        order = _order_base(params)
        _one_position_per_symbol(request.user, instrument)
        params.forbidden("stopPrice")
        if order_type == "LIMIT":
            order["price"] = params.number("price", required=True)
            params.choice(
                "timeInForce",
                ("GTC",),
                default="GTC",
                error=BinanceError.of(INVALID_TIME_IN_FORCE),
            )
        else:
            params.forbidden("price", "timeInForce")
        with binance_errors("order", instrument=instrument):
            placed = order_place(
                user=request.user,
                symbol=instrument.symbol,
                order_type=order_type,
                client_order_id=params.text("newClientOrderId"),
                **order,
            )
        return Response(mapping.order_info(placed))

    def get(self, request):
        order = _order_lookup(
            request, self.params, conditional=False, not_found=ORDER_DOES_NOT_EXIST
        )
        return Response(mapping.order_info(order))

    def delete(self, request):
        order = _order_lookup(request, self.params, conditional=False, not_found=UNKNOWN_ORDER)
        return Response(mapping.order_info(_cancel(request, order)))


class OpenOrders(SignedView):
    def get(self, request):
        instrument = self.params.instrument(required=False)
        orders = reads.open_orders(user=request.user, instrument=instrument, conditional=False)
        return Response([mapping.order_info(order) for order in orders])


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


class AlgoOrder(SignedView):
    """Conditional orders: STOP_MARKET and TAKE_PROFIT_MARKET, triggered by the mark price."""

    def post(self, request):
        params = self.params
        params.choice("algoType", ("CONDITIONAL",))
        instrument = params.instrument()
        order_type = params.text("type", required=True)
        if order_type not in reads.CONDITIONAL_TYPES:
            raise BinanceError.of(INVALID_ORDER_TYPE)
        order = _order_base(params)
        params.forbidden("price", "callbackRate", "activatePrice")
        params.choice("workingType", ("MARK_PRICE", "CONTRACT_PRICE"), default="MARK_PRICE")
        trigger = params.number("triggerPrice", required=True)
        _one_position_per_symbol(request.user, instrument)
        with binance_errors("order", instrument=instrument):
            placed = order_place(
                user=request.user,
                symbol=instrument.symbol,
                order_type=order_type,
                stop_price=trigger,
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
