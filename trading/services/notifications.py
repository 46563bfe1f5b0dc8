"""What the user is told: ``notifications_read`` (they have seen their liquidation notices or the
operator's: the banner is dismissed, or the liquidation history was opened, so the banner stops
showing them) and ``operator_notice`` (an operator changed their account from the back office)."""

from django.db import transaction
from django.utils import timezone

from trading.models import Notification

# An operator's notice is a banner line: a long reason is cut to it (the audit log keeps it
# whole). The column holds more, for a liquidation's notice with its other-mode sentence.
MESSAGE_MAX = 300


def notifications_read(*, user, kind: str = Notification.Kind.LIQUIDATION) -> int:
    """Mark the user's unread notifications of ``kind`` read; return how many."""
    with transaction.atomic(durable=True):
        return Notification.objects.filter(user=user, kind=kind, read_at__isnull=True).update(
            read_at=timezone.now()
        )


def operator_notice(*, user, message: str) -> Notification:
    """Tell ``user`` what an operator did to their account (a banner on every page until
    dismissed), in the transaction of the change; a long message (a long reason) is cut."""
    if len(message) > MESSAGE_MAX:
        message = message[: MESSAGE_MAX - 1] + "\N{HORIZONTAL ELLIPSIS}"
    return Notification.objects.create(user=user, kind=Notification.Kind.OPERATOR, message=message)
