"""The native API's trader tools: a position's take-profit and stop-loss, reversing a position,
closing them all, orders by cost, trailing stops and close-position orders; refusals change
nothing.

Seeded BTCUSDT at 60,000 (flat book), 20x by default, taker fee 0.05 %; alice has 10,000 USDT.
"""

from decimal import Decimal

import pytest

from tests.builders import open_position
from trading.models import Order, Position

pytestmark = pytest.mark.django_db


@pytest.fixture
def long_id(trader) -> int:
    """alice's cross long of 0.1 BTC at 60,000."""
    return open_position(trader, "BUY", "0.1", margin_mode="CROSS").pk


def test_a_take_profit_and_stop_loss_are_set_read_and_cancelled(signed, trader, long_id):
    set_ = signed.post(
        f"/api/v1/positions/{long_id}/tpsl", {"take_profit": "66000", "stop_loss": "57000"}
    )

    assert set_.status_code == 200
    tp, sl = Order.objects.filter(user=trader, close_position=True).order_by("pk")
    assert set_.json() == {
        "take_profit": "66000.00000000",
        "take_profit_order_id": tp.pk,
        "stop_loss": "57000.00000000",
        "stop_loss_order_id": sl.pk,
    }
    assert signed.get(f"/api/v1/positions/{long_id}/tpsl").json() == set_.json()

    cancelled = signed.delete(f"/api/v1/positions/{long_id}/tpsl?which=stop_loss")

    assert cancelled.status_code == 200
    assert cancelled.json() == {
        "take_profit": "66000.00000000",
        "take_profit_order_id": tp.pk,
        "stop_loss": None,
        "stop_loss_order_id": None,
    }


def test_a_stop_loss_the_mark_has_reached_is_refused(signed, long_id, unchanged):
    with unchanged():
        response = signed.post(f"/api/v1/positions/{long_id}/tpsl", {"stop_loss": "60000"})

    assert response.status_code == 400
    assert (response.json()["code"], response.json()["field"], response.json()["reason"]) == (
        "INVALID_PRICE",
        "stop_loss",
        "WOULD_TRIGGER_IMMEDIATELY",
    )


def test_reversing_answers_the_order_and_leaves_a_short(signed, trader, long_id):
    response = signed.post(f"/api/v1/positions/{long_id}/reverse")

    assert response.status_code == 201
    assert (response.json()["side"], response.json()["quantity"]) == ("SELL", "0.20000000")
    position = Position.objects.get(user=trader, status="OPEN")
    assert (position.side, position.quantity) == ("SHORT", Decimal("0.1"))


def test_close_all_answers_the_closing_orders(signed, trader, long_id):
    open_position(trader, "SELL", "1", symbol="ETHUSDT")

    response = signed.post("/api/v1/positions/close-all", {"margin_mode": "ISOLATED"})

    assert response.status_code == 200
    assert [(o["symbol"], o["side"], o["status"]) for o in response.json()] == [
        ("ETHUSDT", "BUY", "FILLED")
    ]
    still_open = Position.objects.filter(user=trader, status="OPEN")
    assert list(still_open.values_list("pk", flat=True)) == [long_id]


def test_an_order_by_cost_buys_what_its_margin_pays_for(signed):
    body = {"symbol": "BTCUSDT", "side": "BUY", "cost": "100", "margin_mode": "CROSS"}

    response = signed.post("/api/v1/orders", body)

    assert response.status_code == 201
    # 100 x 20 / 60,000 = 0.0333..., down to the step
    assert (response.json()["quantity"], response.json()["status"]) == ("0.03300000", "FILLED")


@pytest.mark.parametrize(
    "body",
    [
        {"quantity": "0.1", "cost": "100"},
        {},
        {"cost": "100", "close_position": True, "order_type": "STOP_MARKET", "stop_price": "1"},
    ],
    ids=["both", "neither", "cost-with-close-position"],
)
def test_an_order_names_quantity_or_cost(signed, body, unchanged):
    with unchanged():
        response = signed.post("/api/v1/orders", {"symbol": "BTCUSDT", "side": "BUY", **body})

    assert (response.status_code, response.json()["code"]) == (400, "INVALID_INPUT")


def test_a_trailing_stop_and_a_close_position_stop_are_placed(signed, long_id):
    trailing = signed.post(
        "/api/v1/orders",
        {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.1", "reduce_only": True,
         "order_type": "TRAILING_STOP_MARKET", "callback_rate": "1.5",
         "activation_price": "61000", "margin_mode": "CROSS"},
    )  # fmt: skip
    stop = signed.post(
        "/api/v1/orders",
        {"symbol": "BTCUSDT", "side": "SELL", "order_type": "STOP_MARKET",
         "stop_price": "57000", "close_position": True, "margin_mode": "CROSS"},
    )  # fmt: skip

    assert trailing.status_code == 201
    assert {
        name: trailing.json()[name]
        for name in ("order_type", "callback_rate", "activation_price", "trailing_extreme")
    } == {
        "order_type": "TRAILING_STOP_MARKET",
        "callback_rate": "1.5",
        "activation_price": "61000.00000000",
        "trailing_extreme": None,
    }
    assert stop.status_code == 201
    assert (stop.json()["close_position"], stop.json()["reduce_only"]) == (True, True)
    assert stop.json()["quantity"] == "0.10000000"


def test_a_trailing_stop_is_previewed(signed):
    response = signed.post(
        "/api/v1/orders/preview",
        {"symbol": "BTCUSDT", "side": "SELL", "quantity": "0.1",
         "order_type": "TRAILING_STOP_MARKET", "callback_rate": "1"},
    )  # fmt: skip

    assert response.status_code == 200
    assert response.json()["chosen"]["price"] == "59400.00000000"  # 60,000 x 0.99
