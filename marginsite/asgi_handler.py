"""Django's ASGI handler with the middleware and the view run synchronously, in one thread hop
per request.

Every view and middleware here is synchronous. Django's own ASGI handler builds its chain in
async mode, and there each of Django's middleware runs ``process_request`` and
``process_response`` through ``sync_to_async``, and the CSRF check and the view too: a dozen
thread hops per request. On a busy two-core server those hops cost a signed order about 3 ms of
CPU and the floor (/healthz) about 1.5 ms (docs/operations.md, "Order placement"). Here the
chain is built as under WSGI and the whole of it runs in one ``sync_to_async`` call, in the
request's thread-sensitive thread, as Django runs a sync view; reading the body, sending the
response and the request's signals stay Django's.
"""

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)
