"""The Celery worker's PostgreSQL connections: each worker process keeps its pool from one task
to the next, and gives its connection back to the pool at each task's end, as a request does.

Celery's own Django fixup (5.7) closes a prefork process's whole pool before and after every
task (celery#10554, open): each task then opened new connections (about four a second with
beat's price tick, sweep and heartbeat), each a new PostgreSQL backend with cold caches and no
prepared statements. Under the order benchmark's load a quiet tick took 45 to 85 ms and its sweep
30 to 77 ms, where on kept connections they take 20 to 38 ms and 9 to 15 ms, and the web's
slowest requests bunched up behind them each second (docs/operations.md, "The database's
connections"). Here a task ends as Django ends a request (``close_old_connections``): with the
pool, Django's connections live no longer than a request or a task (``CONN_MAX_AGE`` 0), so the
connection goes back to the pool, which rolls back a transaction left open, releases the
session's advisory locks (marginsite/database_pool.py) and drops a broken connection. A process
still closes the pool it inherits when it is forked (Celery's ``on_worker_process_init``): a
child never uses its parent's connections."""

from celery.fixups.django import DjangoFixup, DjangoWorkerFixup
from django import db


def fixup(app):
    """Installed in place of Celery's (``Celery(fixups=...)``: marginsite/celery.py)."""
    return PoolKeepingDjangoFixup(app).install()


class PoolKeepingDjangoFixup(DjangoFixup):
    @DjangoFixup.worker_fixup.getter
    def worker_fixup(self) -> DjangoWorkerFixup:
        if self._worker_fixup is None:
            self._worker_fixup = PoolKeepingWorkerFixup(self.app)
        return self._worker_fixup


class PoolKeepingWorkerFixup(DjangoWorkerFixup):
    def on_task_prerun(self, sender, **kwargs) -> None:
        if not getattr(sender.request, "is_eager", False):
            db.close_old_connections()

    def on_task_postrun(self, sender, **kwargs) -> None:
        if not getattr(sender.request, "is_eager", False):
            db.close_old_connections()
            self.close_cache()
