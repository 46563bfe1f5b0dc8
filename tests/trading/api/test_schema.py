"""The native API's OpenAPI 3 schema (/api/schema/) and its docs page (/api/docs/), and the API
checked against the schema by schemathesis: requests generated from it, signed with a trader's
API key, never get a 5xx, and every answer is one the schema documents (status, media type,
body)."""

import io
import json
import re
import time

import pytest
import schemathesis
from django.contrib.staticfiles import finders
from django.core.handlers.wsgi import WSGIRequest
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.validation import validate_schema
from hypothesis import strategies as st
from rest_framework import serializers
from rest_framework.test import APIClient

from accounts.api_keys import KeyRateThrottle
from trading.api import urls as api_urls
from trading.api.authentication import request_signature
from trading.models import Position
from trading.services import order_place

SCHEMA_URL = "/api/schema/"

# Inputs both valid and invalid for the schema, the same ones on every run (a CI failure can be
# replayed); the signing wrapper below authenticates, so no security header is generated. The
# checks: no 5xx, and every answer documented (status, media type, body, headers, 405 for an
# undocumented method). Not the checks that would hold DRF's leniency (an ignored bad page_size)
# or the trading rules (a schema-valid order refused for its margin) against the API.
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": 20,
            "deterministic": True,
            "with-security-parameters": False,
        },
        "checks": {
            "enabled": False,
            "not_a_server_error": {"enabled": True},
            "status_code_conformance": {"enabled": True},
            "content_type_conformance": {"enabled": True},
            "response_schema_conformance": {"enabled": True},
            "response_headers_conformance": {"enabled": True},
            "unsupported_method": {"enabled": True},
        },
    }
)


@pytest.fixture
def openapi(client) -> dict:
    """The schema as an anonymous visitor gets it, in JSON."""
    response = client.get(SCHEMA_URL, {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_is_public_yaml_by_default(client):
    response = client.get(SCHEMA_URL)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi")
    assert response.content.startswith(b"openapi: 3.")


def test_the_schema_is_valid_openapi_3_and_documents_every_route(openapi):
    validate_schema(openapi)  # raises on any violation of the OpenAPI 3.0 meta-schema

    routes = {
        "/api/v1/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", str(route.pattern))
        for route in api_urls.urlpatterns
        if route.name  # the unnamed catch-all answers 404 for any other path
    }
    assert set(openapi["paths"]) == routes
    assert openapi["info"]["title"] == "marginsite API"


def test_every_view_is_described_without_guesswork(db, tmp_path):
    """drf-spectacular warns when it has to guess (an APIView without a serializer, an unknown
    field, two names for one enum): a guess is a body the schema gets wrong, so there is none.
    The same command as CI's, which fails on any warning."""
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "api.yaml")


def test_decimals_are_strings_of_format_decimal(openapi):
    schemas = openapi["components"]["schemas"]

    assert schemas["Account"]["properties"]["wallet_balance"] == {
        "type": "string",
        "format": "decimal",
        "pattern": r"^-?\d{0,20}(?:\.\d{0,8})?$",  # 20 digits and 8 decimals, as stored
        "readOnly": True,
    }
    assert schemas["OrderRequestRequest"]["properties"]["quantity"]["type"] == "string"
    assert '"type": "number"' not in json.dumps(openapi)  # never a float, anywhere


def test_every_refusal_is_the_error_shape(openapi):
    components = openapi["components"]
    assert components["schemas"]["Error"]["required"] == ["code", "message", "field", "reason"]
    for path, operations in openapi["paths"].items():
        for method, operation in operations.items():
            refusals = {
                code: response
                for code, response in operation["responses"].items()
                if code[0] == "4"
            }
            assert {"401", "429"} <= set(refusals), (method, path)
            for response in refusals.values():
                if "$ref" in response:
                    response = components["responses"][response["$ref"].rsplit("/", 1)[1]]
                error = response["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, (method, path)


def test_a_signed_api_key_or_the_session_is_required(openapi):
    schemes = openapi["components"]["securitySchemes"]
    assert {scheme["name"] for scheme in schemes.values()} == {
        "X-API-KEY",
        "X-API-TIMESTAMP",
        "X-API-SIGNATURE",
        "sessionid",
    }
    signed = {"ApiKey": [], "ApiTimestamp": [], "ApiSignature": []}
    for operations in openapi["paths"].values():
        for operation in operations.values():
            assert operation["security"] == [signed, {"cookieAuth": []}]


def test_the_docs_page_serves_the_vendored_swagger_ui(client):
    response = client.get("/api/docs/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "http://" not in page  # nothing from a CDN
    assert "https://" not in page
    assets = re.findall(r'(?:src|href)="/static/([^"]+)"', page)
    assert {
        "vendor/swagger-ui/swagger-ui-bundle.js",
        "vendor/swagger-ui/swagger-ui.css",
        "js/api_docs.js",
    } <= set(assets)
    assert all(finders.find(asset) for asset in assets)
    assert f'data-schema-url="{SCHEMA_URL}?format=json"' in page
    assert finders.find("vendor/swagger-ui/LICENSE")


def signing(app, key: str, secret: str):
    """``app`` behind a bot that signs each request it receives with ``key``, over the exact
    method, path and body the server will check (see trading/api/authentication.py)."""

    def signed_app(environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        timestamp = str(int(time.time() * 1000))
        environ["HTTP_X_API_KEY"] = key
        environ["HTTP_X_API_TIMESTAMP"] = timestamp
        environ["HTTP_X_API_SIGNATURE"] = request_signature(
            secret,
            timestamp=timestamp,
            method=environ["REQUEST_METHOD"],
            path=WSGIRequest(dict(environ)).get_full_path(),
            body=body,
        )
        return app(environ, start_response)

    return signed_app


@pytest.fixture
def in_test_transaction():
    """Requests through the WSGI handler inside the test's transaction: at the end of a request
    Django closes a connection that is not in autocommit, which would end the transaction (the
    test client disconnects the same handler)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Random text is almost never a symbol, an order id or a decimal: the generated requests draw
# from the seeded market and alice's orders too, so that they place, preview, read and cancel
# real orders rather than only meet refusals.
SYMBOLS = ["BTCUSDT", "ETHUSDT", "SOLUSDT", "btcusdt"]
schemathesis.openapi.format(
    "decimal",
    st.one_of(
        st.sampled_from(["0.001", "0.01", "0.1", "1", "5", "50000", "60000.5", "0"]),
        st.decimals(min_value=-1, max_value=100_000, places=3, allow_nan=False).map(str),
    ),
)


def real_values(order_ids: list[int], position_ids: list[int]):
    """A flatmap hook: each symbol, order or position id either as generated or a real one."""

    def flatmap(context, values):
        if not isinstance(values, dict):
            return st.just(values)
        choices = {"symbol": SYMBOLS, "order_id": order_ids, "position_id": position_ids}
        return st.fixed_dictionaries(
            {
                name: st.sampled_from([*choices[name], value])
                if name in choices
                else st.just(value)
                for name, value in values.items()
            }
        )

    return flatmap


@pytest.fixture
def api(trader, key_of, in_test_transaction, monkeypatch):
    """The schema, loaded from /api/schema/ of the WSGI application, with every request signed
    with a trading key of alice (10,000 USDT) on the seeded market, where she has a filled
    order (a position) and a resting one."""
    orders = [
        order_place(
            user=trader, symbol="BTCUSDT", side="BUY", quantity="0.01", margin_mode="ISOLATED"
        ),
        order_place(
            user=trader, symbol="ETHUSDT", side="BUY", quantity="0.1", order_type="LIMIT",
            price="2500",
        ),
    ]  # fmt: skip
    # a thousand requests and more: the budget (tested in test_api_auth.py) would end the run
    monkeypatch.setattr(KeyRateThrottle, "THROTTLE_RATES", {"key": None})
    key = key_of(trader)
    app = signing(get_wsgi_application(), key.key, key.secret)
    schema = schemathesis.openapi.from_wsgi(f"{SCHEMA_URL}?format=json", app, config=CONFIG)
    hook = real_values(
        [order.pk for order in orders],
        list(Position.objects.filter(user=trader).values_list("pk", flat=True)),
    )
    for name in ("flatmap_path_parameters", "flatmap_body"):
        schema.hook(name)(hook)
    return schema


def _drf_messages() -> re.Pattern:
    """Every refusal message of DRF's own fields (placeholders as wildcards), as one pattern:
    it tells a serializer's refusal from a service's, which share the code INVALID_INPUT."""
    fields, templates = [serializers.Field], set()
    while fields:
        field = fields.pop()
        fields.extend(field.__subclasses__())
        templates |= {str(message) for message in field.default_error_messages.values()}
    patterns = {re.sub(r"\\\{\w+\\\}", ".*", re.escape(t)) for t in templates} - {".*"}
    return re.compile("|".join(sorted(patterns)))


DRF_MESSAGES = _drf_messages()


def schema_valid_requests_pass_the_parsers_and_serializers(ctx, response, case):
    """A request the schema calls valid may be refused by the trading rules, never by the
    API's parsing or its serializers: that refusal means the request schema is wrong (a field
    it does not require, a type or media type the view does not read)."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code not in (400, 415):
        return
    error = response.json()
    refused_by_drf = error["code"] in ("MALFORMED_REQUEST", "UNSUPPORTED_MEDIA_TYPE") or (
        error["code"] == "INVALID_INPUT" and DRF_MESSAGES.fullmatch(error["message"])
    )
    assert not refused_by_drf, f"the schema's request disagrees with the view: {error}"


schema = schemathesis.pytest.from_fixture("api")


@schema.parametrize()
def test_every_answer_of_the_api_is_documented(case):
    case.call_and_validate(
        additional_checks=[schema_valid_requests_pass_the_parsers_and_serializers]
    )


def test_a_path_no_route_matches_is_a_404_in_the_error_shape(db):
    response = APIClient().get("/api/v1/orders/abc")

    assert response.status_code == 404
    assert response.json() == {
        "code": "NOT_FOUND",
        "message": "No such endpoint: see /api/docs/.",
        "field": None,
        "reason": None,
    }
