"""Wrong passwords on the trader's log-in are limited per account and per address: the one that
reaches a limit locks the log-in, with the time to wait, and even the right password is refused
until the lock ends."""

import html
import time
from types import SimpleNamespace

import pytest
from django.contrib.auth import SESSION_KEY

from accounts import login_limits
from accounts.login_limits import login_wait_seconds

pytestmark = pytest.mark.django_db

PASSWORD = "pw-0123456789"
LOCKED = (
    "Too many wrong passwords: log-in is locked for this account or address. "
    "Try again in 15 minutes."
)


def log_in(client, username, password, address="10.0.0.1"):
    response = client.post(
        "/login/", {"username": username, "password": password}, REMOTE_ADDR=address
    )
    return html.unescape(response.content.decode())


@pytest.fixture
def limits(settings):
    settings.LOGIN_FAILURE_LIMIT_PER_ACCOUNT = 3
    settings.LOGIN_FAILURE_LIMIT_PER_IP = 5
    settings.LOGIN_FAILURE_SECONDS = 900


def test_the_right_password_is_refused_once_the_account_is_locked(client, trader, limits):
    for _ in range(3):
        assert "Please enter a correct username and password." in log_in(client, "alice", "wrong")

    page = log_in(client, "alice", PASSWORD)

    assert LOCKED in page
    assert SESSION_KEY not in client.session
    assert 899 <= login_wait_seconds("alice", "10.0.0.9") <= 900


def test_the_lock_is_per_account_whatever_the_address_or_case(client, trader, limits):
    for address in ("10.0.0.1", "10.0.0.2", "10.0.0.3"):
        log_in(client, "alice", "wrong", address)

    assert LOCKED in log_in(client, "ALICE", PASSWORD, "10.0.0.4")
    assert SESSION_KEY not in client.session


def test_an_address_guessing_at_many_accounts_is_locked(client, make_trader, limits):
    bob = make_trader("bob")
    for number in range(5):
        log_in(client, f"nobody{number}", "wrong")

    assert LOCKED in log_in(client, "bob", PASSWORD)
    log_in(client, "bob", PASSWORD, "10.0.0.2")
    assert int(client.session[SESSION_KEY]) == bob.pk  # from another address, bob gets in


def test_the_right_password_works_again_once_the_lock_ends(client, trader, limits, monkeypatch):
    for _ in range(3):
        log_in(client, "alice", "wrong")

    later = time.time() + 901
    monkeypatch.setattr(login_limits, "time", SimpleNamespace(time=lambda: later))
    log_in(client, "alice", PASSWORD)

    assert int(client.session[SESSION_KEY]) == trader.pk


def test_a_right_password_forgets_the_accounts_wrong_ones(client, trader, limits):
    log_in(client, "alice", "wrong")
    log_in(client, "alice", "wrong")
    log_in(client, "alice", PASSWORD)
    client.logout()

    log_in(client, "alice", "wrong", "10.0.0.2")
    log_in(client, "alice", "wrong", "10.0.0.2")

    assert login_wait_seconds("alice", "10.0.0.3") == 0
