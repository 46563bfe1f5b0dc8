"""Binance's WebSocket streams: the stock ccxt pro ``binanceusdm`` (ccxt 4.5.90) watching marginsite
served as `make run` serves it (tests/served.py), on both channel layers, with only its URLs
pointed at the site; the listen key's REST endpoints; the streams' rules (another user's key,
an unknown key, margin calls), read with a plain WebSocket client; and the events' builders.

Seeded market: BTCUSDT mark 60,000 on a flat book (every level 1,000,000 BTC, no spread: a
market order fills at the mark), taker fee 0.05 %; a trader has 10,000 USDT.
"""

import asyncio
import json
import time
from decimal import Decimal

import ccxt.pro
import pytest
from django.db import connection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from accounts.services import api_key_create, api_key_revoke
from tests.clients import BinanceClient, marginsite_urls
from trading.binance.mapping import ms
from trading.binance.streams import events
from trading.binance.streams.consumers import Stream, stream_parse
from trading.models import Fill, ListenKey, Order
from trading.services import mark_price_set, order_cancel, order_place

pytestmark = pytest.mark.redis

BTC = "BTC/USDT:USDT"
SECONDS = 10


@pytest.fixture
def redis_site(marginsite):
    return marginsite(("web",))


def pro_client(site_url: str, key: str, secret: str) -> ccxt.pro.binanceusdm:
    """What docs/bots.md tells a bot author to write: the REST URLs, and the streams' base."""
    exchange = ccxt.pro.binanceusdm(
        {"apiKey": key, "secret": secret, "options": {"fetchCurrencies": False}}
    )
    exchange.urls["api"] = marginsite_urls(site_url)
    return exchange


async def in_thread(function, *args, **kwargs):
    """A service call from the test's event loop (Django's ORM is sync), on a connection of its
    own that is closed after it."""

    def call():
        try:
            return function(*args, **kwargs)
        finally:
            connection.close()

    return await asyncio.to_thread(call)


async def private_socket_open(exchange) -> None:
    """Until ccxt's user data socket is open (events before that are lost, as on Binance)."""
    deadline = time.monotonic() + SECONDS
    while time.monotonic() < deadline:
        for url, client in exchange.clients.items():
            if "/private/ws" in url and client.connected.done():
                return
        await asyncio.sleep(0.05)
    raise AssertionError("the user data stream did not open")


async def until(watch, done, seconds: float = SECONDS):
    """Call ``watch`` until ``done(result)``; the last result."""
    deadline = time.monotonic() + seconds
    while True:
        result = await asyncio.wait_for(watch(), timeout=max(0.1, deadline - time.monotonic()))
        if done(result):
            return result


def test_ccxt_pro_watches_orders_trades_positions_and_balance(site, trader):
    new = api_key_create(user=trader, name="pro", permission="TRADING")

    async def scenario():
        exchange = pro_client(site.url, new.api_key.key, new.secret)
        try:
            await exchange.load_markets()
            await exchange.set_margin_mode("isolated", BTC)
            assert await exchange.watch_positions([BTC]) == []  # the REST snapshot: none
            orders = asyncio.create_task(
                until(lambda: exchange.watch_orders(BTC), lambda o: o[-1]["status"] == "closed")
            )
            trades = asyncio.create_task(exchange.watch_my_trades(BTC))
            balance = asyncio.create_task(exchange.watch_balance())
            positions = asyncio.create_task(exchange.watch_positions([BTC]))
            await private_socket_open(exchange)
            placed = await exchange.create_order(BTC, "market", "buy", 0.1)
            return placed, await orders, await trades, await balance, await positions
        finally:
            await exchange.close()

    placed, orders, trades, balance, positions = asyncio.run(scenario())
    order = Order.objects.get(user=trader)
    fill = Fill.objects.get(order=order)
    assert placed["id"] == str(order.pk)
    last = orders[-1]
    assert (last["id"], last["status"], last["filled"], last["average"], last["side"]) == (
        str(order.pk),
        "closed",
        0.1,
        60000.0,
        "buy",
    )
    (trade,) = trades
    assert (trade["id"], trade["order"], trade["price"], trade["amount"], trade["side"]) == (
        str(fill.pk),
        str(order.pk),
        60000.0,
        0.1,
        "buy",
    )
    assert trade["fee"] == {"cost": 3.0, "currency": "USDT"}
    assert balance["USDT"]["total"] == 9997.0  # wallet + isolated margin, less the 3 USDT fee
    (position,) = positions
    assert (position["symbol"], position["contracts"], position["side"]) == (BTC, 0.1, "long")
    assert (position["marginMode"], position["entryPrice"]) == ("isolated", 60000.0)


def test_ccxt_pro_watches_the_market(site, market):
    async def scenario():
        exchange = pro_client(site.url, "", "")
        try:
            await exchange.load_markets()
            first = await exchange.watch_ticker(BTC)
            book = await exchange.watch_order_book(BTC)
            snapshot = (book["bids"][0], book["asks"][0], book["nonce"])
            mark = await exchange.watch_mark_price(BTC)
            candles = [list(candle) for candle in await exchange.watch_ohlcv(BTC, "1m")]
            # a watch returns the next update: both wait before the tick
            next_ticker = asyncio.create_task(exchange.watch_ticker(BTC))
            next_book = asyncio.create_task(exchange.watch_order_book(BTC))
            await asyncio.sleep(0.2)
            await in_thread(mark_price_set, symbol="BTCUSDT", price=Decimal("60012.3"))
            ticked = await asyncio.wait_for(next_ticker, SECONDS)
            moved = await asyncio.wait_for(next_book, SECONDS)
            rest = await exchange.fetch_order_book(BTC)
            full = await exchange.watch_ticker(BTC, {"name": "ticker"})
            rest_ticker = await exchange.fetch_ticker(BTC)
            bids_asks = await exchange.watch_bids_asks([BTC])
            return (
                first,
                snapshot,
                mark,
                candles,
                ticked,
                moved,
                rest,
                (full, rest_ticker),
                bids_asks,
            )
        finally:
            await exchange.close()

    first, snapshot, mark, candles, ticked, moved, rest, full, bids_asks = asyncio.run(scenario())
    assert (first["symbol"], first["last"]) == (BTC, 60000.0)
    assert snapshot[:2] == ([60000.0, 1000000.0], [60000.0, 1000000.0])
    assert mark["markPrice"] == 60000.0
    assert candles[-1][4] == 60000.0
    assert ticked["last"] == 60012.3
    assert (moved["bids"][0], moved["asks"][0]) == (rest["bids"][0], rest["asks"][0])
    assert (moved["bids"][0][0], moved["asks"][0][0]) == (60012.3, 60012.3)
    assert moved["nonce"] == rest["nonce"]
    full, rest_ticker = full
    figures = ("last", "open", "high", "low", "change", "percentage")
    assert [full[name] for name in figures] == [rest_ticker[name] for name in figures]
    assert full["last"] == 60012.3
    assert (bids_asks[BTC]["bid"], bids_asks[BTC]["ask"]) == (60012.3, 60012.3)


# --- the rules, with a plain WebSocket client ---------------------------------------------


def listen_key(user, permission="READ_ONLY") -> str:
    new = api_key_create(user=user, name="stream", permission=permission)
    answer = BinanceClient(new.api_key.key, new.secret).client.post(
        "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": new.api_key.key}
    )
    return answer.json()["listenKey"]


def user_stream(site, key: str):
    url = site.url.replace("http://", "ws://") + f"/private/ws?listenKey={key}"
    return connect(url, open_timeout=SECONDS)


def received(socket, seconds: float = 2.0) -> list[dict]:
    """Every event that arrives within ``seconds`` of the last one (or until the socket
    closes)."""
    found = []
    while True:
        try:
            found.append(json.loads(socket.recv(timeout=seconds)))
        except (TimeoutError, ConnectionClosed):
            return found


def test_a_stream_tells_only_its_own_users_events(redis_site, make_trader, market):
    alice, bob = make_trader("alice"), make_trader("bob")
    with user_stream(redis_site, listen_key(alice)) as socket:
        order_place(user=bob, symbol="BTCUSDT", side="BUY", quantity="0.1")
        assert received(socket, seconds=1.5) == []
        order_place(user=alice, symbol="BTCUSDT", side="SELL", quantity="0.2")
        told = received(socket)
    order = Order.objects.get(user=alice)
    assert [(e["e"], e.get("o", {}).get("x")) for e in told] == [
        ("ORDER_TRADE_UPDATE", "NEW"),
        ("ORDER_TRADE_UPDATE", "TRADE"),
        ("ACCOUNT_UPDATE", None),
    ]
    assert {e["o"]["i"] for e in told[:2]} == {order.pk}
    assert told[2]["a"]["P"] == [
        {
            "s": "BTCUSDT",
            "pa": "-0.20000000",
            "ep": "60000.00000000",
            "bep": "60000.00000000",
            "cr": "0",
            "up": "0.00000000",
            "mt": "cross",
            "iw": "0.00000000",
            "ps": "BOTH",
            "ma": "USDT",
        }
    ]
    assert told[2]["a"]["B"] == [
        {"a": "USDT", "wb": "9994.00000000", "cw": "9994.00000000", "bc": "0"}
    ]


def test_a_canceled_stop_is_an_algo_update(redis_site, trader, market):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    with user_stream(redis_site, listen_key(trader)) as socket:
        stop = order_place(
            user=trader,
            symbol="BTCUSDT",
            side="SELL",
            quantity="0.1",
            order_type="STOP_MARKET",
            stop_price="55000",
            reduce_only=True,
        )
        placed = received(socket)
        order_cancel(user=trader, order_id=stop.pk)
        canceled = received(socket)
    assert [(e["e"], e["o"]["X"], e["o"]["aid"], e["o"]["tp"]) for e in placed + canceled] == [
        ("ALGO_UPDATE", "NEW", stop.pk, "55000.00000000"),
        ("ALGO_UPDATE", "CANCELED", stop.pk, "55000.00000000"),
    ]


def test_a_margin_call_is_sent_once_per_crossing(redis_site, trader, market):
    order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", margin_mode="ISOLATED")
    with user_stream(redis_site, listen_key(trader)) as socket:
        mark_price_set(symbol="BTCUSDT", price=Decimal("59000"))  # ratio about 8 %
        assert received(socket, seconds=1.5) == []
        mark_price_set(symbol="BTCUSDT", price=Decimal("57260"))  # ratio about 88 %
        first = received(socket)
        mark_price_set(symbol="BTCUSDT", price=Decimal("57250"))  # still past 80 %
        again = received(socket, seconds=1.5)
    assert [e["e"] for e in first] == ["MARGIN_CALL"]
    assert first[0]["p"] == [
        {
            "s": "BTCUSDT",
            "ps": "BOTH",
            "pa": "0.10000000",
            "mt": "ISOLATED",
            "iw": "300.00000000",
            "mp": "57260.00000000",
            "up": "-274.00000000",
            "mm": first[0]["p"][0]["mm"],
        }
    ]
    assert "cw" not in first[0]
    assert again == []


def test_an_unknown_or_closed_listen_key_is_refused(redis_site, trader, market):
    with pytest.raises(InvalidStatus) as refused:
        user_stream(redis_site, "no-such-key")
    assert refused.value.response.status_code == 403
    key = listen_key(trader)
    ListenKey.objects.filter(key=key).delete()
    with pytest.raises(InvalidStatus):
        user_stream(redis_site, key)


def test_a_revoked_api_key_ends_its_stream(redis_site, trader, market):
    key = listen_key(trader)
    with user_stream(redis_site, key) as socket:
        api_key_revoke(user=trader, key_id=ListenKey.objects.get(key=key).api_key_id)
        order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
        told = received(socket)
    assert [e["e"] for e in told] == ["listenKeyExpired"]
    assert told[0]["listenKey"] == key


def test_market_streams_answer_subscriptions_as_binance(redis_site, market):
    url = redis_site.url.replace("http://", "ws://") + "/market/ws/7"
    with connect(url, open_timeout=SECONDS) as socket:
        socket.send(json.dumps({"method": "SUBSCRIBE", "params": ["nopeusdt@ticker"], "id": 1}))
        assert json.loads(socket.recv(timeout=5)) == {
            "error": {"code": 2, "msg": "Invalid request: unknown stream 'nopeusdt@ticker'"},
            "id": 1,
        }
        socket.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 2}))
        assert json.loads(socket.recv(timeout=5)) == {"result": None, "id": 2}
        book = json.loads(socket.recv(timeout=5))
        socket.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
        assert json.loads(socket.recv(timeout=5)) == {"result": ["btcusdt@bookTicker"], "id": 3}
    assert (book["e"], book["s"], book["b"], book["a"]) == (
        "bookTicker",
        "BTCUSDT",
        "60000.00000000",
        "60000.00000000",
    )


# --- the listen key ------------------------------------------------------------------------


def test_listen_key_post_put_delete(trader):
    new = api_key_create(user=trader, name="stream", permission="READ_ONLY")
    client = BinanceClient(new.api_key.key, new.secret).client
    headers = {"X-MBX-APIKEY": new.api_key.key}
    opened = client.post("/fapi/v1/listenKey", headers=headers).json()["listenKey"]
    row = ListenKey.objects.get()
    assert (row.key, row.api_key_id, len(opened)) == (opened, new.api_key.pk, 64)
    first_expiry = row.expires_at
    assert client.post("/fapi/v1/listenKey", headers=headers).json() == {"listenKey": opened}
    assert client.put("/fapi/v1/listenKey", headers=headers).json() == {"listenKey": opened}
    assert ListenKey.objects.get().expires_at > first_expiry
    assert client.delete("/fapi/v1/listenKey", headers=headers).json() == {}
    assert not ListenKey.objects.exists()
    refused = client.put("/fapi/v1/listenKey", headers=headers)
    assert (refused.status_code, refused.json()) == (
        400,
        {"code": -1125, "msg": "This listenKey does not exist."},
    )


def test_an_expired_listen_key_is_replaced(trader):
    new = api_key_create(user=trader, name="stream", permission="TRADING")
    client = BinanceClient(new.api_key.key, new.secret).client
    headers = {"X-MBX-APIKEY": new.api_key.key}
    old = client.post("/fapi/v1/listenKey", headers=headers).json()["listenKey"]
    ListenKey.objects.update(expires_at="2020-01-01T00:00Z")
    assert client.put("/fapi/v1/listenKey", headers=headers).json()["code"] == -1125
    fresh = client.post("/fapi/v1/listenKey", headers=headers).json()["listenKey"]
    assert fresh != old
    assert ListenKey.objects.get().key == fresh


def test_a_listen_key_needs_a_live_api_key(trader, unchanged):
    with unchanged():
        missing = BinanceClient("", "").client.post("/fapi/v1/listenKey")
        unknown = BinanceClient("", "").client.post(
            "/fapi/v1/listenKey", headers={"X-MBX-APIKEY": "nope"}
        )
    assert (missing.status_code, missing.json()["code"]) == (401, -2014)
    assert (unknown.status_code, unknown.json()["code"]) == (401, -2015)


# --- the events ----------------------------------------------------------------------------


def test_a_filled_market_order_is_new_then_trade(trader, market):
    order = order_place(user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1")
    fill = order.fills.get()
    told, seen = events.order_events(order, [fill], seen=None, told_fills=set(), now_ms=7)
    new, trade = told
    assert (new["o"]["x"], new["o"]["X"], new["o"]["z"], new["T"]) == (
        "NEW",
        "NEW",
        "0.00000000",
        ms(order.created_at),
    )
    assert {
        key: trade["o"][key] for key in ("x", "X", "i", "l", "z", "L", "ap", "n", "N", "t")
    } == {
        "x": "TRADE",
        "X": "FILLED",
        "i": order.pk,
        "l": "0.10000000",
        "z": "0.10000000",
        "L": "60000.00000000",
        "ap": "60000.00000000",
        "n": "3.00000000",
        "N": "USDT",
        "t": fill.pk,
    }
    assert (trade["o"]["o"], trade["o"]["ps"], trade["o"]["m"], trade["E"]) == (
        "MARKET",
        "BOTH",
        False,
        7,
    )
    again, _ = events.order_events(order, [fill], seen=seen, told_fills={fill.pk}, now_ms=8)
    assert again == []


def test_an_edited_resting_order_is_an_amendment(trader, market):
    order = order_place(
        user=trader, symbol="BTCUSDT", side="BUY", quantity="0.1", order_type="LIMIT", price="59000"
    )
    seen = events.order_seen(order)
    order.price = Decimal("58000")
    (amended,), _ = events.order_events(order, [], seen=seen, told_fills=set(), now_ms=1)
    assert (amended["o"]["x"], amended["o"]["X"], amended["o"]["p"]) == (
        "AMENDMENT",
        "NEW",
        "58000.00000000",
    )


def test_account_update_tells_what_trading_changed_not_the_mark():
    position = {"s": "BTCUSDT", "pa": "0.1", "ep": "60000", "up": "0", "mt": "cross", "iw": "0"}
    before = {"B": {"a": "USDT", "wb": "10000"}, "P": {"BTCUSDT": position}}
    ticked = {"B": before["B"], "P": {"BTCUSDT": {**position, "up": "5"}}}
    assert events.account_update(before, ticked, reason="ORDER", now_ms=1) is None
    closed = {"B": {"a": "USDT", "wb": "10005"}, "P": {}}
    update = events.account_update(before, closed, reason="ORDER", now_ms=1)
    assert update["a"]["P"] == [
        {"s": "BTCUSDT", "pa": "0", "ep": "0", "bep": "0", "up": "0", "mt": "cross", "iw": "0"}
    ]
    assert update["a"]["B"] == [{"a": "USDT", "wb": "10005"}]


def test_a_depth_update_sets_new_levels_and_clears_gone_ones():
    before = ({"100.0": "5", "99.9": "5"}, {"100.1": "5"})
    after = ({"100.1": "5", "100.0": "5"}, {"100.2": "5"})
    update = events.depth_update("BTCUSDT", before, after, previous_id=10, update_id=15, now_ms=1)
    assert (update["U"], update["u"], update["pu"]) == (11, 15, 10)
    assert update["b"] == [["100.1", "5"], ["99.9", "0"]]
    assert update["a"] == [["100.2", "5"], ["100.1", "0"]]


def test_stream_names_as_ccxt_pro_sends_them():
    assert stream_parse("btcusdt@miniTicker") == Stream("BTCUSDT", "miniTicker")
    assert stream_parse("btcusdt@depth@100ms") == Stream("BTCUSDT", "depth")
    assert stream_parse("btcusdt@markPrice@1s") == Stream("BTCUSDT", "markPrice")
    assert stream_parse("btcusdt@kline_5m") == Stream("BTCUSDT", "kline", "5m")
    assert stream_parse("btcusdt@kline_7m") is None
    assert stream_parse("btcusdt@aggTrade") is None
    assert stream_parse("!miniTicker@arr") is None
