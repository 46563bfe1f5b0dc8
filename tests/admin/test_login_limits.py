"""The back office's log-in has the trader log-in's limit on wrong passwords
(accounts/login_limits.py): the operator's account locks, with the time to wait."""

import html

import pytest
from django.contrib.auth import SESSION_KEY

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-passphrase-7"


def log_in(client, password):
    response = client.post(
        "/admin/login/?next=/admin/", {"username": "operator", "password": password}
    )
    return response, html.unescape(response.content.decode())


def test_the_operators_right_password_is_refused_once_the_account_is_locked(
    client, operator, settings
):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 2
    for _ in range(2):
        assert "Please enter the correct username and password" in log_in(client, "wrong")[1]

    response, page = log_in(client, PASSWORD)

    assert response.status_code == 200
    assert (
        "Too many wrong passwords: log-in is locked for this account or address. "
        "Try again in 15 minutes." in page
    )
    assert SESSION_KEY not in client.session


def test_the_operator_logs_in_below_the_limit(client, operator, settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 2
    log_in(client, "wrong")

    response, _ = log_in(client, PASSWORD)

    assert response.status_code == 302
    assert int(client.session[SESSION_KEY]) == operator.pk
