"""Binance's signature scheme on the facade: HMAC-SHA256 of the query string and form body with
the key's secret, ``timestamp`` within ``recvWindow``, X-MBX-APIKEY; each failure answers
Binance's code and changes nothing."""

import time

import pytest

from accounts.models import ApiKey
from accounts.services import api_key_revoke
from trading.binance.signing import payload_signature, signed_payload
from trading.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.1"}


def now_ms() -> int:
    return int(time.time() * 1000)


def test_a_signed_request_reads_the_account_and_marks_the_key_used(binance):
    response = binance.get("/fapi/v2/balance")

    assert response.status_code == 200
    assert response.json()[0]["balance"] == "10000.00000000"
    assert ApiKey.objects.get(key=binance.key).last_used_at is not None


def test_a_signed_order_in_a_form_body_is_placed(binance):
    response = binance.post("/fapi/v1/order", ORDER)

    assert response.status_code == 200
    assert response.json()["status"] == "FILLED"


def test_the_signature_covers_the_query_string_followed_by_the_body(binance):
    # Binance's "mixed" example: some parameters in the query string, the rest in the body
    query, body = "symbol=BTCUSDT&side=BUY", f"type=MARKET&quantity=0.1&timestamp={now_ms()}"
    signature = payload_signature(binance.secret, query + body)

    response = binance.client.generic(
        "POST",
        f"/fapi/v1/order?{query}",
        f"{body}&signature={signature}",
        content_type="application/x-www-form-urlencoded",
        headers={"X-MBX-APIKEY": binance.key},
    )

    assert response.status_code == 200
    assert Order.objects.count() == 1


def test_signed_payload_is_what_was_signed_without_the_signature():
    assert signed_payload("a=1&signature=ff&b=2", "c=3") == ("a=1&b=2c=3", "ff")
    assert signed_payload("", "a=1&signature=ff") == ("a=1", "ff")
    assert signed_payload("a=1", "") == ("a=1", None)


@pytest.mark.parametrize(
    ("signing", "status", "code", "msg"),
    [
        (
            {"signature": "0" * 64},
            400,
            -1022,
            "Signature for this request is not valid.",
        ),
        (
            {"age_ms": 6000},
            400,
            -1021,
            "Timestamp for this request is outside of the recvWindow.",
        ),
        (
            {"age_ms": -60_000},
            400,
            -1021,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        ),
        (
            {"key": "no-such-key"},
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        ),
        ({"key": ""}, 401, -2014, "API-key format invalid."),
    ],
)
def test_a_badly_signed_order_is_refused_and_changes_nothing(
    binance, unchanged, signing, status, code, msg
):
    if "age_ms" in signing:
        signing = {"timestamp": now_ms() - signing["age_ms"]}
    with unchanged():
        response = binance.post("/fapi/v1/order", ORDER, **signing)

    assert response.status_code == status
    assert response.json() == {"code": code, "msg": msg}


def test_a_tampered_parameter_breaks_the_signature(binance, unchanged):
    query = binance.query(ORDER).replace("quantity=0.1", "quantity=1.0")

    with unchanged():
        response = binance.client.generic(
            "POST",
            "/fapi/v1/order",
            query,
            content_type="application/x-www-form-urlencoded",
            headers={"X-MBX-APIKEY": binance.key},
        )

    assert response.json()["code"] == -1022


def test_a_longer_recv_window_accepts_an_older_timestamp(binance):
    old = now_ms() - 20_000

    refused = binance.get("/fapi/v2/balance", {"recvWindow": 10_000}, timestamp=old)
    accepted = binance.get("/fapi/v2/balance", {"recvWindow": 30_000}, timestamp=old)
    too_long = binance.get("/fapi/v2/balance", {"recvWindow": 60_001})

    assert refused.json()["code"] == -1021
    assert accepted.status_code == 200
    assert too_long.json() == {"code": -1131, "msg": "recvWindow must be less than 60000"}


@pytest.mark.parametrize("missing", ["signature", "timestamp"])
def test_a_request_without_signature_or_timestamp_is_refused(binance, missing):
    payload = "symbol=BTCUSDT" if missing == "timestamp" else f"timestamp={now_ms()}"
    if missing == "timestamp":
        payload += f"&signature={payload_signature(binance.secret, payload)}"

    response = binance.client.get(
        f"/fapi/v2/balance?{payload}", headers={"X-MBX-APIKEY": binance.key}
    )

    assert response.status_code == 400
    assert response.json() == {
        "code": -1102,
        "msg": f"Mandatory parameter '{missing}' was not sent, was empty/null, or malformed.",
    }


def test_a_parameter_sent_twice_is_refused(binance):
    response = binance.client.get(
        "/fapi/v2/balance?recvWindow=1&recvWindow=2", headers={"X-MBX-APIKEY": binance.key}
    )

    assert response.json() == {"code": -1101, "msg": "Duplicate values for a parameter detected."}


def test_a_revoked_key_is_refused(binance, trader):
    api_key_revoke(user=trader, key_id=ApiKey.objects.get(key=binance.key).pk)

    response = binance.get("/fapi/v2/balance")

    assert (response.status_code, response.json()["code"]) == (401, -2015)


def test_a_read_only_key_reads_but_does_not_trade(binance_of, trader, unchanged):
    reader = binance_of(trader, permission="READ_ONLY")

    assert reader.get("/fapi/v3/account").status_code == 200
    with unchanged():
        response = reader.post("/fapi/v1/order", ORDER)

    assert (response.status_code, response.json()["code"]) == (401, -2015)


def test_public_market_data_needs_no_key(client, market):
    assert client.get("/fapi/v1/time").status_code == 200
    assert client.get("/fapi/v1/ticker/price?symbol=BTCUSDT").json()["price"] == "60000.00000000"
