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
import os
import threading

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from marginsite.channel_layers import PostgresNotifyChannelLayer, groups_notify

logger = logging.getLogger(__name__)

MARKS_GROUP = "marks"
PUBLISHING_CLIENT_NAME = "marginsite-live-notes"


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
    with a plain Redis connection, all the notes in one write: sync code (a sweep, a Celery
    task, a view) needs no event loop of its own per note, and waits for nothing."""
    commands = [
        ("PUBLISH", f"{settings.CHANNEL_LAYER_PREFIX}__group__{group}", layer.serialize(message))
        for group, message in notes
    ]
    try:
        connection = _publishing_connection(settings.CHANNEL_LAYER_URL)
        connection.send_packed_command(connection.pack_commands(commands), check_health=False)
    except redis.RedisError:  # a page that misses a note resyncs; the change itself stands
        _PUBLISHING.kept = None
        logger.warning("live events: %d notes not published", len(notes), exc_info=True)


class _Publishing(threading.local):
    """This thread's connection for publishing notes: (the process's id, its URL, the
    connection)."""

    kept: tuple[int, str, redis.Connection] | None = None


_PUBLISHING = _Publishing()


def _publishing_connection(url: str) -> redis.Connection:
    """This thread's connection to ``url``, on which Redis sends no replies (CLIENT REPLY OFF).
    A PUBLISH answers how many subscribers got it, which nobody reads: waiting for it took an
    order's web worker a round trip and some 50 µs of CPU to read, more than the note's write.
    With no replies a closed connection never shows in an answer, so it is looked at before each
    write: Redis restarted, it reads as ended, and a new one is made; one of another process (a
    forked Celery worker) is left to it."""
    if (kept := _PUBLISHING.kept) is not None and kept[0] == os.getpid():
        try:
            if kept[1] == url and not kept[2].can_read(timeout=0):  # readable: closed
                return kept[2]
        except redis.ConnectionError:
            pass
        kept[2].disconnect()
    connection = _connection_pool(url).make_connection()
    connection.connect()
    connection.send_command("CLIENT", "REPLY", "OFF")
    _PUBLISHING.kept = (os.getpid(), url, connection)
    return connection


@functools.cache
def _connection_pool(url: str) -> redis.ConnectionPool:
    """The connections' settings (``url``'s host, database, password, TLS), as a pool makes
    them: its connections are each thread's own (``_publishing_connection``), not pooled. Named
    for Redis' CLIENT LIST."""
    return redis.ConnectionPool.from_url(
        url, socket_timeout=1, socket_connect_timeout=1, client_name=PUBLISHING_CLIENT_NAME
    )
