"""The README's run command: `make run` migrates, seeds, and serves web, Celery worker and Celery
beat from one Procfile; Ctrl-C stops all three.

Each test runs the real command in its own session, waits until /healthz shows that a heartbeat
sent by beat went through the broker and was run by the worker, then sends SIGINT to the whole
process group, as a terminal does. Once with the embedded defaults (a machine with nothing running:
the embedded PostgreSQL server and the filesystem broker in a fresh var folder, all stopped by the
Ctrl-C), once against PostgreSQL and Redis.
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from django.conf import settings

from tests.conftest import REPO_DIR
from tests.conftest import database_url as suite_database_url

SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def processes_started_with(variable: str) -> list[int]:
    """Pids of live processes whose environment holds ``variable`` (root may read them all)."""
    found = []
    for environ_file in Path("/proc").glob("[0-9]*/environ"):
        try:
            if variable.encode() in environ_file.read_bytes().split(b"\0"):
                found.append(int(environ_file.parent.name))
        except OSError:
            continue
    return found


def wait_for_healthy(url: str, make: subprocess.Popen, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert make.poll() is None, "make run exited before the site came up"
        try:
            status, body = get(url)
        except OSError:  # not listening yet, or 503 while the first heartbeat is on its way
            time.sleep(0.5)
            continue
        health = json.loads(body)
        if status == 200 and health["status"] == "ok":
            return health
        time.sleep(0.5)
    raise AssertionError(f"/healthz never reported ok within {seconds} s")


def run_make_run_until_healthy(tmp_path: Path, services: dict) -> tuple[dict, str]:
    """Start `make run` with ``services`` as its only service variables, check the site, press
    Ctrl-C; return the last health report and everything make printed."""
    port = free_port()
    var_dir = tmp_path / "var"
    marker = f"MARGINSITE_VAR_DIR={var_dir}"
    environment = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    environment.update(services, MARGINSITE_VAR_DIR=str(var_dir), HEARTBEAT_INTERVAL_SECONDS="1")
    log_path = tmp_path / "make-run.log"
    with log_path.open("wb") as log:
        make = subprocess.Popen(
            ["make", "run", f"PORT={port}", f"VENV={sys.prefix}"],
            cwd=REPO_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        health = wait_for_healthy(f"http://127.0.0.1:{port}/healthz", make, seconds=120)
        status, home = get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert all(symbol in home for symbol in (b"BTCUSDT", b"ETHUSDT", b"SOLUSDT"))
        status, stylesheet = get(f"http://127.0.0.1:{port}/static/css/site.css")
        assert status == 200
        assert b"--accent: #f0b90b" in stylesheet
    finally:
        os.killpg(make.pid, signal.SIGINT)
        try:
            make.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            raise

    deadline = time.monotonic() + 15
    while processes_started_with(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_started_with(marker) == [], "Ctrl-C left processes running"
    log_text = log_path.read_text()
    assert "Created instruments: BTCUSDT, ETHUSDT, SOLUSDT" in log_text
    assert "Paper trader: demo / demo-trader-1" in log_text
    assert re.search(r"Operator \(/admin/\): admin / \S{16}\n", log_text)
    for process in ("web.1", "worker.1", "beat.1"):
        assert f"{process} stopped" in log_text
    return health, log_text


def test_make_run_on_a_machine_with_nothing_running(tmp_path):
    health, _ = run_make_run_until_healthy(tmp_path, services={})

    assert health["database"] == "postgresql"
    assert health["cache"] == "ok"
    assert health["scheduler_heartbeat_age_seconds"] < 5
    assert (tmp_path / "var" / "postgres" / "PG_VERSION").read_text().startswith("18")
    assert not (tmp_path / "var" / "postgres" / "postmaster.pid").exists()  # stopped
    assert (tmp_path / "var" / "broker" / "messages").is_dir()


def redis_url_with_database(url: str, database: int) -> str:
    return urlunsplit(urlsplit(url)._replace(path=f"/{database}"))


@pytest.mark.redis
def test_make_run_against_postgresql_and_redis(tmp_path):
    # its own database and Redis databases, so nothing it does touches the suite's
    database = f"marginsite_make_run_{uuid.uuid4().hex[:8]}"
    server = settings.DATABASES["default"]
    admin_connection = {
        "host": server["HOST"],
        "port": server["PORT"] or 5432,
        "user": server["USER"],
        "password": server["PASSWORD"],
        "dbname": "postgres",
        "autocommit": True,
    }
    database_url = suite_database_url(database)
    cache_url = redis_url_with_database(settings.REDIS_URL, 14)
    broker_url = redis_url_with_database(settings.REDIS_URL, 15)
    with psycopg.connect(**admin_connection) as connection:
        connection.execute(f'CREATE DATABASE "{database}"')
    try:
        health, _ = run_make_run_until_healthy(
            tmp_path,
            services={
                "DATABASE_URL": database_url,
                "REDIS_URL": cache_url,
                "CELERY_BROKER_URL": broker_url,
            },
        )
    finally:
        with psycopg.connect(**admin_connection) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        for url in (cache_url, broker_url):
            redis.Redis.from_url(url).flushdb()

    assert health["database"] == "postgresql"
    assert health["cache"] == "ok"
    assert health["scheduler_heartbeat_age_seconds"] < 5
    assert not (tmp_path / "var" / "postgres").exists()
