"""Fixtures for the back office: the trading services' market and traders, and three signed-in
clients: a superuser (``operator_client``), a member of the "support" group (``support_client``,
staff who may only look) and a trader who is not staff (``trader_client``)."""

import pytest
from django.contrib.auth.models import Group
from django.test import Client

from accounts.services import SUPPORT_GROUP, superuser_create, user_create
from tests.trading.services.conftest import (  # noqa: F401 (fixtures)
    balanced_ledger,
    make_trader,
    market,
    trader,
    unchanged,
)


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def operator(market):  # noqa: F811 (the imported fixture)
    return superuser_create(username="operator", password="a-long-passphrase-7")


@pytest.fixture
def support(market):  # noqa: F811
    """Staff in the "support" group (which migrate keeps in sync): views everything, changes
    nothing."""
    user = user_create(username="helpdesk", password="a-long-passphrase-8")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=SUPPORT_GROUP))
    return user


@pytest.fixture
def operator_client(operator):
    return _signed_in(operator)


@pytest.fixture
def support_client(support):
    return _signed_in(support)


@pytest.fixture
def trader_client(trader):  # noqa: F811
    return _signed_in(trader)
