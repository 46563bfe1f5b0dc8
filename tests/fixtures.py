"""The fixtures every folder of the suite shares (registered by tests/conftest.py): the seeded
market's marks (BTCUSDT 60,000, ETHUSDT 3,000, SOLUSDT 150), traders and staff created the real
way (user_create: preferences and a wallet funded with 10,000 USDT through the ledger), clients
signed in as them, and the two proofs: ``unchanged`` (a refusal changed nothing) and
``balanced_ledger``."""

import contextlib
import shutil
import subprocess
import time
from decimal import Decimal
from typing import NamedTuple

import pytest
import redis
from django.contrib.auth.models import Group
from django.test import Client

from accounts.services import SUPPORT_GROUP, superuser_create, user_create
from tests.builders import database_state
from tests.served import free_port
from trading.models import Instrument, MarkPrice
from trading.selectors import ledger_problems
from trading.services import insurance_fund_grant, market_seed


@pytest.fixture
def market(db):
    """The demo market's marks by symbol: it is seeded once for the session (tests/conftest.py),
    and each test rolls back to it."""
    return {mark.instrument.symbol: mark.price for mark in MarkPrice.objects.all()}


@pytest.fixture
def no_market(db):
    """For the tests of seeding and creating instruments: the session's market deleted (in the
    test's transaction, so the next test finds it again)."""
    Instrument.objects.all().delete()


@pytest.fixture
def make_trader(db):
    """make_trader("alice") -> a user with preferences and a 10,000 USDT wallet."""
    counter = iter(range(1, 1000))

    def make(username: str | None = None):
        return user_create(username=username or f"trader{next(counter)}", password="pw-0123456789")

    return make


@pytest.fixture
def trader(make_trader):
    return make_trader("alice")


@pytest.fixture
def operator(db):
    return superuser_create(username="operator", password="a-long-passphrase-7")


@pytest.fixture
def support(db):
    """Staff in the "support" group (which migrate keeps in sync): views everything, changes
    nothing."""
    user = user_create(username="helpdesk", password="a-long-passphrase-8")
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(Group.objects.get(name=SUPPORT_GROUP))
    return user


@pytest.fixture
def client_of():
    """client_of(user) -> a Django test Client signed in as ``user`` (a real session)."""

    def signed_in(user):
        client = Client()
        client.force_login(user)
        return client

    return signed_in


@pytest.fixture
def signed_in(client_of, trader):
    """A Client signed in as the trader alice (10,000 USDT)."""
    return client_of(trader)


@pytest.fixture
def unchanged():
    """``with unchanged(): service(...)`` asserts the database is exactly as before the block
    (use it around a call that must be refused, inside ``pytest.raises``)."""

    @contextlib.contextmanager
    def guard():
        before = database_state()
        try:
            yield
        finally:
            assert database_state() == before, "a refused call changed the database"

    return guard


@pytest.fixture
def balanced_ledger():
    """Asserts after the test that the ledger balances (check_ledger's invariants)."""
    yield
    assert ledger_problems() == []


@pytest.fixture
def insurance_fund(db) -> Decimal:
    """An insurance fund with 1,000,000 USDT of capital, as seed_market gives it (the tests'
    market starts with an empty fund)."""
    insurance_fund_grant(amount="1000000")
    return Decimal("1000000")


@pytest.fixture
def venue_market(db, flat_book_market_seed):
    """The demo market's instruments on Bybit's and Hyperliquid's rules, BTCUSDT-BYBIT and
    BTCUSDT-HL (mark 60,000), beside the Binance ones every test has."""
    market_seed(seed_file=flat_book_market_seed)


class RedisPrivate(NamedTuple):
    """A Redis server of a test's own (never the machine's): its URL, and its start and stop."""

    url: str
    start: object
    stop: object


@pytest.fixture
def redis_private():
    """A redis-server this test starts (on a free port), may ``stop()`` and ``start()`` again,
    and stops at its end."""
    from tests.conftest import IN_CI

    server_binary = shutil.which("redis-server")
    if server_binary is None:
        if IN_CI:
            pytest.fail("needs redis-server (CI=true: a missing service fails the run)")
        pytest.skip("needs redis-server")
    port = free_port()
    command = [server_binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    server = {}

    def start():
        server["process"] = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        client = redis.Redis(port=port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                return
            except redis.ConnectionError:
                assert time.monotonic() < deadline, "the private Redis did not start"
                time.sleep(0.05)

    def stop():
        server["process"].kill()
        server["process"].wait()

    start()
    yield RedisPrivate(f"redis://127.0.0.1:{port}/0", start, stop)
    stop()
