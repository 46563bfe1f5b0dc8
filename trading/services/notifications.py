"""``notifications_read``: the user has seen their liquidation notices (the banner is dismissed, or
the liquidation history was opened), so the banner stops showing them."""

from django.db import transaction
from django.utils import timezone

from trading.models import Notification


def notifications_read(*, user, kind: str = Notification.Kind.LIQUIDATION) -> int:
    """Mark the user's unread notifications of ``kind`` read; return how many."""
    with transaction.atomic(durable=True):
        return Notification.objects.filter(user=user, kind=kind, read_at__isnull=True).update(
            read_at=timezone.now()
        )
