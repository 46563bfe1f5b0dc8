"""Benchmark: open trade pages (WebSocket clients) on one server while the feed ticks every second:
how long a tick takes to reach the pages, and what it costs the server (see docs/operations.md,
"The live trade page").

    createdb -h 127.0.0.1 -U postgres marginsite_bench_live
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/marginsite_bench_live \\
    REDIS_URL=redis://127.0.0.1:6379/6 CELERY_BROKER_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python benchmarks/live_fanout.py [--pages 200] [--seconds 60]

Without REDIS_URL the channel layer is PostgreSQL's LISTEN/NOTIFY (the embedded default). It
migrates that database and REPLACES its users and trading data, then serves it exactly as
`make run` does (honcho and the Procfile: gunicorn with 2 uvicorn workers, a Celery worker, beat
with a price tick every second). Half the pages are traders holding a BTCUSDT position (each
tick renders their whole page: account, positions, orders, fills, notices), half are watchers
(a tick sends them the market: mark, candles, book). Every page shows BTCUSDT.

A tick's latency is from the moment the worker wrote the mark (its ``updated_at``) to the moment
the page received that mark or a newer one: a page whose socket skipped a tick (renders are
coalesced) waits for the next, and the wait counts. Every tick that any page received is a tick
of the run; each page is timed on every tick written after its first mark and before its last.
First one page alone (the floor), then all of them, each for the same bounded time, in one run;
it prints, per kind of page, the ticks timed and the share a page received itself, p50 and p99,
their ratio to the floor, the site's CPU (web, worker and beat) and the machine's.
"""

import argparse
import asyncio
import json
import os
import sys
import time
from datetime import datetime
from pathlib import Path

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marginsite.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402
from served import Site, machine_cpu_seconds, percentile  # noqa: E402
from websockets.asyncio.client import connect  # noqa: E402

from accounts.services import user_create  # noqa: E402
from trading.services import market_seed, order_place  # noqa: E402

SYMBOL = "BTCUSDT"


def database_prepare(pages: int) -> list[tuple[str, str]]:
    """A fresh market and one signed-in trader per page: (kind, session cookie)."""
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    market_seed()
    sessions = []
    for number in range(pages):
        user = user_create(username=f"page-{number}", password="pw-0123456789")
        kind = "holder" if number % 2 else "watcher"
        if kind == "holder":
            order_place(
                user=user, symbol=SYMBOL, side="BUY", quantity="0.01",
                order_type="MARKET", margin_mode="CROSS" if number % 4 == 1 else "ISOLATED",
            )  # fmt: skip
        client = Client()
        client.force_login(user)
        sessions.append((kind, client.cookies["sessionid"].value))
    return sessions


async def page(url: str, kind: str, session: str, until: float, received: dict) -> None:
    """One open trade page: (when it arrived, when the worker wrote it) of each new mark it is
    sent, after the page as it opens."""
    arrivals = received[kind].setdefault(session, [])
    socket_url = url.replace("http://", "ws://") + f"/live/trade/{SYMBOL}/"
    headers = {"Origin": url, "Cookie": f"sessionid={session}"}
    # 200 pages opening at once each wait for their first render: allow them a minute
    async with connect(
        socket_url, additional_headers=headers, max_size=None, open_timeout=60
    ) as socket:
        while (left := until - time.time()) > 0:
            try:
                raw = await asyncio.wait_for(socket.recv(), left)
            except TimeoutError:
                break
            arrived = time.time()
            stamp = json.loads(raw).get("updated_at")
            if stamp:
                written = datetime.fromisoformat(stamp).timestamp()
                if not arrivals or written > arrivals[-1][1]:
                    arrivals.append((arrived, written))


def tick_latencies(received: dict) -> tuple[dict, dict]:
    """Per kind of page: every tick's latency on every page (ms), and the share of the ticks
    timed that the page received itself (the others it got only as a newer mark)."""
    ticks = sorted({written for pages in received.values() for arrivals in pages.values()
                    for _, written in arrivals})  # fmt: skip
    latencies, received_share = {}, {}
    for kind, pages in received.items():
        values, own = [], 0
        for arrivals in pages.values():
            timed = [tick for tick in ticks if arrivals[0][1] < tick <= arrivals[-1][1]]
            stamps = {written for _, written in arrivals}
            for tick in timed:
                arrived = next(a for a, written in arrivals if written >= tick)
                values.append((arrived - tick) * 1000)
                own += tick in stamps
        latencies[kind] = values
        received_share[kind] = own / len(values) if values else float("nan")
    return latencies, received_share


async def phase(url: str, sessions: list, seconds: float) -> dict:
    received = {"holder": {}, "watcher": {}}
    until = time.time() + seconds
    await asyncio.gather(*(page(url, kind, cookie, until, received) for kind, cookie in sessions))
    return received


def measured(site: Site, sessions: list, seconds: float) -> dict:
    site_cpu, machine_cpu, wall = site.cpu_seconds(), machine_cpu_seconds(), time.monotonic()
    latencies, received_share = tick_latencies(asyncio.run(phase(site.url, sessions, seconds)))
    wall = time.monotonic() - wall
    return {
        "latencies": latencies,
        "received_share": received_share,
        "site_cpu": (site.cpu_seconds() - site_cpu) / wall * 100,
        "machine_cpu": (machine_cpu_seconds() - machine_cpu) / wall * 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    arguments = parser.parse_args()

    sessions = database_prepare(arguments.pages)
    log_path = REPO_DIR / "var" / "live_fanout.log"
    log_path.parent.mkdir(exist_ok=True)
    site = Site(log_path)
    try:
        time.sleep(5)  # beat's first ticks
        floor = measured(site, [sessions[1]], min(arguments.seconds, 30))
        loaded = measured(site, sessions, arguments.seconds)
    finally:
        site.stop()

    layer = "Redis" if os.environ.get("REDIS_URL") else "PostgreSQL LISTEN/NOTIFY"
    print(
        f"\n{arguments.pages} trade pages on {SYMBOL}, a tick every second, channel layer: {layer}"
    )
    floor_p50 = percentile(floor["latencies"]["holder"], 0.5)
    floor_p99 = percentile(floor["latencies"]["holder"], 0.99)
    print(f"{'pages':>24} | {'ticks timed':>11} | {'received':>8} | {'p50 ms':>7} | "
          f"{'p99 ms':>7} | {'p50/floor':>9} | {'site CPU':>8} | {'machine CPU':>11}")  # fmt: skip
    rows = [("1 holder (floor)", floor, "holder")]
    rows += [(f"{arguments.pages // 2} {kind}s", loaded, kind) for kind in ("holder", "watcher")]
    for label, run, kind in rows:
        values = run["latencies"][kind]
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(
            f"{label:>24} | {len(values):>11} | {run['received_share'][kind]:>8.0%} | "
            f"{p50:>7.0f} | {p99:>7.0f} | "
            f"{p50 / floor_p50:>8.1f}x | {run['site_cpu']:>7.0f}% | {run['machine_cpu']:>10.0f}%"
        )
    print(
        f"(floor p99 {floor_p99:.0f} ms; received: the ticks a page was sent itself, the others "
        "reached it as a newer mark; CPU as % of one core, 200 % = both cores)"
    )


if __name__ == "__main__":
    main()
