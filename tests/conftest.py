"""Shared fixtures, and the rule for tests that need a real service.

The database is always PostgreSQL (`make test` starts the embedded server when DATABASE_URL is
not set). A test marked ``redis``, ``browser`` or ``freqtrade`` is skipped when that service is
not configured on a developer's machine, and fails when CI=true: CI must never pass by silently
skipping them.

The demo market is seeded once, when the test database is created: each test rolls back to it.
The fixtures every folder shares are in tests/fixtures.py, and what tests build the same way
everywhere in tests/builders.py.
"""

import json
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db.backends.postgresql.creation import DatabaseCreation
from django.db.models.signals import post_migrate

pytest_plugins = ["tests.fixtures", "tests.served"]

IN_CI = os.environ.get("CI", "").lower() in {"true", "1", "yes"}
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
REPO_DIR = Path(__file__).resolve().parent.parent


def database_url(name: str | None = None) -> str:
    """A DATABASE_URL for a process the test starts: the suite's server (TCP, or the embedded
    server's socket folder), and database ``name`` (the test database by default)."""
    server = settings.DATABASES["default"]
    credentials = f"{server['USER']}:{server['PASSWORD']}"
    database = name or server["NAME"]
    port = server["PORT"] or 5432
    if server["HOST"].startswith("/"):
        return f"postgres://{credentials}@/{database}?host={server['HOST']}&port={port}"
    return f"postgres://{credentials}@{server['HOST']}:{port}/{database}"


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


def _freqtrade_missing() -> str | None:
    # installs the pinned freqtrade in its own virtualenv on first use (tests/bots/)
    from tests.bots.stock_freqtrade import freqtrade_unavailable

    return freqtrade_unavailable()


SERVICE_CHECKS = {
    "redis": _redis_missing,
    "browser": _browser_missing,
    "freqtrade": _freqtrade_missing,
}


def pytest_runtest_setup(item):
    for marker, missing in SERVICE_CHECKS.items():
        if item.get_closest_marker(marker) and (reason := missing()):
            if IN_CI:
                pytest.fail(f"{reason} (CI=true: a missing service fails the run)", pytrace=False)
            pytest.skip(reason)


# What the suite's seeded market trades against: a book with no spread and a million units a
# level, so that takers fill at the mark (on the tick) and the figures that tests of other things
# assert stay simple. Tests of the book itself set an instrument's book terms, or seed the real
# trading/seed/market.json by passing it to market_seed.
FLAT_BOOK = {
    "half_spread_ticks": 0,
    "level_ticks": 1,
    "level_quantity": "1000000",
    "max_slippage_rate": "0.05",
}


@pytest.fixture(autouse=True, scope="session")
def flat_book_market_seed(tmp_path_factory):
    """market_seed() in tests seeds the demo market's instruments on Binance's rules (BTCUSDT,
    ETHUSDT, SOLUSDT) with FLAT_BOOK books; yields the seed file of the others (BTCUSDT-BYBIT,
    BTCUSDT-HL), which the ``venue_market`` fixture adds where a test wants them."""
    from trading.services import instruments

    seed = json.loads(instruments.MARKET_SEED_FILE.read_text())
    for spec in seed["instruments"]:
        spec["book"] = FLAT_BOOK
    folder = tmp_path_factory.mktemp("seed")
    flat, venues = folder / "market.json", folder / "venues.json"
    binance = [spec for spec in seed["instruments"] if spec.get("venue", "BINANCE") == "BINANCE"]
    others = [spec for spec in seed["instruments"] if spec not in binance]
    flat.write_text(json.dumps({**seed, "instruments": binance}))
    venues.write_text(json.dumps({**seed, "instruments": others}))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(instruments, "MARKET_SEED_FILE", flat)
        yield venues


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings):
    """The test database is dropped WITH (FORCE) at the end of the session. A connection given
    back to the pool as it closes can outlive it (the pool resets a returned connection in its
    own thread), and a plain DROP then fails with "being accessed by other users"."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(DatabaseCreation, "_destroy_test_db", _test_database_dropped)
        yield


def _test_database_dropped(creation, test_database_name, verbosity):
    creation.connection.close_pool()
    with creation._nodb_cursor() as cursor:
        name = creation.connection.ops.quote_name(test_database_name)
        cursor.execute(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker, flat_book_market_seed):
    """The test database with the demo market seeded, once a session (seeding costs a test about
    20 ms). A transactional test ends with a flush that empties every table and then sends
    post_migrate, as migrate does (which is how the "support" group comes back): the market is
    seeded again then, so whatever runs next finds it."""
    from trading.services import market_seed

    with django_db_blocker.unblock():
        market_seed()
    post_migrate.connect(_market_reseed, dispatch_uid=_market_reseed.__qualname__)
    yield
    post_migrate.disconnect(dispatch_uid=_market_reseed.__qualname__)


def _market_reseed(sender, **kwargs):
    if sender.name == "trading":
        from trading.services import market_seed

        market_seed()


def pytest_configure(config):
    # Django's default hasher takes 0.2 s a password by design; tests create users by the
    # hundred. Servers the tests start in their own process keep the real one.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _live_events_separate()
    if worker := os.environ.get("PYTEST_XDIST_WORKER"):
        _worker_services_separate(worker)


@pytest.fixture(scope="session")
def cache_redis():
    """A client of the cache's Redis (None on the in-memory cache)."""
    if not settings.REDIS_URL:
        return None
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


@pytest.fixture
def redis_sends(monkeypatch):
    """redis_sends() -> the list of what is sent to Redis from then on, one entry per round
    trip (sent as ever)."""
    import redis

    def counted() -> list:
        sends = []
        send = redis.connection.AbstractConnection.send_packed_command

        def sent(connection, *args, **kwargs):
            sends.append(args)
            return send(connection, *args, **kwargs)

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", sent)
        return sends

    return counted


@pytest.fixture(autouse=True)
def cache_fresh(cache_redis):
    """Each test starts with an empty cache: full request budgets (counted by key or user id, and
    ids start again with each test database), no wrong passwords counted (the tests log in as
    the same users from the same address), no signature seen. Only this worker's keys are
    deleted: ``cache.clear()`` would empty the other workers' mid-test. The instruments and
    system ledger accounts an order keeps in memory are dropped too: a test's rolled back."""
    from trading.selectors.instruments import instruments_forget

    instruments_forget()
    if cache_redis is None:
        from django.core.cache import cache

        cache.clear()  # this process's memory
        return
    prefix = settings.CACHES["default"].get("KEY_PREFIX", "")
    stale = list(cache_redis.scan_iter(f"{prefix}:*"))
    if stale:
        cache_redis.delete(*stale)


def _live_events_separate() -> None:
    """The live events of this test process (and of the sites it serves, tests/served.py) are
    its own: on Redis, another test process's marks and user ids (each test database counts
    users from 1) would reach its pages."""
    settings.CHANNEL_LAYER_PREFIX = f"marginsite-test-{os.getpid()}"
    config = settings.CHANNEL_LAYERS["default"].get("CONFIG")
    if config is not None:
        config["prefix"] = settings.CHANNEL_LAYER_PREFIX


def _worker_services_separate(worker: str) -> None:
    """Tests run in parallel (pytest-xdist), each worker on a test database of its own: its
    cache keys and broker queues are its own too, so that one worker's rate limits, tasks and
    Celery workers never meet another's."""
    settings.CACHES = {"default": {**settings.CACHES["default"], "KEY_PREFIX": worker}}
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        folder = settings.BROKER_DIR / worker
        for sub_folder in ("messages", "control"):
            (folder / sub_folder).mkdir(parents=True, exist_ok=True)
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "data_folder_in": str(folder / "messages"),
            "data_folder_out": str(folder / "messages"),
            "control_folder": str(folder / "control"),
        }
    else:
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": f"{worker}:"}
