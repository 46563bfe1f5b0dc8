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


def test_defaults_need_no_running_service(tmp_path):
    var = tmp_path / "var"

    found = settings_with({"MARGINSITE_VAR_DIR": str(var)})

    assert found["database_engine"] == "django.db.backends.sqlite3"
    assert found["database_name"] == str(var / "marginsite.sqlite3")
    assert found["cache_backend"] == "django.core.cache.backends.locmem.LocMemCache"
    assert found["broker_url"] == "filesystem://"
    assert found["broker_options"]["data_folder_in"] == str(var / "broker" / "messages")
    assert found["broker_options"]["data_folder_out"] == str(var / "broker" / "messages")
    assert (var / "broker" / "messages").is_dir()
    assert (var / "broker" / "control").is_dir()
    assert found["debug"] is False
    assert found["allowed_hosts"] == ["127.0.0.1", "localhost"]


def test_default_secret_key_is_generated_once_and_kept_private(tmp_path):
    var = tmp_path / "var"

    first = settings_with({"MARGINSITE_VAR_DIR": str(var)})["secret_key"]
    second = settings_with({"MARGINSITE_VAR_DIR": str(var)})["secret_key"]
    elsewhere = settings_with({"MARGINSITE_VAR_DIR": str(tmp_path / "other")})["secret_key"]

    assert first == second
    assert len(first) >= 50
    assert elsewhere != first
    assert (var / "secret_key").stat().st_mode & 0o777 == 0o600


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
    assert found["cache_backend"] == "django.core.cache.backends.redis.RedisCache"
    assert found["cache_location"] == "redis://cache.internal:6379/0"
    assert found["broker_url"] == "redis://cache.internal:6379/1"
    assert found["broker_options"] == {}
    assert found["secret_key"] == "from-the-environment"
    assert found["debug"] is True
    assert found["allowed_hosts"] == ["marginsite.example.org"]


def test_processes_starting_at_once_all_get_the_same_secret_key(tmp_path):
    # web, worker and beat start together on a fresh machine
    var = tmp_path / "var"
    clean = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    environment = {**clean, "DJANGO_SETTINGS_MODULE": "marginsite.settings"}
    environment["MARGINSITE_VAR_DIR"] = str(var)
    starters = [
        subprocess.Popen(
            [sys.executable, "-c", PRINT_SETTINGS],
            cwd=REPO_DIR,
            env=environment,
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]

    keys = {json.loads(starter.communicate(timeout=60)[0])["secret_key"] for starter in starters}

    assert keys == {(var / "secret_key").read_text()}
    assert sorted(path.name for path in var.iterdir() if "secret" in path.name) == ["secret_key"]
