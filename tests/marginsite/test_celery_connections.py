"""The Celery worker keeps its database connections from one task to the next
(marginsite/celery_connections.py): served as the Procfile serves it (a prefork worker of 2
processes, and beat sending a price tick and its sweep every second, a heartbeat every 10 s), on
the test database."""

import time

import pytest
from django.db import connection

from trading.models import SweepRun

pytestmark = pytest.mark.django_db(transaction=True)


def sessions_opened() -> int:
    """Connections ever opened to the test database (each backend counts its own when its first
    transaction ends)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT sessions FROM pg_stat_database WHERE datname = current_database()")
        return cursor.fetchone()[0]


def sweeps_done() -> int:
    return SweepRun.objects.filter(status="DONE").count()


def wait_for_sweeps(count: int) -> None:
    deadline = time.monotonic() + 60
    while sweeps_done() < count:
        assert time.monotonic() < deadline, f"the worker did not finish {count} sweeps"
        time.sleep(0.2)


def test_the_worker_opens_no_database_connection_per_task(marginsite):
    # given the site running, its worker's two processes past their first tasks
    marginsite()
    wait_for_sweeps(6)
    opened, swept = sessions_opened(), sweeps_done()

    # when beat's tasks go on: eight more sweeps, each after its price tick, and a heartbeat
    # (some 17 tasks)
    wait_for_sweeps(swept + 8)

    # then they ran on the connections the worker already had. Celery's own Django fixup closed
    # each process's pool around every task: 36 connections opened here in one run. A pool may still
    # open its second one, once, when its process asks for a connection while the pool's
    # thread is still resetting the first (marginsite/database_pool.py): one per process.
    assert sessions_opened() - opened <= 2
