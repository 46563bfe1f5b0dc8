"""Bodies the native API refuses rather than guesses at: a key sent twice, a client_order_id that
is not exactly a string, numbers longer than any figure. Each is a 400 that changes nothing.

Seeded BTCUSDT at 60,000, 20x by default; alice has 10,000 USDT."""

import json

import pytest

from trading.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.1", "margin_mode": "ISOLATED"}
MALFORMED = {"code": "MALFORMED_REQUEST", "field": None, "reason": None}
LONG_NUMBER = (
    "A number in the JSON body has more than 64 characters: send figures as strings of at most "
    "20 digits and 8 decimals."
)


def _with_symbol_twice(body: dict, first: str, last: str) -> bytes:
    """``body`` as JSON with "symbol" sent twice (a dict cannot hold it, so it is spliced in)."""
    rest = json.dumps({k: v for k, v in body.items() if k != "symbol"})
    return f'{{"symbol": "{first}", "symbol": "{last}", {rest[1:]}'.encode()


def test_a_key_sent_twice_is_refused_not_the_last_one_taken(signed, unchanged):
    with unchanged():
        response = signed.post(
            "/api/v1/orders", raw=_with_symbol_twice(ORDER, "BTCUSDT", "ETHUSDT")
        )

    assert response.status_code == 400
    assert response.json() == {
        **MALFORMED,
        "message": "The JSON body sends 'symbol' twice: send each field once.",
    }
    assert not Order.objects.exists()


def test_a_key_sent_twice_in_a_nested_object_is_refused_too(signed, unchanged):
    raw = b'{"margin_mode": "CROSS", "leverage": 5, "x": {"a": 1, "a": 2}}'
    with unchanged():
        response = signed.put("/api/v1/symbols/BTCUSDT/leverage", raw=raw)

    assert response.status_code == 400
    assert response.json() == {
        **MALFORMED,
        "message": "The JSON body sends 'a' twice: send each field once.",
    }


def test_a_leverage_sent_twice_is_refused(signed, unchanged):
    raw = b'{"margin_mode": "CROSS", "leverage": 5, "leverage": 125}'
    with unchanged():
        response = signed.put("/api/v1/symbols/BTCUSDT/leverage", raw=raw)

    assert response.status_code == 400
    assert response.json()["message"] == (
        "The JSON body sends 'leverage' twice: send each field once."
    )
    assert signed.get("/api/v1/symbols/BTCUSDT/leverage").json()["modes"][0]["leverage"] == 20


@pytest.mark.parametrize(
    ("client_order_id", "message"),
    [
        (42, "Must be a JSON string."),
        (4.5, "Must be a JSON string."),
        (" bot-1", "Must not begin or end with spaces."),
        ("bot-1 ", "Must not begin or end with spaces."),
        ("   ", "Must not begin or end with spaces."),
    ],
)
def test_a_client_order_id_must_be_a_string_as_sent(signed, unchanged, client_order_id, message):
    for path in ("/api/v1/orders", "/api/v1/orders/preview"):
        with unchanged():
            response = signed.post(path, {**ORDER, "client_order_id": client_order_id})

        assert response.status_code == 400
        assert response.json() == {
            "code": "INVALID_INPUT",
            "message": message,
            "field": "client_order_id",
            "reason": None,
        }
    assert not Order.objects.exists()


def test_a_leverage_of_5000_digits_is_refused_not_a_server_error(signed, unchanged):
    with unchanged():
        as_text = signed.put(
            "/api/v1/symbols/BTCUSDT/leverage", {"margin_mode": "CROSS", "leverage": "9" * 5000}
        )
        as_number = signed.put(
            "/api/v1/symbols/BTCUSDT/leverage",
            raw=b'{"margin_mode": "CROSS", "leverage": ' + b"9" * 5000 + b"}",
        )

    assert as_text.status_code == 400
    assert as_text.json() == {
        "code": "INVALID_LEVERAGE",
        "message": "Leverage must be a whole number from 1 to 125.",
        "field": "leverage",
        "reason": None,
    }
    assert as_number.status_code == 400
    assert as_number.json() == {**MALFORMED, "message": LONG_NUMBER}


def test_a_quantity_of_5000_digits_is_refused_before_any_conversion(signed, unchanged):
    with unchanged():
        as_text = signed.post("/api/v1/orders", {**ORDER, "quantity": "1" * 5000})
        as_number = signed.post(
            "/api/v1/orders",
            raw=b'{"symbol": "BTCUSDT", "side": "BUY", "quantity": 0.' + b"1" * 5000 + b"}",
        )

    assert as_text.status_code == 400
    assert as_text.json() == {
        "code": "INVALID_QUANTITY",
        "message": "Quantity has more than 64 characters: no number needs so many.",
        "field": "quantity",
        "reason": "TOO_LARGE",
    }
    assert as_number.json() == {**MALFORMED, "message": LONG_NUMBER}
    assert not Order.objects.exists()


def test_nan_in_a_body_is_refused(signed, unchanged):
    with unchanged():
        response = signed.post(
            "/api/v1/orders", raw=b'{"symbol": "BTCUSDT", "side": "BUY", "quantity": NaN}'
        )

    assert response.status_code == 400
    assert response.json() == {**MALFORMED, "message": "NaN is not a number JSON allows."}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"null", "No data provided"),
        (b'["BTCUSDT"]', "Invalid data. Expected a dictionary, but got list."),
    ],
)
def test_a_body_that_is_not_an_object_is_refused(signed, unchanged, raw, message):
    with unchanged():
        response = signed.post("/api/v1/orders", raw=raw)

    assert response.status_code == 400
    assert response.json()["message"] == message
    assert response.json()["field"] is None
    assert not Order.objects.exists()
