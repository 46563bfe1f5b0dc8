"""Fixtures for the back office: three signed-in clients, a superuser (``operator_client``), a
member of the "support" group (``support_client``, staff who may only look) and a trader who is
not staff (``trader_client``)."""

import pytest


@pytest.fixture
def operator_client(client_of, operator):
    return client_of(operator)


@pytest.fixture
def support_client(client_of, support):
    return client_of(support)


@pytest.fixture
def trader_client(client_of, trader):
    return client_of(trader)
