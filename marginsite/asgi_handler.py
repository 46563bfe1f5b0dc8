"""Django's ASGI handler with the middleware and the view run synchronously, in one thread hop
per request, on a thread kept from one request to the next.

Every view and middleware here is synchronous. Django's own ASGI handler builds its chain in
async mode, and there each of Django's middleware runs ``process_request`` and
``process_response`` through ``sync_to_async``, and the CSRF check and the view too: a dozen
thread hops per request. On a busy two-core server those hops cost a signed order about 3 ms of
CPU and the floor (/healthz) about 1.5 ms (docs/operations.md, "Order placement"). Here the
chain is built as under WSGI and the whole of it runs in one ``sync_to_async`` call, in the
request's thread-sensitive thread, as Django runs a sync view; reading the body, sending the
response and the request's signals stay Django's.

Django gives each request a thread-sensitive context of its own, and asgiref a new thread for
it, started when the request begins and joined, from yet another new thread, when it ends: two
threads started per request, and the request's database wrapper made anew in each. Here a
request's context runs on a thread taken from those this process keeps idle, and gives it back
after: one request at a time on a thread, as before, so the request's sync code (its signals
included) still shares one thread and one database connection.
"""

from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler

# threads kept idle between requests; more at once (a burst) are made, and shut down after it
IDLE_THREADS_KEPT = 16


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self):
        super().__init__()
        self._idle_threads: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)
        self._middleware_chain = sync_to_async(self._middleware_chain, thread_sensitive=True)

    async def __call__(self, scope, receive, send):
        """As Django's, in a context whose thread is one of this process's, kept between
        requests. A request whose client goes away ends once its view has (Django sends its
        ``request_finished`` on the same thread, behind the view), so the thread goes back idle.
        One that ends otherwise (cancelled, or raising) may leave a call running on its thread:
        that thread is let go (it ends once the call returns), never given to another request."""
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = (
            self._idle_threads.pop()
            if self._idle_threads
            else ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
        )
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        if len(self._idle_threads) < IDLE_THREADS_KEPT:
            self._idle_threads.append(thread)
        else:
            thread.shutdown(wait=False)  # its thread ends once its last call returns
