"""One error shape for the whole API: ``{"code": ..., "message": ..., "field": ..., "reason": ...}``
with a 4xx status. A service's refusal (ApplicationError) keeps its code, status and reason (which
of the code's conditions, for a code that stands for several; else null); DRF's own (a malformed
body, no credentials, a throttled client) get codes of the same kind. The code comes from the
exception's class, never from its message."""

from django.http import Http404
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler

from marginsite.errors import ApplicationError
from trading.api.authentication import SignatureReplayed

# The first class a refusal is an instance of gives its code: a subclass before its base.
DRF_CODES = {
    SignatureReplayed: "SIGNATURE_REPLAYED",
    exceptions.ParseError: "MALFORMED_REQUEST",
    exceptions.AuthenticationFailed: "AUTHENTICATION_FAILED",
    exceptions.NotAuthenticated: "NOT_AUTHENTICATED",
    exceptions.PermissionDenied: "PERMISSION_DENIED",
    exceptions.NotFound: "NOT_FOUND",
    exceptions.MethodNotAllowed: "METHOD_NOT_ALLOWED",
    exceptions.NotAcceptable: "NOT_ACCEPTABLE",
    exceptions.UnsupportedMediaType: "UNSUPPORTED_MEDIA_TYPE",
    exceptions.Throttled: "TOO_MANY_REQUESTS",
    exceptions.ValidationError: "INVALID_INPUT",
}


def error_body(
    code: str, message: str, field: str | None = None, reason: str | None = None
) -> dict:
    return {"code": code, "message": message, "field": field, "reason": reason}


def _first_error(detail) -> tuple[str | None, str]:
    """(field, message) of a DRF validation error, however nested."""
    if isinstance(detail, dict):
        field, value = next(iter(detail.items()))
        inner_field, message = _first_error(value)
        return (field if inner_field is None else f"{field}.{inner_field}"), message
    if isinstance(detail, list) and detail:
        return _first_error(detail[0])
    return None, str(detail)


def api_exception_handler(error, context):
    if isinstance(error, ApplicationError):
        return Response(
            error_body(error.code, error.message, error.field, error.reason), status=error.status
        )
    if isinstance(error, Http404):
        error = exceptions.NotFound()
    response = exception_handler(error, context)
    if response is None:
        return None
    code = next((c for kind, c in DRF_CODES.items() if isinstance(error, kind)), "API_ERROR")
    if isinstance(error, exceptions.ValidationError):
        field, message = _first_error(error.detail)
        if field == "non_field_errors":
            field = None
    else:
        field, message = None, str(error.detail)
    response.data = error_body(code, message, field)
    return response
