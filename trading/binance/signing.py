"""Binance's request signing (SIGNED endpoints), checked as Binance checks it.

    X-MBX-APIKEY: the key (marginsite's ApiKey.key)
    signature:    hex HMAC-SHA256, keyed with the key's secret, of the query string followed
                  directly by the form body (Binance's "totalParams"), without the signature
    timestamp:    milliseconds since the epoch; refused if more than 1000 ms ahead of the server,
                  or older than recvWindow (default 5000 ms, at most 60000)

Each signature is accepted once: a copy of an accepted request, inside its window, is answered
-1021 (ccxt's InvalidNonce: the nonce was used) with SIGNATURE_REPLAYED in its ``marginsite``
member. A key whose signature checks keep failing is answered 429, -1003, before its secret is
decrypted again (accounts/signature_guards.py).

The signature covers the raw text the client sent, not a re-encoding of the parsed values, so
any client that signs as Binance documents is accepted. A READ_ONLY key may only read (GET).
"""

import hashlib
import hmac
import re
import time

from rest_framework.authentication import BaseAuthentication

from accounts.api_keys import active_key
from accounts.models import ApiKey
from accounts.secrets import secret_decrypt
from accounts.services import api_key_used
from accounts.signature_guards import signature_failure_count, signature_guards
from trading.binance.errors import (
    API_KEY_FORMAT,
    API_KEY_INVALID,
    DUPLICATE_PARAMETER,
    RECV_WINDOW_TOO_LARGE,
    SIGNATURE_INVALID,
    TIMESTAMP_AHEAD,
    TIMESTAMP_OUTSIDE_WINDOW,
    TOO_MANY_REQUESTS,
    BinanceError,
    explanation,
    mandatory_missing,
)
from trading.binance.params import request_params

RECV_WINDOW_DEFAULT_MS = 5000
RECV_WINDOW_MAX_MS = 60000
AHEAD_TOLERANCE_MS = 1000
SIGNATURE = "signature="


def payload_signature(secret: str, payload: str) -> str:
    """What a client computes and the server checks (see the module)."""
    return hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()


def signed_payload(query: str, body: str) -> tuple[str, str | None]:
    """(totalParams without the signature pair, the signature sent or None)."""
    signature, parts = None, []
    for text in (query, body):
        kept = []
        for pair in text.split("&") if text else []:
            name, equals, _ = pair.partition("=")
            if not name or not equals:
                # not a name=value pair: what a boundary moved between query and body leaves
                raise BinanceError.of(SIGNATURE_INVALID)
            if not pair.startswith(SIGNATURE):
                kept.append(pair)
            elif signature is None:
                signature = pair.removeprefix(SIGNATURE)
            else:
                raise BinanceError.of(DUPLICATE_PARAMETER)
        parts.append("&".join(kept))
    return "".join(parts), signature


def timestamp_checked(params, *, now_ms: int) -> None:
    """-1021 unless ``timestamp`` lies within recvWindow before now (and at most 1 s ahead)."""
    timestamp = params.integer("timestamp", required=True)
    window = params.integer("recvWindow")
    window = RECV_WINDOW_DEFAULT_MS if window is None else window
    if window > RECV_WINDOW_MAX_MS:
        raise BinanceError.of(RECV_WINDOW_TOO_LARGE)
    if timestamp > now_ms + AHEAD_TOLERANCE_MS:
        raise BinanceError.of(TIMESTAMP_AHEAD)
    if now_ms - timestamp > window:
        raise BinanceError.of(TIMESTAMP_OUTSIDE_WINDOW)


def request_api_key(request) -> ApiKey:
    """The active key ``request`` names in X-MBX-APIKEY, or the BinanceError Binance would
    answer. All a USER_STREAM endpoint (the listen key) asks: no timestamp, no signature."""
    key = request.headers.get("X-MBX-APIKEY", "").strip()
    if not key:
        raise BinanceError.of(API_KEY_FORMAT, status=401)
    api_key = active_key(key)
    if api_key is None:
        raise BinanceError.of(API_KEY_INVALID, status=401)
    return api_key


def request_verified(request) -> ApiKey:
    """The active key that signed ``request``, or the BinanceError Binance would answer."""
    api_key = request_api_key(request)
    params = request_params(request)
    payload, signature = signed_payload(
        request.META.get("QUERY_STRING", ""), request.body.decode("utf-8", "replace")
    )
    if not signature:
        raise mandatory_missing("signature")
    if "timestamp" not in params:
        raise mandatory_missing("timestamp")
    if not re.fullmatch(r"[0-9a-fA-F]{64}", signature):
        raise BinanceError.of(SIGNATURE_INVALID)
    # remembered as long as any timestamp is accepted: its own window is checked after it
    longest = RECV_WINDOW_MAX_MS + AHEAD_TOLERANCE_MS
    guards = signature_guards(api_key, signature, valid_for_ms=longest)
    request.budget_counted = guards.budget  # for its throttle (accounts/api_keys.py)
    if guards.exhausted:
        raise BinanceError.of(TOO_MANY_REQUESTS, status=429)
    expected = payload_signature(secret_decrypt(api_key.secret_encrypted), payload)
    if not hmac.compare_digest(expected, signature.lower()):
        signature_failure_count(api_key)
        raise BinanceError.of(SIGNATURE_INVALID)
    timestamp_checked(params, now_ms=int(time.time() * 1000))
    if request.method != "GET" and api_key.permission != ApiKey.Permission.TRADING:
        raise BinanceError.of(API_KEY_INVALID, status=401)
    if not guards.first_use:
        raise BinanceError(
            *TIMESTAMP_OUTSIDE_WINDOW,
            explanation=explanation(
                "SIGNATURE_REPLAYED",
                "This signature was already used: sign each request afresh, with its own "
                "timestamp.",
                field="signature",
            ),
        )
    api_key_used(api_key)
    return api_key


class BinanceSignatureAuthentication(BaseAuthentication):
    """DRF's hook for the checks above: the request's user is the key's, ``request.auth`` the key
    (so the native API's per-key request budget applies to the facade too)."""

    def authenticate(self, request):
        api_key = request_verified(request)
        return api_key.user, api_key


class ApiKeyAuthentication(BaseAuthentication):
    """USER_STREAM endpoints: the key alone (``request_api_key``); a read-only key may open its
    user data stream, which only reads."""

    def authenticate(self, request):
        api_key = request_api_key(request)
        api_key_used(api_key)
        return api_key.user, api_key
