"""The OpenAPI 3 schema of the native API (drf-spectacular): what DRF's introspection cannot see.

SPECTACULAR_SETTINGS names this module's hooks, so generating a schema imports it, and importing
it registers the extensions below:

- the signed API key as a security scheme (three headers that go together), beside the session;
- AsSent, a request decimal handed to the service as sent, as a string of format decimal;
- the bodies and parameters of the views that DRF cannot infer (a request body that is not the
  view's serializer_class, a list, a DELETE that answers the canceled order, a query parameter
  read by hand, a CSV): VIEW_SCHEMAS;
- native_api_only: only /api/v1/ is documented;
- document_errors: the Error component ({"code", "message", "field", "reason"}, errors.py) and
  the error responses each operation can give, so that clients and schemathesis know every
  status.
"""

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerFieldExtension,
    OpenApiViewExtension,
)
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)

from trading.api.serializers import (
    BookQuerySerializer,
    BookSerializer,
    CandleQuerySerializer,
    CandleSerializer,
    LeverageRequestSerializer,
    MarginChangeRequestSerializer,
    MarginModeRequestSerializer,
    OrderEditSerializer,
    OrderPreviewSerializer,
    OrderRequestSerializer,
    OrderSerializer,
    PositionsCloseAllSerializer,
    PositionSerializer,
    PositionTpslCancelSerializer,
    PositionTpslRequestSerializer,
    PositionTpslSerializer,
    SymbolLeverageSerializer,
)
from trading.models import LedgerEntry, Order

API_PREFIX = "/api/v1/"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Every refusal of the API, with a 4xx status.",
    "properties": {
        "code": {
            "type": "string",
            "description": "Stable, for programs: INVALID_INPUT, MARGIN_INSUFFICIENT, ...",
            "example": "INVALID_INPUT",
        },
        "message": {
            "type": "string",
            "description": "For a person.",
            "example": "quantity must be a number, not 'abc'.",
        },
        "field": {
            "type": "string",
            "nullable": True,
            "description": "The request field at fault, if the refusal concerns one.",
            "example": "quantity",
        },
        "reason": {
            "type": "string",
            "nullable": True,
            "description": (
                "Stable, for programs: which of the code's conditions happened, for a code that "
                "stands for several (INVALID_QUANTITY: NOT_POSITIVE, OFF_STEP, "
                "BELOW_MIN_QUANTITY, BELOW_MIN_NOTIONAL, ...); null for the others."
            ),
            "example": "OFF_STEP",
        },
    },
    "required": ["code", "message", "field", "reason"],
}
ERROR = {"$ref": "#/components/schemas/Error"}

# status: (component name, when)
ERROR_RESPONSES = {
    400: ("BadRequest", "The request is malformed or a value is invalid."),
    401: ("Unauthenticated", "No credentials, or a signature that does not match."),
    403: ("Forbidden", "A read-only key, or a session write without its CSRF token."),
    404: ("NotFound", "No such object (of this user), symbol or page."),
    409: ("Conflict", "Refused by the trading rules: margin, leverage, status, ..."),
    415: ("UnsupportedMediaType", "The body is in a media type the API does not read."),
    429: ("TooManyRequests", "Over the request budget of the key (or user): retry later."),
}

WRITE_METHODS = {"post", "put", "patch", "delete"}


class ApiKeySignatureScheme(OpenApiAuthenticationExtension):
    target_class = "trading.api.authentication.ApiKeySignatureAuthentication"
    name = ["ApiKey", "ApiTimestamp", "ApiSignature"]

    def get_security_definition(self, auto_schema):
        return [
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-KEY",
                "description": "The API key, created on /settings.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-TIMESTAMP",
                "description": "Milliseconds since the epoch, close to the server's clock.",
            },
            {
                "type": "apiKey",
                "in": "header",
                "name": "X-API-SIGNATURE",
                "description": (
                    "Hex HMAC-SHA256, keyed with the key's secret, of timestamp + METHOD + "
                    "path?query + raw body."
                ),
            },
        ]


class AsSentField(OpenApiSerializerFieldExtension):
    target_class = "trading.api.serializers.AsSent"

    def map_serializer_field(self, auto_schema, direction):
        return {"type": "string", "format": "decimal"}


# Request bodies that succeed on the demo market: Swagger UI's "Try it out" starts from them, and
# schemathesis sends them (its examples phase) before the generated ones.
ORDER_EXAMPLES = [
    OpenApiExample(
        "Market buy isolated",
        {"symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01", "margin_mode": "ISOLATED"},
        request_only=True,
    ),
    OpenApiExample(
        "Limit sell cross with a client order id",
        {
            "symbol": "ETHUSDT",
            "side": "SELL",
            "quantity": "0.1",
            "order_type": "LIMIT",
            "price": "3500",
            "margin_mode": "CROSS",
            "client_order_id": "bot-42",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Trailing stop sell, 1 % behind the best mark",
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "0.01",
            "order_type": "TRAILING_STOP_MARKET",
            "callback_rate": "1",
        },
        request_only=True,
    ),
    OpenApiExample(
        "Market buy for 100 USDT of margin",
        {"symbol": "BTCUSDT", "side": "BUY", "cost": "100", "margin_mode": "CROSS"},
        request_only=True,
    ),
]

LEDGER_KIND = OpenApiParameter(
    "kind", enum=LedgerEntry.Kind.values, description="Only the entries of this kind."
)

# view (dotted path) -> {method: extend_schema's arguments}: what each view would say with
# @extend_schema in views.py, which would make this table and its extensions unnecessary.
VIEW_SCHEMAS = {
    "trading.api.views.Orders": {
        "get": {
            "parameters": [
                OpenApiParameter(
                    "status",
                    enum=Order.Status.values,
                    description="Only the orders in this status (NEW: the open ones).",
                )
            ]
        },
        "post": {
            "request": OrderRequestSerializer,
            "responses": {201: OrderSerializer},
            "examples": ORDER_EXAMPLES,
        },
    },
    "trading.api.views.OrderPreview": {
        "post": {
            "request": OrderRequestSerializer,
            "responses": OrderPreviewSerializer,
            "examples": ORDER_EXAMPLES,
        }
    },
    "trading.api.views.OrderDetail": {
        "put": {
            "request": OrderEditSerializer,
            "responses": OrderSerializer,
            "examples": [
                OpenApiExample(
                    "New price and quantity",
                    {"quantity": "0.02", "price": "58000"},
                    request_only=True,
                )
            ],
        },
        "delete": {"responses": {200: OrderSerializer}},
    },
    "trading.api.views.Book": {
        "get": {"parameters": [BookQuerySerializer], "responses": BookSerializer}
    },
    "trading.api.views.Positions": {"get": {"responses": PositionSerializer(many=True)}},
    "trading.api.views.PositionClose": {
        "post": {"request": None, "responses": {201: OrderSerializer}}
    },
    "trading.api.views.PositionTpsl": {
        "post": {
            "request": PositionTpslRequestSerializer,
            "responses": PositionTpslSerializer,
            "examples": [
                OpenApiExample(
                    "Take profit and stop loss of a long",
                    {"take_profit": "66000", "stop_loss": "57000"},
                    request_only=True,
                )
            ],
        },
        "delete": {
            "parameters": [PositionTpslCancelSerializer],
            "responses": {200: PositionTpslSerializer},
        },
    },
    "trading.api.views.PositionReverse": {
        "post": {"request": None, "responses": {201: OrderSerializer}}
    },
    "trading.api.views.PositionsCloseAll": {
        "post": {
            "request": PositionsCloseAllSerializer,
            "responses": OrderSerializer(many=True),
            "examples": [
                OpenApiExample("Every cross position", {"margin_mode": "CROSS"}, request_only=True)
            ],
        }
    },
    "trading.api.views.PositionMargin": {
        "post": {
            "request": MarginChangeRequestSerializer,
            "responses": PositionSerializer,
            "examples": [
                OpenApiExample(
                    "Add 100 USDT", {"change": "add", "amount": "100"}, request_only=True
                )
            ],
        }
    },
    "trading.api.views.PositionMarginMode": {
        "put": {
            "request": MarginModeRequestSerializer,
            "responses": {
                409: OpenApiResponse(
                    ERROR, description="Always (MARGIN_MODE_LOCKED): close and reopen instead."
                )
            },
        }
    },
    "trading.api.views.Candles": {
        "get": {"parameters": [CandleQuerySerializer], "responses": CandleSerializer(many=True)}
    },
    "trading.api.views.Ledger": {"get": {"parameters": [LEDGER_KIND]}},
    "trading.api.views.LedgerCsv": {
        "get": {
            "operation_id": "ledger_csv_retrieve",
            "tags": ["ledger"],
            "parameters": [LEDGER_KIND],
            "responses": {
                (200, "text/csv"): OpenApiResponse(
                    OpenApiTypes.STR, description="The ledger's lines, with a header row."
                )
            },
        }
    },
    "trading.api.views.SymbolLeverage": {
        "put": {
            "request": LeverageRequestSerializer,
            "responses": SymbolLeverageSerializer,
            "examples": [
                OpenApiExample(
                    "10x isolated", {"margin_mode": "ISOLATED", "leverage": "10"}, request_only=True
                )
            ],
        }
    },
}


def _view_extension(target: str, methods: dict) -> type[OpenApiViewExtension]:
    """An extension that hands drf-spectacular an annotated subclass of ``target``: the same
    as decorating the view with @extend_schema, without touching views.py."""

    def view_replacement(self):
        annotations = {method: extend_schema(**kwargs) for method, kwargs in methods.items()}
        return extend_schema_view(**annotations)(type(self.target.__name__, (self.target,), {}))

    name = target.rsplit(".", 1)[1] + "Schema"
    return type(
        name,
        (OpenApiViewExtension,),
        {"target_class": target, "view_replacement": view_replacement},
    )


# Made for their effect: an extension class registers itself with drf-spectacular when created.
VIEW_EXTENSIONS = [_view_extension(target, methods) for target, methods in VIEW_SCHEMAS.items()]


def native_api_only(endpoints):
    """Preprocessing hook: the schema is the contract of /api/v1/ and nothing else."""
    return [endpoint for endpoint in endpoints if endpoint[0].startswith(API_PREFIX)]


def _error_statuses(method: str, operation: dict) -> set[int]:
    """The refusals an operation can answer with, from what every view shares: the rate limit;
    authentication, unless the operation is public; a key's permission on writes; a body in an
    unknown media type; and, for any input (path, query, body), the services' and selectors'
    refusals (ApplicationError: 400, 404 or 409), which the schema cannot tell apart."""
    statuses = {429}
    if {} not in operation.get("security", [{}]):
        statuses.add(401)
    if method in WRITE_METHODS:
        statuses.add(403)
    if "requestBody" in operation:
        statuses.add(415)
    if "requestBody" in operation or operation.get("parameters"):
        statuses |= {400, 404, 409}
    return statuses


def document_errors(result, generator, request, public):
    """Postprocessing hook: the Error component, one response component per error status, and
    a reference to each on the operations that can answer with it (a view's own annotation for
    a status wins)."""
    components = result.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    responses = components.setdefault("responses", {})
    for name, description in ERROR_RESPONSES.values():
        responses[name] = {
            "description": description,
            "content": {"application/json": {"schema": ERROR}},
        }
    for operations in result.get("paths", {}).values():
        for method, operation in operations.items():
            documented = operation.setdefault("responses", {})
            for status in _error_statuses(method, operation):
                name = ERROR_RESPONSES[status][0]
                documented.setdefault(str(status), {"$ref": f"#/components/responses/{name}"})
            operation["responses"] = dict(sorted(documented.items()))
    return result
