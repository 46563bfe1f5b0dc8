"""Refusals found by a review: each is a 4xx in Binance's shape (never a 500) and changes
nothing."""

import time

import pytest

from trading.binance.signing import payload_signature

pytestmark = pytest.mark.django_db

FAR_FUTURE = "253402300799000"  # the last millisecond of the year 9999


def test_a_moved_query_body_boundary_is_refused(binance, unchanged):
    timestamp = int(time.time() * 1000)
    signed = f"symbol=BTCUSDT&side=BUY&type=MARKET&timestamp={timestamp}&quantity=10"
    signature = payload_signature(binance.secret, signed)
    query, body = signed[:-1], f"0&signature={signature}"  # quantity=1 in the query, "0" after

    with unchanged():
        response = binance.client.generic(
            "POST",
            f"/fapi/v1/order?{query}",
            body,
            content_type="application/x-www-form-urlencoded",
            headers={"X-MBX-APIKEY": binance.key},
        )

    assert response.status_code == 400
    assert response.json()["code"] == -1022


def test_a_signature_that_is_not_hex_is_a_1022_not_a_500(binance, unchanged):
    with unchanged():
        response = binance.get("/fapi/v2/account", signature="é" * 64)

    assert response.status_code == 400
    assert response.json()["code"] == -1022


@pytest.mark.parametrize(
    ("path", "params"),
    [
        (
            "/fapi/v1/klines",
            {"symbol": "BTCUSDT", "interval": "1d", "startTime": "253402300799000"},
        ),
        ("/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1m", "endTime": "253402300799000"}),
        ("/fapi/v1/userTrades", {"symbol": "BTCUSDT", "orderId": "99999999999999999999"}),
    ],
)
def test_out_of_range_numbers_are_refused_not_a_500(binance, path, params):
    response = binance.get(path, params)

    assert response.status_code == 400
    assert response.json()["code"] in (-1100, -1130)
