"""Clients that sign their requests the way their real callers do: ``SignedClient`` as a bot on
the native API (X-API-KEY, X-API-TIMESTAMP, X-API-SIGNATURE), ``BinanceClient`` as ccxt on the
Binance facade (HMAC-SHA256 of the query string and form body, X-MBX-APIKEY)."""

import json
import time
from urllib.parse import urlencode

from django.test import Client
from rest_framework.test import APIClient

from trading.api.authentication import request_signature
from trading.binance.signing import payload_signature


class Clock:
    """Milliseconds since the epoch, never the same twice: a signature is accepted once, and two
    identical requests within one millisecond would otherwise be signed alike."""

    def __init__(self):
        self.last = 0

    def now_ms(self) -> int:
        self.last = max(int(time.time() * 1000), self.last + 1)
        return self.last


class SignedClient:
    """Requests signed with ``key``/``secret``: X-API-KEY, X-API-TIMESTAMP, X-API-SIGNATURE."""

    def __init__(self, key: str, secret: str):
        self.key, self.secret = key, secret
        self.client = APIClient()
        self.clock = Clock()

    def headers(self, method: str, path: str, body: bytes, *, timestamp=None) -> dict:
        timestamp = str(timestamp if timestamp is not None else self.clock.now_ms())
        return {
            "X-API-KEY": self.key,
            "X-API-TIMESTAMP": timestamp,
            "X-API-SIGNATURE": request_signature(
                self.secret, timestamp=timestamp, method=method, path=path, body=body
            ),
        }

    def get(self, path: str, **kwargs):
        return self.client.get(path, headers=self.headers("GET", path, b""), **kwargs)

    def delete(self, path: str):
        return self.client.delete(path, headers=self.headers("DELETE", path, b""))

    def post(self, path: str, data=None, *, raw: bytes | None = None):
        return self._send("POST", path, data, raw)

    def put(self, path: str, data=None, *, raw: bytes | None = None):
        return self._send("PUT", path, data, raw)

    def _send(self, method: str, path: str, data, raw: bytes | None):
        body = raw if raw is not None else json.dumps(data).encode()
        return self.client.generic(
            method,
            path,
            body,
            content_type="application/json",
            headers=self.headers(method, path, body),
        )


class BinanceClient:
    """Signed requests to /fapi/...: the parameters in the query string for GET and DELETE, in a
    form body for POST, then ``&signature=...`` (as ccxt sends them)."""

    def __init__(self, key: str, secret: str):
        self.key, self.secret = key, secret
        self.client = Client()
        self.clock = Clock()

    def query(self, params: dict, *, timestamp=None, signature=None) -> str:
        params = {**params, "timestamp": timestamp or self.clock.now_ms()}
        payload = urlencode(params)
        signature = signature or payload_signature(self.secret, payload)
        return f"{payload}&signature={signature}"

    def request(self, method: str, path: str, params=None, *, key=None, **signing):
        query = self.query(params or {}, **signing)
        headers = {"X-MBX-APIKEY": self.key if key is None else key}
        if method == "POST":
            return self.client.generic(
                "POST",
                path,
                query,
                content_type="application/x-www-form-urlencoded",
                headers=headers,
            )
        return self.client.generic(method, f"{path}?{query}", headers=headers)

    def get(self, path, params=None, **signing):
        return self.request("GET", path, params, **signing)

    def post(self, path, params=None, **signing):
        return self.request("POST", path, params, **signing)

    def delete(self, path, params=None, **signing):
        return self.request("DELETE", path, params, **signing)


def marginsite_urls(base_url: str) -> dict:
    """ccxt binanceusdm's ``urls["api"]`` pointed at marginsite, as docs/bots.md tells a bot
    author to write: everything under /fapi (and /futures/data), and the streams' base for ccxt
    pro."""
    fapi = f"{base_url}/fapi"
    return {
        "fapiPublic": f"{fapi}/v1",
        "fapiPublicV2": f"{fapi}/v2",
        "fapiPublicV3": f"{fapi}/v3",
        "fapiPrivate": f"{fapi}/v1",
        "fapiPrivateV2": f"{fapi}/v2",
        "fapiPrivateV3": f"{fapi}/v3",
        "fapiData": f"{base_url}/futures/data",
        "ws": {"linear": base_url.replace("http://", "ws://") + "/ws"},
    }
