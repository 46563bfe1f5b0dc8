"""Who may call the native API: a session, or a request signed with an API key (HMAC-SHA256 of
timestamp + method + path + body); read-only keys; the error shape; the rate limit."""

import time

import pytest
from rest_framework.test import APIClient

from accounts.api_keys import KeyRateThrottle
from accounts.models import ApiKey
from accounts.services import api_key_revoke
from trading.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.1", "margin_mode": "CROSS"}


def test_a_signed_request_reads_the_account_with_decimals_as_strings(signed):
    response = signed.get("/api/v1/account")

    assert response.status_code == 200
    assert response.json() == {
        "wallet_balance": "10000.00000000",
        "cross_unrealized_pnl": "0.00000000",
        "cross_margin_balance": "10000.00000000",
        "cross_maintenance_margin": "0.00000000",
        "cross_margin_ratio": "0.00000000",
        "available_balance": "10000.00000000",
        "open_order_margin": "0.00000000",
        "isolated_margin": "0.00000000",
        "isolated_unrealized_pnl": "0.00000000",
        "equity": "10000.00000000",
    }


def test_the_session_of_the_browser_works_too(session):
    assert session.get("/api/v1/account").json()["wallet_balance"] == "10000.00000000"


def test_a_session_write_needs_the_csrf_token(session, unchanged):
    with unchanged():
        response = session.post("/api/v1/orders", ORDER, format="json")

    assert response.status_code == 403
    assert response.json()["code"] == "PERMISSION_DENIED"


def test_no_credentials_is_a_401_in_the_error_shape(market):
    response = APIClient().get("/api/v1/account")

    assert response.status_code == 401
    assert response.json() == {
        "code": "NOT_AUTHENTICATED",
        "message": "Authentication credentials were not provided.",
        "field": None,
        "reason": None,
    }


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        ("signature", "The signature does not match the request."),
        ("timestamp", "X-API-TIMESTAMP is outside the allowed window: check the clock."),
        ("key", "Unknown or revoked API key."),
        ("missing", "Signed requests need X-API-KEY, X-API-TIMESTAMP (ms) and X-API-SIGNATURE."),
    ],
)
def test_a_badly_signed_request_is_refused_and_changes_nothing(signed, unchanged, tamper, message):
    path, body = "/api/v1/orders", b'{"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.1"}'
    headers = signed.headers("POST", path, body)
    if tamper == "signature":
        headers["X-API-SIGNATURE"] = signed.headers("POST", path, body + b" ")["X-API-SIGNATURE"]
    elif tamper == "timestamp":
        headers = signed.headers("POST", path, body, timestamp=int(time.time() * 1000) - 60_000)
    elif tamper == "key":
        headers["X-API-KEY"] = "not-a-key"
    else:
        del headers["X-API-SIGNATURE"]

    with unchanged():
        response = signed.client.generic(
            "POST", path, body, content_type="application/json", headers=headers
        )

    assert response.status_code == 401
    assert response.json() == {
        "code": "AUTHENTICATION_FAILED",
        "message": message,
        "field": None,
        "reason": None,
    }


def test_a_revoked_key_is_refused(signed, trader):
    api_key_revoke(user=trader, key_id=ApiKey.objects.get(user=trader).pk)

    response = signed.get("/api/v1/account")

    assert response.status_code == 401
    assert response.json()["message"] == "Unknown or revoked API key."


def test_a_read_only_key_reads_but_cannot_trade(key_of, trader, unchanged):
    reader = key_of(trader, permission="READ_ONLY")

    assert reader.get("/api/v1/account").status_code == 200
    with unchanged():
        response = reader.post("/api/v1/orders", ORDER)

    assert response.status_code == 403
    assert response.json() == {
        "code": "PERMISSION_DENIED",
        "message": "This API key is read-only: create a trading key on /settings to place orders.",
        "field": None,
        "reason": None,
    }


def test_the_secret_is_stored_encrypted_never_in_plain_text(signed):
    stored = ApiKey.objects.get().secret_encrypted

    assert signed.secret not in stored
    assert stored.startswith("gAAAAA")  # a Fernet token


def test_each_key_has_a_request_budget(signed, monkeypatch):
    monkeypatch.setattr(KeyRateThrottle, "THROTTLE_RATES", {"key": "2/min"})

    statuses = [signed.get("/api/v1/account").status_code for _ in range(3)]

    assert statuses == [200, 200, 429]
    assert signed.get("/api/v1/account").json()["code"] == "TOO_MANY_REQUESTS"


def test_a_malformed_body_is_a_400_in_the_error_shape(signed, unchanged):
    with unchanged():
        response = signed.post("/api/v1/orders", raw=b'{"symbol": "BTCUSDT", ')

    assert response.status_code == 400
    assert response.json()["code"] == "MALFORMED_REQUEST"
    assert Order.objects.count() == 0


@pytest.mark.parametrize(
    ("timestamp", "signature"),
    [("²", "a" * 64), ("9" * 5000, "a" * 64), ("now", "é" * 64)],
)
def test_odd_signature_headers_are_a_401_not_a_500(signed, timestamp, signature):
    response = signed.client.get(
        "/api/v1/account",
        headers={
            "X-API-KEY": signed.key,
            "X-API-TIMESTAMP": timestamp,
            "X-API-SIGNATURE": signature,
        },
    )

    assert response.status_code == 401
    assert response.json()["code"] == "AUTHENTICATION_FAILED"


def test_a_non_ascii_signature_with_a_good_timestamp_is_a_401(signed):
    headers = signed.headers("GET", "/api/v1/account", b"")
    headers["X-API-SIGNATURE"] = "é" * 64

    response = signed.client.get("/api/v1/account", headers=headers)

    assert response.status_code == 401
    assert response.json()["message"] == "The signature does not match the request."


def test_digits_of_other_scripts_are_not_a_quantity(signed, unchanged):
    with unchanged():
        response = signed.post("/api/v1/orders", {**ORDER, "quantity": "\u0661"})

    assert response.status_code == 400
    assert response.json()["field"] == "quantity"
