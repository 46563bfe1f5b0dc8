"""One position through the native API: its live figures, closing it at market, adding and
removing isolated margin, and the refusal to change its margin mode, with every refusal.

Seeded BTCUSDT at 60,000, 20x by default, taker fee 0.05 %, maintenance 0.4 % below 50,000
notional; alice has 10,000 USDT. Her isolated long of 0.1 BTC: notional 6,000, margin 300, fee 3,
maintenance margin 24; liquidation price (300 - 6,000) / (0.0004 - 0.1) = 57,228.9156..., shown
on the tick rounded up (a long's): 57,229."""

import pytest

from tests.builders import open_position
from trading.services import mark_price_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def isolated(trader) -> int:
    """The id of alice's isolated long of 0.1 BTC at 60,000 (20x)."""
    return open_position(trader, "BUY", "0.1").pk


# --- one position --------------------------------------------------------------------------


def test_a_position_is_read_with_its_live_figures(signed, isolated):
    mark_price_set(symbol="BTCUSDT", price="61000")

    response = signed.get(f"/api/v1/positions/{isolated}")

    assert response.status_code == 200
    position = response.json()
    del position["opened_at"]
    assert position == {
        "id": isolated,
        "symbol": "BTCUSDT",
        "margin_mode": "ISOLATED",
        "side": "LONG",
        "quantity": "0.10000000",
        "entry_price": "60000.00000000",
        "leverage": 20,
        "isolated_margin": "300.00000000",
        "mark_price": "61000.00000000",
        "notional": "6100.00000000",  # 0.1 x 61,000
        "unrealized_pnl": "100.00000000",  # 0.1 x (61,000 - 60,000)
        "margin": "300.00000000",
        "maintenance_margin": "24.40000000",  # 6,100 x 0.004
        "margin_ratio": "0.06100000",  # 24.4 / (300 + 100)
        "liquidation_price": "57229.00000000",
        "venue": "BINANCE",
        "adl_quantile": 4,  # alone in profit on its side: first in the queue
        # in Cross: the wallet 10,000 - 300 - 3 with the margin back, 9,997, backs 6,100 of
        # notional: no positive mark liquidates it
        "other_mode": {
            "mode": "CROSS",
            "liquidation_price": None,
            "at_risk": "9997.00000000",
            "liquidated": False,
        },
    }


def test_someone_elses_position_is_not_found_like_an_unknown_one(signed, make_trader, unchanged):
    bobs = open_position(make_trader("bob"), "BUY", "0.1").pk

    with unchanged():
        answers = [
            signed.get(f"/api/v1/positions/{bobs}"),
            signed.post(f"/api/v1/positions/{bobs}/close"),
            signed.post(f"/api/v1/positions/{bobs}/margin", {"change": "add", "amount": "10"}),
            signed.put(f"/api/v1/positions/{bobs}/margin-mode", {"margin_mode": "CROSS"}),
        ]
    unknown = signed.get(f"/api/v1/positions/{bobs + 1000}")

    expected = {
        "code": "NO_POSITION",
        "message": "Position not found: none of your positions has that number.",
        "field": "position",
        "reason": None,
    }
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    assert all(answer.json() == expected for answer in answers)
    assert unknown.json() == expected


def test_a_read_only_key_reads_a_position_but_cannot_change_it(key_of, trader, isolated, unchanged):
    reader = key_of(trader, permission="READ_ONLY")

    with unchanged():
        answers = [
            reader.post(f"/api/v1/positions/{isolated}/close"),
            reader.post(f"/api/v1/positions/{isolated}/margin", {"change": "add", "amount": "10"}),
            reader.put(f"/api/v1/positions/{isolated}/margin-mode", {"margin_mode": "CROSS"}),
        ]

    assert reader.get(f"/api/v1/positions/{isolated}").status_code == 200
    assert [answer.status_code for answer in answers] == [403, 403, 403]
    assert {answer.json()["code"] for answer in answers} == {"PERMISSION_DENIED"}


# --- closing -------------------------------------------------------------------------------


def test_closing_a_position_sells_it_at_market_and_settles_the_pnl(
    signed, isolated, balanced_ledger
):
    mark_price_set(symbol="BTCUSDT", price="61000")

    response = signed.post(f"/api/v1/positions/{isolated}/close")

    assert response.status_code == 201
    order = response.json()
    assert (
        order["symbol"], order["side"], order["order_type"], order["margin_mode"],
        order["quantity"], order["reduce_only"], order["status"], order["average_fill_price"],
    ) == (
        "BTCUSDT", "SELL", "MARKET", "ISOLATED", "0.10000000", True, "FILLED", "61000.00000000",
    )  # fmt: skip
    # 10,000 - 3 (opening fee) + 100 (profit) - 3.05 (closing fee: 6,100 x 0.0005)
    assert signed.get("/api/v1/account").json()["wallet_balance"] == "10093.95000000"
    assert signed.get("/api/v1/positions").json() == []


def test_a_closed_position_cannot_be_closed_again(signed, isolated, unchanged):
    signed.post(f"/api/v1/positions/{isolated}/close")

    with unchanged():
        response = signed.post(f"/api/v1/positions/{isolated}/close")

    assert response.status_code == 404
    assert response.json() == {
        "code": "NO_POSITION",
        "message": "This BTCUSDT position is no longer open (closed).",
        "field": "position",
        "reason": None,
    }
    assert signed.get(f"/api/v1/positions/{isolated}").status_code == 404


def test_closing_one_mode_leaves_the_other_modes_position_open(signed, trader, isolated):
    cross = open_position(trader, "BUY", "0.2", margin_mode="CROSS").pk

    signed.post(f"/api/v1/positions/{cross}/close")

    assert [p["id"] for p in signed.get("/api/v1/positions").json()] == [isolated]


# --- isolated margin -----------------------------------------------------------------------


def test_adding_margin_moves_it_from_the_wallet_and_the_liquidation_price_away(
    signed, isolated, balanced_ledger
):
    response = signed.post(
        f"/api/v1/positions/{isolated}/margin",
        {"change": "add", "amount": "100", "expected_margin": "300"},
    )

    assert response.status_code == 200
    position = response.json()
    # (400 - 6,000) / (0.0004 - 0.1) = 56,224.8995..., up to the tick
    assert (position["isolated_margin"], position["liquidation_price"]) == (
        "400.00000000",
        "56224.90000000",
    )
    assert signed.get("/api/v1/account").json()["wallet_balance"] == "9597.00000000"


def test_removing_margin_gives_back_what_the_position_does_not_need(
    signed, isolated, balanced_ledger
):
    signed.post(f"/api/v1/positions/{isolated}/margin", {"change": "add", "amount": "100"})

    # max removable: min(400 - 24, 400 + 0 - 6,000 / 20) = 100
    response = signed.post(
        f"/api/v1/positions/{isolated}/margin", {"change": "remove", "amount": "100"}
    )

    assert response.status_code == 200
    assert response.json()["isolated_margin"] == "300.00000000"
    assert response.json()["liquidation_price"] == "57229.00000000"
    assert signed.get("/api/v1/account").json()["wallet_balance"] == "9697.00000000"


@pytest.mark.parametrize(
    ("body", "status", "code", "message", "field"),
    [
        ({"amount": 100.0}, 400, "INVALID_AMOUNT",
         "Amount must be a decimal number or string, not 100.0.", "amount"),
        ({"amount": "0"}, 400, "INVALID_AMOUNT", "The amount must be greater than 0.", "amount"),
        ({"amount": "-5"}, 400, "INVALID_AMOUNT", "The amount must be greater than 0.", "amount"),
        ({"amount": "abc"}, 400, "INVALID_AMOUNT", "Amount must be a number, not 'abc'.",
         "amount"),
        ({"amount": None}, 400, "INVALID_INPUT", "This field may not be null.", "amount"),
        ({"change": "double"}, 400, "INVALID_INPUT", '"double" is not a valid choice.', "change"),
        ({"change": "remove", "amount": "0.01"}, 409, "MARGIN_INSUFFICIENT",
         "You can remove at most 0 USDT from this position.", "amount"),
        ({"amount": "9697.01"}, 409, "MARGIN_INSUFFICIENT",
         "You can add at most 9,697 USDT (your available balance).", "amount"),
        ({"expected_margin": "250"}, 409, "REVIEW_OUTDATED",
         "This position's margin is now 300 USDT, not the 250 USDT you reviewed. Review the "
         "change again.", "expected_margin"),
        ({"expected_margin": 300.0}, 400, "INVALID_AMOUNT",
         "The expected_margin must be a decimal number or string, not 300.0.", "expected_margin"),
    ],
)  # fmt: skip
def test_a_bad_margin_change_is_refused_and_changes_nothing(
    signed, isolated, unchanged, body, status, code, message, field
):
    with unchanged():
        response = signed.post(
            f"/api/v1/positions/{isolated}/margin", {"change": "add", "amount": "10", **body}
        )

    assert response.status_code == status
    assert response.json() == {"code": code, "message": message, "field": field, "reason": None}


def test_a_cross_position_has_no_margin_to_change_even_beside_an_isolated_one(
    signed, trader, isolated, unchanged
):
    cross = open_position(trader, "BUY", "0.1", margin_mode="CROSS").pk

    with unchanged():
        response = signed.post(
            f"/api/v1/positions/{cross}/margin", {"change": "add", "amount": "10"}
        )

    assert response.status_code == 400
    assert response.json()["code"] == "NOT_ISOLATED"
    assert response.json()["message"].startswith(
        "This BTCUSDT position is Cross: cross positions have no margin of their own"
    )


def test_a_malformed_margin_body_is_a_400(signed, isolated, unchanged):
    with unchanged():
        response = signed.post(f"/api/v1/positions/{isolated}/margin", raw=b'{"change": "add"')

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"


# --- the margin mode of an open position never changes -------------------------------------


def test_changing_the_mode_of_an_open_position_is_refused_with_what_to_do_instead(
    signed, isolated, unchanged
):
    with unchanged():
        response = signed.put(f"/api/v1/positions/{isolated}/margin-mode", {"margin_mode": "CROSS"})

    assert response.status_code == 409
    assert response.json() == {
        "code": "MARGIN_MODE_LOCKED",
        "message": "The margin mode of an open position cannot be changed. Close your BTCUSDT "
        "Isolated position and reopen it in Cross mode.",
        "field": "margin_mode",
        "reason": "OPEN_POSITION",
    }


def test_asking_a_position_for_its_own_mode_says_it_has_it_already(
    signed, trader, isolated, unchanged
):
    # even beside a cross position on the same symbol
    open_position(trader, "BUY", "0.1", margin_mode="CROSS")

    with unchanged():
        response = signed.put(
            f"/api/v1/positions/{isolated}/margin-mode", {"margin_mode": "ISOLATED"}
        )

    assert response.status_code == 400
    assert response.json() == {
        "code": "MARGIN_MODE_UNCHANGED",
        "message": "This BTCUSDT position is already Isolated.",
        "field": "margin_mode",
        "reason": None,
    }


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        (b'{"margin_mode": "HEDGE"}', "INVALID_INPUT"),
        (b"{}", "INVALID_INPUT"),
        (b'{"margin_mode": ', "MALFORMED_REQUEST"),
    ],
)
def test_a_bad_margin_mode_body_is_a_400(signed, isolated, unchanged, raw, code):
    with unchanged():
        response = signed.put(f"/api/v1/positions/{isolated}/margin-mode", raw=raw)

    assert response.status_code == 400
    assert response.json()["code"] == code
