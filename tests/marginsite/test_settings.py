"""Settings come from the environment, with a default for every service that needs nothing
running. Each case runs Django's settings in a fresh interpreter with a controlled environment."""

import json
import os
import subprocess
import sys

from tests.conftest import REPO_DIR

SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SECRET_KEY")

PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings
print(json.dumps({
    "database_engine": settings.DATABASES["default"]["ENGINE"],
    "database_name": str(settings.DATABASES["default"]["NAME"]),
    "database_host": settings.DATABASES["default"].get("HOST", ""),
    "cache_backend": settings.CACHES["default"]["BACKEND"],
    "cache_location": settings.CACHES["default"].get("LOCATION", ""),
    "broker_url": settings.CELERY_BROKER_URL,
    "broker_options": getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}),
    "secret_key": settings.SECRET_KEY,
    "debug": settings.DEBUG,
    "allowed_hosts": settings.ALLOWED_HOSTS,
}))
"""


def launch(var, *command) -> None:
    """python -m marginsite.launch COMMAND with runtime folder ``var`` (and a DATABASE_URL, so
    that no embedded server starts)."""
    clean = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    subprocess.run(
        [sys.executable, "-m", "marginsite.launch", *command],
        cwd=REPO_DIR,
        env={**clean, "MARGINSITE_VAR_DIR": str(var), "DATABASE_URL": "postgres://unused/x"},
        check=True,
    )


def settings_with(environment: dict) -> dict:
    clean = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    clean["DJANGO_SETTINGS_MODULE"] = "marginsite.settings"
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=REPO_DIR,
        env={**clean, **environment},
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(result.stdout)


def test_defaults_need_no_running_service_and_importing_them_creates_nothing(tmp_path):
    var = tmp_path / "var"

    found = settings_with({"MARGINSITE_VAR_DIR": str(var), "DJANGO_SECRET_KEY": "k" * 50})

    assert found["database_engine"] == "django.db.backends.postgresql"
    assert found["database_name"] == "marginsite"
    assert found["database_host"] == str(var / "postgres")  # the embedded server's socket
    assert found["cache_backend"] == "django.core.cache.backends.locmem.LocMemCache"
    assert found["broker_url"] == "filesystem://"
    assert found["broker_options"]["data_folder_in"] == str(var / "broker" / "messages")
    assert found["broker_options"]["data_folder_out"] == str(var / "broker" / "messages")
    assert found["debug"] is False
    assert found["allowed_hosts"] == ["127.0.0.1", "localhost"]
    assert not var.exists()


def test_the_launcher_makes_the_runtime_folder_and_a_private_secret_key_once(tmp_path):
    var = tmp_path / "var"

    launch(var, "true")
    first = settings_with({"MARGINSITE_VAR_DIR": str(var)})["secret_key"]
    launch(var, "true")
    second = settings_with({"MARGINSITE_VAR_DIR": str(var)})["secret_key"]
    launch(tmp_path / "other", "true")
    elsewhere = settings_with({"MARGINSITE_VAR_DIR": str(tmp_path / "other")})["secret_key"]

    assert first == second == (var / "secret_key").read_text()
    assert len(first) >= 50
    assert elsewhere != first
    assert (var / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (var / "broker" / "messages").is_dir()
    assert (var / "broker" / "control").is_dir()


def test_without_a_secret_key_the_settings_say_how_to_get_one(tmp_path):
    clean = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=REPO_DIR,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "marginsite.settings",
            "MARGINSITE_VAR_DIR": str(tmp_path),
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "make run" in result.stderr


def test_environment_points_every_service_at_postgresql_and_redis(tmp_path):
    found = settings_with(
        {
            "MARGINSITE_VAR_DIR": str(tmp_path / "var"),
            "DATABASE_URL": "postgres://trader@db.internal:5432/marginsite",
            "REDIS_URL": "redis://cache.internal:6379/0",
            "CELERY_BROKER_URL": "redis://cache.internal:6379/1",
            "DJANGO_SECRET_KEY": "from-the-environment",
            "DJANGO_DEBUG": "true",
            "DJANGO_ALLOWED_HOSTS": "marginsite.example.org",
        }
    )

    assert found["database_engine"] == "django.db.backends.postgresql"
    assert found["database_name"] == "marginsite"
    assert found["database_host"] == "db.internal"
    assert found["cache_backend"] == "marginsite.redis_cache.RedisCache"
    assert found["cache_location"] == "redis://cache.internal:6379/0"
    assert found["broker_url"] == "redis://cache.internal:6379/1"
    assert found["broker_options"] == {}
    assert found["secret_key"] == "from-the-environment"
    assert found["debug"] is True
    assert found["allowed_hosts"] == ["marginsite.example.org"]


def test_a_database_url_that_is_not_postgresql_is_refused(tmp_path):
    clean = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    result = subprocess.run(
        [sys.executable, "-c", PRINT_SETTINGS],
        cwd=REPO_DIR,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": "marginsite.settings",
            "DJANGO_SECRET_KEY": "k" * 50,
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        },
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode != 0
    assert "DATABASE_URL must point at a PostgreSQL server" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()
