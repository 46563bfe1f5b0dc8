"""marginsite served as `make run` serves it, for the tests that reach it from outside (bots,
browsers on the live page, WebSocket clients): gunicorn's uvicorn workers, and when asked a
Celery worker and beat, each a process of its own, on the test's database.

The processes share the test's database, Redis and secret key (API secrets are encrypted with a
key derived from it), and get a var folder of their own (beat's schedule file). The test makes
users and keys with the services, the processes serve and trade, and the test reads the rows
they wrote.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from django.conf import settings

from tests.conftest import REPO_DIR, database_url

SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stop(process: subprocess.Popen, signum=signal.SIGTERM, seconds: float = 30) -> None:
    """Signal the process group, as a terminal would; kill it if it lingers."""
    if process.poll() is not None:
        return
    os.killpg(process.pid, signum)
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


@dataclass
class Site:
    url: str
    access_log: Path

    def requests(self) -> list[tuple[str, str, int, int, str]]:
        """(method, path, status, microseconds, api key) of every request served so far, from
        the access log (marginsite/access_log.py; a bot's key tells one bot's requests from
        another's, "-" for public ones)."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            method, target, status, micros, key = line.split(" ")
            rows.append((method, target.split("?")[0], int(status), int(micros), key))
        return rows


def wait_until_serving(url: str, processes: dict, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for name, process in processes.items():
            assert process.poll() is None, f"{name} exited while starting"
        try:
            with urllib.request.urlopen(f"{url}/fapi/v1/ping", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"marginsite did not answer {url}/fapi/v1/ping within {seconds} s")


@pytest.fixture(scope="session")
def static_files(tmp_path_factory) -> Path:
    """The static files as `make run` collects them (whitenoise serves them from there), once
    per session: the browser tests' pages need their scripts."""
    var_dir = tmp_path_factory.mktemp("static-var")
    subprocess.run(
        [Path(sys.prefix) / "bin" / "python", "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=REPO_DIR,
        env={**os.environ, "MARGINSITE_VAR_DIR": str(var_dir), "DJANGO_SECRET_KEY": "collecting"},
        check=True,
    )
    return var_dir / "staticfiles"


@pytest.fixture
def site_environment(tmp_path, static_files):
    """The environment of marginsite's processes: the test's database, Redis and keys, funding
    every minute, marks that move by small steps (no jumps, so no bot is liquidated by luck)."""
    environment = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    (tmp_path / "var").mkdir()  # the runtime folder, as `make run` makes it (beat's schedule)
    (tmp_path / "var" / "staticfiles").symlink_to(static_files)
    environment.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        CHANNEL_LAYER_PREFIX=settings.CHANNEL_LAYER_PREFIX,
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        DJANGO_SECRET_KEY=settings.SECRET_KEY,
        API_KEY_ENCRYPTION_KEY=settings.API_KEY_ENCRYPTION_KEY,
        MARGINSITE_VAR_DIR=str(tmp_path / "var"),
        FUNDING_INTERVAL_MINUTES="1",
        PRICE_SIMULATION_JUMP_PROBABILITY="0",
        LOG_LEVEL="WARNING",
    )
    return environment


@pytest.fixture
def marginsite(transactional_db, tmp_path, site_environment):
    """marginsite(processes=("web", "worker", "beat")) -> Site: starts web (gunicorn with 2
    uvicorn workers, as the Procfile), and the worker and beat if asked, on the test database,
    once the test has seeded what they serve. Stopped before the test's database is flushed; the
    broker's queue is emptied so no tick outlives the test."""
    processes: dict[str, subprocess.Popen] = {}
    logs_dir = tmp_path / "site"
    logs_dir.mkdir()

    def start(names: tuple[str, ...] = ("web", "worker", "beat")) -> Site:
        port = free_port()
        access_log = logs_dir / "access.log"
        commands = {
            "web": [
                *("gunicorn", "marginsite.asgi:application", "--bind", f"127.0.0.1:{port}"),
                *("--worker-class", "uvicorn_worker.UvicornWorker", "--workers", "2"),
            ],
            "worker": [
                *("celery", "--app", "marginsite", "worker"),
                *("--loglevel", "WARNING", "--concurrency", "2"),
            ],
            "beat": ["celery", "--app", "marginsite", "beat", "--loglevel", "WARNING"],
        }
        bin_dir = Path(sys.prefix) / "bin"
        environment = {**site_environment, "ACCESS_LOG_FILE": str(access_log)}
        for name in names:
            command = commands[name]
            with (logs_dir / f"{name}.log").open("wb") as log:
                processes[name] = subprocess.Popen(
                    [bin_dir / command[0], *command[1:]],
                    cwd=REPO_DIR,
                    env=environment,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
        url = f"http://127.0.0.1:{port}"
        wait_until_serving(url, processes, seconds=60)
        return Site(url=url, access_log=access_log)

    yield start
    for process in processes.values():
        stop(process)
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete("celery")


@pytest.fixture(params=["redis", "postgres"])
def layer(request, settings):
    """The channel layer of both the served site and this process (which publishes the live
    events): Redis (production) and PostgreSQL's LISTEN/NOTIFY (the embedded default)."""
    if request.param == "postgres":
        settings.CHANNEL_LAYERS = {
            "default": {"BACKEND": "marginsite.channel_layers.PostgresNotifyChannelLayer"}
        }
    return request.param


@pytest.fixture
def site(marginsite, site_environment, layer):
    """The web process alone (its sockets), on each channel layer."""
    if layer == "postgres":
        site_environment["CHANNEL_LAYER_URL"] = ""
    return marginsite(("web",))
