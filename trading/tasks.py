"""Celery tasks: thin, named explicitly, each calling one service."""

from celery import shared_task
from django.utils import timezone

from trading.services import funding_settle, heartbeat_record, ledger_audit, sweep_run


@shared_task(name="trading.heartbeat")
def heartbeat():
    heartbeat_record(name="scheduler")


@shared_task(name="trading.sweep")
def sweep():
    sweep_run()


@shared_task(name="trading.ledger_check")
def ledger_check():
    ledger_audit()


@shared_task(name="trading.funding_settle")
def funding():
    funding_settle(now=timezone.now())
