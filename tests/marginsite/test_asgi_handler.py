"""The site's ASGI handler (marginsite/asgi_handler.py): the middleware and the view run
synchronously in one thread hop, and a request through ASGI meets every middleware as it does
under WSGI."""

import json

import pytest
from asgiref.sync import SyncToAsync, async_to_sync
from asgiref.testing import ApplicationCommunicator

from marginsite.asgi import application, django_application

pytestmark = pytest.mark.django_db(transaction=True)


@async_to_sync
async def served(method: str, path: str, body: bytes = b"", headers=()) -> tuple[int, dict, bytes]:
    """One HTTP request through the ASGI application: (status, headers, body)."""
    scope = {
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
    communicator = ApplicationCommunicator(application, scope)
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
