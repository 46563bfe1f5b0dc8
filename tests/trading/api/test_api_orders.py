"""Orders, positions and instruments through the native API, with exact figures and refusals.

Seeded BTCUSDT at 60,000, 20x by default, taker fee 0.05 %; alice has 10,000 USDT."""

import pytest

from trading.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.1", "margin_mode": "ISOLATED"}


def test_an_order_placed_through_the_api_fills_and_shows_in_the_positions(signed):
    response = signed.post("/api/v1/orders", {**ORDER, "client_order_id": "bot-1"})

    assert response.status_code == 201
    order = response.json()
    assert (order["status"], order["quantity"], order["average_fill_price"]) == (
        "FILLED",
        "0.10000000",
        "60000.00000000",
    )
    (position,) = signed.get("/api/v1/positions").json()
    assert position["margin_mode"] == "ISOLATED"
    assert position["isolated_margin"] == "300.00000000"
    # (300 + 0 - 0.1 x 60,000) / (0.1 x 0.004 - 0.1) = 57,228.9156..., on the tick, up for a long
    assert position["liquidation_price"] == "57229.00000000"


def test_a_replayed_client_order_id_returns_the_first_order(signed):
    first = signed.post("/api/v1/orders", {**ORDER, "client_order_id": "bot-1"}).json()
    again = signed.post("/api/v1/orders", {**ORDER, "client_order_id": "bot-1"}).json()

    assert again["id"] == first["id"]
    assert Order.objects.count() == 1


def test_the_preview_shows_both_modes_and_places_nothing(signed):
    preview = signed.post("/api/v1/orders/preview", {**ORDER, "quantity": "1"}).json()

    assert preview["chosen"]["margin_mode"] == "ISOLATED"
    assert preview["chosen"]["max_loss"] == "3000.00000000"
    assert preview["alternative"]["margin_mode"] == "CROSS"
    assert preview["alternative"]["liquidation_price"] == "50231.15577889"
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("changes", "status", "code", "field", "reason"),
    [
        ({"quantity": 0.1}, 400, "INVALID_QUANTITY", "quantity", "NOT_A_NUMBER"),
        ({"quantity": "-1"}, 400, "INVALID_QUANTITY", "quantity", "NOT_POSITIVE"),
        ({"quantity": "0"}, 400, "INVALID_QUANTITY", "quantity", "NOT_POSITIVE"),
        ({"quantity": "NaN"}, 400, "INVALID_QUANTITY", "quantity", "NOT_A_NUMBER"),
        ({"quantity": "1e30"}, 400, "INVALID_QUANTITY", "quantity", "TOO_LARGE"),
        ({"quantity": "0.000000001"}, 400, "INVALID_QUANTITY", "quantity", "TOO_PRECISE"),
        ({"quantity": "0.0001"}, 400, "INVALID_QUANTITY", "quantity", "OFF_STEP"),
        ({"quantity": "0.001"}, 400, "INVALID_QUANTITY", "quantity", "BELOW_MIN_NOTIONAL"),
        ({"symbol": "DOGEUSDT"}, 404, "UNKNOWN_SYMBOL", "symbol", None),
        ({"side": "HOLD"}, 400, "INVALID_INPUT", "side", None),
        ({"order_type": "LIMIT", "price": "60000.05"}, 400, "INVALID_PRICE", "price", "OFF_TICK"),
        ({"order_type": "LIMIT", "price": "0"}, 400, "INVALID_PRICE", "price", "NOT_POSITIVE"),
        ({"order_type": "LIMIT"}, 400, "INVALID_PRICE", "price", "MISSING"),
        ({"price": "60000"}, 400, "INVALID_PRICE", "price", "NOT_TAKEN"),
        ({"quantity": "10"}, 409, "MARGIN_INSUFFICIENT", "quantity", None),
    ],
)
def test_a_bad_order_is_refused_in_the_error_shape_and_changes_nothing(
    signed, unchanged, changes, status, code, field, reason
):
    with unchanged():
        response = signed.post("/api/v1/orders", {**ORDER, **changes})

    assert response.status_code == status
    body = response.json()
    assert (body["code"], body["field"], body["reason"]) == (code, field, reason)
    assert body["message"]


def test_someone_elses_order_is_not_found(signed, make_trader, key_of, unchanged):
    other = key_of(make_trader("bob"))
    order_id = other.post(
        "/api/v1/orders",
        {**ORDER, "order_type": "LIMIT", "price": "50000"},
    ).json()["id"]

    with unchanged():
        read = signed.get(f"/api/v1/orders/{order_id}")
        cancel = signed.delete(f"/api/v1/orders/{order_id}")

    assert read.status_code == cancel.status_code == 404
    assert cancel.json()["code"] == "ORDER_NOT_FOUND"


def test_an_open_order_is_listed_and_cancelled(signed):
    order_id = signed.post(
        "/api/v1/orders", {**ORDER, "order_type": "LIMIT", "price": "50000"}
    ).json()["id"]

    listed = signed.get("/api/v1/orders?status=NEW").json()
    cancelled = signed.delete(f"/api/v1/orders/{order_id}").json()

    assert [o["id"] for o in listed["results"]] == [order_id]
    assert cancelled["status"] == "CANCELED"


def test_instruments_come_with_their_brackets(signed):
    btc = signed.get("/api/v1/instruments/BTCUSDT").json()

    assert (btc["tick_size"], btc["max_leverage"], btc["taker_fee_rate"]) == (
        "0.10000000",
        125,
        "0.00050000",
    )
    assert btc["brackets"][1] == {
        "tier": 2,
        "notional_floor": "50000.00000000",
        "notional_cap": "600000.00000000",
        "max_leverage": 100,
        "maintenance_margin_rate": "0.00500000",
        "maintenance_amount": "50.00000000",
    }
    assert [i["symbol"] for i in signed.get("/api/v1/instruments").json()] == [
        "BTCUSDT",
        "ETHUSDT",
        "SOLUSDT",
    ]
