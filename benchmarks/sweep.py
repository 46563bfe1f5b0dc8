"""Benchmark of the sweep against PostgreSQL (see docs/operations.md, "Scale").

    createdb -h 127.0.0.1 -U postgres marginsite_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/marginsite_bench \\
        .venv/bin/python benchmarks/sweep.py --accounts 20000 --positions 100000

It migrates that database and REPLACES its trading data: N accounts holding M open positions
(cross and isolated, on three instruments), a few percent of them at high leverage so that a
drop of the marks puts them at risk, each account checked once (watch prices set, not due), as
after a quiet sweep. Then, in one run, it prints:
- a sweep at unchanged marks (the steady tick);
- after a drop of the marks: the sweep's candidate scan (set-based SQL), the same check done by
  a naive loop over every position through the ORM and the engine, a bare SELECT aggregate over
  the positions table (the floor for any scan), and the whole sweep with its liquidations.
"""

import argparse
import multiprocessing
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marginsite.settings")

import django

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections  # noqa: E402

from accounts.models import User  # noqa: E402
from trading.domain.holdings import Holdings, engine_brackets, holding_for  # noqa: E402
from trading.engine import account_figures  # noqa: E402
from trading.models import Instrument, LedgerAccount, MarkPrice, Position, Wallet  # noqa: E402
from trading.selectors.risk import accounts_due, orders_triggered  # noqa: E402
from trading.services import insurance_fund_grant, market_seed, sweep_run  # noqa: E402
from trading.services.sweeps import SweepReport  # noqa: E402
from trading.services.watch import watch_prices_of  # noqa: E402

MARKS = {"BTCUSDT": Decimal(60000), "ETHUSDT": Decimal(3000), "SOLUSDT": Decimal(150)}
QUANTITIES = {"BTCUSDT": Decimal("0.1"), "ETHUSDT": Decimal("2"), "SOLUSDT": Decimal(40)}


# The journals of the fills that opened the positions (their entries and fills are left out): a
# real site's journal table is as long as its history, and PostgreSQL plans the foreign-key checks
# of a liquidation's entries on the table's size. Near empty, it would scan the whole table at
# each check, growing as the crash adds journals: a cost no site with open positions pays.
JOURNALS_OF_OPENING_FILLS = """
    INSERT INTO trading_journal (kind, created_at)
    SELECT 'FILL', now() FROM generate_series(1, %s)
"""


def fill(accounts: int, positions: int, at_risk: float) -> None:
    """Bulk-insert the accounts, their positions and ledger accounts, and the journals of the
    fills that opened the positions (no entries but the insurance fund's starting capital, which
    ``seed_market`` gives a new site: the benchmark measures the sweep)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE trading_fill, trading_order, trading_ledgerentry, trading_journal, "
            "trading_ledgeraccount, "
            "trading_liquidationevent_positions, trading_liquidationevent, trading_notification, "
            "trading_fundingpayment, trading_position, trading_wallet, trading_sweeprun, "
            "accounts_preferences, accounts_user CASCADE"
        )
    market_seed()
    insurance_fund_grant(amount=settings.INSURANCE_FUND_CAPITAL)
    instruments = list(Instrument.objects.filter(symbol__in=MARKS).order_by("symbol"))
    for instrument in instruments:
        MarkPrice.objects.update_or_create(
            instrument=instrument, defaults={"price": MARKS[instrument.symbol], "source": "seed"}
        )
    users = User.objects.bulk_create(
        [User(username=f"bench{i}", password="!") for i in range(accounts)], batch_size=5000
    )
    risky_every = max(1, round(1 / at_risk)) if at_risk else 0
    Wallet.objects.bulk_create(
        [
            Wallet(
                user=user,
                balance=Decimal(100) if risky_every and i % risky_every == 0 else 10000,
                sweep_due=False,
            )
            for i, user in enumerate(users)
        ],
        batch_size=5000,
    )
    keys = [(instrument, mode) for mode in ("CROSS", "ISOLATED") for instrument in instruments]
    rows = []
    for i in range(positions):
        user_index, key_index = i % accounts, (i // accounts) % len(keys)
        instrument, mode = keys[key_index]
        risky = risky_every and user_index % risky_every == 0
        leverage = 100 if risky else 10
        entry = MARKS[instrument.symbol]
        quantity = QUANTITIES[instrument.symbol]
        rows.append(
            Position(
                user=users[user_index],
                instrument=instrument,
                margin_mode=mode,
                side="LONG",
                quantity=quantity,
                entry_price=entry,
                leverage=leverage,
                isolated_margin=quantity * entry / leverage if mode == "ISOLATED" else 0,
            )
        )
    Position.objects.bulk_create(rows, batch_size=5000)
    LedgerAccount.objects.bulk_create(
        [LedgerAccount(kind="WALLET", user=user) for user in users]
        + [
            LedgerAccount(kind="ISOLATED_MARGIN", user_id=p.user_id, position=p)
            for p in rows
            if p.margin_mode == "ISOLATED"
        ],
        batch_size=5000,
    )
    watch_prices_set()
    with connection.cursor() as cursor:
        cursor.execute(JOURNALS_OF_OPENING_FILLS, [len(rows)])
        # as autovacuum leaves a live site's tables: the rows' hint bits set and the statistics
        # taken (the first reads of rows just loaded in bulk would otherwise pay for the former)
        cursor.execute("VACUUM ANALYZE")


def watch_prices_set() -> None:
    """What the sweep's first look at each account leaves behind, computed in bulk."""
    wallets = dict(Wallet.objects.values_list("user_id", "balance"))
    brackets = {i.pk: engine_brackets(i) for i in Instrument.objects.prefetch_related("brackets")}
    marks = dict(MarkPrice.objects.values_list("instrument_id", "price"))
    accounts: dict[int, list[Position]] = {}
    for position in Position.objects.filter(status="OPEN").iterator(chunk_size=5000):
        accounts.setdefault(position.user_id, []).append(position)
    watched = []
    for user_id, positions in accounts.items():
        holdings = Holdings(
            wallets[user_id],
            Decimal(0),
            {
                (p.instrument_id, p.margin_mode): holding_for(
                    p, mark=marks[p.instrument_id], brackets=brackets[p.instrument_id]
                )
                for p in positions
            },
        )
        prices = watch_prices_of(positions, holdings) or {}
        for position in positions:
            position.watch_price = prices.get(position.pk)
        watched.extend(positions)
    Position.objects.bulk_update(watched, ["watch_price"], batch_size=5000)


def marks_drop() -> None:
    """A 1.5 % drop: the 100x positions (margin 1 %) fall through their maintenance margin."""
    for instrument in Instrument.objects.filter(symbol__in=MARKS):
        MarkPrice.objects.filter(instrument=instrument).update(
            price=MARKS[instrument.symbol] * Decimal("0.985")
        )


def timed(function):
    start = time.perf_counter()
    result = function()
    return time.perf_counter() - start, result


def scan():
    return orders_triggered(), accounts_due()


def naive():
    """Every open position into Python through the ORM, figures from the engine per account."""
    brackets = {i.pk: engine_brackets(i) for i in Instrument.objects.prefetch_related("brackets")}
    marks = dict(MarkPrice.objects.values_list("instrument_id", "price"))
    wallets = dict(Wallet.objects.values_list("user_id", "balance"))
    accounts: dict[int, list] = {}
    for position in Position.objects.filter(status="OPEN").iterator(chunk_size=5000):
        holding = holding_for(
            position, mark=marks[position.instrument_id], brackets=brackets[position.instrument_id]
        )
        accounts.setdefault(position.user_id, []).append((position.margin_mode, holding))
    at_risk = 0
    for user_id, holdings in accounts.items():
        figures = account_figures(
            wallet_balance=wallets[user_id],
            cross_holdings=[h for mode, h in holdings if mode == "CROSS"],
            isolated_holdings=[h for mode, h in holdings if mode == "ISOLATED"],
        )
        at_risk += figures.cross_liquidatable + sum(
            p.liquidatable for p in figures.isolated_positions
        )
    return at_risk


def bare():
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(quantity * entry_price) FROM trading_position "
            "WHERE status = 'OPEN'"
        )
        return cursor.fetchone()


def _shard_sweep(shard: int, shards: int) -> SweepReport:
    return sweep_run(shard=shard, shards=shards)


def sharded_sweep(shards: int) -> SweepReport:
    """The sweep split as beat splits it with SWEEP_SHARDS, each shard in its own process (as on
    separate Celery workers); the reports added up."""
    if shards == 1:
        return sweep_run()
    connections.close_all()  # each process opens its own connection, in a pool of its own
    connection.close_pool()
    with ProcessPoolExecutor(shards, mp_context=multiprocessing.get_context("fork")) as pool:
        reports = list(pool.map(_shard_sweep, range(shards), [shards] * shards))
    return replace(
        reports[0],
        **{
            name: sum(getattr(r, name) for r in reports)
            for name in ("accounts", "isolated_liquidations", "cross_liquidations")
        },
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=20000)
    parser.add_argument("--positions", type=int, default=100000)
    parser.add_argument("--at-risk", type=float, default=0.03, help="share of risky accounts")
    parser.add_argument(
        "--shards", type=int, default=1, help="sweep after the drop in N parallel processes"
    )
    arguments = parser.parse_args()
    if connection.vendor != "postgresql":
        sys.exit("Point DATABASE_URL at a PostgreSQL database made for the benchmark.")
    print(f"database {settings.DATABASES['default']['NAME']}: migrating and filling ...")
    call_command("migrate", verbosity=0)
    fill_seconds, _ = timed(
        lambda: fill(arguments.accounts, arguments.positions, arguments.at_risk)
    )
    positions = Position.objects.filter(status="OPEN").count()
    print(
        f"filled {arguments.accounts} accounts, {positions} open positions in {fill_seconds:.1f} s"
    )

    def rate(seconds):
        return f"{seconds:8.3f} s  {positions / seconds:12,.0f} positions/s"

    steady_seconds, steady = timed(sweep_run)
    print(f"sweep, marks unchanged     {rate(steady_seconds)}  ({steady.accounts} accounts due)")
    marks_drop()
    bare_seconds, _ = timed(bare)
    scan_seconds, (orders, due) = timed(scan)
    naive_seconds, naive_at_risk = timed(naive)
    sweep_seconds, report = timed(lambda: sharded_sweep(arguments.shards))
    liquidations = report.isolated_liquidations + report.cross_liquidations
    print("after a 1.5 % drop of every mark:")
    print(f"bare SELECT aggregate      {rate(bare_seconds)}")
    print(
        f"sweep candidate scan (SQL) {rate(scan_seconds)}  "
        f"({len(due)} accounts due, {len(orders)} orders)"
    )
    print(f"naive ORM + engine loop    {rate(naive_seconds)}  ({naive_at_risk} at risk)")
    print(
        f"full sweep, {arguments.shards} shard(s)      {rate(sweep_seconds)}  "
        f"({report.isolated_liquidations} isolated + {report.cross_liquidations} cross "
        f"liquidations, {sweep_seconds / max(1, liquidations) * 1000:.1f} ms each)"
    )
    print(
        f"scan vs naive: {naive_seconds / scan_seconds:.1f}x faster; "
        f"scan vs bare: {scan_seconds / bare_seconds:.1f}x the bare aggregate"
    )


if __name__ == "__main__":
    main()
