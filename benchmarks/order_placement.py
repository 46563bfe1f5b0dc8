"""Order placement against the stack's floor: closed-loop clients, in one run, against the site
as `make run` serves it (see docs/operations.md, "Order placement").

    createdb -h 127.0.0.1 -U postgres marginsite_bench_orders
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/marginsite_bench_orders \\
    REDIS_URL=redis://127.0.0.1:6379/8 CELERY_BROKER_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python benchmarks/order_placement.py [--seconds 15]

It migrates that database and REPLACES its users and trading data, then serves it exactly as
`make run` does (honcho and the Procfile: gunicorn with 2 workers, a Celery worker, beat with a
price tick and a sweep every second). At 2 and then 8 clients, each a trader with a key of its
own, it measures, closed loop: GET /healthz (the floor: the stack with no work),
GET /api/v1/account (signed) and POST /api/v1/orders (signed, market orders of 0.002 BTC that
alternate opening a position and closing it), in turns of a fifth of the time each that
alternate between the three, so that the machine's drift in speed weighs on the floor and on the
orders alike. It prints each one's rate, p50 and p99, and its
rate as a share of /healthz's at the same number of clients. First, with one client, it times the
pages' floor: GET /healthz and the signed-in trade page (GET /trade/BTCUSDT/), whose latency
alone is the server's time for them. Then check_ledger. It exits non-zero
if the books do not balance or an order was not filled.
"""

import argparse
import json
import os
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "marginsite.settings")
# each client sends as fast as the site answers, past a key's request budget (1200/min) once
# orders are fast: the site is served with a budget too large to refuse, still counted as ever
os.environ.setdefault("API_THROTTLE_RATE", "1000000/min")

import django  # noqa: E402

django.setup()

from django.test import Client as TestClient  # noqa: E402
from served import Site, percentile, threads_run  # noqa: E402
from trading_load import database_prepare  # noqa: E402

from accounts.models import User  # noqa: E402
from trading.api.authentication import request_signature  # noqa: E402
from trading.selectors import ledger_problems  # noqa: E402

CLIENTS = (2, 8)
SLICES = 5  # turns per measure, alternating between the requests measured together
ORDER = {"symbol": "BTCUSDT", "quantity": "0.002", "margin_mode": "CROSS"}


class Client:
    """One closed-loop client: a request, its answer, the next request."""

    def __init__(self, url: str, key: tuple[str, str], signed_in: str = ""):
        self.url, (self.key, self.secret) = url, key
        self.session = requests.Session()
        if signed_in:  # a session cookie, for the trade page
            self.session.cookies.set("sessionid", signed_in)
        self.opening = True  # the next order opens a position (BUY), else closes it (SELL)
        self.refused = ""  # the first answer that was not a success, to print

    def request(self, kind: str) -> tuple[float, int, str]:
        """One request of ``kind`` (healthz, trade, account, order): (seconds, status, order
        status)."""
        if kind == "healthz":
            method, path, body = "GET", "/healthz", None
        elif kind == "trade":
            method, path, body = "GET", "/trade/BTCUSDT/", None
        elif kind == "account":
            method, path, body = "GET", "/api/v1/account", None
        else:
            method, path = "POST", "/api/v1/orders"
            body = {**ORDER, "side": "BUY" if self.opening else "SELL"}
        raw = b"" if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"}
        if kind not in ("healthz", "trade"):
            timestamp = str(int(time.time() * 1000))
            headers |= {
                "X-API-KEY": self.key,
                "X-API-TIMESTAMP": timestamp,
                "X-API-SIGNATURE": request_signature(
                    self.secret, timestamp=timestamp, method=method, path=path, body=raw
                ),
            }
        started = time.perf_counter()
        response = self.session.request(
            method, self.url + path, data=raw or None, headers=headers, timeout=30
        )
        elapsed = time.perf_counter() - started
        if response.status_code >= 400 and not self.refused:
            self.refused = f"{method} {path}: {response.status_code} {response.text[:200]}"
        filled = ""
        if kind == "order":
            filled = response.json().get("status", "") if response.status_code == 201 else ""
            if filled == "FILLED":
                self.opening = not self.opening
        return elapsed, response.status_code, filled

    def run(self, kind: str, until: float, results: list) -> None:
        while time.monotonic() < until:
            results.append(self.request(kind))


def session_of(username: str) -> str:
    """A session cookie of ``username``, signed in."""
    client = TestClient()
    client.force_login(User.objects.get(username=username))
    return client.cookies["sessionid"].value


def site_ready(url: str) -> None:
    """Wait for /healthz to answer 200: it answers 503 until beat's first heartbeat."""
    deadline = time.monotonic() + 60
    while requests.get(f"{url}/healthz", timeout=5).status_code != 200:
        if time.monotonic() > deadline:
            raise SystemExit("/healthz did not answer 200 within 60 s")
        time.sleep(0.5)


def measure(clients: list[Client], kinds: tuple[str, ...], seconds: float) -> dict:
    """Each of ``kinds`` from every client at once, for ``seconds`` in all, in ``SLICES`` turns
    that alternate between the kinds (the machine's speed drifts, and so weighs on each alike):
    each kind's rate and latency."""
    for client in clients:  # a warm-up request each (connections, the workers' first imports)
        for kind in kinds:
            client.request(kind)
    results: dict = {kind: [] for kind in kinds}
    walls = dict.fromkeys(kinds, 0.0)
    for _ in range(SLICES):
        for kind in kinds:
            until = time.monotonic() + seconds / SLICES
            threads = [
                threading.Thread(target=client.run, args=(kind, until, results[kind]))
                for client in clients
            ]
            walls[kind] += threads_run(threads)
    return {kind: _figures(kind, results[kind], walls[kind]) for kind in kinds}


def _figures(kind: str, results: list, wall: float) -> dict:
    times = [elapsed for elapsed, _, _ in results]
    return {
        "rate": len(results) / wall,
        "p50": percentile(times, 0.5) * 1000,
        "p99": percentile(times, 0.99) * 1000,
        "statuses": Counter(status for _, status, _ in results),
        "unfilled": sum(
            1 for _, status, filled in results if kind == "order" and filled != "FILLED"
        ),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=15, help="per measurement")
    parser.add_argument("--workdir", type=Path, default=REPO_DIR / "var" / "bench-orders")
    arguments = parser.parse_args()

    keys = database_prepare(max(CLIENTS))
    arguments.workdir.mkdir(parents=True, exist_ok=True)
    site = Site(arguments.workdir / "site.log")
    figures, every = {}, []
    try:
        site_ready(site.url)
        page = Client(site.url, keys[0], signed_in=session_of("load-0"))
        for kind, result in measure([page], ("healthz", "trade"), arguments.seconds).items():
            figures[1, kind] = result
        for count in CLIENTS:
            clients = [Client(site.url, key) for key in keys[:count]]
            every += clients
            kinds = ("healthz", "account", "order")
            for kind, result in measure(clients, kinds, arguments.seconds).items():
                figures[count, kind] = result
    finally:
        site.stop()

    names = {
        "healthz": "GET /healthz",
        "trade": "GET /trade/BTCUSDT/",
        "account": "GET /api/v1/account",
        "order": "POST /api/v1/orders",
    }
    print(
        f"closed loop, {arguments.seconds:.0f} s each in {SLICES} alternating slices,"
        " gunicorn with 2 workers (make run)"
    )
    print(
        f"{'clients':>7} {'request':<22} {'rate/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'x healthz':>9}"
    )
    failures = 0
    for (count, kind), result in figures.items():
        floor = figures[count, "healthz"]["rate"]
        print(
            f"{count:>7} {names[kind]:<22} {result['rate']:>8.1f} {result['p50']:>8.1f}"
            f" {result['p99']:>8.1f} {result['rate'] / floor:>9.2f}"
        )
        failures += result["unfilled"] + sum(
            n for status, n in result["statuses"].items() if status >= 400
        )
    problems = ledger_problems()
    print(f"requests refused or orders not filled: {failures}")
    for refused in sorted({client.refused for client in every if client.refused}):
        print(f"  first refusal: {refused}")
    print(f"check_ledger: {problems or 'the books balance'}")
    return 1 if problems or failures else 0


if __name__ == "__main__":
    sys.exit(main())
