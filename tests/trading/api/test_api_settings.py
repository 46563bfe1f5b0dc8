"""The account's settings through the native API: the default margin mode, each symbol's own
default mode, and the leverage of each (symbol, margin mode), with every refusal.

Seeded BTCUSDT: max 125x, default 20x. Its bracket caps: 50,000 up to 125x, 600,000 up to 100x,
12,000,000 up to 50x, 100,000,000 up to 20x."""

import pytest

from trading.services import leverage_set, order_place

pytestmark = pytest.mark.django_db


def leverages(*, cross=20, isolated=20, cross_cap="100000000", isolated_cap="100000000"):
    return {
        "symbol": "BTCUSDT",
        "max_leverage": 125,
        "modes": [
            {"margin_mode": "CROSS", "leverage": cross, "max_position": f"{cross_cap}.00000000"},
            {
                "margin_mode": "ISOLATED",
                "leverage": isolated,
                "max_position": f"{isolated_cap}.00000000",
            },
        ],
    }


# --- the default margin mode ---------------------------------------------------------------


def test_the_default_margin_mode_is_cross_until_changed(signed):
    assert signed.get("/api/v1/preferences").json() == {"default_margin_mode": "CROSS"}

    response = signed.put("/api/v1/preferences", {"default_margin_mode": "ISOLATED"})

    assert response.status_code == 200
    assert response.json() == {"default_margin_mode": "ISOLATED"}
    assert signed.get("/api/v1/preferences").json() == {"default_margin_mode": "ISOLATED"}
    # and a symbol without a mode of its own follows it
    assert signed.get("/api/v1/symbols/BTCUSDT/margin-mode").json() == {
        "symbol": "BTCUSDT",
        "margin_mode": "ISOLATED",
    }


@pytest.mark.parametrize(
    ("body", "code", "message", "field"),
    [
        ({"default_margin_mode": "HEDGE"}, "INVALID_INPUT", '"HEDGE" is not a valid choice.',
         "default_margin_mode"),
        ({}, "INVALID_INPUT", "This field is required.", "default_margin_mode"),
        (b'{"default_margin_mode": ', "MALFORMED_REQUEST",
         "JSON parse error - Expecting value: line 1 column 25 (char 24)", None),
    ],
)  # fmt: skip
def test_a_bad_default_margin_mode_is_refused_and_changes_nothing(
    signed, unchanged, body, code, message, field
):
    with unchanged():
        if isinstance(body, bytes):
            response = signed.put("/api/v1/preferences", raw=body)
        else:
            response = signed.put("/api/v1/preferences", body)

    assert response.status_code == 400
    assert response.json() == {"code": code, "message": message, "field": field, "reason": None}


def test_a_read_only_key_cannot_change_settings(key_of, trader, unchanged):
    reader = key_of(trader, permission="READ_ONLY")

    with unchanged():
        answers = [
            reader.put("/api/v1/preferences", {"default_margin_mode": "ISOLATED"}),
            reader.put("/api/v1/symbols/BTCUSDT/margin-mode", {"margin_mode": "ISOLATED"}),
            reader.put("/api/v1/symbols/BTCUSDT/leverage", {"margin_mode": "CROSS", "leverage": 5}),
        ]

    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert {answer.json()["code"] for answer in answers} == {"PERMISSION_DENIED"}
    assert reader.get("/api/v1/preferences").status_code == 200


# --- a symbol's own default mode -----------------------------------------------------------


def test_a_symbols_own_mode_overrides_the_default_for_that_symbol_only(signed):
    response = signed.put("/api/v1/symbols/btcusdt/margin-mode", {"margin_mode": "ISOLATED"})

    assert response.status_code == 200
    assert response.json() == {"symbol": "BTCUSDT", "margin_mode": "ISOLATED"}
    assert signed.get("/api/v1/symbols/ETHUSDT/margin-mode").json() == {
        "symbol": "ETHUSDT",
        "margin_mode": "CROSS",
    }
    # an order that names no mode gets the symbol's
    order = signed.post("/api/v1/orders", {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01"})
    assert order.json()["margin_mode"] == "ISOLATED"


def test_a_symbols_mode_is_locked_by_an_open_position_of_the_current_mode(
    signed, trader, unchanged
):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="CROSS")

    with unchanged():
        response = signed.put("/api/v1/symbols/BTCUSDT/margin-mode", {"margin_mode": "ISOLATED"})

    assert response.status_code == 409
    assert response.json() == {
        "code": "MARGIN_MODE_LOCKED",
        "message": "The margin mode of an open position cannot be changed. Close your BTCUSDT "
        "Cross position and reopen it in Isolated mode.",
        "field": "margin_mode",
        "reason": "OPEN_POSITION",
    }


def test_a_symbols_mode_is_locked_by_an_open_order_of_the_current_mode(signed, trader, unchanged):
    order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
        price="50000", margin_mode="CROSS",
    )  # fmt: skip

    with unchanged():
        response = signed.put("/api/v1/symbols/BTCUSDT/margin-mode", {"margin_mode": "ISOLATED"})

    assert response.status_code == 409
    assert response.json()["message"] == (
        "The margin mode of an open order cannot be changed. Cancel your BTCUSDT Cross orders "
        "and place them again in Isolated mode."
    )


@pytest.mark.parametrize(
    ("symbol", "body", "status", "code", "field"),
    [
        ("BTCUSDT", {"margin_mode": "CROSS"}, 400, "MARGIN_MODE_UNCHANGED", "margin_mode"),
        ("BTCUSDT", {"margin_mode": "cross"}, 400, "INVALID_INPUT", "margin_mode"),
        ("BTCUSDT", {}, 400, "INVALID_INPUT", "margin_mode"),
        ("DOGEUSDT", {"margin_mode": "ISOLATED"}, 404, "UNKNOWN_SYMBOL", "symbol"),
    ],
)
def test_a_bad_symbol_mode_change_is_refused_and_changes_nothing(
    signed, unchanged, symbol, body, status, code, field
):
    with unchanged():
        response = signed.put(f"/api/v1/symbols/{symbol}/margin-mode", body)

    assert response.status_code == status
    assert (response.json()["code"], response.json()["field"]) == (code, field)


def test_the_mode_of_an_unknown_symbol_is_a_404(signed):
    response = signed.get("/api/v1/symbols/DOGEUSDT/margin-mode")

    assert response.status_code == 404
    assert response.json()["code"] == "UNKNOWN_SYMBOL"


# --- leverage per (symbol, mode) -----------------------------------------------------------


def test_each_mode_has_its_own_leverage_and_the_largest_position_it_allows(signed):
    assert signed.get("/api/v1/symbols/BTCUSDT/leverage").json() == leverages()

    response = signed.put(
        "/api/v1/symbols/BTCUSDT/leverage", {"margin_mode": "ISOLATED", "leverage": 125}
    )

    assert response.status_code == 200
    assert response.json() == leverages(isolated=125, isolated_cap="50000")
    # the leverage may come as a string of digits, as from a form
    cross = signed.put(
        "/api/v1/symbols/btcusdt/leverage", {"margin_mode": "CROSS", "leverage": "50"}
    )
    assert cross.json() == leverages(
        cross=50, cross_cap="12000000", isolated=125, isolated_cap="50000"
    )


def test_an_open_isolated_positions_leverage_may_be_raised_not_lowered(signed, trader, unchanged):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")

    with unchanged():
        lowered = signed.put(
            "/api/v1/symbols/BTCUSDT/leverage", {"margin_mode": "ISOLATED", "leverage": 10}
        )
    raised = signed.put(
        "/api/v1/symbols/BTCUSDT/leverage", {"margin_mode": "ISOLATED", "leverage": 100}
    )

    assert lowered.status_code == 409
    assert lowered.json() == {
        "code": "LEVERAGE_REDUCTION_NOT_SUPPORTED",
        "message": "Leverage reduction is not supported in Isolated Margin Mode with open "
        "positions.",
        "field": "leverage",
        "reason": None,
    }
    assert raised.json() == leverages(isolated=100, isolated_cap="600000")
    (position,) = signed.get("/api/v1/positions").json()
    assert (position["leverage"], position["isolated_margin"]) == (100, "300.00000000")


def test_a_leverage_whose_cap_the_open_position_exceeds_is_refused(signed, trader, unchanged):
    # a cross long of 1 BTC: 60,000 USDT at the mark, above the 50,000 cap of 125x
    leverage_set(user=trader, symbol="BTCUSDT", margin_mode="CROSS", leverage=10)
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="CROSS")

    with unchanged():
        response = signed.put(
            "/api/v1/symbols/BTCUSDT/leverage", {"margin_mode": "CROSS", "leverage": 125}
        )

    assert response.status_code == 400
    assert response.json() == {
        "code": "LEVERAGE_TOO_HIGH",
        "message": "At 125x the largest position is 50,000 USDT; your BTCUSDT position is "
        "60,000 USDT.",
        "field": "leverage",
        "reason": "POSITION_TOO_LARGE",
    }


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ({"leverage": 0}, "INVALID_LEVERAGE", "Leverage must be at least 1, not 0."),
        ({"leverage": 126}, "LEVERAGE_TOO_HIGH",
         "Leverage 126x is above this symbol's maximum of 125x."),
        ({"leverage": 10.0}, "INVALID_LEVERAGE", "Leverage must be a whole number from 1 to 125."),
        ({"leverage": "ten"}, "INVALID_LEVERAGE",
         "Leverage must be a whole number from 1 to 125."),
        ({"leverage": True}, "INVALID_LEVERAGE", "Leverage must be a whole number from 1 to 125."),
        ({"leverage": None}, "INVALID_INPUT", "This field may not be null."),
        ({"margin_mode": "HEDGE"}, "INVALID_INPUT", '"HEDGE" is not a valid choice.'),
    ],
)  # fmt: skip
def test_a_bad_leverage_is_refused_and_changes_nothing(signed, unchanged, body, code, message):
    with unchanged():
        response = signed.put(
            "/api/v1/symbols/BTCUSDT/leverage",
            {"margin_mode": "CROSS", "leverage": 5, **body},
        )

    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["message"]) == (code, message)
    assert body["field"] in {"leverage", "margin_mode"}


def test_the_leverage_of_an_unknown_symbol_is_a_404(signed, unchanged):
    with unchanged():
        put = signed.put(
            "/api/v1/symbols/DOGEUSDT/leverage", {"margin_mode": "CROSS", "leverage": 5}
        )
    get = signed.get("/api/v1/symbols/DOGEUSDT/leverage")

    assert put.status_code == get.status_code == 404
    assert put.json()["code"] == get.json()["code"] == "UNKNOWN_SYMBOL"


def test_a_malformed_leverage_body_is_a_400(signed, unchanged):
    with unchanged():
        response = signed.put("/api/v1/symbols/BTCUSDT/leverage", raw=b"leverage=5")

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"
