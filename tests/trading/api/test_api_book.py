"""The order book, time in force and order edits through the native API, with exact figures and
refusals that change nothing.

Given BTCUSDT at 60,000 with a thin book (best bid 59,999.9, best ask 60,000.1, a level every
tick of 0.2 BTC), 20x by default, taker fee 0.05 %, maker 0.02 %; alice has 10,000 USDT."""

from decimal import Decimal

import pytest

from trading.models import Instrument, Order

pytestmark = pytest.mark.django_db

LIMIT = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "quantity": "0.1",
    "order_type": "LIMIT",
    "price": "59000",
    "margin_mode": "CROSS",
}


@pytest.fixture(autouse=True)
def thin_book(market):
    Instrument.objects.filter(symbol="BTCUSDT").update(
        book_half_spread_ticks=1, book_level_ticks=1, book_level_quantity=Decimal("0.2")
    )


def test_the_book_endpoint_shows_the_levels_best_first(signed):
    response = signed.get("/api/v1/book/btcusdt?depth=2")

    assert response.status_code == 200
    assert response.json() == {
        "symbol": "BTCUSDT",
        "mark_price": "60000.00000000",
        "bids": [["59999.90000000", "0.20000000"], ["59999.80000000", "0.20000000"]],
        "asks": [["60000.10000000", "0.20000000"], ["60000.20000000", "0.20000000"]],
    }


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/book/BTCUSDT?depth=0", 400, "INVALID_INPUT"),
        ("/api/v1/book/BTCUSDT?depth=abc", 400, "INVALID_INPUT"),
        ("/api/v1/book/BTCUSDT?depth=1001", 400, "INVALID_INPUT"),
        ("/api/v1/book/DOGEUSDT", 404, "UNKNOWN_SYMBOL"),
    ],
)
def test_a_bad_book_request_is_refused(signed, path, status, code):
    response = signed.get(path)

    assert response.status_code == status
    assert response.json()["code"] == code


def test_an_ioc_through_the_api_fills_what_the_book_gives_and_expires_the_rest(signed):
    response = signed.post(
        "/api/v1/orders",
        {**LIMIT, "side": "SELL", "quantity": "0.5", "price": "59999.8", "time_in_force": "IOC"},
    )

    assert response.status_code == 201
    order = response.json()
    assert (
        order["status"],
        order["time_in_force"],
        order["filled_quantity"],
        order["average_fill_price"],
    ) == ("EXPIRED", "IOC", "0.40000000", "59999.85000000")


def test_a_gtc_limit_the_book_fills_in_part_stays_open_with_what_it_filled(signed):
    preview = signed.post(
        "/api/v1/orders/preview", {**LIMIT, "quantity": "0.5", "price": "60000.2"}
    ).json()
    response = signed.post("/api/v1/orders", {**LIMIT, "quantity": "0.5", "price": "60000.2"})

    # 0.2 at 60,000.1 and 0.2 at 60,000.2 fill; 0.1 rests at 60,000.2, holding 300.001 +
    # maker fee 1.200004
    assert (preview["chosen"]["fill_quantity"], preview["chosen"]["rest_quantity"]) == (
        "0.40000000",
        "0.10000000",
    )
    assert response.status_code == 201
    order = response.json()
    assert (
        order["status"],
        order["filled_quantity"],
        order["average_fill_price"],
        order["margin_held"],
    ) == ("NEW", "0.40000000", "60000.15000000", "301.20100400")
    listed = signed.get("/api/v1/orders?status=NEW").json()
    assert [row["id"] for row in listed["results"]] == [order["id"]]


def test_a_post_only_order_that_would_take_is_refused_with_its_code(signed, unchanged):
    with unchanged():
        response = signed.post(
            "/api/v1/orders", {**LIMIT, "price": "60000.1", "time_in_force": "GTX"}
        )

    assert response.status_code == 409
    assert response.json()["code"] == "POST_ONLY_REJECTED"


@pytest.mark.parametrize(
    ("changes", "code", "field"),
    [
        ({"time_in_force": "DAY"}, "INVALID_INPUT", "time_in_force"),
        ({"order_type": "MARKET", "price": None, "time_in_force": "FOK"}, "INVALID_INPUT", None),
    ],
)
def test_a_bad_time_in_force_is_refused_and_changes_nothing(
    signed, unchanged, changes, code, field
):
    with unchanged():
        response = signed.post("/api/v1/orders", {**LIMIT, **changes})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == code
    assert body["field"] == (field or "time_in_force")


def test_the_preview_shows_the_estimated_fill_price_from_the_book(signed):
    preview = signed.post(
        "/api/v1/orders/preview",
        {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.5", "margin_mode": "CROSS"},
    ).json()

    # 0.2 at 60000.1, 0.2 at 60000.2, 0.1 at 60000.3: average 60000.18
    assert (preview["chosen"]["price"], preview["chosen"]["fill_quantity"]) == (
        "60000.18000000",
        "0.50000000",
    )
    assert preview["time_in_force"] == "GTC"


def test_an_open_limit_order_is_edited_in_place(signed):
    placed = signed.post("/api/v1/orders", LIMIT).json()

    response = signed.put(f"/api/v1/orders/{placed['id']}", {"quantity": "0.2", "price": "58000"})

    assert response.status_code == 200
    edited = response.json()
    # 0.2 x 58000 = 11600: margin 580 + maker fee 2.32
    assert (edited["id"], edited["status"], edited["quantity"], edited["price"]) == (
        placed["id"],
        "NEW",
        "0.20000000",
        "58000.00000000",
    )
    assert edited["margin_held"] == "582.32000000"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"quantity": "0.1", "price": "58000.05"}, 400, "INVALID_PRICE"),
        ({"quantity": "0.1"}, 400, "INVALID_INPUT"),
        ({"quantity": "100", "price": "58000"}, 409, "MARGIN_INSUFFICIENT"),
    ],
)
def test_a_bad_edit_is_refused_and_changes_nothing(signed, unchanged, body, status, code):
    order_id = signed.post("/api/v1/orders", LIMIT).json()["id"]

    with unchanged():
        response = signed.put(f"/api/v1/orders/{order_id}", body)

    assert response.status_code == status
    assert response.json()["code"] == code


def test_an_edit_of_a_filled_or_unknown_order_is_refused(signed, unchanged):
    filled = signed.post("/api/v1/orders", {**LIMIT, "price": "61000"}).json()
    assert Order.objects.get(pk=filled["id"]).status == "FILLED"

    with unchanged():
        not_open = signed.put(f"/api/v1/orders/{filled['id']}", {"quantity": "0.1", "price": "1"})
        missing = signed.put("/api/v1/orders/999999", {"quantity": "0.1", "price": "58000"})

    assert (not_open.status_code, not_open.json()["code"]) == (409, "ORDER_NOT_EDITABLE")
    assert (missing.status_code, missing.json()["code"]) == (404, "ORDER_NOT_FOUND")
