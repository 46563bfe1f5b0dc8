"""The trade page's socket, against marginsite served as `make run` serves it (gunicorn's uvicorn
workers, tests/served.py), on both channel layers: Redis (production) and PostgreSQL's
LISTEN/NOTIFY (the embedded default). The test process changes money through the services, as
the Celery worker and the other web requests do, and reads what a stock WebSocket client
receives."""

import json
import time
from decimal import Decimal

import pytest
from django.test import Client
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from tests.builders import market_order
from trading.models import MarkPrice, Notification, Position, PriceCandle, Wallet
from trading.services import mark_price_set, prices_tick, sweep_run
from trading.templatetags.figures import usdt

pytestmark = pytest.mark.redis

PUSH_SECONDS = 1.0


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    csrf_secret = "abcdefghijklmnopqrstuvwxyz012345"
    return f"sessionid={client.cookies['sessionid'].value}; csrftoken={csrf_secret}"


def open_socket(site, symbol: str, cookie: str | None = None, origin: str | None = None):
    headers = {"Origin": origin or site.url}
    if cookie:
        headers["Cookie"] = cookie
    return connect(
        site.url.replace("http://", "ws://") + f"/live/trade/{symbol}/",
        additional_headers=headers,
        open_timeout=10,
    )


def next_message(socket, seconds: float = PUSH_SECONDS) -> dict:
    return json.loads(socket.recv(timeout=seconds))


def test_a_signed_out_page_is_closed_4401(site, market):
    with open_socket(site, "BTCUSDT") as socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=5)
    assert closed.value.rcvd.code == 4401


def test_an_unknown_symbol_is_closed_4404(site, make_trader):
    socket = open_socket(site, "NOPEUSDT", session_cookie(make_trader()))
    with socket, pytest.raises(ConnectionClosed) as closed:
        socket.recv(timeout=5)
    assert closed.value.rcvd.code == 4404


def test_another_origin_is_refused(site, make_trader):
    with pytest.raises(InvalidStatus) as refused:
        open_socket(site, "BTCUSDT", session_cookie(make_trader()), origin="http://evil.example")
    assert refused.value.response.status_code == 403


def test_the_first_message_is_the_whole_page(site, make_trader, market):
    trader = make_trader()
    with open_socket(site, "BTCUSDT", session_cookie(trader)) as socket:
        snapshot = next_message(socket, seconds=5)
    assert snapshot["type"] == "snapshot"
    assert snapshot["mark"] == "60000.00000000"
    assert set(snapshot["panels"]) == {"account", "book", "positions", "orders", "fills", "banners"}
    assert '<dd data-figure="wallet">10,000.00 USDT</dd>' in snapshot["panels"]["account"]
    assert "No fills on BTCUSDT yet." in snapshot["panels"]["fills"]
    assert snapshot["held"] == []


def test_an_order_is_pushed_within_a_second(site, make_trader, market):
    trader = make_trader()
    with open_socket(site, "BTCUSDT", session_cookie(trader)) as socket:
        next_message(socket, seconds=5)
        market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
        pushed = time.monotonic()
        snapshot = next_message(socket)
        assert time.monotonic() - pushed < PUSH_SECONDS
    position = Position.objects.get(user=trader)
    assert snapshot["type"] == "snapshot"
    assert snapshot["held"] == ["BTCUSDT"]
    assert f'data-position="{position.pk}"' in snapshot["panels"]["positions"]
    assert f'data-fill="{position.fills.get().pk}"' in snapshot["panels"]["fills"]
    assert {line["title"] for line in snapshot["lines"]} == {
        "Isolated entry",
        "Isolated liquidation",
    }


def test_a_tick_of_a_held_symbol_pushes_the_holdings(site, make_trader, market):
    trader = make_trader()
    market_order(trader, "BUY", "0.1", margin_mode="CROSS")
    position = Position.objects.get(user=trader)
    with open_socket(site, "ETHUSDT", session_cookie(trader)) as socket:
        first = next_message(socket, seconds=5)
        assert first["held"] == ["BTCUSDT"]
        mark_price_set(symbol="BTCUSDT", price=Decimal("61000"))
        message = next_message(socket)
        with pytest.raises(TimeoutError):  # no market message: the page shows ETHUSDT
            socket.recv(timeout=0.5)
    upnl = (Decimal("61000") - position.entry_price) * position.quantity
    assert message["type"] == "holdings"
    assert set(message["panels"]) == {"account", "positions", "banners"}
    # the account panel moved by the BTC position's uPnL, though the page shows ETHUSDT
    equity = Wallet.objects.get(user=trader).balance + upnl
    assert f'<dd data-figure="equity">{usdt(equity)} USDT</dd>' in message["panels"]["account"]


def test_a_tick_of_the_pages_symbol_pushes_the_market(site, make_trader, market):
    with open_socket(site, "ETHUSDT", session_cookie(make_trader())) as socket:
        next_message(socket, seconds=5)
        mark_price_set(symbol="ETHUSDT", price=Decimal("3012.5"))
        message = next_message(socket)
    assert message["type"] == "market"
    assert message["mark"] == "3012.50000000"
    assert "3,012.50" in message["panels"]["book"]


def test_a_feed_tick_pushes_the_mark_and_its_candle(site, make_trader, market):
    with open_socket(site, "ETHUSDT", session_cookie(make_trader())) as socket:
        next_message(socket, seconds=5)
        assert "ETHUSDT" in prices_tick()
        message = next_message(socket)
    candle = PriceCandle.objects.filter(instrument__symbol="ETHUSDT").latest("opened_at")
    assert message["mark"] == str(MarkPrice.objects.get(instrument__symbol="ETHUSDT").price)
    assert message["candles"][-1] == {
        "time": int(candle.opened_at.timestamp()),
        "open": str(candle.open),
        "high": str(candle.high),
        "low": str(candle.low),
        "close": str(candle.close),
    }


def test_a_tick_of_another_symbol_sends_nothing(site, make_trader, market):
    with open_socket(site, "ETHUSDT", session_cookie(make_trader())) as socket:
        next_message(socket, seconds=5)
        mark_price_set(symbol="SOLUSDT", price=Decimal("151"))
        with pytest.raises(TimeoutError):
            socket.recv(timeout=PUSH_SECONDS)


def test_a_liquidation_notice_is_pushed(site, make_trader, market):
    trader = make_trader()
    market_order(trader, "BUY", "0.1", margin_mode="ISOLATED")
    with open_socket(site, "BTCUSDT", session_cookie(trader)) as socket:
        next_message(socket, seconds=5)
        mark_price_set(symbol="BTCUSDT", price=Decimal("50000"))
        report = sweep_run()
        assert Position.objects.get(user=trader).status == Position.Status.LIQUIDATED, report
        snapshot = next_message(socket)
        while "liquidation-banner" not in snapshot.get("panels", {}).get("banners", ""):
            snapshot = next_message(socket)
    notice = Notification.objects.get(user=trader, kind=Notification.Kind.LIQUIDATION)
    assert notice.message.split(" ")[0] in snapshot["panels"]["banners"]
    assert Position.objects.get(user=trader).status == Position.Status.LIQUIDATED
    assert "data-position=" not in snapshot["panels"]["positions"]


def test_other_traders_changes_are_not_pushed(site, make_trader, market):
    watcher, other = make_trader(), make_trader()
    with open_socket(site, "BTCUSDT", session_cookie(watcher)) as socket:
        next_message(socket, seconds=5)
        market_order(other, "BUY", "1", symbol="SOLUSDT", margin_mode="CROSS")
        with pytest.raises(TimeoutError):
            socket.recv(timeout=PUSH_SECONDS)
