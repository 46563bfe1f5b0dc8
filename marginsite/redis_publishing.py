"""PUBLISH to Redis without waiting for the answer: the live notes to the open trade pages
(trading/services/live.py) are written at every order's commit, and what Redis answers (how many
listened) is of use to no one. Waiting for it cost an order's web worker a round trip to Redis and
the CPU to read it through a redis-py pipeline.

Each thread keeps a connection of its own (a forked process makes its own). A write reads first
whatever answers to earlier writes have come in meanwhile, without waiting for the rest:
- a connection Redis has closed (a restart) reads as ended, and the write goes by a new one;
- an error answer (say, a user whose ACL forbids PUBLISH) is logged;
- writes not answered within ``ANSWER_SECONDS`` mean a Redis that hangs or a host gone without
  closing the connection: the write is refused (``redis.TimeoutError``) and the connection
  dropped, as a wait for the answer would have timed out."""

import functools
import logging
import os
import threading
import time
from collections import deque

import redis

logger = logging.getLogger(__name__)

# as long as a write or a read of the connection may take (its socket's timeout)
ANSWER_SECONDS = 1


class _Kept(threading.local):
    """This thread's connection: its process, its URL, the connection, and the times of the
    commands written and not answered yet, oldest first."""

    pid: int | None = None
    url: str | None = None
    connection: redis.Connection | None = None
    unanswered: deque | None = None


_KEPT = _Kept()


def publish(url: str, commands: list[tuple]) -> None:
    """Write ``commands`` (PUBLISH and its arguments, each) to Redis at ``url`` in one write and
    return. Raises ``redis.RedisError`` when Redis cannot take them: they were not published."""
    connection = _connection(url)
    try:
        _answers_read(connection)
    except redis.ConnectionError:  # closed by Redis (a restart): the write goes by a new one
        _forget()
        connection = _connection(url)
    try:
        connection.send_packed_command(connection.pack_commands(commands), check_health=False)
    except redis.RedisError:
        _forget()
        raise
    sent = time.monotonic()
    _KEPT.unanswered.extend(sent for _ in commands)


def publishing_connection() -> redis.Connection | None:
    """This thread's connection (None before its first write, or after a failed one): what a
    check that a dropped connection is replaced, or that answers wait unread, looks at."""
    return _KEPT.connection if _KEPT.pid == os.getpid() else None


def _connection(url: str) -> redis.Connection:
    """This thread's connection to ``url``, made when it has none (or one of another process,
    or to another URL)."""
    if (_KEPT.pid, _KEPT.url) == (os.getpid(), url) and _KEPT.connection is not None:
        return _KEPT.connection
    _forget()
    pool = _pool(url)
    connection = pool.connection_class(**pool.connection_kwargs)
    connection.connect()
    _KEPT.pid, _KEPT.url, _KEPT.connection, _KEPT.unanswered = os.getpid(), url, connection, deque()
    return connection


def _answers_read(connection: redis.Connection) -> None:
    """Read the answers that have come in, without waiting for any (see the module)."""
    unanswered = _KEPT.unanswered
    while connection.can_read(timeout=0):
        if not unanswered:
            raise redis.ConnectionError("Redis answered a command that was not sent")
        unanswered.popleft()
        try:
            connection.read_response()
        except redis.ResponseError as refusal:
            logger.warning("live events: Redis refused a note: %s", refusal)
    if unanswered and time.monotonic() - unanswered[0] > ANSWER_SECONDS:
        _forget()
        raise redis.TimeoutError(
            f"Redis has not answered {len(unanswered)} notes within {ANSWER_SECONDS} s"
        )


def _forget() -> None:
    """Close this thread's connection (a forked process's copy of its parent's is only closed
    on its side: redis-py shuts a socket down only in the process that made it)."""
    if _KEPT.connection is not None:
        _KEPT.connection.disconnect()
    _KEPT.pid = _KEPT.url = _KEPT.connection = _KEPT.unanswered = None


@functools.cache
def _pool(url: str) -> redis.ConnectionPool:
    """The connections' settings from ``url`` (host, database, password, TLS), as a pool makes
    them; the connections are each thread's own, not the pool's."""
    return redis.ConnectionPool.from_url(
        url, socket_timeout=ANSWER_SECONDS, socket_connect_timeout=ANSWER_SECONDS
    )
