"""A sweep's worker killed with SIGKILL mid-sweep blocks nothing: the next tick's sweep runs at
once (the shard's advisory lock died with the worker's connection, no timeout to wait out),
liquidates what the dead one left, and no account ends half-liquidated or liquidated twice.

Every position: 1 BTC isolated long at 60,000, 20x: margin 3000, fee 30 (wallet 6970); at the
mark 57,200 it is liquidatable, closed at bankruptcy 57,000, the fund taking 200 (see
test_sweep_races.py).
"""

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from accounts.services import user_create
from tests.builders import assert_each_liquidated_once
from tests.conftest import REPO_DIR, database_url
from trading.models import LiquidationEvent, Position, SweepRun
from trading.selectors import ledger_problems
from trading.services import leverage_set, mark_price_set, order_place, sweep_run

pytestmark = pytest.mark.django_db(transaction=True)

D = Decimal
TRADERS = 12

# The worker: a real process running sweep_run, slowed down so that it can be killed mid-sweep.
# Each liquidation waits inside its account's transaction, after its ledger entries and position
# update are written and before they commit: a kill there is a kill in the middle of an account.
WORKER = """
import time

import django

django.setup()

from trading.services import sweep_run, sweeps

liquidate = sweeps.isolated_liquidate


def slow_liquidate(**kwargs):
    liquidate(**kwargs)
    time.sleep(0.3)


sweeps.isolated_liquidate = slow_liquidate
sweep_run()
"""


def accounts_at_risk():
    users = []
    for n in range(TRADERS):
        user = user_create(username=f"doomed{n}", password="pw-0123456789")
        leverage_set(user=user, symbol="BTCUSDT", margin_mode="ISOLATED", leverage=20)
        order_place(user=user, symbol="BTCUSDT", side="BUY", quantity="1", margin_mode="ISOLATED")
        users.append(user)
    mark_price_set(symbol="BTCUSDT", price="57200")
    return users


def worker_killed_mid_sweep(after_liquidations: int) -> int:
    """Start the worker, SIGKILL it once it has committed ``after_liquidations`` liquidations,
    and return how many it had committed when it died."""
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER],
        cwd=REPO_DIR,
        env={**os.environ, "DATABASE_URL": database_url(), "LOG_LEVEL": "WARNING"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while LiquidationEvent.objects.count() < after_liquidations:
            assert worker.poll() is None, worker.stderr.read().decode()
            assert time.monotonic() < deadline, "the worker liquidated nothing in 60 s"
            time.sleep(0.02)
        assert worker.poll() is None, "the worker finished before it could be killed"
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stderr.close()
    return LiquidationEvent.objects.count()


def test_a_sweep_killed_mid_run_blocks_nothing_and_the_next_tick_liquidates_the_rest():
    # given 12 accounts below their liquidation price
    users = accounts_at_risk()

    # when the worker sweeping them is killed with SIGKILL after 3 liquidations, in the middle
    # of the 4th account's transaction
    done_before_kill = worker_killed_mid_sweep(after_liquidations=3)
    assert 3 <= done_before_kill < TRADERS
    (dead,) = SweepRun.objects.all()
    assert dead.status == "RUNNING"

    # then the 4th account's half-done liquidation was rolled back with the dead connection
    assert ledger_problems() == []
    assert Position.objects.filter(status="OPEN").count() == TRADERS - done_before_kill

    # and the next tick's sweep runs at once, in this process (the server may take a few
    # milliseconds to notice the dead connection and free its lock: a tick or two, no timeout)
    started = time.monotonic()
    report = sweep_run()
    while not report.ran and time.monotonic() - started < 2:
        time.sleep(0.1)
        report = sweep_run()
    assert report.ran

    # and liquidates exactly the accounts the dead sweep left, marking the dead run ABANDONED
    assert report.isolated_liquidations == TRADERS - done_before_kill
    dead.refresh_from_db()
    assert dead.status == "ABANDONED"
    assert list(SweepRun.objects.exclude(pk=dead.pk).values_list("status", "liquidations")) == [
        ("DONE", TRADERS - done_before_kill)
    ]

    # and every account was liquidated exactly once, all or nothing, the books balanced
    assert_each_liquidated_once(users)

    # and a sweep after it finds nothing left to do
    assert sweep_run().isolated_liquidations == 0
