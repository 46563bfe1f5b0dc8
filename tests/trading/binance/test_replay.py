"""On the facade too a signed request is accepted once: a copy inside its recvWindow (at most
60,000 ms, as on Binance) is answered -1021 (ccxt's InvalidNonce) and changes nothing; a key
whose signatures keep failing is answered 429, -1003, before its secret is decrypted again."""

import time

import pytest

import trading.binance.signing
from trading.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}
REPLAYED = {
    "code": -1021,
    "msg": "Timestamp for this request is outside of the recvWindow.",
    "marginsite": {
        "code": "SIGNATURE_REPLAYED",
        "message": (
            "This signature was already used: sign each request afresh, with its own timestamp."
        ),
        "field": "signature",
        "reason": None,
    },
}


def send(binance, query: str):
    return binance.client.generic(
        "POST",
        "/fapi/v1/order",
        query,
        content_type="application/x-www-form-urlencoded",
        headers={"X-MBX-APIKEY": binance.key},
    )


def test_a_copy_of_a_signed_order_is_refused_and_places_nothing(binance, unchanged):
    query = binance.query(ORDER)
    placed = send(binance, query)

    with unchanged():
        copies = [send(binance, query) for _ in range(2)]

    assert placed.status_code == 200
    assert [copy.status_code for copy in copies] == [400, 400]
    assert copies[0].json() == REPLAYED
    assert Order.objects.count() == 1


def test_a_copy_is_refused_for_as_long_as_a_long_recv_window_lasts(binance, unchanged):
    query = binance.query(
        {**ORDER, "recvWindow": 60_000}, timestamp=int(time.time() * 1000) - 59_000
    )
    placed = send(binance, query)

    with unchanged():
        copy = send(binance, query)

    assert placed.status_code == 200
    assert copy.json() == REPLAYED


def test_the_same_order_signed_afresh_is_placed_again(binance):
    responses = [binance.post("/fapi/v1/order", ORDER) for _ in range(2)]

    assert [response.status_code for response in responses] == [200, 200]
    assert Order.objects.count() == 2


def test_recv_window_is_capped_at_60000_ms(binance):
    longest = binance.get("/fapi/v2/balance", {"recvWindow": 60_000})
    too_long = binance.get("/fapi/v2/balance", {"recvWindow": 60_001})

    assert longest.status_code == 200
    assert (too_long.status_code, too_long.json()) == (
        400,
        {"code": -1131, "msg": "recvWindow must be less than 60000"},
    )


def test_failed_signatures_are_throttled_before_the_secret_is_decrypted(
    binance, settings, monkeypatch, unchanged
):
    settings.API_SIGNATURE_FAILURE_LIMIT = 3
    decrypted = []
    decrypt = trading.binance.signing.secret_decrypt
    monkeypatch.setattr(
        trading.binance.signing,
        "secret_decrypt",
        lambda token: decrypted.append(token) or decrypt(token),
    )

    with unchanged():
        failures = [
            send(binance, binance.query(ORDER, signature="0" * 64)).json()["code"] for _ in range(3)
        ]
        throttled = send(binance, binance.query(ORDER))

    assert failures == [-1022, -1022, -1022]
    assert throttled.status_code == 429
    assert throttled.json()["code"] == -1003
    assert len(decrypted) == 3
