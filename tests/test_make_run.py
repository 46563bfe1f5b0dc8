"""The README's run command on a machine with nothing running: `make run` migrates, seeds, and
serves web, Celery worker and Celery beat from one Procfile; Ctrl-C stops all three.

It runs the real command in its own session with the embedded defaults (SQLite and the filesystem
broker in a fresh var folder), waits until /healthz shows that a heartbeat sent by beat went
through the broker and was run by the worker, then sends SIGINT to the whole process group, as a
terminal does.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.conftest import REPO_DIR

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
        except OSError:
            time.sleep(0.5)
            continue
        health = json.loads(body)
        if status == 200 and health["status"] == "ok":
            return health
        time.sleep(0.5)
    raise AssertionError(f"/healthz never reported ok within {seconds} s")


def test_make_run_serves_web_worker_and_beat_and_ctrl_c_stops_all_three(tmp_path):
    port = free_port()
    var_dir = tmp_path / "var"
    marker = f"MARGINSITE_VAR_DIR={var_dir}"
    environment = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    environment.update(MARGINSITE_VAR_DIR=str(var_dir), HEARTBEAT_INTERVAL_SECONDS="1")
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

        assert health["database"] == "sqlite"
        assert health["scheduler_heartbeat_age_seconds"] < 5
        status, home = get(f"http://127.0.0.1:{port}/")
        assert status == 200
        assert all(symbol in home for symbol in (b"BTCUSDT", b"ETHUSDT", b"SOLUSDT"))
        status, stylesheet = get(f"http://127.0.0.1:{port}/static/css/site.css")
        assert status == 200
        assert b"--accent: #f0b90b" in stylesheet
    finally:
        os.killpg(make.pid, signal.SIGINT)
        make.wait(timeout=30)

    deadline = time.monotonic() + 15
    while processes_started_with(marker) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert processes_started_with(marker) == []
    log_text = log_path.read_text()
    assert "Created instruments: BTCUSDT, ETHUSDT, SOLUSDT" in log_text
    assert "Paper trader: demo / demo-trader-1" in log_text
    assert "Operator (/admin/): admin / admin-operator-1" in log_text
    for process in ("web.1", "worker.1", "beat.1"):
        assert f"{process} stopped" in log_text
    assert (var_dir / "marginsite.sqlite3").exists()
