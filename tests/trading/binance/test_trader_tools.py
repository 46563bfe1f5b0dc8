"""The facade's trader tools, as Binance's algo orders: closePosition stops and take-profits (no
quantity; the whole position when they trigger) and TRAILING_STOP_MARKET (callbackRate,
activatePrice), with Binance's refusals; the regular order endpoint reads a triggered trailing
stop with its priceRate and activatePrice.

Seeded BTCUSDT at 60,000 (tick 0.1, flat book), taker fee 0.05 %; alice has 10,000 USDT.
"""

from decimal import Decimal

import pytest

from trading.models import Order
from trading.services import mark_price_set, sweep_run

pytestmark = pytest.mark.django_db

D = Decimal
ALGO = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "side": "SELL"}


@pytest.fixture
def long_btc(binance):
    binance.post(
        "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}
    )


def test_a_close_position_stop_names_no_quantity_and_closes_the_whole_position(binance, long_btc):
    stop = binance.post(
        "/fapi/v1/algoOrder",
        {**ALGO, "type": "STOP_MARKET", "triggerPrice": "58000", "closePosition": "true"},
    ).json()
    assert {name: stop[name] for name in ("orderType", "quantity", "closePosition",
                                          "reduceOnly", "triggerPrice", "algoStatus")} == {
        "orderType": "STOP_MARKET",
        "quantity": "0",
        "closePosition": True,
        "reduceOnly": True,
        "triggerPrice": "58000.00000000",
        "algoStatus": "NEW",
    }  # fmt: skip
    # the position grows after the stop was placed
    binance.post(
        "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}
    )

    mark_price_set(symbol="BTCUSDT", price="57900")
    sweep_run()

    algo = binance.get("/fapi/v1/algoOrder", {"algoId": stop["algoId"]}).json()
    assert (algo["algoStatus"], algo["quantity"], algo["closePosition"]) == (
        "FINISHED",
        "0.20000000",
        True,
    )
    assert binance.get("/fapi/v3/positionRisk", {"symbol": "BTCUSDT"}).json() == []


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"type": "STOP_MARKET", "triggerPrice": "58000", "quantity": "0.1"}, -4137,
         "Quantity must be zero with closePosition equals true"),
        ({"type": "STOP_MARKET", "triggerPrice": "58000", "reduceOnly": "true"}, -1106,
         "Parameter 'reduceOnly' sent when not required."),
        ({"type": "TRAILING_STOP_MARKET", "callbackRate": "1"}, -4136,
         "Target strategy invalid for orderType TRAILING_STOP_MARKET,closePosition true"),
        ({"type": "TAKE_PROFIT_MARKET", "triggerPrice": "59000"}, -2021,
         "Order would trigger immediately."),
    ],
    ids=["with-quantity", "with-reduce-only", "trailing", "through-the-mark"],
)  # fmt: skip
def test_a_bad_close_position_order_is_refused_as_binance_refuses_it(
    binance, long_btc, params, code, msg, unchanged
):
    with unchanged():
        response = binance.post("/fapi/v1/algoOrder", {**ALGO, "closePosition": "true", **params})

    assert (response.status_code, response.json()["code"], response.json()["msg"]) == (
        400,
        code,
        msg,
    )


def test_a_second_close_position_stop_is_minus_4130(binance, long_btc, unchanged):
    order = {**ALGO, "type": "STOP_MARKET", "triggerPrice": "58000", "closePosition": "true"}
    binance.post("/fapi/v1/algoOrder", order)

    with unchanged():
        response = binance.post("/fapi/v1/algoOrder", {**order, "triggerPrice": "57000"})

    assert response.json()["code"] == -4130
    assert response.json()["marginsite"]["code"] == "CLOSE_POSITION_ORDER_EXISTS"


def test_a_trailing_stop_is_an_algo_order_that_follows_the_mark(binance, long_btc):
    placed = binance.post(
        "/fapi/v1/algoOrder",
        {**ALGO, "type": "TRAILING_STOP_MARKET", "quantity": "0.1", "callbackRate": "1",
         "activatePrice": "61000", "reduceOnly": "true"},
    ).json()  # fmt: skip
    assert {
        name: placed[name]
        for name in ("orderType", "callbackRate", "activatePrice", "triggerPrice", "algoStatus")
    } == {
        "orderType": "TRAILING_STOP_MARKET",
        "callbackRate": "1",
        "activatePrice": "61000.00000000",
        "triggerPrice": "0",  # not active yet
        "algoStatus": "NEW",
    }

    # active at 61,000: it triggers at 61,000 x 0.99 = 60,390
    mark_price_set(symbol="BTCUSDT", price="61000")
    sweep_run()
    algo = binance.get("/fapi/v1/algoOrder", {"algoId": placed["algoId"]}).json()
    assert algo["triggerPrice"] == "60390.00000000"
    mark_price_set(symbol="BTCUSDT", price="60390")
    sweep_run()

    actual = binance.get(
        "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": placed["algoId"]}
    ).json()
    assert {
        name: actual[name]
        for name in ("status", "type", "origType", "priceRate", "activatePrice", "avgPrice")
    } == {
        "status": "FILLED",
        "type": "MARKET",
        "origType": "TRAILING_STOP_MARKET",
        "priceRate": "1",
        "activatePrice": "61000.00000000",
        "avgPrice": "60390.00000000",
    }


def test_the_order_endpoints_activation_price_name_is_read_too(binance, long_btc):
    placed = binance.post(
        "/fapi/v1/algoOrder",
        {**ALGO, "type": "TRAILING_STOP_MARKET", "quantity": "0.1", "callbackRate": "0.5",
         "activationPrice": "62000"},
    ).json()  # fmt: skip

    assert Order.objects.get(pk=placed["algoId"]).activation_price == D("62000")


@pytest.mark.parametrize(
    ("params", "code", "msg"),
    [
        ({"callbackRate": "11"}, -1130, "Data sent for parameter 'callbackRate' is not valid."),
        ({}, -1102,
         "Mandatory parameter 'callbackRate' was not sent, was empty/null, or malformed."),
        ({"callbackRate": "1", "triggerPrice": "59000"}, -1106,
         "Parameter 'triggerPrice' sent when not required."),
        ({"callbackRate": "1", "activatePrice": "59000"}, -2021,
         "Order would trigger immediately."),
    ],
    ids=["rate-above-10", "no-rate", "trigger-price", "activation-reached"],
)  # fmt: skip
def test_a_bad_trailing_stop_is_refused_as_binance_refuses_it(
    binance, params, code, msg, unchanged
):
    with unchanged():
        response = binance.post(
            "/fapi/v1/algoOrder",
            {**ALGO, "type": "TRAILING_STOP_MARKET", "quantity": "0.1", **params},
        )

    assert (response.json()["code"], response.json()["msg"]) == (code, msg)


def test_exchange_info_lists_trailing_stops(client, market):
    symbols = client.get("/fapi/v1/exchangeInfo").json()["symbols"]

    assert "TRAILING_STOP_MARKET" in symbols[0]["orderTypes"]
