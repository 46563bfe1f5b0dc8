"""The production wiring over real Redis: the Django cache, and the Celery broker consumed by a
real worker that runs the task and writes to the real database."""

import contextvars
import time
import uuid

import pytest
import redis
from celery.contrib.testing.worker import start_worker
from django.conf import settings
from django.core.cache import cache, caches

from accounts.api_keys import KeyRateThrottle
from accounts.services import api_key_create
from accounts.signature_guards import signature_failure_count, signature_guards
from marginsite.celery import app
from tests.clients import BinanceClient, SignedClient
from trading.models import Heartbeat
from trading.tasks import heartbeat

pytestmark = pytest.mark.redis


def test_django_cache_stores_values_in_redis():
    cache.set("redis-check", "stored in redis", timeout=30)

    raw = redis.Redis.from_url(settings.REDIS_URL)
    assert raw.exists(cache.make_key("redis-check")) == 1
    assert cache.get("redis-check") == "stored in redis"
    cache.delete("redis-check")


def test_the_caches_redis_client_is_made_once_and_shared_by_every_call():
    clients = {id(cache._cache.get_client(key)) for key in ("a", "b")}
    clients.add(id(cache._cache.get_client("c", write=True)))

    assert len(clients) == 1  # Django's own client class makes one per call
    assert cache.add("redis-once", 1, 30) is True
    assert cache.add("redis-once", 2, 30) is False
    assert cache.get("redis-once") == 1
    cache.delete("redis-once")


def test_each_request_s_cache_object_shares_the_process_s_connection_pool():
    # under ASGI each request runs in a context of its own, and gets a cache object of its own
    def backend_of_a_new_context():
        return contextvars.Context().run(lambda: caches["default"])

    first, second = backend_of_a_new_context(), backend_of_a_new_context()
    first.set("redis-pool-shared", 1, 30)

    assert first is not second
    # Django's own backend opens a pool, and a connection to Redis, per object
    assert first._cache._get_connection_pool(True) is second._cache._get_connection_pool(True)
    assert second.get("redis-pool-shared") == 1
    second.delete("redis-pool-shared")


@pytest.mark.django_db(transaction=True)
def test_a_task_sent_through_the_redis_broker_runs_on_a_real_worker():
    # A queue of its own: another worker on the same Redis (a developer's `make run`) must not
    # take this task and run it against another database.
    queue = f"test-{uuid.uuid4().hex}"
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=[queue]
    ):
        heartbeat.apply_async(queue=queue)
        deadline = time.monotonic() + 20
        while not Heartbeat.objects.filter(name="scheduler").exists():
            assert time.monotonic() < deadline, "the worker did not run the heartbeat task"
            time.sleep(0.1)

    assert Heartbeat.objects.get(name="scheduler").beat_at is not None
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete(*broker.keys(f"*{queue}*"))


@pytest.fixture
def budget_clock(monkeypatch):
    """The request budgets' clock stopped mid-window: every count of a test falls in one."""
    monkeypatch.setattr(KeyRateThrottle, "timer", staticmethod(lambda: 1_800_000_030.0))


@pytest.mark.django_db
def test_a_signed_requests_guards_are_read_in_one_round_trip_to_redis(
    trader, redis_sends, budget_clock
):
    api_key = api_key_create(user=trader, name="bot", permission="TRADING").api_key
    signature_guards(api_key, "ef" * 32, valid_for_ms=5000)  # the connection made, and kept
    sends = redis_sends()

    first = signature_guards(api_key, "ab" * 32, valid_for_ms=5000)
    copy = signature_guards(api_key, "ab" * 32, valid_for_ms=5000)

    assert (first[:2], copy[:2]) == ((False, True), (False, False))
    # one each: the failure count, the signature's mark and the key's request budget together
    assert len(sends) == 2
    assert (first.budget.current, copy.budget.current) == (2, 3)
    assert first.budget.key == copy.budget.key == f"throttle_key_key-{api_key.pk}"
    for _ in range(settings.API_SIGNATURE_FAILURE_LIMIT):
        signature_failure_count(api_key)
    assert signature_guards(api_key, "cd" * 32, valid_for_ms=5000)[:2] == (True, True)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("signing", "path"),
    [(SignedClient, "/api/v1/account"), (BinanceClient, "/fapi/v2/balance")],
)
def test_a_signed_request_makes_one_round_trip_to_redis_before_its_view(
    signing, path, trader, redis_sends, budget_clock
):
    new = api_key_create(user=trader, name="bot", permission="TRADING")
    client = signing(new.api_key.key, new.secret)
    assert client.get(path).status_code == 200  # the connection made, and kept
    sends = redis_sends()

    read = client.get(path)

    assert read.status_code == 200
    assert len(sends) == 1  # the guards with the request budget: the throttle asks no more
    (window, _) = KeyRateThrottle().budget_windows(new.api_key).keys
    assert cache.get(window) == 2  # both requests counted, once each
