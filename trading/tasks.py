"""Celery tasks: thin, named explicitly, each calling one service."""

from celery import current_app, shared_task
from django.conf import settings
from django.utils import timezone

from trading.services import funding_settle, heartbeat_record, ledger_audit, prices_tick, sweep_run


@shared_task(name="trading.heartbeat")
def heartbeat():
    heartbeat_record(name="scheduler")


@shared_task(name="trading.prices_tick")
def prices():
    prices_tick()
    # The sweep is a task of its own, sent by name: it may run on another worker, and a slow
    # sweep never delays the next tick.
    if settings.PRICE_TICK_THEN_SWEEP:
        current_app.send_task("trading.sweep")


@shared_task(name="trading.sweep")
def sweep():
    """The whole sweep here, or with SWEEP_SHARDS > 1 one task per shard, so that every worker
    (on any machine sharing the database and the broker) takes a part of the accounts."""
    if settings.SWEEP_SHARDS == 1:
        sweep_run()
        return
    for shard in range(settings.SWEEP_SHARDS):
        sweep_shard.delay(shard, settings.SWEEP_SHARDS)


@shared_task(name="trading.sweep_shard")
def sweep_shard(shard: int, shards: int):
    sweep_run(shard=shard, shards=shards)


@shared_task(name="trading.ledger_check")
def ledger_check():
    ledger_audit()


@shared_task(name="trading.funding_settle")
def funding():
    """Beat sends it at each funding time (trading/schedules.py); a worker that was away settles
    every time it missed when it takes the task."""
    funding_settle(now=timezone.now())
