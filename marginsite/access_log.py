"""The web server's access log, one line per HTTP request, written when its response ends:

    METHOD TARGET STATUS MICROSECONDS API-KEY

TARGET is the path and query string as sent; API-KEY is the request's X-MBX-APIKEY (which bot
asked), or "-". The time is the server's, from the request's start to its last byte, so the
benchmarks and the bot tests can tell the server's share of a latency from the network's. An
ASGI middleware, because uvicorn's own access log has no time and gunicorn's is not written
for its uvicorn workers. The lines go to the ``marginsite.access`` logger (settings.LOGGING:
ACCESS_LOG_FILE, else standard output).
"""

import logging
import time

logger = logging.getLogger("marginsite.access")


class AccessLog:
    def __init__(self, application):
        self.application = application

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.application(scope, receive, send)
        started = time.perf_counter()
        status = 500  # what the client sees when the application fails before responding

        async def logged_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body"):
                logger.info(_line(scope, status, started))

        await self.application(scope, receive, logged_send)


def _line(scope, status: int, started: float) -> str:
    target = scope["raw_path"].decode("latin-1") if scope.get("raw_path") else scope["path"]
    if scope.get("query_string"):
        target = f"{target}?{scope['query_string'].decode('latin-1')}"
    key = dict(scope["headers"]).get(b"x-mbx-apikey", b"-").decode("latin-1") or "-"
    micros = int((time.perf_counter() - started) * 1_000_000)
    return f"{scope['method']} {target} {status} {micros} {key}"
