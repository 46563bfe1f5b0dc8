"""Fixtures for the native API: ``signed``, a client that signs its requests with an API key the
way a bot does."""

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from tests.clients import SignedClient


@pytest.fixture
def key_of():
    """key_of(user, permission="TRADING") -> a SignedClient with a new key of ``user``."""

    def signed(user, permission="TRADING"):
        new = api_key_create(user=user, name="bot", permission=permission)
        return SignedClient(new.api_key.key, new.secret)

    return signed


@pytest.fixture
def signed(key_of, trader):
    """A trading key of the trader alice (10,000 USDT)."""
    return key_of(trader)


@pytest.fixture
def session(trader):
    """The browser's way in: alice's session (CSRF enforced, as for a browser)."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(trader)
    return client
