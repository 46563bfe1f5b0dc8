"""A dependency that is down is a 503 with Retry-After, never a 500: Django's 500 handler
(``handler500`` in marginsite/urls.py) answers an error of the database or of Redis as "try again
shortly", in the shape the caller reads: the native API's error body, Binance's JSON for the
facade (ccxt takes a 503 for a temporary network error and retries), a short page for the
browser. Django calls the handler while the error is being handled, from wherever it was raised
(a view, a middleware loading the session, a template), so one place covers them all. Anything
else stays a 500.

The page is a plain string, not a template: rendering one would ask the database (context
processors) that is down.
"""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpResponse, JsonResponse
from django.views import defaults
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

RETRY_AFTER_SECONDS = 5
# Binance's own answer when it cannot serve a request now
BINANCE_UNAVAILABLE = {
    "code": -1001,
    "msg": "Internal error; unable to process your request. Please try again.",
}
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Back in a moment - marginsite</title></head>
<body><h1>Back in a moment</h1><p>{which} is not answering. Nothing you sent was lost or done
twice: try again in a few seconds.</p></body></html>"""


def _dependency_down(error: BaseException | None) -> str | None:
    """Which dependency ``error`` says is not answering (None: another error, a bug: a 500). A
    wrong query is a ProgrammingError or an IntegrityError, not one of these."""
    if isinstance(error, OperationalError | InterfaceError):
        return "The database"
    if isinstance(error, RedisConnectionError | RedisTimeoutError):
        return "Redis"
    return None


def server_error(request):
    which = _dependency_down(sys.exc_info()[1])
    if which is None:
        return defaults.server_error(request)
    message = f"{which} is not answering; try again in {RETRY_AFTER_SECONDS} seconds."
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"code": "SERVICE_UNAVAILABLE", "message": message, "field": None, "reason": None},
            status=503,
        )
    elif request.path.startswith(("/fapi/", "/futures/")):
        response = JsonResponse(BINANCE_UNAVAILABLE, status=503)
    else:
        response = HttpResponse(PAGE.format(which=which), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
