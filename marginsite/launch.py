"""``python -m marginsite.launch COMMAND...``: run a command (the Procfile's processes, or the
test suite) with marginsite's runtime folder ready, and the embedded PostgreSQL server running
when DATABASE_URL is not set. `make run` and `make test` go through it.

The runtime folder (MARGINSITE_VAR_DIR, ``var/`` by default) holds what the embedded defaults
keep: the database, the filesystem broker's folders, the secret key, the beat schedule and the
collected static files. It is made here, once, before any process starts, so that importing
the settings creates nothing.
"""

import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from marginsite import embedded_database

BASE_DIR = Path(__file__).resolve().parent.parent


def var_dir() -> Path:
    return Path(os.environ.get("MARGINSITE_VAR_DIR", BASE_DIR / "var"))


def prepare(folder: Path) -> None:
    """The runtime folder's sub-folders, and a random secret key kept private in it (unless
    DJANGO_SECRET_KEY is set), so that sessions survive a restart and no installation shares a
    key published in this repository."""
    for sub_folder in ("staticfiles", "broker/messages", "broker/control"):
        (folder / sub_folder).mkdir(parents=True, exist_ok=True)
    key_file = folder / "secret_key"
    if "DJANGO_SECRET_KEY" not in os.environ and not key_file.exists():
        descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as key:
            key.write(secrets.token_urlsafe(50))


def run(command: list[str]) -> int:
    """The command's exit status. Ctrl-C reaches the command (it shares the terminal's process
    group) and this process waits for it to stop, then stops the database after it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    status = subprocess.call(
        command, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL)
    )
    return status if status >= 0 else 128 - status  # a signal, as a shell reports it


def main(command: list[str]) -> int:
    if not command:
        sys.exit("usage: python -m marginsite.launch COMMAND [ARGUMENT...]")
    folder = var_dir()
    prepare(folder)
    if "DATABASE_URL" in os.environ:
        return run(command)
    with embedded_database.running(folder):
        return run(command)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
