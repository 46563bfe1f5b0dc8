"""Fixtures for bots run as their authors run them: stock freqtrade processes pointed at
marginsite (served by tests/served.py, as `make run` serves it) only through their
configuration."""

import json
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.bots.stock_freqtrade import FREQTRADE, STRATEGIES_DIR, VENV_DIR
from tests.served import stop


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
