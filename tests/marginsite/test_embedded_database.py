"""With no DATABASE_URL, marginsite.launch (`make run`, `make test`) runs its command beside a
private PostgreSQL 18 server in the runtime folder, and stops it when the command ends."""

import os
import subprocess
import sys

from tests.conftest import REPO_DIR

ASK_THE_DATABASE = """
import django
django.setup()
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT current_setting('server_version_num'), 12345678.12345678::numeric(30, 8) * 10000"
    )
    print(*cursor.fetchone())
"""


def test_a_command_runs_beside_the_embedded_server_which_stops_with_it(tmp_path):
    var = tmp_path / "var"
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment.update(MARGINSITE_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="marginsite.settings")

    result = subprocess.run(
        [sys.executable, "-m", "marginsite.launch", sys.executable, "-c", ASK_THE_DATABASE],
        cwd=REPO_DIR,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )

    version, amount = result.stdout.split()
    assert version.startswith("18")
    assert amount == "123456781234.56780000"  # every digit kept
    assert (var / "postgres" / "PG_VERSION").read_text().strip() == "18"
    assert not (var / "postgres" / "postmaster.pid").exists()


def test_the_command_s_exit_status_is_the_launcher_s(tmp_path):
    environment = {**os.environ, "MARGINSITE_VAR_DIR": str(tmp_path / "var")}

    result = subprocess.run(
        [sys.executable, "-m", "marginsite.launch", "sh", "-c", "exit 3"],
        cwd=REPO_DIR,
        env=environment,
        check=False,
    )

    assert result.returncode == 3
