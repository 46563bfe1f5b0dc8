"""Production mode (docs/operations.md#production): with DJANGO_HTTPS and the variables a real
host sets, Django's deployment checks find nothing; every page carries the Content-Security-Policy
(marginsite/security.py); behind a proxy, its header is what says a request came over HTTPS."""

import os
import re
import secrets
import subprocess
import sys

import pytest
from django.conf import settings
from django.test import override_settings

from tests.conftest import REPO_DIR

PRODUCTION = {
    "DJANGO_HTTPS": "true",
    "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
    "DJANGO_ALLOWED_HOSTS": "marginsite.example.org",
    "DJANGO_CSRF_TRUSTED_ORIGINS": "https://marginsite.example.org",
    "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
}
POLICY = (
    "default-src 'self'; script-src 'self'; "
    "style-src 'self' 'sha256-3pRED1tOXas1FXFoPb9TGCjmYe9XQsmO9OV23khV2nY='; "
    "style-src-attr 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def manage(environment: dict, *command: str) -> subprocess.CompletedProcess:
    """manage.py COMMAND in a fresh interpreter, with this test run's services and no DEBUG."""
    inherited = {key: value for key, value in os.environ.items() if key != "DJANGO_DEBUG"}
    inherited.pop("DJANGO_SETTINGS_MODULE", None)
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=REPO_DIR,
        env={**inherited, **environment},
        capture_output=True,
        text=True,
    )


def test_check_deploy_is_clean_in_production_mode():
    result = manage(PRODUCTION, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_without_https_check_deploy_names_what_production_mode_turns_on():
    plain = {key: value for key, value in PRODUCTION.items() if key != "DJANGO_HTTPS"}

    result = manage(plain, "check", "--deploy", "--fail-level", "WARNING")

    assert result.returncode == 1
    for warning in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert warning in result.stderr
    assert "System check identified 4 issues (0 silenced)." in result.stderr


def test_a_proxy_header_that_is_not_a_header_and_a_value_stops_the_start():
    result = manage(
        {**PRODUCTION, "DJANGO_SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO"}, "check"
    )

    assert result.returncode == 1
    assert (
        "DJANGO_SECURE_PROXY_SSL_HEADER must be a header and its value, such as "
        "HTTP_X_FORWARDED_PROTO,https." in result.stderr
    )


def test_the_test_settings_serve_plain_http():
    assert settings.SECURE_SSL_REDIRECT is False
    assert settings.SECURE_HSTS_SECONDS == 0
    assert settings.SESSION_COOKIE_SECURE is False
    assert settings.CSRF_COOKIE_SECURE is False
    assert settings.SECURE_PROXY_SSL_HEADER is None


@override_settings(
    SECURE_SSL_REDIRECT=True,
    SECURE_HSTS_SECONDS=31_536_000,
    SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
)
def test_behind_a_proxy_its_header_says_https_and_plain_http_is_redirected(client):
    plain = client.get("/api/docs/")
    through_tls = client.get("/api/docs/", headers={"x-forwarded-proto": "https"})

    assert plain.status_code == 301
    assert plain["Location"] == "https://testserver/api/docs/"
    assert through_tls.status_code == 200
    assert through_tls["Strict-Transport-Security"] == (
        "max-age=31536000; includeSubDomains; preload"
    )


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/login/", "/api/docs/", "/api/schema/"])
def test_every_page_carries_the_content_security_policy(client, path):
    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == POLICY


# A script element that runs code of its own; json_script's data (application/json) does not run.
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(?:src=|type=\"application/json\"))[^>]*>")


@pytest.mark.django_db
def test_pages_have_no_inline_script_or_style_element(client_of, trader, operator):
    pages = {
        trader: ["/", "/api/docs/", "/trade/BTCUSDT/", "/portfolio/", "/settings/"],
        operator: ["/admin/", "/admin/risk/"],
    }
    for user, paths in pages.items():
        for path in paths:
            response = client_of(user).get(path)
            page = response.content.decode()

            assert response.status_code == 200
            assert not INLINE_SCRIPT.search(page), path
            assert "<style" not in page, path
