"""The site's ASGI handler (marginsite/asgi_handler.py): the middleware and the view run
synchronously in one thread hop, on a thread kept from one request to the next, and a request
through ASGI meets every middleware as it does under WSGI."""

import asyncio
import contextlib
import gc
import json
import threading
import time

import pytest
from asgiref.sync import SyncToAsync, async_to_sync, sync_to_async
from asgiref.testing import ApplicationCommunicator
from django.core.signals import request_started
from django.test.signals import template_rendered

from marginsite import asgi_handler
from marginsite.asgi import application, django_application

pytestmark = pytest.mark.django_db(transaction=True)


def request_scope(method: str, path: str, headers=()) -> dict:
    """The ASGI scope of an HTTP request to ``path``."""
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }


@async_to_sync
async def served(method: str, path: str, body: bytes = b"", headers=()) -> tuple[int, dict, bytes]:
    """One HTTP request through the ASGI application: (status, headers, body)."""
    communicator = ApplicationCommunicator(application, request_scope(method, path, headers))
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout=10)
    content = b""
    while True:
        message = await communicator.receive_output(timeout=10)
        content += message.get("body", b"")
        if not message.get("more_body"):
            break
    await communicator.wait(timeout=10)
    response_headers: dict = {}
    for name, value in start["headers"]:
        response_headers.setdefault(name.decode().lower(), []).append(value.decode())
    return start["status"], response_headers, content


def test_the_chain_is_built_synchronously_and_entered_once():
    assert isinstance(django_application._middleware_chain, SyncToAsync)
    # the CSRF check among them: under Django's own ASGI handler each is a SyncToAsync
    assert django_application._view_middleware
    assert not any(isinstance(m, SyncToAsync) for m in django_application._view_middleware)


def test_a_page_through_asgi_meets_every_middleware():
    status, headers, body = served("GET", "/login/")

    assert status == 200
    assert b'name="csrfmiddlewaretoken"' in body
    assert headers["x-frame-options"] == ["DENY"]
    assert headers["x-content-type-options"] == ["nosniff"]
    assert "default-src 'self'" in headers["content-security-policy"][0]
    assert any(cookie.startswith("csrftoken=") for cookie in headers["set-cookie"])


def test_a_post_without_the_csrf_token_is_refused_by_the_view_middleware():
    status, _, body = served(
        "POST",
        "/login/",
        b"username=someone&password=secret",
        [(b"content-type", b"application/x-www-form-urlencoded")],
    )

    assert status == 403
    assert b"CSRF" in body


def test_an_unsigned_api_request_gets_the_api_s_json_refusal():
    status, headers, body = served("GET", "/api/v1/account")

    assert status == 401
    assert headers["content-type"] == ["application/json"]
    assert headers["www-authenticate"] == ["X-API-KEY"]
    assert json.loads(body)["code"] == "NOT_AUTHENTICATED"


@pytest.fixture
def request_threads():
    """The thread each request's signals ran on, in order, through the idle threads' reset."""
    threads: list[threading.Thread] = []

    def record(**kwargs):
        threads.append(threading.current_thread())

    django_application._idle_threads.clear()
    request_started.connect(record, dispatch_uid="test-request-threads")
    yield threads
    request_started.disconnect(dispatch_uid="test-request-threads")


def test_one_request_after_another_runs_on_the_same_kept_thread(request_threads):
    assert served("GET", "/login/")[0] == 200
    kept = list(django_application._idle_threads)
    assert served("GET", "/login/")[0] == 200

    assert len(kept) == 1
    assert django_application._idle_threads == kept
    assert request_threads[0] is request_threads[1] is not threading.current_thread()


def at_once(count: int) -> list[int]:
    """``count`` requests at once, each held at its start until all have started: their
    statuses (held on one thread, they would time out)."""
    barrier = threading.Barrier(count, timeout=10)
    request_started.connect(
        lambda **kwargs: barrier.wait(), weak=False, dispatch_uid="test-at-once"
    )
    one = sync_to_async(served, thread_sensitive=False)

    @async_to_sync
    async def gathered():
        return await asyncio.gather(*(one("GET", "/login/") for _ in range(count)))

    try:
        return [status for status, _, _ in gathered()]
    finally:
        request_started.disconnect(dispatch_uid="test-at-once")


def test_requests_at_once_run_on_threads_of_their_own(request_threads):
    assert at_once(2) == [200, 200]

    assert len(set(request_threads)) == 2
    assert len(django_application._idle_threads) == 2


def test_threads_beyond_those_kept_idle_are_shut_down(request_threads, monkeypatch):
    monkeypatch.setattr(asgi_handler, "IDLE_THREADS_KEPT", 1)

    assert at_once(3) == [200, 200, 200]

    (kept,) = django_application._idle_threads
    (kept_thread,) = kept._threads
    let_go = set(request_threads) - {kept_thread}
    assert len(let_go) == 2
    for thread in let_go:
        thread.join(timeout=10)
    assert not any(thread.is_alive() for thread in let_go)
    assert served("GET", "/login/")[0] == 200
    assert request_threads[-1] is kept_thread


def test_what_the_application_loaded_is_kept_out_of_the_cycle_collector():
    assert gc.get_freeze_count() > 10_000


@pytest.fixture
def slow_view():
    """The login page's view held half a second once it renders: (started, ended) events."""
    started, ended = threading.Event(), threading.Event()

    def held(**kwargs):
        if not started.is_set():
            started.set()
            time.sleep(0.5)
            ended.set()

    template_rendered.connect(held, weak=False, dispatch_uid="test-slow-view")
    yield started, ended
    template_rendered.disconnect(dispatch_uid="test-slow-view")


def test_a_request_whose_client_goes_away_gives_its_thread_back_once_its_view_ends(
    request_threads, slow_view
):
    started, ended = slow_view

    @async_to_sync
    async def gone():
        communicator = ApplicationCommunicator(application, request_scope("GET", "/login/"))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        assert await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        await communicator.send_input({"type": "http.disconnect"})
        await communicator.wait(timeout=10)

    gone()

    assert ended.is_set()  # the request ended only once its view had
    assert len(django_application._idle_threads) == 1
    assert served("GET", "/login/")[0] == 200
    assert request_threads[0] is request_threads[1]


def test_a_cancelled_request_s_thread_is_never_given_to_another_request(request_threads, slow_view):
    started, ended = slow_view

    @async_to_sync
    async def cancelled():
        communicator = ApplicationCommunicator(application, request_scope("GET", "/login/"))
        await communicator.send_input({"type": "http.request", "body": b"", "more_body": False})
        assert await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        communicator.future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await communicator.future

    cancelled()

    assert not ended.is_set()  # its view still runs, on its thread
    assert django_application._idle_threads == []
    assert ended.wait(10)
    request_threads[0].join(timeout=10)
    assert not request_threads[0].is_alive()  # let go: it ended with its last call
    assert served("GET", "/login/")[0] == 200
    assert request_threads[1] is not request_threads[0]
