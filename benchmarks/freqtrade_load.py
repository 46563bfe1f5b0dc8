"""Benchmark: what a running freqtrade bot asks of marginsite, and how many such bots one server
carries (see docs/bots.md, "freqtrade").

    createdb -h 127.0.0.1 -U postgres marginsite_bench_bots
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/marginsite_bench_bots \\
    REDIS_URL=redis://127.0.0.1:6379/2 CELERY_BROKER_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python benchmarks/freqtrade_load.py [--record-minutes 3] [--bots 0,1,5,10,20]

It migrates that database and REPLACES its users and trading data, then serves it exactly as
`make run` does (honcho and the Procfile: gunicorn with 2 uvicorn workers, a Celery worker, beat;
the access log of marginsite/access_log.py gives each request's server time).
1. Record: one stock freqtrade (tests/bots/: docs/bots.md's configuration and the acceptance
   test's strategy, from var/freqtrade-venv) trades live futures for a few minutes. the
   access log gives its requests per minute, by endpoint, after its start-up minute.
2. Replay: N simulated bots, each with a key of its own, send that mix at that rate (requests
   drawn at random times, signed as ccxt signs them) from this process, while a probe measures
   GET /fapi/v1/ping (the floor: gunicorn, Django and the rate limit's Redis, no database).
   Orders are market orders of the minimum size, opening and closing a position in turn.
For each N (0: the idle site) it prints, side by side, the latency p50/p99 of the bots' requests
as they see it (client) and as gunicorn timed it (server), the floor's, and the CPU used: by the
site's processes, and by the whole machine (PostgreSQL and this generator are outside the site).
A server carries N bots while the bots' p99 stays under --p99-ms and the site's CPU under
--cpu-percent, with no 5xx.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
from collections import Counter
from pathlib import Path

import requests

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marginsite.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from served import (  # noqa: E402
    Site,
    machine_cpu_seconds,
    percentile,
)

from accounts.services import api_key_create, user_create  # noqa: E402
from tests.bots.stock_freqtrade import (  # noqa: E402
    FREQTRADE,
    STRATEGIES_DIR,
    candle_history_seed,
    freqtrade_config,
    freqtrade_unavailable,
)
from trading.binance.signing import payload_signature  # noqa: E402
from trading.services import market_seed  # noqa: E402

BOT_SYMBOLS = {"BTCUSDT": "0.010", "ETHUSDT": "0.200"}


def database_prepare(bots: int) -> list[tuple[str, str]]:
    """A fresh market with half an hour of candles, and one trader with a trading key per bot
    (the recording bot's first); returns the (key, secret) pairs."""
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    market_seed()
    candle_history_seed()
    keys = []
    for number in range(bots + 1):
        user = user_create(username=f"bench-bot-{number}", password="pw-0123456789")
        new = api_key_create(user=user, name="bench", permission="TRADING")
        keys.append((new.api_key.key, new.secret))
    return keys


def record(site: Site, key: tuple[str, str], minutes: float, folder: Path) -> dict:
    """Run one freqtrade for ``minutes``; return its steady requests per minute by (method,
    path), each with a query it sent (the first minute, its start-up, is left out)."""
    if reason := freqtrade_unavailable():
        raise SystemExit(reason)
    folder.mkdir(parents=True, exist_ok=True)
    config = freqtrade_config(site_url=site.url, key=key[0], secret=key[1], margin_mode="isolated")
    (folder / "config.json").write_text(json.dumps(config))
    (folder / "user_data").mkdir(exist_ok=True)
    with (folder / "freqtrade.out").open("wb") as output:
        bot = subprocess.Popen(
            [
                *(FREQTRADE, "trade", "--config", folder / "config.json"),
                *("--strategy", "AlternatingMinute", "--strategy-path", STRATEGIES_DIR),
                *("--userdir", folder / "user_data"),
                *("--db-url", f"sqlite:///{folder / 'trades.sqlite'}"),
            ],
            cwd=folder,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    time.sleep(60)
    start_count = len(site.access_log())
    time.sleep(max(minutes - 1, 1) * 60)
    steady = site.access_log()[start_count:]
    os.killpg(bot.pid, signal.SIGINT)
    bot.wait(timeout=60)
    per_minute = Counter((method, target.split("?")[0]) for method, target, *_ in steady)
    samples = {(method, target.split("?")[0]): target for method, target, *_ in steady}
    span = max(minutes - 1, 1)
    refused = [row[:3] for row in steady if row[2] >= 400]
    return {
        "rates": {endpoint: count / span for endpoint, count in per_minute.items()},
        "samples": samples,
        "refused": refused,
    }


def signed_query(params: dict, secret: str) -> str:
    payload = urllib.parse.urlencode({**params, "timestamp": int(time.time() * 1000)})
    return f"{payload}&signature={payload_signature(secret, payload)}"


class SimulatedBot:
    """One bot's request mix at its rate, each request signed afresh with its own key."""

    def __init__(self, site_url: str, key: tuple[str, str], mix: dict, latencies: list):
        self.url, (self.key, self.secret) = site_url, key
        self.mix, self.latencies = mix, latencies
        self.session = requests.Session()
        self.session.headers["X-MBX-APIKEY"] = self.key
        self.holding: dict[str, bool] = dict.fromkeys(BOT_SYMBOLS, False)

    def request(self, method: str, path: str, sample: str) -> None:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(sample).query)
        params = {name: values[0] for name, values in query.items()}
        signed = "signature" in params
        params.pop("timestamp", None)
        params.pop("signature", None)
        if method == "POST":
            params = self.post_params(path)
            signed = True
        payload = signed_query(params, self.secret) if signed else urllib.parse.urlencode(params)
        started = time.perf_counter()
        if method == "POST":
            answer = self.session.post(
                f"{self.url}{path}",
                data=payload,
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        else:
            answer = self.session.request(method, f"{self.url}{path}?{payload}")
        self.latencies.append(((method, path), time.perf_counter() - started, answer.status_code))

    def post_params(self, path: str) -> dict:
        symbol = random.choice(list(BOT_SYMBOLS))
        if path.endswith("/leverage"):
            return {"symbol": symbol, "leverage": 3}
        if path.endswith("/marginType"):
            return {"symbol": symbol, "marginType": "ISOLATED"}
        closing = self.holding[symbol]
        self.holding[symbol] = not closing
        order = {"symbol": symbol, "type": "MARKET", "quantity": BOT_SYMBOLS[symbol]}
        return (
            {**order, "side": "SELL", "reduceOnly": "true"} if closing else {**order, "side": "BUY"}
        )

    def run(self, seconds: float) -> None:
        """Open loop: each endpoint's requests at exponential intervals of its mean rate."""
        end = time.monotonic() + seconds
        events = []
        for (method, path), per_minute in self.mix["rates"].items():
            moment = time.monotonic() + random.expovariate(per_minute / 60)
            while moment < end:
                events.append((moment, method, path))
                moment += random.expovariate(per_minute / 60)
        for moment, method, path in sorted(events):
            time.sleep(max(0.0, moment - time.monotonic()))
            try:
                self.request(method, path, self.mix["samples"][(method, path)])
            except requests.RequestException:
                self.latencies.append(((method, path), float("inf"), 0))


def load_level(site: Site, keys: list, mix: dict, bots: int, seconds: float) -> dict:
    latencies: list = []
    floor: list[float] = []
    stop = threading.Event()

    def probe():
        session = requests.Session()
        while not stop.is_set():
            started = time.perf_counter()
            session.get(f"{site.url}/fapi/v1/ping")
            floor.append(time.perf_counter() - started)
            stop.wait(0.2)

    simulated = [SimulatedBot(site.url, keys[i], mix, latencies) for i in range(bots)]
    threads = [threading.Thread(target=bot.run, args=(seconds,)) for bot in simulated]
    threads.append(threading.Thread(target=probe))
    served_before = len(site.access_log())
    cpu_before, machine_before = site.cpu_seconds(), machine_cpu_seconds()
    wall_before = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads[:-1]:
        thread.join()
    # the level lasts its full length even with no bots (the idle site) or early finishers
    time.sleep(max(0.0, wall_before + seconds - time.monotonic()))
    stop.set()
    threads[-1].join()
    wall = time.monotonic() - wall_before
    cpu = (site.cpu_seconds() - cpu_before) / wall
    machine = (machine_cpu_seconds() - machine_before) / wall
    times = [elapsed for _, elapsed, _ in latencies]
    served = site.access_log()[served_before:]
    server_times = [millis for _, target, _, millis in served if target != "/fapi/v1/ping"]
    return {
        "bots": bots,
        "requests_per_second": len(latencies) / seconds,
        "p50_ms": percentile(times, 0.5) * 1000,
        "p99_ms": percentile(times, 0.99) * 1000,
        "server_p50_ms": percentile(server_times, 0.5),
        "server_p99_ms": percentile(server_times, 0.99),
        "machine_cpu_percent": 100 * machine / os.cpu_count(),
        "floor_p50_ms": percentile(floor, 0.5) * 1000,
        "floor_p99_ms": percentile(floor, 0.99) * 1000,
        "cpu_percent": 100 * cpu / os.cpu_count(),
        "errors": sum(1 for _, _, status in latencies if status >= 500 or status == 0),
        "by_endpoint": {
            endpoint: (percentile(group, 0.5) * 1000, percentile(group, 0.99) * 1000)
            for endpoint in {endpoint for endpoint, _, _ in latencies}
            if (group := [t for e, t, _ in latencies if e == endpoint])
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--record-minutes", type=float, default=3)
    parser.add_argument(
        "--bots", default="0,1,10,25,50", help="simulated bots, one level each (0: the idle site)"
    )
    parser.add_argument("--seconds", type=float, default=60, help="length of each level")
    parser.add_argument("--p99-ms", type=float, default=250)
    parser.add_argument("--cpu-percent", type=float, default=80)
    parser.add_argument("--workdir", type=Path, default=REPO_DIR / "var" / "bench-freqtrade")
    arguments = parser.parse_args()
    levels = [int(level) for level in arguments.bots.split(",")]

    keys = database_prepare(max(levels))
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    site = Site(arguments.workdir / "site.log")
    try:
        mix = record(site, keys[0], arguments.record_minutes, arguments.workdir / "freqtrade")
        total = sum(mix["rates"].values())
        print(f"One freqtrade bot (live futures, 2 pairs, 1m timeframe): {total:.0f} requests/min")
        for (method, path), rate in sorted(mix["rates"].items(), key=lambda item: -item[1]):
            print(f"  {rate:7.1f}/min  {method:6} {path}")
        if mix["refused"]:
            print(f"  refused: {Counter(mix['refused']).most_common()}")
        print(
            "\nLatency in ms: as the bots see it (client), as gunicorn timed it (server), and the"
            "\nfloor (GET /fapi/v1/ping, client); CPU as a share of all cores: the site's"
            "\nprocesses (web, worker, beat) and the whole machine (PostgreSQL, this generator)."
            f"\n{'bots':>5} {'req/s':>6} {'client':>15} {'server':>15} {'ping':>15}"
            f" {'site CPU':>9} {'machine':>8} {'5xx':>4}"
            f"\n{'':>12} {'p50':>7} {'p99':>7} {'p50':>7} {'p99':>7} {'p50':>7} {'p99':>7}"
        )
        results = []
        for bots in levels:
            result = load_level(site, keys[1:], mix, bots, arguments.seconds)
            results.append(result)
            figures = (
                result[name]
                for name in (
                    *("p50_ms", "p99_ms", "server_p50_ms", "server_p99_ms"),
                    *("floor_p50_ms", "floor_p99_ms"),
                )
            )
            print(
                f"{bots:>5} {result['requests_per_second']:>6.1f} "
                + " ".join(f"{figure:>7.1f}" for figure in figures)
                + f" {result['cpu_percent']:>8.0f}% {result['machine_cpu_percent']:>7.0f}%"
                f" {result['errors']:>4}",
                flush=True,
            )
        slowest = max(results, key=lambda result: result["bots"])["by_endpoint"]
        print(f"\nAt {max(levels)} bots, by endpoint (p50 / p99 ms):")
        for (method, path), (p50, p99) in sorted(slowest.items(), key=lambda item: -item[1][1]):
            print(f"  {method:6} {path:28} {p50:7.1f} {p99:8.1f}")
        carried = [
            result
            for result in results
            if result["p99_ms"] < arguments.p99_ms
            and result["cpu_percent"] < arguments.cpu_percent
            and not result["errors"]
        ]
        criterion = (
            f"p99 < {arguments.p99_ms:g} ms, server CPU < {arguments.cpu_percent:g} % of "
            f"{os.cpu_count()} cores, no 5xx"
        )
        if not carried:
            print(f"\nNo level measured met the criterion ({criterion}).")
            return
        largest = max(carried, key=lambda result: result["bots"])
        idle = results[0]["cpu_percent"] if results[0]["bots"] == 0 else 0.0
        # at least 0.01 %: on a noisy machine the difference can come out at zero
        cpu_per_bot = max((largest["cpu_percent"] - idle) / largest["bots"], 0.01)
        print(
            f"\nCarried ({criterion}): {largest['bots']} bots measured. Beyond the idle site's "
            f"{idle:.0f} % (price ticks, sweeps), a bot costs {cpu_per_bot:.2f} % CPU: the CPU "
            f"limit is reached at about {(arguments.cpu_percent - idle) / cpu_per_bot:.0f} bots."
        )
    finally:
        site.stop()


if __name__ == "__main__":
    main()
