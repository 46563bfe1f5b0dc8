"""Each process's pool of PostgreSQL connections (psycopg's, through Django's ``OPTIONS["pool"]``):
a request takes a warm connection and gives it back, instead of opening one and closing it."""


def connection_reset(connection) -> None:
    """Run on each connection given back to the pool, in the pool's own thread (off the request's
    path). A closed connection used to end its session, and with it the session's advisory locks
    (a sweep's shard lock: trading/services/sweeps.py): given back, the session goes on, so its
    locks are released here, or the next holder of the connection would hold them unknowingly."""
    connection.autocommit = True
    connection.execute("SELECT pg_advisory_unlock_all()")
