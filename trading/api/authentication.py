"""Who is calling the API, and what they may do.

A bot signs each request with its API key (created on /settings):

    X-API-KEY:       the key
    X-API-TIMESTAMP: milliseconds since the epoch, within API_SIGNATURE_WINDOW_MS of the server
    X-API-SIGNATURE: hex HMAC-SHA256 of  timestamp + METHOD + path?query + raw body,
                     keyed with the key's secret

so a request cannot be replayed later or altered in transit, and the secret never travels. Each
signature is accepted once (SIGNATURE_REPLAYED for a second copy inside the window), and a key
whose checks keep failing is answered 429 before its secret is decrypted again
(accounts/signature_guards.py). The
browser uses its session instead (with Django's CSRF check on writes). A READ_ONLY key may only
read. Every key (or signed-in user) has a budget of requests (accounts/api_keys.py).
"""

import hashlib
import hmac
import re
import time

from django.conf import settings
from rest_framework import exceptions, permissions
from rest_framework.authentication import BaseAuthentication

from accounts.api_keys import active_key
from accounts.models import ApiKey
from accounts.secrets import secret_decrypt
from accounts.services import api_key_used
from accounts.signature_guards import signature_failure_count, signature_guards


def request_signature(secret: str, *, timestamp: str, method: str, path: str, body: bytes) -> str:
    """What a client computes, and the server checks (see the module)."""
    message = f"{timestamp}{method.upper()}{path}".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


class SignatureReplayed(exceptions.AuthenticationFailed):
    """A copy of a request already accepted (its own code: SIGNATURE_REPLAYED)."""

    default_detail = (
        "This signature was already used: sign each request afresh, with its own timestamp."
    )


class ApiKeySignatureAuthentication(BaseAuthentication):
    def authenticate(self, request):
        key = request.headers.get("X-API-KEY")
        if key is None:
            return None
        timestamp = request.headers.get("X-API-TIMESTAMP", "")
        signature = request.headers.get("X-API-SIGNATURE", "")
        if not re.fullmatch(r"[0-9]{1,15}", timestamp) or not signature:
            raise exceptions.AuthenticationFailed(
                "Signed requests need X-API-KEY, X-API-TIMESTAMP (ms) and X-API-SIGNATURE."
            )
        now_ms = int(time.time() * 1000)
        if abs(now_ms - int(timestamp)) > settings.API_SIGNATURE_WINDOW_MS:
            raise exceptions.AuthenticationFailed(
                "X-API-TIMESTAMP is outside the allowed window: check the clock."
            )
        api_key = active_key(key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        valid_for_ms = int(timestamp) + settings.API_SIGNATURE_WINDOW_MS - now_ms
        guards = signature_guards(api_key, signature, valid_for_ms=valid_for_ms)
        request.budget_counted = guards.budget  # for its throttle (accounts/api_keys.py)
        if guards.exhausted:
            raise exceptions.Throttled(
                settings.API_SIGNATURE_FAILURE_SECONDS,
                "Too many requests with a wrong signature for this key.",
            )
        expected = request_signature(
            secret_decrypt(api_key.secret_encrypted),
            timestamp=timestamp,
            method=request.method,
            path=request.get_full_path(),
            body=request.body,
        )
        if not re.fullmatch(r"[0-9a-fA-F]{64}", signature) or not hmac.compare_digest(
            expected, signature.lower()
        ):
            signature_failure_count(api_key)
            raise exceptions.AuthenticationFailed("The signature does not match the request.")
        if not guards.first_use:
            raise SignatureReplayed()
        api_key_used(api_key)
        return api_key.user, api_key

    def authenticate_header(self, request):
        return "X-API-KEY"  # a 401 (not a 403) tells a client its credentials are missing


class KeyPermission(permissions.BasePermission):
    message = "This API key is read-only: create a trading key on /settings to place orders."

    def has_permission(self, request, view):
        api_key = request.auth if isinstance(request.auth, ApiKey) else None
        if api_key is None or request.method in permissions.SAFE_METHODS:
            return True
        return api_key.permission == ApiKey.Permission.TRADING
