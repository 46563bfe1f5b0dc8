"""Read models: what pages and the health check show."""

from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import Prefetch
from django.utils import timezone

from trading.models import Heartbeat, Instrument, LeverageBracket


def instrument_list() -> list[Instrument]:
    """Every instrument with its brackets, ordered by symbol."""
    return list(
        Instrument.objects.prefetch_related(
            Prefetch("brackets", queryset=LeverageBracket.objects.order_by("tier"))
        )
    )


def health_status(*, now: datetime | None = None) -> dict:
    """Whether the database and the cache answer, and how long ago the scheduler's heartbeat
    ran on a worker (None if it never has). "degraded" once three heartbeats are missed: beat,
    the broker or every worker is down, so nothing scheduled (sweeps, liquidations) runs."""
    now = now or timezone.now()
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    cache.set("health:probe", now.isoformat(), timeout=60)
    heartbeat = Heartbeat.objects.filter(name="scheduler").first()
    cache_ok = cache.get("health:probe") == now.isoformat()
    scheduler_ok = (
        heartbeat is not None and now - heartbeat.beat_at <= 3 * settings.HEARTBEAT_INTERVAL
    )
    return {
        "status": "ok" if cache_ok and scheduler_ok else "degraded",
        "database": connection.vendor,
        "cache": "ok" if cache_ok else "failing",
        "scheduler_heartbeat_at": heartbeat.beat_at.isoformat() if heartbeat else None,
        "scheduler_heartbeat_age_seconds": (
            round((now - heartbeat.beat_at).total_seconds(), 1) if heartbeat else None
        ),
    }
