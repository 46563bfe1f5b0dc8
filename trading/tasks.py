"""Celery tasks: thin, named explicitly, each calling one service."""

from celery import shared_task

from trading.services import heartbeat_record


@shared_task(name="trading.heartbeat")
def heartbeat():
    heartbeat_record(name="scheduler")
