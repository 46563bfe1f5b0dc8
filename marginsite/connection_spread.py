"""Spreads the clients' kept-alive connections over the web workers.

gunicorn's workers share one listening socket, and a connection stays with the worker that
accepted it: every request a client sends on it goes to that worker. Bots keep their connections
alive, so two bots on a site of two workers both land on one worker half the time, and it then
serves both while the other idles: each waits for the other's requests, for as long as they
keep their connections (measured: a third fewer orders a second, and twice the latency).

So a worker that is still busy with another request when it answers one closes that answer's
connection (``Connection: close``, which every HTTP client follows by connecting again for its
next request). The new connection goes to whichever worker accepts it first, and an idle one
does (a busy worker's loop waits for the request's thread to let it run). At most one connection
per ``CLOSE_EVERY_SECONDS`` per worker is closed, so that a worker busy with many clients, which
is no sign of another being idle, does not make them all connect again and again.
"""

import time

CLOSE_EVERY_SECONDS = 1.0


class ConnectionSpread:
    def __init__(self, application):
        self.application = application
        self.in_flight = 0  # this worker's requests begun and not yet answered (one event loop)
        self.closed_at = -CLOSE_EVERY_SECONDS

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.application(scope, receive, send)

        async def spread_send(message):
            if message["type"] == "http.response.start" and self.in_flight > 1:
                now = time.monotonic()
                if now - self.closed_at >= CLOSE_EVERY_SECONDS:
                    self.closed_at = now
                    headers = [*message.get("headers", ()), (b"connection", b"close")]
                    message = {**message, "headers": headers}
            await send(message)

        self.in_flight += 1
        try:
            await self.application(scope, receive, spread_send)
        finally:
            self.in_flight -= 1
