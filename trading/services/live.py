"""What the open trade pages are told: a note that an account or a mark changed, published to the
channel layer when the transaction that changed it commits (never for a rollback). The page's
socket (trading/live/consumers.py) renders the figures again from the database, so a note
carries no figure and a lost note costs only a refresh.

Groups: ``account.<user id>`` for everything of one trader (balance, positions, orders, fills,
notices) and ``marks`` for every mark price. A publishing failure (Redis down) is logged and
never fails the change that caused it: the pages fall back to polling and resync.
"""

import functools
import logging

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from marginsite.channel_layers import PostgresNotifyChannelLayer, groups_notify

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
    transaction.on_commit(lambda: _send(layer, notes))


def _send(layer, notes: list[tuple[str, dict]]) -> None:
    """Publish as channels_redis' pub/sub layer does (its serializer, its group channel name),
    with a plain Redis client, in one round trip: sync code (a sweep, a Celery task, a view)
    needs no event loop of its own per note."""
    try:
        pipeline = _redis(settings.CHANNEL_LAYER_URL).pipeline(transaction=False)
        for group, message in notes:
            pipeline.publish(
                f"{settings.CHANNEL_LAYER_PREFIX}__group__{group}", layer.serialize(message)
            )
        pipeline.execute()
    except redis.RedisError:  # a page that misses a note resyncs; the change itself stands
        logger.warning("live events: %d notes not published", len(notes), exc_info=True)


@functools.cache
def _redis(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
