"""Binance's error answers: ``{"code": -NNNN, "msg": "..."}`` with Binance's codes, messages and
HTTP statuses, so that a client written for Binance reacts to marginsite's refusals as it reacts
to Binance's (ccxt turns the code, or for some the exact message, into a typed exception).

A refusal of a marginsite service keeps its own explanation in a ``marginsite`` member of the
body (code, message, field, reason): Binance's clients ignore it, and a bot's log shows why.

The Binance answer is chosen by the refusal's class and reason (BY_REFUSAL), and for a few by the
field at fault or the endpoint, never by its message: a message can be reworded without changing
what a bot receives. Where one marginsite class stands for several Binance codes (an invalid
quantity: not on the step, below the minimum, below the minimum notional...), its reasons tell
them apart. tests/trading/binance/test_errors.py walks every refusal class and reason.

ccxt applies Binance's per-market error tables only to requests sent to Binance's own hosts; on
any other host it uses its common table, where some codes are missing (-2019, -2021). Their
message is the one Binance wording that the common table maps to the class the per-market table
gives the code ("Account has insufficient balance for requested action." is InsufficientFunds,
"Order would trigger immediately." is OrderImmediatelyFillable), so a bot pointed at marginsite
gets the exception it gets from Binance.
"""

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

from marginsite.errors import ApplicationError, InvalidInput
from trading.errors import (
    ClosePositionExists,
    InvalidAmount,
    InvalidLeverage,
    InvalidPrice,
    InvalidQuantity,
    LeverageReductionRefused,
    LeverageTooHigh,
    MarginInsufficient,
    MarginModeLocked,
    MarginModeUnchanged,
    NoMarkPrice,
    NoPosition,
    NotIsolated,
    OrderNotCancelable,
    OrderNotEditable,
    OrderNotFound,
    PostOnlyRejected,
    ReduceOnlyRejected,
    SymbolHalted,
    UnknownSymbol,
)

UNKNOWN_ERROR = (-1000, "An unknown error occured while processing the request.")
INVALID_SYMBOL = (-1121, "Invalid symbol.")
TIMESTAMP_OUTSIDE_WINDOW = (-1021, "Timestamp for this request is outside of the recvWindow.")
TIMESTAMP_AHEAD = (-1021, "Timestamp for this request was 1000ms ahead of the server's time.")
SIGNATURE_INVALID = (-1022, "Signature for this request is not valid.")
RECV_WINDOW_TOO_LARGE = (-1131, "recvWindow must be less than 60000")
DUPLICATE_PARAMETER = (-1101, "Duplicate values for a parameter detected.")
API_KEY_FORMAT = (-2014, "API-key format invalid.")
API_KEY_INVALID = (-2015, "Invalid API-key, IP, or permissions for action.")
INVALID_SIDE = (-1117, "Invalid side.")
INVALID_ORDER_TYPE = (-1116, "Invalid orderType.")
INVALID_TIME_IN_FORCE = (-1115, "Invalid timeInForce.")
INVALID_INTERVAL = (-1120, "Invalid interval.")
ALGO_ORDER_TYPE = (
    -4120,
    "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead.",
)
CLOSE_POSITION_QUANTITY = (-4137, "Quantity must be zero with closePosition equals true")
TRAILING_CLOSE_POSITION = (
    -4136,
    "Target strategy invalid for orderType TRAILING_STOP_MARKET,closePosition true",
)
POSITION_SIDE_MISMATCH = (-4061, "Order's position side does not match user's setting.")
POSITION_SIDE_UNCHANGED = (-4059, "No need to change position side.")
MULTI_ASSETS_WITH_ISOLATED = (
    -4167,
    "Unable to adjust to Multi-Assets mode with symbols of USDⓈ-M Futures under isolated-margin "
    "mode.",
)
ASSET_MODE_UNCHANGED = (
    -4171,
    "Adjusted asset mode is currently set and does not need to be adjusted repeatedly",
)
UNKNOWN_ORDER = (-2011, "Unknown order sent.")
SAME_ORDER = (-5027, "No need to modify the order.")
ORDER_DOES_NOT_EXIST = (-2013, "Order does not exist.")
LISTEN_KEY_UNKNOWN = (-1125, "This listenKey does not exist.")
TOO_MANY_REQUESTS = (
    -1003,
    "Too many requests; please use the websocket for live updates to avoid polling the API.",
)

PRECISION_OVER_MAXIMUM = (-1111, "Precision is over the maximum defined for this asset.")
MARGIN_INSUFFICIENT = (-2019, "Account has insufficient balance for requested action.")
POSITION_TOO_LARGE = (-2027, "Exceeded the maximum allowable position at current leverage.")
MARGIN_INSUFFICIENT_BY_ACTION = {
    "margin_add": (-4050, "Cross balance insufficient."),
    "margin_remove": (-4051, "Isolated balance insufficient."),
}
INVALID_INPUT_BY_FIELD = {
    "side": INVALID_SIDE,
    "order_type": INVALID_ORDER_TYPE,
    "client_order_id": (-4015, "Client order id is not valid."),
    "callback_rate": (-1130, "Data sent for parameter 'callbackRate' is not valid."),
}


@dataclass(frozen=True)
class ErrorContext:
    """What a translation may need besides the refusal: the endpoint's action ("order",
    "cancel", "leverage", "margin_type", "margin_add", "margin_remove", "read"), the instrument
    and the leverage the request named."""

    action: str
    instrument: object = None
    leverage: int | None = None


def _leverage_not_valid(error: ApplicationError, context: ErrorContext) -> tuple[int, str]:
    return -4028, f"Leverage {context.leverage} is not valid"


def _notional_too_small(error: ApplicationError, context: ErrorContext) -> tuple[int, str]:
    minimum = context.instrument.min_notional.normalize()
    return (
        -4164,
        f"Order's notional must be no smaller than {minimum:f} (unless you choose reduce only).",
    )


def _margin_insufficient(error: ApplicationError, context: ErrorContext) -> tuple[int, str]:
    """Binance names the balance by endpoint: adding margin spends the cross balance, removing
    it spends the isolated position's; anything else, the account's."""
    return MARGIN_INSUFFICIENT_BY_ACTION.get(context.action, MARGIN_INSUFFICIENT)


def _invalid_input(error: ApplicationError, context: ErrorContext) -> tuple[int, str]:
    """Binance's code for the parameter at fault, else its "not valid" naming the parameter."""
    if error.field in INVALID_INPUT_BY_FIELD:
        return INVALID_INPUT_BY_FIELD[error.field]
    return -1130, f"Data sent for parameter '{error.field}' is not valid."


Translation = tuple[int, str] | Callable[[ApplicationError, ErrorContext], tuple[int, str]]

# A refusal class, or (class, reason), and Binance's (code, message): as they are, or from a
# function of the refusal and its context. A class's own entry covers its reasons listed nowhere
# else; a class with no entry takes its nearest base's; a refusal with none is UNKNOWN_ERROR.
BY_REFUSAL: dict[type[ApplicationError] | tuple[type[ApplicationError], str], Translation] = {
    UnknownSymbol: INVALID_SYMBOL,
    SymbolHalted: (-4140, "Invalid symbol status for opening position."),
    NoMarkPrice: (-1001, "Internal error; unable to process your request. Please try again."),
    LeverageReductionRefused: (
        -4161,
        "Leverage reduction is not supported in Isolated Margin Mode with open positions",
    ),
    MarginModeUnchanged: (-4046, "No need to change margin type."),
    (MarginModeLocked, MarginModeLocked.Reason.OPEN_ORDERS): (
        -4047,
        "Margin type cannot be changed if there exists open orders.",
    ),
    (MarginModeLocked, MarginModeLocked.Reason.OPEN_POSITION): (
        -4048,
        "Margin type cannot be changed if there exists position.",
    ),
    NotIsolated: (-4049, "Add margin only support for isolated position."),
    NoPosition: (-4054, "Cannot add position margin: position is 0."),
    ReduceOnlyRejected: (-2022, "ReduceOnly Order is rejected."),
    ClosePositionExists: (
        -4130,
        "An open stop or take profit order with GTE and closePosition in the direction is "
        "existing.",
    ),
    OrderNotFound: UNKNOWN_ORDER,
    OrderNotCancelable: UNKNOWN_ORDER,
    OrderNotEditable: (-4000, "Invalid order status."),
    PostOnlyRejected: (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    ),
    InvalidAmount: (-4055, "Amount must be positive."),
    MarginInsufficient: _margin_insufficient,
    InvalidLeverage: _leverage_not_valid,
    (LeverageTooHigh, LeverageTooHigh.Reason.ABOVE_MAXIMUM): _leverage_not_valid,
    (LeverageTooHigh, LeverageTooHigh.Reason.POSITION_TOO_LARGE): POSITION_TOO_LARGE,
    (InvalidPrice, InvalidPrice.Reason.WOULD_TRIGGER_IMMEDIATELY): (
        -2021,
        "Order would trigger immediately.",
    ),
    (InvalidPrice, InvalidPrice.Reason.NOT_POSITIVE): (-4001, "Price less than 0."),
    (InvalidPrice, InvalidPrice.Reason.OFF_TICK): (-4014, "Price not increased by tick size."),
    InvalidPrice: PRECISION_OVER_MAXIMUM,
    (InvalidQuantity, InvalidQuantity.Reason.BELOW_MIN_NOTIONAL): _notional_too_small,
    (InvalidQuantity, InvalidQuantity.Reason.NOT_POSITIVE): (
        -4003,
        "Quantity less than or equal to zero.",
    ),
    (InvalidQuantity, InvalidQuantity.Reason.BELOW_MIN_QUANTITY): (
        -4004,
        "Quantity less than min quantity.",
    ),
    (InvalidQuantity, InvalidQuantity.Reason.OFF_STEP): (-4023, "Qty not increased by step size."),
    InvalidQuantity: PRECISION_OVER_MAXIMUM,
    InvalidInput: _invalid_input,
}


class BinanceError(Exception):
    """A refusal in Binance's shape. ``explanation``: marginsite's own code, message and field,
    sent along in the body's ``marginsite`` member."""

    def __init__(self, code: int, msg: str, *, status: int = 400, explanation=None):
        super().__init__(msg)
        self.code, self.msg, self.status, self.explanation = code, msg, status, explanation

    @classmethod
    def of(cls, error: tuple[int, str], *, status: int = 400, cause=None) -> "BinanceError":
        """``error`` (code, message) as a refusal; ``cause``: the ApplicationError it translates."""
        return cls(*error, status=status, explanation=cause and explanation_of(cause))

    def body(self) -> dict:
        body = {"code": self.code, "msg": self.msg}
        if self.explanation is not None:
            body["marginsite"] = self.explanation
        return body


def explanation(code: str, message: str, *, field: str | None, reason: str | None = None) -> dict:
    """The ``marginsite`` member: the native API's error body (trading/api/errors.py)."""
    return {"code": code, "message": message, "field": field, "reason": reason}


def explanation_of(error: ApplicationError) -> dict:
    return explanation(error.code, error.message, field=error.field, reason=error.reason)


def path_invalid(path: str, method: str) -> BinanceError:
    """What Binance answers (404, -5000) for a path it has no endpoint at, or a method the path
    does not take: Binance routes by the pair, so both read the same."""
    return BinanceError(-5000, f"Path {path}, Method {method} is invalid", status=404)


def mandatory_missing(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def either_missing(first: str, second: str) -> BinanceError:
    return BinanceError(-1102, f"Param '{first}' or '{second}' must be sent, but both were empty!")


def not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def illegal_characters(name: str, legal: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal}'."
    )


def invalid_value(name: str, *, detail: str | None = None) -> BinanceError:
    """-1130; ``detail`` says what marginsite accepts instead (as a refusal's explanation)."""
    why = None if detail is None else explanation("NOT_SUPPORTED", detail, field=name)
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.", explanation=why)


def binance_error_from(error: ApplicationError, context: ErrorContext) -> BinanceError:
    """The Binance refusal that stands for ``error`` in ``context`` (BY_REFUSAL)."""
    for kind in type(error).__mro__:
        translation = BY_REFUSAL.get((kind, error.reason)) or BY_REFUSAL.get(kind)
        if translation is not None:
            if callable(translation):
                translation = translation(error, context)
            return BinanceError.of(translation, cause=error)
    return BinanceError.of(UNKNOWN_ERROR, cause=error)


@contextlib.contextmanager
def binance_errors(action: str, *, instrument=None, leverage: int | None = None):
    """``with binance_errors("order", instrument=...): service(...)`` raises the Binance
    translation of the service's refusal."""
    try:
        yield
    except ApplicationError as error:
        context = ErrorContext(action, instrument, leverage)
        raise binance_error_from(error, context) from error
