"""Shared fixtures, and the rule for tests that need a real service.

A test marked ``postgres``, ``redis`` or ``browser`` is skipped when that service is not configured
on a developer's machine, and fails when CI=true: CI must never pass by silently skipping them.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings

IN_CI = os.environ.get("CI", "").lower() in {"true", "1", "yes"}
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
REPO_DIR = Path(__file__).resolve().parent.parent


def _postgres_missing() -> str | None:
    if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
        return "needs PostgreSQL: set DATABASE_URL=postgres://..."
    return None


def _redis_missing() -> str | None:
    import redis

    if not settings.REDIS_URL or not settings.CELERY_BROKER_URL.startswith("redis://"):
        return "needs Redis: set REDIS_URL and CELERY_BROKER_URL to redis://..."
    try:
        redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
    except redis.RedisError as error:
        return f"Redis at {settings.REDIS_URL} does not answer: {error}"
    return None


def _browser_missing() -> str | None:
    if not CHROMIUM.exists():
        return f"needs Chromium at {CHROMIUM} (apt-get install chromium)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "needs Playwright (pip install -e '.[dev]')"
    return None


SERVICE_CHECKS = {
    "postgres": _postgres_missing,
    "redis": _redis_missing,
    "browser": _browser_missing,
}


def pytest_runtest_setup(item):
    for marker, missing in SERVICE_CHECKS.items():
        if item.get_closest_marker(marker) and (reason := missing()):
            if IN_CI:
                pytest.fail(f"{reason} (CI=true: a missing service fails the run)", pytrace=False)
            pytest.skip(reason)
