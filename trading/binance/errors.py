"""Binance's error answers: ``{"code": -NNNN, "msg": "..."}`` with Binance's codes, messages and
HTTP statuses, so that a client written for Binance reacts to marginsite's refusals as it reacts
to Binance's (ccxt turns the code, or for some the exact message, into a typed exception).

A refusal of a marginsite service keeps its own explanation in a ``marginsite`` member of the
body (code, message, field): Binance's clients ignore it, and a bot's log shows why.

Where one marginsite code stands for several of Binance's (an invalid quantity: not on the step,
below the minimum, below the minimum notional...), the rules below tell them apart by the
service's message; tests/trading/binance/test_errors.py pins each rule.

ccxt applies Binance's per-market error tables only to requests sent to Binance's own hosts; on
any other host it uses its common table, where some codes are missing (-2019, -2021). Their
message is the one Binance wording that the common table maps to the class the per-market table
gives the code ("Account has insufficient balance for requested action." is InsufficientFunds,
"Order would trigger immediately." is OrderImmediatelyFillable), so a bot pointed at marginsite
gets the exception it gets from Binance.
"""

import contextlib
from dataclasses import dataclass

from marginsite.errors import ApplicationError

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
TOO_MANY_REQUESTS = (
    -1003,
    "Too many requests; please use the websocket for live updates to avoid polling the API.",
)

CONTEXT_FREE = {
    "UNKNOWN_SYMBOL": INVALID_SYMBOL,
    "SYMBOL_HALTED": (-4140, "Invalid symbol status for opening position."),
    "NO_MARK_PRICE": (-1001, "Internal error; unable to process your request. Please try again."),
    "LEVERAGE_REDUCTION_NOT_SUPPORTED": (
        -4161,
        "Leverage reduction is not supported in Isolated Margin Mode with open positions",
    ),
    "MARGIN_MODE_UNCHANGED": (-4046, "No need to change margin type."),
    "NOT_ISOLATED": (-4049, "Add margin only support for isolated position."),
    "NO_POSITION": (-4054, "Cannot add position margin: position is 0."),
    "REDUCE_ONLY_REJECTED": (-2022, "ReduceOnly Order is rejected."),
    "ORDER_NOT_FOUND": UNKNOWN_ORDER,
    "ORDER_NOT_CANCELABLE": UNKNOWN_ORDER,
    "INVALID_AMOUNT": (-4055, "Amount must be positive."),
    "POST_ONLY_REJECTED": (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    ),
    "ORDER_NOT_EDITABLE": (-4000, "Invalid order status."),
}

# (marginsite code, words of its message, Binance code, Binance message): the first match wins.
MESSAGE_RULES = (
    (
        "MARGIN_MODE_LOCKED",
        "open orders",
        -4047,
        "Margin type cannot be changed if there exists open orders.",
    ),
    ("MARGIN_MODE_LOCKED", "", -4048, "Margin type cannot be changed if there exists position."),
    ("INVALID_PRICE", "immediately trigger", -2021, "Order would trigger immediately."),
    ("INVALID_PRICE", "greater than 0", -4001, "Price less than 0."),
    ("INVALID_PRICE", "tick size", -4014, "Price not increased by tick size."),
    ("INVALID_PRICE", "", -1111, "Precision is over the maximum defined for this asset."),
    (
        "INVALID_QUANTITY",
        "order's value",
        -4164,
        "Order's notional must be no smaller than {min_notional} (unless you choose reduce only).",
    ),
    ("INVALID_QUANTITY", "greater than 0", -4003, "Quantity less than or equal to zero."),
    ("INVALID_QUANTITY", "below the minimum", -4004, "Quantity less than min quantity."),
    ("INVALID_QUANTITY", "step size", -4023, "Qty not increased by step size."),
    ("INVALID_QUANTITY", "", -1111, "Precision is over the maximum defined for this asset."),
)

INVALID_INPUT_BY_FIELD = {
    "side": INVALID_SIDE,
    "order_type": INVALID_ORDER_TYPE,
    "client_order_id": (-4015, "Client order id is not valid."),
}

MARGIN_INSUFFICIENT_BY_ACTION = {
    "margin_add": (-4050, "Cross balance insufficient."),
    "margin_remove": (-4051, "Isolated balance insufficient."),
}
MARGIN_INSUFFICIENT = (-2019, "Account has insufficient balance for requested action.")
POSITION_TOO_LARGE = (-2027, "Exceeded the maximum allowable position at current leverage.")


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


def explanation_of(error: ApplicationError) -> dict:
    return {"code": error.code, "message": error.message, "field": error.field}


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
    explanation = None
    if detail is not None:
        explanation = {"code": "NOT_SUPPORTED", "message": detail, "field": name}
    return BinanceError(
        -1130, f"Data sent for parameter '{name}' is not valid.", explanation=explanation
    )


@dataclass(frozen=True)
class ErrorContext:
    """What a translation may need besides the refusal: the endpoint's action ("order",
    "cancel", "leverage", "margin_type", "margin_add", "margin_remove", "read"), the instrument
    and the leverage the request named."""

    action: str
    instrument: object = None
    leverage: int | None = None


def binance_error_from(error: ApplicationError, context: ErrorContext) -> BinanceError:
    """The Binance refusal that stands for ``error`` in ``context``."""
    code = error.code
    if code in CONTEXT_FREE:
        return BinanceError.of(CONTEXT_FREE[code], cause=error)
    if code == "MARGIN_INSUFFICIENT":
        found = MARGIN_INSUFFICIENT_BY_ACTION.get(context.action, MARGIN_INSUFFICIENT)
        return BinanceError.of(found, cause=error)
    if code in ("LEVERAGE_TOO_HIGH", "INVALID_LEVERAGE"):
        above_maximum = (
            context.action == "leverage"
            and context.instrument is not None
            and context.leverage is not None
            and context.leverage > context.instrument.max_leverage
        )
        if code == "INVALID_LEVERAGE" or above_maximum:
            return BinanceError.of(
                (-4028, f"Leverage {context.leverage} is not valid"), cause=error
            )
        return BinanceError.of(POSITION_TOO_LARGE, cause=error)
    if code == "INVALID_INPUT" and error.field in INVALID_INPUT_BY_FIELD:
        return BinanceError.of(INVALID_INPUT_BY_FIELD[error.field], cause=error)
    if code == "INVALID_INPUT":
        return BinanceError.of(
            (-1130, f"Data sent for parameter '{error.field}' is not valid."), cause=error
        )
    message = error.message.lower()
    for rule_code, words, binance_code, binance_message in MESSAGE_RULES:
        if rule_code == code and words in message:
            if "{min_notional}" in binance_message:
                minimum = context.instrument.min_notional.normalize()
                binance_message = binance_message.format(min_notional=f"{minimum:f}")
            return BinanceError.of((binance_code, binance_message), cause=error)
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
