"""Fixtures for the price feeds: ``binance``, a local stand-in for Binance USD-M's public API
(http.server on 127.0.0.1, in a thread) that serves a recorded premiumIndex answer.
PRICE_LIVE_URL points at it, so no test reaches the internet."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

RECORDED_PREMIUM_INDEX = (Path(__file__).parent / "recorded" / "premium_index.json").read_bytes()


class BinanceStandIn:
    """What the server answers (``status``, ``body``) and the paths it was asked for."""

    def __init__(self):
        self.status = 200
        self.body = RECORDED_PREMIUM_INDEX
        self.paths: list[str] = []
        self.url = ""


@pytest.fixture
def binance(settings):
    stand_in = BinanceStandIn()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            stand_in.paths.append(self.path)
            self.send_response(stand_in.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(stand_in.body)))
            self.end_headers()
            self.wfile.write(stand_in.body)

        def log_message(self, *args):  # keep the test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    settings.PRICE_LIVE_URL = stand_in.url
    yield stand_in
    server.shutdown()
    server.server_close()
    thread.join()
