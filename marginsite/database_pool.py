"""Each process's pool of PostgreSQL connections (psycopg's, through Django's ``OPTIONS["pool"]``):
a request takes a warm connection and gives it back, instead of opening one and closing it; and
the statements that run on every order, prepared once on each of those connections."""

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from django.db import connection as django_connection


def connection_reset(connection) -> None:
    """Run on each connection given back to the pool, in the pool's own thread (off the request's
    path). A closed connection used to end its session, and with it the session's advisory locks
    (a sweep's shard lock: trading/services/sweeps.py): given back, the session goes on, so its
    locks are released here, or the next holder of the connection would hold them unknowingly."""
    connection.autocommit = True
    connection.execute("SELECT pg_advisory_unlock_all()")


@contextmanager
def prepared_cursor(*, raw: bool = False) -> Iterator:
    """A cursor for a statement that runs on every order, in plain SQL made once (the same text
    each time): PostgreSQL plans it once per connection, as a prepared statement (from its
    ``prepare_threshold``-th run: settings.py), with its parameters bound by the server, instead
    of planning it on every run, which took more time than running it. Django's own cursors bind
    on the client and never prepare: binding every query on the server made the sweep's
    statements slower. Wrapped as Django wraps its own cursors, so it is counted and logged alike.
    ``raw``: the statement's parameters are PostgreSQL's own ``$1``, ``$2``... (psycopg's
    ``RawCursor``), not ``%s``.
    """
    django_connection.ensure_connection()
    cursor = (psycopg.RawCursor if raw else psycopg.Cursor)(django_connection.connection)
    wrap = (
        django_connection.make_debug_cursor
        if django_connection.queries_logged
        else django_connection.make_cursor
    )
    with wrap(cursor) as wrapped:
        yield wrapped
