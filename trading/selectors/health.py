"""The health check's read model: does each service the site needs answer."""

import logging
import uuid
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.utils import timezone

from trading.models import Heartbeat

logger = logging.getLogger(__name__)


def _cache_answers() -> bool:
    """Round-trip a value through the cache under a key of its own (concurrent probes must not
    read each other's values); a cache that is down reports False instead of failing the page."""
    key = f"health:probe:{uuid.uuid4().hex}"
    try:
        cache.set(key, key, timeout=10)
        answered = cache.get(key) == key
        cache.delete(key)
    except Exception:  # any backend's connection error: the point is to report it, not raise it
        logger.exception("health check: the cache does not answer")
        return False
    return answered


def health_status(*, now: datetime | None = None) -> dict:
    """Whether the database and the cache answer, and how long ago the scheduler's heartbeat
    ran on a worker (None if it never has). "ok" only when all three hold: three missed
    heartbeats mean beat, the broker or every worker is down, so nothing scheduled (sweeps,
    liquidations) runs."""
    now = now or timezone.now()
    try:
        heartbeat = Heartbeat.objects.filter(name="scheduler").first()
    except DatabaseError:
        logger.exception("health check: the database does not answer")
        database_ok, heartbeat = False, None
    else:
        database_ok = True
    cache_ok = _cache_answers()
    scheduler_ok = (
        heartbeat is not None and now - heartbeat.beat_at <= 3 * settings.HEARTBEAT_INTERVAL
    )
    return {
        "status": "ok" if database_ok and cache_ok and scheduler_ok else "degraded",
        "database": connection.vendor if database_ok else "failing",
        "cache": "ok" if cache_ok else "failing",
        "scheduler_heartbeat_at": heartbeat.beat_at.isoformat() if heartbeat else None,
        "scheduler_heartbeat_age_seconds": (
            round((now - heartbeat.beat_at).total_seconds(), 1) if heartbeat else None
        ),
    }
