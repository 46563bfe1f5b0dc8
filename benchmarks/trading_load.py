"""Load test: N signed bots trade through the native API while the feed ticks and the sweeps run,
then the books are checked (see docs/operations.md, "Load").

    createdb -h 127.0.0.1 -U postgres marginsite_bench_load
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/marginsite_bench_load \\
    REDIS_URL=redis://127.0.0.1:6379/4 CELERY_BROKER_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python benchmarks/trading_load.py [--clients 8] [--seconds 60]

It migrates that database and REPLACES its users and trading data, then serves it exactly as
`make run` does (honcho and the Procfile: gunicorn with 2 workers, a Celery worker, beat with a
price tick and a sweep every second). Each client is a trader with a key of its own, closed-loop:
it places a market order (either side, either mode), a limit order away from the market that it
then cancels, closes a position, or adds or removes isolated margin, at random, signed as a bot
signs. Afterwards it prints the throughput, the latency (p50, p99) of each action and of all,
the answers by status, and runs check_ledger; no wallet may be below 0. It exits non-zero if
the books do not balance, a wallet is negative or the site answered a 5xx.
"""

import argparse
import json
import os
import random
import sys
import threading
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

import requests

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marginsite.settings")
# 8 clients send past a key's request budget (1200/min) now that requests are fast: the site is
# served with a budget too large to refuse, still counted, so that each action's latency is its own
os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from served import Site, percentile, threads_run  # noqa: E402

from accounts.services import api_key_create, user_create  # noqa: E402
from trading.api.authentication import request_signature  # noqa: E402
from trading.models import Wallet  # noqa: E402
from trading.selectors import ledger_problems  # noqa: E402
from trading.services import market_seed, wallet_deposit  # noqa: E402

SIZES = {"BTCUSDT": ("0.002", "0.010"), "ETHUSDT": ("0.05", "0.20")}


def database_prepare(clients: int) -> list[tuple[str, str]]:
    """A fresh market and one funded trader with a trading key per client."""
    call_command("migrate", verbosity=0)
    call_command("flush", interactive=False, verbosity=0)
    market_seed()
    keys = []
    for number in range(clients):
        user = user_create(username=f"load-{number}", password="pw-0123456789")
        wallet_deposit(user=user, amount=Decimal(90_000))
        new = api_key_create(user=user, name="load", permission="TRADING")
        keys.append((new.api_key.key, new.secret))
    return keys


class Trader:
    """One closed-loop client: an action, its answer, the next action."""

    def __init__(self, url: str, key: tuple[str, str], results: list, seed: int):
        self.url, (self.key, self.secret), self.results = url, key, results
        self.session = requests.Session()
        self.random = random.Random(seed)

    def call(self, action: str, method: str, path: str, body: dict | None = None):
        raw = b"" if body is None else json.dumps(body).encode()
        timestamp = str(int(time.time() * 1000))
        headers = {
            "X-API-KEY": self.key,
            "X-API-TIMESTAMP": timestamp,
            "X-API-SIGNATURE": request_signature(
                self.secret, timestamp=timestamp, method=method, path=path, body=raw
            ),
            "Content-Type": "application/json",
        }
        started = time.perf_counter()
        try:
            response = self.session.request(
                method, self.url + path, data=raw or None, headers=headers, timeout=30
            )
            status = response.status_code
        except requests.RequestException:
            response, status = None, 0
        self.results.append((action, time.perf_counter() - started, status))
        return response.json() if response is not None and status < 300 else None

    def positions(self) -> list[dict]:
        answer = self.call("read positions", "GET", "/api/v1/positions")
        return (answer or {}).get("results", []) if isinstance(answer, dict) else answer or []

    def step(self) -> None:
        symbol = self.random.choice(list(SIZES))
        mode = self.random.choice(["CROSS", "ISOLATED"])
        side = self.random.choice(["BUY", "SELL"])
        quantity = self.random.choice(SIZES[symbol])
        action = self.random.choices(
            ["market", "limit and cancel", "close", "margin"], weights=[5, 2, 2, 1]
        )[0]
        if action == "market":
            self.call("market order", "POST", "/api/v1/orders", {
                "symbol": symbol, "side": side, "quantity": quantity, "margin_mode": mode,
            })  # fmt: skip
        elif action == "limit and cancel":
            mark = self.call("read mark", "GET", f"/api/v1/marks/{symbol}")
            if mark is None:
                return
            away = Decimal(mark["price"]) * (Decimal("0.9") if side == "BUY" else Decimal("1.1"))
            tick = Decimal("0.1") if symbol == "BTCUSDT" else Decimal("0.01")
            order = self.call("limit order", "POST", "/api/v1/orders", {
                "symbol": symbol, "side": side, "quantity": quantity, "margin_mode": mode,
                "order_type": "LIMIT", "price": str((away / tick).to_integral_value() * tick),
            })  # fmt: skip
            if order is not None:
                self.call("cancel", "DELETE", f"/api/v1/orders/{order['id']}")
        elif action == "close":
            if positions := self.positions():
                position = self.random.choice(positions)
                self.call("close", "POST", f"/api/v1/positions/{position['id']}/close")
        else:
            isolated = [p for p in self.positions() if p["margin_mode"] == "ISOLATED"]
            if isolated:
                position = self.random.choice(isolated)
                self.call("isolated margin", "POST", f"/api/v1/positions/{position['id']}/margin", {
                    "change": self.random.choice(["add", "remove"]), "amount": "5",
                })  # fmt: skip

    def run(self, until: float) -> None:
        while time.monotonic() < until:
            self.step()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workdir", type=Path, default=REPO_DIR / "var" / "bench-load")
    arguments = parser.parse_args()

    keys = database_prepare(arguments.clients)
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    site = Site(arguments.workdir / "site.log")
    results: list = []
    try:
        until = time.monotonic() + arguments.seconds
        traders = [Trader(site.url, key, results, seed) for seed, key in enumerate(keys)]
        threads = [threading.Thread(target=trader.run, args=(until,)) for trader in traders]
        wall = threads_run(threads)
    finally:
        site.stop()

    by_action = defaultdict(list)
    for action, elapsed, _ in results:
        by_action[action].append(elapsed)
    statuses = Counter(status for _, _, status in results)
    print(
        f"{arguments.clients} clients for {wall:.0f} s: {len(results)} requests, "
        f"{len(results) / wall:.1f} requests/s"
    )
    print(f"{'action':>16} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}")
    for action, times in sorted(by_action.items()):
        print(
            f"{action:>16} {len(times):>7} {percentile(times, 0.5) * 1000:>8.1f}"
            f" {percentile(times, 0.99) * 1000:>8.1f}"
        )
    every = [elapsed for _, elapsed, _ in results]
    print(
        f"{'all':>16} {len(every):>7} {percentile(every, 0.5) * 1000:>8.1f}"
        f" {percentile(every, 0.99) * 1000:>8.1f}"
    )
    print("answers by status: " + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())))
    problems = ledger_problems()
    negative = Wallet.objects.filter(balance__lt=0).count()
    print(f"check_ledger: {problems or 'the books balance'}")
    print(f"wallets below 0: {negative}")
    server_errors = sum(n for status, n in statuses.items() if status >= 500 or status == 0)
    return 1 if problems or negative or server_errors else 0


if __name__ == "__main__":
    sys.exit(main())
