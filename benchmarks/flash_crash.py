"""Benchmark of a flash crash's sweep with 1, 2 and 4 shards, each shard in its own worker
process, against one PostgreSQL (see docs/operations.md, "Scale").

    createdb -h 127.0.0.1 -U postgres marginsite_bench_crash
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/marginsite_bench_crash \\
        .venv/bin/python benchmarks/flash_crash.py --accounts 20000 --positions 100000

It fills that database as benchmarks/sweep.py does (REPLACING its trading data), times a quiet
sweep against the bare SELECT aggregate, and keeps the filled database as a template. Then, for
each shard count, it copies the template to a fresh database (<name>_run), drops every mark
1.5 % (the 100x accounts fall through their maintenance margin), and starts one process per
shard, as SWEEP_SHARDS workers would run them; each connects, waits for the others, then sweeps
its shard. It prints the liquidations, the wall time from the start to the last shard's end (the
best of ``--repeat`` crashes, each on its own fresh copy: a shared machine's speed drifts by a
third from one minute to the next), the time per liquidation and the speed-up over one shard,
and checks that each liquidation left its receipt. (The filled accounts have no ledger entries,
so ``check_ledger`` has nothing to check here: the tests check the books.)
"""

import argparse
import contextlib
import multiprocessing
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marginsite.settings")

import django

django.setup()

import psycopg  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from benchmarks.sweep import bare, fill, marks_drop, timed  # noqa: E402
from trading.models import LiquidationEvent, Position  # noqa: E402
from trading.services import sweep_run  # noqa: E402

SHARDS = (1, 2, 4)


def _server(sql: str) -> None:
    """Run ``sql`` on the server's maintenance database (CREATE/DROP DATABASE)."""
    params = connection.get_connection_params()
    params["dbname"] = "postgres"
    with psycopg.connect(**params, autocommit=True) as server:
        server.execute(sql)


def _use(database: str) -> None:
    connections.close_all()
    connection.close_pool()  # its connections are to the database used so far
    connection.settings_dict["NAME"] = database


def _copy(source: str, target: str) -> None:
    _server(f'DROP DATABASE IF EXISTS "{target}"')
    _server(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


def _shard(shard: int, shards: int, start, results) -> None:
    connection.ensure_connection()
    start.wait()
    report = sweep_run(shard=shard, shards=shards)
    results.put((report.isolated_liquidations, report.cross_liquidations, report.errors))


def crash(shards: int) -> tuple[float, int, int]:
    """The swept crash with ``shards`` worker processes: (wall seconds, liquidations, errors)."""
    context = multiprocessing.get_context("fork")
    start, results = context.Barrier(shards + 1), context.Queue()
    connections.close_all()  # each worker opens its own connection, in a pool of its own
    connection.close_pool()
    workers = [
        context.Process(target=_shard, args=(shard, shards, start, results))
        for shard in range(shards)
    ]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    done = [results.get() for _ in workers]
    seconds = time.perf_counter() - began
    for worker in workers:
        worker.join()
    return seconds, sum(i + c for i, c, _ in done), sum(e for _, _, e in done)


def crash_run(template: str, run: str, shards: int) -> tuple[float, int, int, int]:
    """One crash on a fresh copy of ``template``: (wall seconds, liquidations, errors, receipts).
    The copy's own writes are flushed first (CHECKPOINT, for a superuser), so that the timed
    sweep does not share the disk with them."""
    _use("postgres")
    _copy(template, run)
    with contextlib.suppress(psycopg.errors.InsufficientPrivilege):
        _server("CHECKPOINT")
    _use(run)
    marks_drop()
    seconds, liquidations, errors = crash(shards)
    return seconds, liquidations, errors, LiquidationEvent.objects.count()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--positions", type=int, default=100000)
    parser.add_argument("--at-risk", type=float, default=0.03, help="share of risky accounts")
    parser.add_argument(
        "--repeat", type=int, default=2, help="crashes per shard count (the best is shown)"
    )
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Point DATABASE_URL at a PostgreSQL database made for the benchmark.")
    name = connection.settings_dict["NAME"]
    template, run = f"{name}_template", f"{name}_run"
    print(f"database {name}: migrating and filling ...")
    call_command("migrate", verbosity=0)
    fill(arguments.accounts, arguments.positions, arguments.at_risk)
    positions = Position.objects.filter(status="OPEN").count()
    quiet_seconds, quiet = min((timed(sweep_run) for _ in range(3)), key=lambda run: run[0])
    bare_seconds = min(timed(bare)[0] for _ in range(3))  # each the best of three
    print(
        f"{arguments.accounts} accounts, {positions} open positions: quiet sweep "
        f"{quiet_seconds:.3f} s ({quiet.accounts} accounts due), bare SELECT aggregate "
        f"{bare_seconds:.3f} s: {quiet_seconds / bare_seconds:.1f}x"
    )
    _use("postgres")
    _copy(name, template)
    base = None
    try:
        for shards in SHARDS:
            crashes = [crash_run(template, run, shards) for _ in range(arguments.repeat)]
            # the fastest of those that went through whole (one cut short is fast)
            best = min(crashes, key=lambda crashed: (crashed[2], -crashed[1], crashed[0]))
            seconds, liquidations, errors, receipts = best
            base = base or seconds
            print(
                f"crash, {shards} shard(s) in {shards} process(es): {liquidations} liquidations "
                f"in {seconds:.3f} s, {seconds / max(1, liquidations) * 1000:.2f} ms each, "
                f"speed-up {base / seconds:.2f}x; {errors} errors, {receipts} receipts"
                + (f" (of {', '.join(f'{c[0]:.3f}' for c in crashes)} s)" if crashes[1:] else "")
            )
    finally:
        _use("postgres")
        _server(f'DROP DATABASE IF EXISTS "{run}"')
        _server(f'DROP DATABASE IF EXISTS "{template}"')


if __name__ == "__main__":
    main()
