"""The web workers' spreading of kept-alive connections (marginsite/connection_spread.py): a worker
still busy with another request when it answers one closes that answer's connection, at most
once a second, so that the client's next connection can go to an idle worker."""

import asyncio

import pytest
from asgiref.sync import async_to_sync

from marginsite import connection_spread
from marginsite.connection_spread import ConnectionSpread


class Held:
    """An application whose answers wait until the test lets each of them go."""

    def __init__(self):
        self.release: dict[str, asyncio.Event] = {}

    async def __call__(self, scope, receive, send):
        await self.release.setdefault(scope["path"], asyncio.Event()).wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-a", b"1")]})
        await send({"type": "http.response.body", "body": b"ok"})


def connection_header(messages: list[dict]) -> list[bytes]:
    start = next(message for message in messages if message["type"] == "http.response.start")
    return [value for name, value in start["headers"] if name == b"connection"]


async def request(spread: ConnectionSpread, path: str) -> list[dict]:
    sent: list[dict] = []

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    await spread({"type": "http", "path": path}, receive, send)
    return sent


@pytest.fixture
def spread():
    held = Held()
    return held, ConnectionSpread(held)


async def answered(held: Held, spread: ConnectionSpread, *paths: str) -> list[list[dict]]:
    """Requests to ``paths`` begun together, answered one after the other in that order."""
    tasks = [asyncio.create_task(request(spread, path)) for path in paths]
    await asyncio.sleep(0)
    results = []
    for path, task in zip(paths, tasks, strict=True):
        held.release.setdefault(path, asyncio.Event()).set()
        results.append(await task)
    return results


def test_a_request_answered_alone_keeps_its_connection(spread):
    held, middleware = spread

    (alone,) = async_to_sync(answered)(held, middleware, "/a")

    assert connection_header(alone) == []
    assert (b"x-a", b"1") in alone[0]["headers"]
    assert alone[1]["body"] == b"ok"


def test_an_answer_given_while_another_request_is_served_closes_its_connection(spread):
    held, middleware = spread

    first, second = async_to_sync(answered)(held, middleware, "/a", "/b")

    assert connection_header(first) == [b"close"]  # the worker was busy with /b
    assert connection_header(second) == []  # answered alone
    assert first[1]["body"] == b"ok"
    assert middleware.in_flight == 0


def test_a_worker_closes_at_most_one_connection_a_second(spread):
    held, middleware = spread

    # /b is answered while /c is still served, within the second of /a's close
    first, second, third = async_to_sync(answered)(held, middleware, "/a", "/b", "/c")
    assert [connection_header(m) for m in (first, second, third)] == [[b"close"], [], []]

    middleware.closed_at -= connection_spread.CLOSE_EVERY_SECONDS  # a second later
    held.release.clear()
    fourth, _ = async_to_sync(answered)(held, middleware, "/d", "/e")
    assert connection_header(fourth) == [b"close"]


def test_a_websocket_passes_through_untouched():
    seen = []

    async def application(scope, receive, send):
        seen.append(scope["type"])

    async_to_sync(ConnectionSpread(application))({"type": "websocket"}, None, None)

    assert seen == ["websocket"]
