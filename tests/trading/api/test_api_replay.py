"""A signed request is accepted once: a copy sent again inside the window is refused with
SIGNATURE_REPLAYED and changes nothing; a key whose signatures keep failing is answered 429
before its secret is decrypted again."""

import json

import pytest
from django.core.cache import cache

import trading.api.authentication
from accounts.models import ApiKey
from trading.models import Order

pytestmark = pytest.mark.django_db

ORDER = {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.1", "margin_mode": "CROSS"}
BODY = json.dumps(ORDER).encode()


def send(signed, headers: dict):
    return signed.client.generic(
        "POST", "/api/v1/orders", BODY, content_type="application/json", headers=headers
    )


def test_a_copy_of_a_signed_order_is_refused_and_places_nothing(signed, unchanged):
    headers = signed.headers("POST", "/api/v1/orders", BODY)
    placed = send(signed, headers)

    with unchanged():
        copies = [send(signed, headers) for _ in range(2)]

    assert placed.status_code == 201
    assert [copy.status_code for copy in copies] == [401, 401]
    assert copies[0].json() == {
        "code": "SIGNATURE_REPLAYED",
        "message": (
            "This signature was already used: sign each request afresh, with its own timestamp."
        ),
        "field": None,
        "reason": None,
    }
    assert Order.objects.count() == 1


def test_the_same_order_signed_afresh_is_placed_again(signed):
    responses = [signed.post("/api/v1/orders", ORDER) for _ in range(2)]

    assert [response.status_code for response in responses] == [201, 201]
    assert Order.objects.count() == 2


def test_a_copy_of_a_read_is_refused_too(signed):
    headers = signed.headers("GET", "/api/v1/account", b"")

    first = signed.client.get("/api/v1/account", headers=headers)
    copy = signed.client.get("/api/v1/account", headers=headers)

    assert first.status_code == 200
    assert (copy.status_code, copy.json()["code"]) == (401, "SIGNATURE_REPLAYED")


def test_failed_signatures_are_throttled_before_the_secret_is_decrypted(
    signed, settings, monkeypatch, unchanged
):
    settings.API_SIGNATURE_FAILURE_LIMIT = 3
    decrypted = []
    decrypt = trading.api.authentication.secret_decrypt
    monkeypatch.setattr(
        trading.api.authentication,
        "secret_decrypt",
        lambda token: decrypted.append(token) or decrypt(token),
    )
    wrong = {**signed.headers("POST", "/api/v1/orders", BODY), "X-API-SIGNATURE": "0" * 64}

    with unchanged():
        failures = [send(signed, wrong).status_code for _ in range(3)]
        throttled = send(signed, signed.headers("POST", "/api/v1/orders", BODY))

    assert failures == [401, 401, 401]
    assert throttled.status_code == 429
    assert throttled.json() == {
        "code": "TOO_MANY_REQUESTS",
        "message": (
            "Too many requests with a wrong signature for this key. "
            "Expected available in 300 seconds."
        ),
        "field": None,
        "reason": None,
    }
    assert throttled.headers["Retry-After"] == "300"
    assert len(decrypted) == 3


def test_a_key_signs_again_once_its_failures_are_forgotten(signed, settings):
    settings.API_SIGNATURE_FAILURE_LIMIT = 1
    wrong = {**signed.headers("GET", "/api/v1/account", b""), "X-API-SIGNATURE": "0" * 64}
    signed.client.get("/api/v1/account", headers=wrong)
    assert signed.get("/api/v1/account").status_code == 429

    cache.delete(f"signature-failures:{ApiKey.objects.get().pk}")  # the window has passed

    assert signed.get("/api/v1/account").status_code == 200
