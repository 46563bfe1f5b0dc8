"""Every refusal the facade maps, answered with Binance's code, message and status, and marginsite's
own explanation beside them; a refusal changes nothing. The answer follows the refusal's class and
reason, never its message: every class and reason is walked below, under two wordings.

Seeded market: BTCUSDT mark 60,000 (tick 0.1, step and minimum 0.001, minimum notional 100,
at most 125x, 20x by default), SOLUSDT 150 (step 1, at most 75x); alice has 10,000 USDT. TESTUSDT
(minimum quantity 0.01 on a 0.001 step, no mark yet) is created where a scenario needs it.
"""

import uuid
from decimal import Decimal

import pytest

from accounts.api_keys import KeyRateThrottle
from accounts.errors import (
    ApiKeyLimit,
    ApiKeyNotFound,
    DeactivationRefused,
    InvalidUsername,
    UserAlreadyInactive,
    UsernameTaken,
)
from marginsite.errors import ApplicationError, InvalidInput, NotFound
from tests.builders import refusals
from trading.binance.errors import BinanceError, ErrorContext, binance_error_from, binance_errors
from trading.binance.views import binance_exception_handler
from trading.engine import brackets_from_rows
from trading.errors import (
    AlreadySubmitted,
    BookTooThin,
    ClosePositionExists,
    DrillRunning,
    InstrumentStatusUnchanged,
    InvalidAmount,
    InvalidBrackets,
    InvalidLeverage,
    InvalidPrice,
    InvalidQuantity,
    LeverageReductionRefused,
    LeverageTooHigh,
    MarginInsufficient,
    MarginModeLocked,
    MarginModeUnchanged,
    MarkNotHeld,
    NoMarkPrice,
    NoPosition,
    NotIsolated,
    NoWallet,
    OperatorNotPermitted,
    OrderNotCancelable,
    OrderNotEditable,
    OrderNotFound,
    PostOnlyRejected,
    ReduceOnlyRejected,
    ReviewOutdated,
    SymbolHalted,
    UnknownSymbol,
    WalletResetRefused,
)
from trading.models import Instrument, Order
from trading.services import (
    instrument_create,
    leverage_set,
    mark_price_set,
    order_place,
    symbol_margin_mode_set,
)

pytestmark = pytest.mark.django_db

D = Decimal
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}
LIMIT = {**ORDER, "type": "LIMIT", "price": "59000", "timeInForce": "GTC"}


def nothing(user):
    return None


def isolated_btc_long(user):
    order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")


def isolated_symbol_long(user):
    """An isolated long on a symbol whose margin type is isolated: the one a client sees."""
    isolated_symbol(user)
    isolated_btc_long(user)


def cross_btc_long(user):
    """1 BTC: 60,000 USDT, above the 50,000 a position may reach at 125x."""
    order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")


def resting_cross_limit(user):
    order_place(
        user=user, symbol="BTCUSDT", side="BUY", quantity="0.01", order_type="LIMIT",
        price="50000", margin_mode="CROSS",
    )  # fmt: skip


def isolated_symbol(user):
    symbol_margin_mode_set(user=user, symbol="BTCUSDT", margin_mode="ISOLATED")


def btc_at_125x(user):
    leverage_set(user=user, symbol="BTCUSDT", margin_mode="CROSS", leverage=125)


def btc_halted(user):
    Instrument.objects.filter(symbol="BTCUSDT").update(status=Instrument.Status.HALTED)


def unpriced_symbol_listed(user):
    instrument_create(
        symbol="TESTUSDT", base_asset="TEST", quote_asset="USDT", tick_size=D("0.1"),
        step_size=D("0.001"), min_quantity=D("0.01"), min_notional=D("5"), default_leverage=20,
        taker_fee_rate=D("0.0005"), maker_fee_rate=D("0.0002"),
        liquidation_fee_rate=D("0.0125"),
        brackets=brackets_from_rows([["0", "1000000", 50, "0.01", "0"]]),
    )  # fmt: skip


ORDER_REFUSALS = [
    # (setup, changes to ORDER, code, msg)
    (nothing, {"symbol": "DOGEUSDT"}, -1121, "Invalid symbol."),
    (nothing, {"side": "HOLD"}, -1117, "Invalid side."),
    (nothing, {"type": "FOK"}, -1116, "Invalid orderType."),
    (
        nothing,
        {"type": "STOP_MARKET", "stopPrice": "59000"},
        -4120,
        "Order type not supported for this endpoint. Please use the Algo Order API endpoints "
        "instead.",
    ),
    (
        nothing,
        {"positionSide": "LONG"},
        -4061,
        "Order's position side does not match user's setting.",
    ),
    (
        nothing,
        {"closePosition": "true"},
        -1130,
        "Data sent for parameter 'closePosition' is not valid.",
    ),
    (nothing, {"price": "60000"}, -1106, "Parameter 'price' sent when not required."),
    (
        nothing,
        {"quantity": "1e3"},
        -1100,
        "Illegal characters found in parameter 'quantity'; legal range is "
        "'^([0-9]{1,20})(\\.[0-9]{1,20})?$'.",
    ),
    (nothing, {"quantity": "0"}, -4003, "Quantity less than or equal to zero."),
    (nothing, {"quantity": "0.0005"}, -4023, "Qty not increased by step size."),
    (
        nothing,
        {"quantity": "0.000000001"},
        -1111,
        "Precision is over the maximum defined for this asset.",
    ),
    (
        nothing,
        {"quantity": "0.001"},
        -4164,
        "Order's notional must be no smaller than 100 (unless you choose reduce only).",
    ),
    (nothing, {"quantity": "10"}, -2019, "Account has insufficient balance for requested action."),
    (
        btc_at_125x,
        {"quantity": "1"},
        -2027,
        "Exceeded the maximum allowable position at current leverage.",
    ),
    (nothing, {"side": "SELL", "reduceOnly": "true"}, -2022, "ReduceOnly Order is rejected."),
    (btc_halted, {}, -4140, "Invalid symbol status for opening position."),
    (
        unpriced_symbol_listed,
        {"symbol": "TESTUSDT"},
        -1001,
        "Internal error; unable to process your request. Please try again.",
    ),
    (nothing, {"newClientOrderId": "no spaces"}, -4015, "Client order id is not valid."),
    (
        nothing,
        {**LIMIT, "price": None},
        -1102,
        "Mandatory parameter 'price' was not sent, was empty/null, or malformed.",
    ),
    (nothing, {**LIMIT, "timeInForce": "GTD"}, -1115, "Invalid timeInForce."),
    (nothing, {"timeInForce": "IOC"}, -1106, "Parameter 'timeInForce' sent when not required."),
    (
        nothing,
        {**LIMIT, "price": "60000.1", "timeInForce": "GTX"},
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    ),
    (nothing, {**LIMIT, "price": "59000.05"}, -4014, "Price not increased by tick size."),
    (nothing, {**LIMIT, "price": "0"}, -4001, "Price less than 0."),
]


@pytest.mark.parametrize(("setup", "changes", "code", "msg"), ORDER_REFUSALS)
def test_a_refused_order_answers_binances_error(
    binance, trader, unchanged, setup, changes, code, msg
):
    setup(trader)
    params = {name: value for name, value in {**ORDER, **changes}.items() if value is not None}

    with unchanged():
        response = binance.post("/fapi/v1/order", params)

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["msg"]) == (code, msg)


def test_a_service_refusal_carries_marginsites_explanation(binance):
    body = binance.post("/fapi/v1/order", {**ORDER, "quantity": "10"}).json()

    assert body["marginsite"] == {
        "code": "MARGIN_INSUFFICIENT",
        "message": "Insufficient margin: this order needs 30,300 USDT (initial margin 30,000 + "
        "fee 300); you have 10,000 USDT available.",
        "field": "quantity",
        "reason": None,
    }


def test_the_explanation_names_the_reason_of_a_code_that_stands_for_several(binance):
    body = binance.post("/fapi/v1/order", {**ORDER, "quantity": "0.0005"}).json()

    assert body == {
        "code": -4023,
        "msg": "Qty not increased by step size.",
        "marginsite": {
            "code": "INVALID_QUANTITY",
            "message": "Quantity 0.0005 is not a multiple of the step size 0.001.",
            "field": "quantity",
            "reason": "OFF_STEP",
        },
    }


def test_a_quantity_below_the_minimum_is_minus_4004(binance, trader, unchanged):
    unpriced_symbol_listed(trader)
    mark_price_set(symbol="TESTUSDT", price=D("1000"))

    with unchanged():
        body = binance.post("/fapi/v1/order", {**ORDER, "symbol": "TESTUSDT", "quantity": "0.005"})

    assert (body.json()["code"], body.json()["msg"]) == (-4004, "Quantity less than min quantity.")


def test_a_conditional_order_through_the_mark_is_minus_2021(binance, unchanged):
    algo = {**ORDER, "type": "STOP_MARKET", "algoType": "CONDITIONAL", "triggerPrice": "61000"}

    with unchanged():
        body = binance.post("/fapi/v1/algoOrder", {**algo, "side": "SELL"}).json()

    assert (body["code"], body["msg"]) == (-2021, "Order would trigger immediately.")


@pytest.mark.parametrize(
    ("method", "path", "params", "code", "msg"),
    [
        (
            "DELETE",
            "/fapi/v1/order",
            {"symbol": "BTCUSDT", "orderId": 999},
            -2011,
            "Unknown order sent.",
        ),
        (
            "GET",
            "/fapi/v1/order",
            {"symbol": "BTCUSDT", "orderId": 999},
            -2013,
            "Order does not exist.",
        ),
        ("DELETE", "/fapi/v1/algoOrder", {"algoId": 999}, -2011, "Unknown order sent."),
        ("GET", "/fapi/v1/algoOrder", {"clientAlgoId": "none"}, -2013, "Order does not exist."),
        (
            "GET",
            "/fapi/v1/order",
            {"symbol": "BTCUSDT"},
            -1102,
            "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty!",
        ),
    ],
)
def test_an_unknown_order_answers_binances_error(binance, method, path, params, code, msg):
    response = binance.request(method, path, params)

    assert (response.status_code, response.json()) == (400, {"code": code, "msg": msg})


def test_canceling_a_filled_order_is_an_unknown_order(binance, trader, unchanged):
    isolated_btc_long(trader)
    filled = Order.objects.get()

    with unchanged():
        body = binance.delete("/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": filled.pk})

    assert body.json()["code"] == -2011
    assert body.json()["marginsite"]["code"] == "ORDER_NOT_CANCELABLE"


SETTINGS_REFUSALS = [
    # (setup, path, params, code, msg)
    (nothing, "/fapi/v1/leverage", {"leverage": "126"}, -4028, "Leverage 126 is not valid"),
    (nothing, "/fapi/v1/leverage", {"leverage": "0"}, -4028, "Leverage 0 is not valid"),
    (
        cross_btc_long,
        "/fapi/v1/leverage",
        {"leverage": "125"},
        -2027,
        "Exceeded the maximum allowable position at current leverage.",
    ),
    (
        isolated_symbol_long,
        "/fapi/v1/leverage",
        {"leverage": "10"},
        -4161,
        "Leverage reduction is not supported in Isolated Margin Mode with open positions",
    ),
    (
        nothing,
        "/fapi/v1/marginType",
        {"marginType": "CROSSED"},
        -4046,
        "No need to change margin type.",
    ),
    (
        nothing,
        "/fapi/v1/marginType",
        {"marginType": "HEDGED"},
        -1130,
        "Data sent for parameter 'marginType' is not valid.",
    ),
    (
        cross_btc_long,
        "/fapi/v1/marginType",
        {"marginType": "ISOLATED"},
        -4048,
        "Margin type cannot be changed if there exists position.",
    ),
    (
        resting_cross_limit,
        "/fapi/v1/marginType",
        {"marginType": "ISOLATED"},
        -4047,
        "Margin type cannot be changed if there exists open orders.",
    ),
    (
        cross_btc_long,
        "/fapi/v1/positionMargin",
        {"amount": "10", "type": "1"},
        -4049,
        "Add margin only support for isolated position.",
    ),
    (
        isolated_symbol_long,
        "/fapi/v1/positionMargin",
        {"amount": "20000", "type": "1"},
        -4050,
        "Cross balance insufficient.",
    ),
    (
        isolated_symbol_long,
        "/fapi/v1/positionMargin",
        {"amount": "300", "type": "2"},
        -4051,
        "Isolated balance insufficient.",
    ),
    (
        nothing,
        "/fapi/v1/positionMargin",
        {"amount": "10", "type": "1"},
        -4054,
        "Cannot add position margin: position is 0.",
    ),
    (
        isolated_symbol_long,
        "/fapi/v1/positionMargin",
        {"amount": "0", "type": "1"},
        -4055,
        "Amount must be positive.",
    ),
    (
        isolated_symbol_long,
        "/fapi/v1/positionMargin",
        {"amount": "10", "type": "3"},
        -1130,
        "Data sent for parameter 'type' is not valid.",
    ),
]


@pytest.mark.parametrize(("setup", "path", "params", "code", "msg"), SETTINGS_REFUSALS)
def test_a_refused_setting_answers_binances_error(
    binance, trader, unchanged, setup, path, params, code, msg
):
    setup(trader)

    with unchanged():
        response = binance.post(path, {"symbol": "BTCUSDT", **params})

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["msg"]) == (code, msg)


def test_hedge_mode_is_refused_and_one_way_needs_no_change(binance):
    hedge = binance.post("/fapi/v1/positionSide/dual", {"dualSidePosition": "true"}).json()
    one_way = binance.post("/fapi/v1/positionSide/dual", {"dualSidePosition": "false"}).json()

    assert (hedge["code"], hedge["msg"]) == (
        -1130,
        "Data sent for parameter 'dualSidePosition' is not valid.",
    )
    assert hedge["marginsite"]["message"].startswith("marginsite trades in one-way mode only")
    assert one_way == {"code": -4059, "msg": "No need to change position side."}
    assert binance.get("/fapi/v1/positionSide/dual").json() == {"dualSidePosition": False}


def test_too_many_requests_is_minus_1003(client, market, monkeypatch):
    monkeypatch.setattr(KeyRateThrottle, "rate", "2/min", raising=False)
    # a budget of its own: anonymous requests are counted by address, shared with other tests
    budget = f"test-{uuid.uuid4().hex}"
    monkeypatch.setattr(KeyRateThrottle, "get_ident", lambda self, request: budget)
    answers = [client.get("/fapi/v1/time") for _ in range(3)]

    assert [answer.status_code for answer in answers] == [200, 200, 429]
    assert answers[2].json()["code"] == -1003


def test_an_unmapped_refusal_is_the_unknown_error_with_its_explanation():
    error = binance_error_from(
        ReviewOutdated("Review again.", field="leverage"), ErrorContext("order")
    )

    assert error.body() == {
        "code": -1000,
        "msg": "An unknown error occured while processing the request.",
        "marginsite": {
            "code": "REVIEW_OUTDATED",
            "message": "Review again.",
            "field": "leverage",
            "reason": None,
        },
    }


# --- Every refusal class and reason, whatever its message --------------------------------------

UNKNOWN = (-1000, "An unknown error occured while processing the request.")
PRECISION = (-1111, "Precision is over the maximum defined for this asset.")
NOT_VALID = (-1130, "Data sent for parameter 'quantity' is not valid.")
LEVERAGE_NOT_VALID = (-4028, "Leverage 126 is not valid")
QUANTITY, PRICE = InvalidQuantity.Reason, InvalidPrice.Reason

# What the facade answers each refusal of marginsite, trading and accounts with, by class and
# reason, raised by POST /fapi/v1/leverage (BTCUSDT: minimum notional 100; leverage 126) and
# concerning the quantity. By endpoint and by field: the tests after this one.
FACADE_ANSWERS = {
    (ApplicationError, None): UNKNOWN,
    (InvalidInput, None): NOT_VALID,
    (NotFound, None): UNKNOWN,
    (InvalidQuantity, QUANTITY.NOT_A_NUMBER): PRECISION,
    (InvalidQuantity, QUANTITY.TOO_LARGE): PRECISION,
    (InvalidQuantity, QUANTITY.TOO_PRECISE): PRECISION,
    (InvalidQuantity, QUANTITY.NOT_POSITIVE): (-4003, "Quantity less than or equal to zero."),
    (InvalidQuantity, QUANTITY.OFF_STEP): (-4023, "Qty not increased by step size."),
    (InvalidQuantity, QUANTITY.BELOW_MIN_QUANTITY): (-4004, "Quantity less than min quantity."),
    (InvalidQuantity, QUANTITY.BELOW_MIN_NOTIONAL): (
        -4164,
        "Order's notional must be no smaller than 100 (unless you choose reduce only).",
    ),
    (InvalidQuantity, QUANTITY.NOT_ABOVE_FILLED): PRECISION,
    (InvalidPrice, PRICE.NOT_A_NUMBER): PRECISION,
    (InvalidPrice, PRICE.TOO_LARGE): PRECISION,
    (InvalidPrice, PRICE.TOO_PRECISE): PRECISION,
    (InvalidPrice, PRICE.NOT_POSITIVE): (-4001, "Price less than 0."),
    (InvalidPrice, PRICE.OFF_TICK): (-4014, "Price not increased by tick size."),
    (InvalidPrice, PRICE.BELOW_ONE_TICK): PRECISION,
    (InvalidPrice, PRICE.MISSING): PRECISION,
    (InvalidPrice, PRICE.NOT_TAKEN): PRECISION,
    (InvalidPrice, PRICE.WOULD_TRIGGER_IMMEDIATELY): (-2021, "Order would trigger immediately."),
    (InvalidPrice, PRICE.UNKNOWN_SOURCE): PRECISION,
    (InvalidLeverage, None): LEVERAGE_NOT_VALID,
    (InvalidAmount, None): (-4055, "Amount must be positive."),
    (UnknownSymbol, None): (-1121, "Invalid symbol."),
    (SymbolHalted, None): (-4140, "Invalid symbol status for opening position."),
    (NoMarkPrice, None): (
        -1001,
        "Internal error; unable to process your request. Please try again.",
    ),
    (LeverageTooHigh, LeverageTooHigh.Reason.ABOVE_MAXIMUM): LEVERAGE_NOT_VALID,
    (LeverageTooHigh, LeverageTooHigh.Reason.POSITION_TOO_LARGE): (
        -2027,
        "Exceeded the maximum allowable position at current leverage.",
    ),
    (LeverageReductionRefused, None): (
        -4161,
        "Leverage reduction is not supported in Isolated Margin Mode with open positions",
    ),
    (MarginInsufficient, None): (
        -2019,
        "Account has insufficient balance for requested action.",
    ),
    (MarginModeLocked, MarginModeLocked.Reason.OPEN_POSITION): (
        -4048,
        "Margin type cannot be changed if there exists position.",
    ),
    (MarginModeLocked, MarginModeLocked.Reason.OPEN_ORDERS): (
        -4047,
        "Margin type cannot be changed if there exists open orders.",
    ),
    (MarginModeUnchanged, None): (-4046, "No need to change margin type."),
    (NotIsolated, None): (-4049, "Add margin only support for isolated position."),
    (NoPosition, None): (-4054, "Cannot add position margin: position is 0."),
    (ReduceOnlyRejected, None): (-2022, "ReduceOnly Order is rejected."),
    (ClosePositionExists, None): (
        -4130,
        "An open stop or take profit order with GTE and closePosition in the direction is "
        "existing.",
    ),
    (BookTooThin, None): UNKNOWN,
    (OrderNotFound, None): (-2011, "Unknown order sent."),
    (OrderNotCancelable, None): (-2011, "Unknown order sent."),
    (OrderNotEditable, None): (-4000, "Invalid order status."),
    (PostOnlyRejected, None): (
        -5022,
        "Due to the order could not be executed as maker, the Post Only order will be rejected. "
        "The order will not be recorded in the order history",
    ),
    (AlreadySubmitted, None): UNKNOWN,
    (NoWallet, None): UNKNOWN,
    (WalletResetRefused, None): UNKNOWN,
    (ReviewOutdated, None): UNKNOWN,
    (MarkNotHeld, None): UNKNOWN,
    (DrillRunning, None): UNKNOWN,
    (InvalidBrackets, None): NOT_VALID,
    (InstrumentStatusUnchanged, None): UNKNOWN,
    (OperatorNotPermitted, None): UNKNOWN,
    (InvalidUsername, None): NOT_VALID,
    (UsernameTaken, None): UNKNOWN,
    (ApiKeyLimit, None): UNKNOWN,
    (ApiKeyNotFound, None): UNKNOWN,
    (DeactivationRefused, None): UNKNOWN,
    (UserAlreadyInactive, None): UNKNOWN,
}
# Every word the facade once matched in messages to pick a code, in one sentence.
MISLEADING = (
    "Reworded: the order's value is below the minimum, not greater than 0, off the step size "
    "and the tick size; it would immediately trigger, with open orders."
)
BTCUSDT = Instrument(symbol="BTCUSDT", min_notional=D("100"))


def refusal_of(kind, reason, message: str, *, field: str = "quantity") -> ApplicationError:
    details = {"tier": 1} if kind is InvalidBrackets else {}
    if reason is not None:
        details["reason"] = reason
    return kind(message, field=field, **details)


def facade_answer(refusal: ApplicationError, action: str = "leverage"):
    """The response the facade sends for ``refusal`` raised by the service of ``action``."""
    with (
        pytest.raises(BinanceError) as translated,
        binance_errors(action, instrument=BTCUSDT, leverage=126),
    ):
        raise refusal
    return binance_exception_handler(translated.value, {})


def test_the_table_below_names_every_refusal_class_and_reason():
    assert sorted(FACADE_ANSWERS, key=repr) == sorted(refusals(), key=repr)


@pytest.mark.parametrize("message", ["Refused.", MISLEADING], ids=["plain", "misleading"])
@pytest.mark.parametrize(
    ("kind", "reason", "answer"),
    [
        pytest.param(kind, reason, answer, id=f"{kind.__name__}-{reason}")
        for (kind, reason), answer in FACADE_ANSWERS.items()
    ],
)
def test_every_refusal_is_answered_by_its_class_and_reason_whatever_its_message(
    kind, reason, answer, message
):
    response = facade_answer(refusal_of(kind, reason, message))

    assert response.status_code == 400
    assert response.data == {
        "code": answer[0],
        "msg": answer[1],
        "marginsite": {
            "code": kind.code,
            "message": message,
            "field": "quantity",
            "reason": reason,
        },
    }


@pytest.mark.parametrize(
    ("action", "code", "msg"),
    [
        ("order", -2019, "Account has insufficient balance for requested action."),
        ("leverage", -2019, "Account has insufficient balance for requested action."),
        ("margin_add", -4050, "Cross balance insufficient."),
        ("margin_remove", -4051, "Isolated balance insufficient."),
    ],
)
def test_insufficient_margin_names_the_balance_of_the_endpoint(action, code, msg):
    response = facade_answer(refusal_of(MarginInsufficient, None, MISLEADING), action)

    assert (response.status_code, response.data["code"], response.data["msg"]) == (400, code, msg)


@pytest.mark.parametrize(
    ("field", "code", "msg"),
    [
        ("side", -1117, "Invalid side."),
        ("order_type", -1116, "Invalid orderType."),
        ("client_order_id", -4015, "Client order id is not valid."),
        ("time_in_force", -1130, "Data sent for parameter 'time_in_force' is not valid."),
        ("callback_rate", -1130, "Data sent for parameter 'callbackRate' is not valid."),
    ],
)
def test_an_invalid_input_is_answered_by_its_field(field, code, msg):
    response = facade_answer(InvalidInput(MISLEADING, field=field))

    assert (response.status_code, response.data["code"], response.data["msg"]) == (400, code, msg)


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (InvalidQuantity, None),
        (MarginModeLocked, None),
        (InvalidQuantity, InvalidPrice.Reason.OFF_TICK),
        (InvalidPrice, "OFF_TICK"),
        (ReviewOutdated, LeverageTooHigh.Reason.ABOVE_MAXIMUM),
    ],
)
def test_a_refusal_names_a_reason_of_its_class_exactly_when_the_class_has_several(kind, reason):
    with pytest.raises(TypeError):
        kind("Refused.", reason=reason)
