"""The embedded channel layer: PostgreSQL's LISTEN/NOTIFY, for a machine with no Redis.

The live trade page needs one thing from a channel layer: an event published by any process (a
web request, the Celery worker's sweep, the price tick) reaches every web process that holds a
socket of the group it names. The embedded default already runs PostgreSQL and nothing else, so
its NOTIFY carries the events: every web process LISTENs on one channel and hands each event to
its own sockets of the group. An event sent from a transaction (``group_send_sync``) is
delivered when it commits and never when it rolls back, so a page is never told about money that
was not booked. Channels' in-memory layer would reach only its own process; Redis is the
production layer (``CHANNEL_LAYER_URL``, channels_redis).

Events are small notes ("the account of user 7 changed"), not the figures: the socket renders the
figures from the database, so a lost note costs a refresh, never a wrong figure. A listener that
loses its connection reconnects and tells each of its sockets to resync (``live.resync``).
"""

import asyncio
import json
import logging
import uuid
from collections import defaultdict

import psycopg
from channels.db import database_sync_to_async
from channels.layers import BaseChannelLayer
from django.db import connection

logger = logging.getLogger(__name__)

NOTIFY_CHANNEL = "marginsite_live"
RECONNECT_SECONDS = (1, 2, 4, 8, 15)
READY_SECONDS = 5


def group_notify(group: str, message: dict) -> None:
    """Publish ``message`` to ``group`` on Django's connection: inside a transaction it is
    delivered at commit, and dropped by a rollback."""
    groups_notify([(group, message)])


def groups_notify(notes: list[tuple[str, dict]]) -> None:
    """``group_notify`` for each (group, message) of ``notes``, in one statement (a sweep's
    batch tells the pages of hundreds of accounts at once)."""
    payloads = [
        json.dumps({"group": group, "message": message}, separators=(",", ":"))
        for group, message in notes
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_notify(%s, payload) FROM unnest(%s::text[]) AS payload",
            [NOTIFY_CHANNEL, payloads],
        )


def _conninfo() -> str:
    """Django's database, as a libpq connection string (read when the listener starts, so a
    test process listens on its test database)."""
    database = connection.settings_dict
    parameters = {
        "dbname": database["NAME"],
        "user": database.get("USER") or None,
        "password": database.get("PASSWORD") or None,
        "host": database.get("HOST") or None,
        "port": database.get("PORT") or None,
    }
    return psycopg.conninfo.make_conninfo(
        **{key: str(value) for key, value in parameters.items() if value is not None}
    )


class PostgresNotifyChannelLayer(BaseChannelLayer):
    """Groups and channels live in this process; only group events cross processes, through
    NOTIFY. One listening connection per process, started by the first socket."""

    extensions = ["groups"]

    def __init__(self, capacity: int = 100, **kwargs):
        super().__init__(capacity=capacity, **kwargs)
        self._queues: dict[str, asyncio.Queue] = {}
        self._groups: dict[str, set[str]] = defaultdict(set)
        self._listener: asyncio.Task | None = None
        self._ready: asyncio.Event | None = None

    async def new_channel(self, prefix: str = "specific.") -> str:
        channel = f"{prefix}{uuid.uuid4().hex}"
        self._queues[channel] = asyncio.Queue(maxsize=self.capacity)
        return channel

    async def send(self, channel: str, message: dict) -> None:
        assert self.require_valid_channel_name(channel)
        self._put(channel, message)

    async def receive(self, channel: str) -> dict:
        assert self.require_valid_channel_name(channel)
        queue = self._queues.setdefault(channel, asyncio.Queue(maxsize=self.capacity))
        try:
            return await queue.get()
        except asyncio.CancelledError:
            self._forget(channel)
            raise

    async def group_add(self, group: str, channel: str) -> None:
        """Join, once this process is listening: an event committed after the join reaches the
        channel. Raises when the database cannot be reached within READY_SECONDS."""
        assert self.require_valid_group_name(group)
        self._groups[group].add(channel)
        await asyncio.wait_for(self._listening().wait(), READY_SECONDS)

    async def group_discard(self, group: str, channel: str) -> None:
        members = self._groups.get(group)
        if members is not None:
            members.discard(channel)
            if not members:
                del self._groups[group]

    async def group_send(self, group: str, message: dict) -> None:
        assert self.require_valid_group_name(group)
        await database_sync_to_async(group_notify)(group, message)

    async def flush(self) -> None:
        self._queues.clear()
        self._groups.clear()

    def _listening(self) -> asyncio.Event:
        """The event set while this process LISTENs; starts the listener on first use."""
        if self._listener is None or self._listener.done():
            self._ready = asyncio.Event()
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        return self._ready

    async def _listen(self) -> None:
        attempt = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    _conninfo(), autocommit=True
                ) as listening:
                    await listening.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    if attempt:
                        self._resync()
                    attempt = 0
                    self._ready.set()
                    async for notice in listening.notifies():
                        self._deliver(notice.payload)
            except (psycopg.Error, OSError) as error:
                logger.warning("live events: the database connection failed (%s)", error)
            self._ready.clear()
            await asyncio.sleep(RECONNECT_SECONDS[min(attempt, len(RECONNECT_SECONDS) - 1)])
            attempt += 1

    def _deliver(self, payload: str) -> None:
        event = json.loads(payload)
        for channel in tuple(self._groups.get(event["group"], ())):
            self._put(channel, event["message"])

    def _resync(self) -> None:
        """Events sent while the connection was down are lost: every socket renders again."""
        for channel in tuple(self._queues):
            self._put(channel, {"type": "live.resync"})

    def _put(self, channel: str, message: dict) -> None:
        """Queue a message; a socket too slow to take ``capacity`` of them misses the newest
        (the next render shows the current figures anyway)."""
        queue = self._queues.get(channel)
        if queue is None:
            return
        try:
            queue.put_nowait(message)
        except asyncio.QueueFull:
            logger.info("live events: %s is full, an event was dropped", channel)

    def _forget(self, channel: str) -> None:
        self._queues.pop(channel, None)
        for group in [group for group, members in self._groups.items() if channel in members]:
            self._groups[group].discard(channel)
            if not self._groups[group]:
                del self._groups[group]
