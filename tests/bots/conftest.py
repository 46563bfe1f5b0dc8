"""Fixtures for bots run as their authors run them: marginsite served the way `make run` serves it
(gunicorn, a Celery worker and Celery beat, each a process of its own) on the test database, and
stock freqtrade processes pointed at it only through their configuration.

The processes share the test's database, Redis and secret key (API secrets are encrypted with a
key derived from it), and get a var folder of their own (beat's schedule file). The test makes
users and keys with the services, the processes trade, and the test reads the rows they wrote.
"""

import json
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

from tests.bots.stock_freqtrade import FREQTRADE, STRATEGIES_DIR, VENV_DIR
from tests.conftest import REPO_DIR, database_url

SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")
# Per request: method, path, status, server time in microseconds, and the API key (a bot's key
# tells one bot's requests from another's; "-" for public ones).
ACCESS_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s %({x-mbx-apikey}i)s"


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
        """(method, path, status, microseconds, api key) of every request served so far."""
        rows = []
        for line in self.access_log.read_text().splitlines():
            method, path, status, micros, key = line.split(" ")
            rows.append((method, path, int(status), int(micros), key))
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


@pytest.fixture
def site_environment(tmp_path):
    """The environment of marginsite's processes: the test's database, Redis and keys, funding
    every minute, marks that move by small steps (no jumps, so no bot is liquidated by luck)."""
    environment = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    (tmp_path / "var").mkdir()  # the runtime folder, as `make run` makes it (beat's schedule)
    environment.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
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
    """marginsite() -> Site: starts web (gunicorn, 2 workers, as the Procfile), worker and beat
    on the test database, once the test has seeded what they serve. Stopped before the test's
    database is flushed; the broker's queue is emptied so no tick outlives the test."""
    processes: dict[str, subprocess.Popen] = {}
    logs_dir = tmp_path / "site"
    logs_dir.mkdir()

    def start() -> Site:
        port = free_port()
        access_log = logs_dir / "access.log"
        commands = {
            "web": [
                *("gunicorn", "marginsite.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "2"),
                *("--access-logfile", str(access_log), "--access-logformat", ACCESS_LOG_FORMAT),
            ],
            "worker": [
                *("celery", "--app", "marginsite", "worker"),
                *("--loglevel", "WARNING", "--concurrency", "2"),
            ],
            "beat": ["celery", "--app", "marginsite", "beat", "--loglevel", "WARNING"],
        }
        bin_dir = Path(sys.prefix) / "bin"
        for name, command in commands.items():
            with (logs_dir / f"{name}.log").open("wb") as log:
                processes[name] = subprocess.Popen(
                    [bin_dir / command[0], *command[1:]],
                    cwd=REPO_DIR,
                    env=site_environment,
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


@dataclass
class Bot:
    name: str
    process: subprocess.Popen
    log: Path
    database: Path

    def log_lines(self) -> list[str]:
        return self.log.read_text().splitlines() if self.log.exists() else []


def freqtrade_environment() -> dict:
    """The test's environment without pytest's variables: freqtrade configures no logging (so
    writes no log file) when it sees PYTEST_VERSION, which is how its own tests run it."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    environment["PATH"] = f"{VENV_DIR / 'bin'}:{environment['PATH']}"
    return environment


@pytest.fixture
def freqtrade(tmp_path):
    """freqtrade(name, config) -> Bot: `freqtrade trade` with the strategy of this folder, its
    trades in a sqlite file and its log in a file. Stopped with Ctrl-C at the end."""
    bots: list[Bot] = []

    def start(name: str, config: dict) -> Bot:
        folder = tmp_path / name
        (folder / "user_data").mkdir(parents=True)
        config_file = folder / "config.json"
        config_file.write_text(json.dumps(config, indent=2))
        bot = Bot(name, None, folder / "freqtrade.log", folder / "trades.sqlite")
        with (folder / "stdout.log").open("wb") as output:
            bot.process = subprocess.Popen(
                [
                    *(FREQTRADE, "trade", "--config", config_file, "--logfile", bot.log),
                    *("--strategy", "AlternatingMinute", "--strategy-path", STRATEGIES_DIR),
                    *("--userdir", folder / "user_data", "--db-url", f"sqlite:///{bot.database}"),
                ],
                cwd=folder,
                env=freqtrade_environment(),
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        bots.append(bot)
        return bot

    yield start
    for bot in bots:
        stop(bot.process, signal.SIGINT)
