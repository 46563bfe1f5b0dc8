"""The sweep task with shards, run on a real in-thread Celery worker over the configured broker
(the filesystem one by default, Redis in CI)."""

import time

import pytest
from celery.contrib.testing.worker import start_worker

from marginsite.celery import app
from trading.models import SweepRun
from trading.tasks import sweep

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sweep_task_sends_one_task_per_shard_and_each_sweeps_its_part(settings):
    settings.SWEEP_SHARDS = 3

    # named: a worker started earlier in this process with other queues leaves its selection
    with start_worker(
        app, pool="solo", perform_ping_check=False, shutdown_timeout=10, queues=["celery"]
    ):
        sweep.delay()
        deadline = time.monotonic() + 30
        while SweepRun.objects.filter(status="DONE").count() < 3:
            assert time.monotonic() < deadline, "the shard tasks did not all run"
            time.sleep(0.1)

    assert sorted(SweepRun.objects.values_list("shard", "shards")) == [(0, 3), (1, 3), (2, 3)]
