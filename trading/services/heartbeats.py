from django.db import transaction
from django.utils import timezone

from trading.models import Heartbeat


def heartbeat_record(*, name: str) -> Heartbeat:
    """Store that the scheduled task ``name`` ran on a worker just now."""
    with transaction.atomic(durable=True):
        heartbeat, _ = Heartbeat.objects.update_or_create(
            name=name, defaults={"beat_at": timezone.now()}
        )
    return heartbeat
