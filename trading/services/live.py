"""What the open trade pages are told: a note that an account or a mark changed, published to the
channel layer when the transaction that changed it commits (never for a rollback). The page's
socket (trading/live/consumers.py) renders the figures again from the database, so a note
carries no figure and a lost note costs only a refresh.

Groups: ``account.<user id>`` for everything of one trader (balance, positions, orders, fills,
notices) and ``marks`` for every mark price. A publishing failure (Redis down) is logged and
never fails the change that caused it: the pages fall back to polling and resync.
"""

import logging

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from marginsite.channel_layers import PostgresNotifyChannelLayer, groups_notify
from marginsite.redis_publishing import publish

logger = logging.getLogger(__name__)

MARKS_GROUP = "marks"


def account_group(user_id: int) -> str:
    return f"account.{user_id}"


def live_account_changed(user_id: int) -> None:
    live_accounts_changed([user_id])


def live_accounts_changed(user_ids: list[int]) -> None:
    """One note for each account of ``user_ids``, all published at once (a sweep's batch)."""
    _publish([(account_group(user_id), {"type": "live.account"}) for user_id in user_ids])


def live_mark_changed(symbol: str, stamp: str) -> None:
    """``stamp``: the mark's ``updated_at`` (ISO), which names the tick: the pages of a process
    that show the symbol share one render of its market part per stamp."""
    _publish([(MARKS_GROUP, {"type": "live.mark", "symbol": symbol, "stamp": stamp})])


def _publish(notes: list[tuple[str, dict]]) -> None:
    layer = get_channel_layer()
    if layer is None or not notes:
        return
    if isinstance(layer, PostgresNotifyChannelLayer):
        groups_notify(notes)  # NOTIFY is itself delivered at commit
        return
    # robust: whatever its failure, a note never fails the request whose change has committed
    transaction.on_commit(lambda: _send(layer, notes), robust=True)


def _send(layer, notes: list[tuple[str, dict]]) -> None:
    """Publish as channels_redis' pub/sub layer does (its serializer, its group channel name),
    all the notes in one write for which nothing waits (marginsite/redis_publishing.py): sync
    code (a sweep, a Celery task, a view) needs no event loop of its own per note."""
    commands = [
        ("PUBLISH", f"{settings.CHANNEL_LAYER_PREFIX}__group__{group}", layer.serialize(message))
        for group, message in notes
    ]
    try:
        publish(settings.CHANNEL_LAYER_URL, commands)
    except redis.RedisError:  # a page that misses a note resyncs; the change itself stands
        logger.warning("live events: %d notes not published", len(notes), exc_info=True)
