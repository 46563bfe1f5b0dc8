from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from trading.models import Heartbeat
from trading.tasks import heartbeat

pytestmark = pytest.mark.django_db


def test_healthz_is_degraded_while_no_scheduled_task_has_ever_run(client):
    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "degraded",
        "database": connection.vendor,
        "cache": "ok",
        "scheduler_heartbeat_at": None,
        "scheduler_heartbeat_age_seconds": None,
    }


def test_heartbeat_task_records_that_the_scheduler_ran_and_healthz_is_ok(client):
    heartbeat()

    response = client.get("/healthz")

    body = response.json()
    assert response.status_code == 200
    recorded = Heartbeat.objects.get(name="scheduler")
    assert body["status"] == "ok"
    assert body["scheduler_heartbeat_at"] == recorded.beat_at.isoformat()
    assert 0 <= body["scheduler_heartbeat_age_seconds"] < 5


def test_healthz_is_degraded_after_three_missed_heartbeats(client, settings):
    settings.HEARTBEAT_INTERVAL = timedelta(seconds=10)
    Heartbeat.objects.create(name="scheduler", beat_at=timezone.now() - timedelta(seconds=31))

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["status"] == "degraded"
    assert response.json()["scheduler_heartbeat_age_seconds"] >= 31


def test_healthz_reports_a_cache_that_does_not_answer_instead_of_failing(client, settings):
    heartbeat()
    # a real Redis client against a port where nothing listens
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
        }
    }

    response = client.get("/healthz")

    assert response.status_code == 503
    assert response.json()["cache"] == "failing"
    assert response.json()["status"] == "degraded"


def test_healthz_refuses_anything_but_get(client):
    response = client.post("/healthz")

    assert response.status_code == 405
    assert not Heartbeat.objects.exists()


@pytest.mark.usefixtures("no_market")
def test_home_page_lists_no_instruments_before_the_market_is_seeded(client):
    response = client.get("/")

    assert response.status_code == 200
    assert b"No instruments yet" in response.content
