"""Each process's pool of PostgreSQL connections (marginsite/database_pool.py and the settings):
connections are kept and used again, what a session held is not handed on with them, and the
statements of the prepared cursor are prepared once per connection."""

import time

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from marginsite.database_pool import prepared_cursor

pytestmark = pytest.mark.django_db(transaction=True)

ADVISORY_LOCKS = """
    SELECT count(*) FROM pg_locks
    WHERE locktype = 'advisory' AND database = (
        SELECT oid FROM pg_database WHERE datname = current_database()
    )
"""


def scalar(sql: str, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def test_connections_are_used_again_rather_than_opened_for_each_use():
    backends = set()
    for _ in range(20):  # as twenty requests do: each takes a connection and gives it back
        backends.add(scalar("SELECT pg_backend_pid()"))
        connection.close()

    # a few, never more than the pool's size: it opens another only while the ones it has are
    # being reset (in its own thread; on a busy machine that can take a while)
    assert len(backends) <= connection.settings_dict["OPTIONS"]["pool"]["max_size"] < 20


def test_an_advisory_lock_left_on_a_connection_given_back_is_released_before_it_is_used_again():
    # given a connection (a sweep's worker) that took a session-level advisory lock
    other = connections.create_connection(DEFAULT_DB_ALIAS)
    with other.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(7, 7)")
    assert scalar(ADVISORY_LOCKS) == 1

    # when it is given back to the pool without releasing it
    other.close()

    # then the pool releases it (in its own thread, at once)
    deadline = time.monotonic() + 5
    while scalar(ADVISORY_LOCKS) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert scalar(ADVISORY_LOCKS) == 0


def test_a_statement_of_the_prepared_cursor_is_prepared_once_on_its_connection_from_its_5th_run():
    sql = "SELECT count(*) FROM trading_instrument WHERE symbol = %s"

    def prepared() -> int:
        return scalar(
            "SELECT count(*) FROM pg_prepared_statements WHERE statement = %s",
            [sql.replace("%s", "$1")],
        )

    counts = []
    for symbol in ("BTCUSDT", "ETHUSDT", "SOLUSDT", "NONE1", "NONE2", "NONE3"):
        with prepared_cursor() as cursor:
            cursor.execute(sql, [symbol])
            assert cursor.fetchone() == (0 if symbol.startswith("NONE") else 1,)
        counts.append(prepared())
    for _ in range(6):  # Django's own cursors never prepare
        scalar(sql, ["BTCUSDT"])

    assert counts == [0, 0, 0, 0, 0, 1]
    assert prepared() == 1
