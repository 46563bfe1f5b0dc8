"""The site as `make run` serves it (honcho and the Procfile: gunicorn, a Celery worker, beat),
for the benchmarks that load it from outside, and the figures they print."""

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_DIR = Path(__file__).resolve().parent.parent

# The web server's access log line (marginsite/access_log.py) as honcho prints it:
# METHOD TARGET STATUS MICROSECONDS API-KEY
ACCESS_LINE = re.compile(
    r"web\.1\s+\| (GET|POST|PUT|DELETE) (/fapi/\S+) (\d{3}) (\d+) \S+$", re.MULTILINE
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Site:
    """`make run`'s serving part: honcho starts the Procfile (web, worker, beat)."""

    def __init__(self, log_path: Path):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [Path(sys.prefix) / "bin" / "honcho", "start", "--port", str(self.port)],
                cwd=REPO_DIR,
                # unbuffered: the access log reaches honcho's output as requests end
                env={
                    **os.environ,
                    "PATH": f"{Path(sys.prefix) / 'bin'}:{os.environ['PATH']}",
                    "PYTHONUNBUFFERED": "1",
                },
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{self.url}/fapi/v1/ping", timeout=2).ok:
                    return
            except requests.RequestException:
                time.sleep(0.3)
        raise SystemExit(f"marginsite did not start; see {log_path}")

    def cpu_seconds(self) -> float:
        """CPU time used so far by honcho and every process under it (honcho starts each
        Procfile line in a session of its own, so the tree is followed by parent)."""
        parents, ticks = {}, {}
        for stat_file in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat_file.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # after the command: state, ppid, ..., utime (12th), stime (13th)
            pid = int(stat_file.parent.name)
            parents[pid] = int(fields[1])
            ticks[pid] = int(fields[11]) + int(fields[12])
        total = 0
        for pid in ticks:
            ancestor = pid
            while ancestor not in (0, 1, self.process.pid):
                ancestor = parents.get(ancestor, 0)
            if ancestor == self.process.pid:
                total += ticks[pid]
        return total / os.sysconf("SC_CLK_TCK")

    def access_log(self) -> list[tuple[str, str, int, float]]:
        """(method, path?query, status, server milliseconds) of every request so far."""
        found = ACCESS_LINE.findall(self.log_path.read_text(errors="replace"))
        return [
            (method, target, int(status), int(micros) / 1000)
            for method, target, status, micros in found
        ]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGINT)
        self.process.wait(timeout=30)


def machine_cpu_seconds() -> float:
    """CPU time used so far by every process on the machine (PostgreSQL, Redis and this load
    generator included), from /proc/stat."""
    user, nice, system = Path("/proc/stat").read_text().split()[1:4]
    return (int(user) + int(nice) + int(system)) / os.sysconf("SC_CLK_TCK")


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


def threads_run(threads) -> float:
    """Start ``threads``, wait for all of them, and return the wall time they took."""
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.monotonic() - started
