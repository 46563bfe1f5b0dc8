"""Binance USD-M's WebSocket streams, for ccxt pro's ``binanceusdm`` (and any client of
Binance's raw streams): market streams by SUBSCRIBE, and the user data stream of a listen key.

Like the trade page's socket (trading/live/consumers.py), a stream joins the channel layer's
groups (trading/services/live.py) and, on a note, reads the database again and tells what
changed since it last looked: notes carry no figure, so a lost one delays an event, never makes
a wrong one.

- Market (``/market/ws/<n>``, ``/public/ws/<n>``, ``/ws``): on a mark of a subscribed symbol,
  the symbol's ticker, mark price, candle, best bid and ask, and book diff. The figures of one
  tick are built once per process (``_market``).
- User data (``/private/ws?listenKey=``): on a note of the key's user, the orders and fills
  that changed (ORDER_TRADE_UPDATE, ALGO_UPDATE), the wallet and positions when they changed
  (ACCOUNT_UPDATE); on a mark of a symbol the user holds, a MARGIN_CALL when a margin ratio
  reaches 80 %. A key that expired, was closed or whose API key was revoked ends the stream
  (``listenKeyExpired``) at its next look; an unknown one is refused at the handshake.
"""

import json
import logging
from dataclasses import dataclass, field
from datetime import timedelta
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.utils import timezone

from trading.binance import FACADE_VENUE, mapping
from trading.binance import selectors as reads
from trading.binance.streams import events
from trading.models import Fill, Instrument, MarginMode, MarkPrice, Order
from trading.selectors.backoffice_positions import at_risk
from trading.services.live import MARKS_GROUP, account_group

logger = logging.getLogger(__name__)

LAYER_DOWN = 1011
STREAM_DEPTH = 1000  # levels a side: /fapi/v1/depth's largest limit
# How far back a look re-reads orders and fills: a transaction that commits later than it
# stamped its rows is still found (what was told is remembered, so nothing is told twice).
LOOK_BACK = timedelta(seconds=30)
INVALID_REQUEST = 2


def _db(function):
    return database_sync_to_async(function, thread_sensitive=False)


def _now_ms() -> int:
    return mapping.ms(timezone.now())


# --- market streams ------------------------------------------------------------------------


@dataclass(frozen=True)
class Stream:
    """A market stream a socket subscribed to: ``btcusdt@depth@100ms`` is (BTCUSDT, depth)."""

    symbol: str
    kind: str  # ticker, miniTicker, markPrice, bookTicker, depth, kline
    interval: str = ""


STREAM_KINDS = {
    "ticker": "ticker",
    "miniTicker": "miniTicker",
    "markPrice": "markPrice",
    "markPrice@1s": "markPrice",
    "bookTicker": "bookTicker",
    "depth": "depth",
    "depth@0ms": "depth",
    "depth@100ms": "depth",
    "depth@250ms": "depth",
    "depth@500ms": "depth",
}


def stream_parse(name) -> Stream | None:
    """The stream ``name`` stands for, or None when marginsite serves no such stream."""
    if not isinstance(name, str) or "@" not in name:
        return None
    symbol, _, kind = name.partition("@")
    if kind.startswith("kline_") and kind.removeprefix("kline_") in reads.KLINE_MINUTES:
        return Stream(symbol.upper(), "kline", kind.removeprefix("kline_"))
    if kind in STREAM_KINDS and symbol == symbol.lower():
        return Stream(symbol.upper(), STREAM_KINDS[kind])
    return None


@dataclass
class Market:
    """A symbol's figures at one mark, built when first asked (once per process and tick)."""

    mark: MarkPrice
    now_ms: int
    built: dict = field(default_factory=dict)

    @property
    def update_id(self) -> int:
        return mapping.ms(self.mark.updated_at)

    def event(self, stream: Stream) -> dict:
        key = (stream.kind, stream.interval)
        if key not in self.built:
            self.built[key] = self._build(stream)
        return self.built[key]

    def _build(self, stream: Stream) -> dict:
        now = timezone.now()
        mark = self.mark
        if stream.kind in ("ticker", "miniTicker"):
            stats = reads.day_stats(mark, now=now)
            return events.ticker(mark, stats, now_ms=self.now_ms, mini=stream.kind == "miniTicker")
        if stream.kind == "markPrice":
            funding = reads.funding_next(mark, now=now)
            return events.mark_price_update(mark, funding, now_ms=self.now_ms)
        if stream.kind == "bookTicker":
            return events.book_ticker(mark, reads.book(mark, depth=1), now_ms=self.now_ms)
        if stream.kind == "kline":
            minutes = reads.KLINE_MINUTES[stream.interval]
            (candle,) = reads.klines(
                mark.instrument, minutes=minutes, start=None, end=None, limit=1, now=now
            ) or [_candle_of_mark(mark, minutes)]
            return events.kline(
                mark.instrument.symbol, candle, interval=stream.interval, now_ms=self.now_ms
            )
        return {"levels": events.depth_levels(mark, reads.book(mark, depth=STREAM_DEPTH))}


def _candle_of_mark(mark: MarkPrice, minutes: int) -> reads.Kline:
    """The current candle before the feed wrote any: the mark alone."""
    width = timedelta(minutes=minutes)
    opened = reads.EPOCH + (mark.updated_at - reads.EPOCH) // width * width
    return reads.Kline(opened, minutes, mark.price, mark.price, mark.price, mark.price)


# symbol -> its Market at the last mark this process read
_markets: dict[str, Market] = {}


def _market(symbol: str) -> Market | None:
    mark = (
        MarkPrice.objects.select_related("instrument")
        .filter(instrument__symbol=symbol, instrument__venue=FACADE_VENUE)
        .first()
    )
    if mark is None:
        return None
    cached = _markets.get(symbol)
    if cached is None or cached.mark.updated_at != mark.updated_at:
        cached = _markets[symbol] = Market(mark, _now_ms())
    return cached


def _symbols_known(symbols: set[str]) -> set[str]:
    return set(
        Instrument.objects.filter(symbol__in=symbols, venue=FACADE_VENUE).values_list(
            "symbol", flat=True
        )
    )


class MarketStreamConsumer(AsyncJsonWebsocketConsumer):
    """Binance's raw market streams: SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS by JSON
    request, each answered ``{"result": ..., "id": N}``; then each stream's event on every
    tick of its symbol (the current one at once, but for a book: its diffs start from the
    book at the subscription, which a client fetches from /fapi/v1/depth)."""

    async def connect(self):
        self.streams: dict[str, Stream] = {}
        self.told: dict[str, int] = {}  # stream name -> the update id of its last event
        self.books: dict[str, tuple[int, tuple]] = {}  # symbol -> (update id, levels)
        self.joined = False
        try:  # joined before the client sees the socket open: no tick is missed after that
            await self.channel_layer.group_add(MARKS_GROUP, self.channel_name)
            self.joined = True
        except Exception:
            logger.warning("streams: the channel layer cannot be joined", exc_info=True)
            await self.accept()
            await self.close(code=LAYER_DOWN)
            return
        await self.accept()

    async def disconnect(self, code):
        if self.joined:
            await self.channel_layer.group_discard(MARKS_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None, **kwargs):
        try:
            request = json.loads(text_data or "")
        except ValueError:
            await self.send_json({"error": {"code": 3, "msg": "Invalid JSON"}, "id": None})
            return
        await self.receive_json(request)

    async def receive_json(self, content, **kwargs):
        request_id = content.get("id") if isinstance(content, dict) else None
        method = content.get("method") if isinstance(content, dict) else None
        params = content.get("params", []) if isinstance(content, dict) else None
        if method == "LIST_SUBSCRIPTIONS":
            await self.send_json({"result": list(self.streams), "id": request_id})
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            await self._refuse(request_id, "Invalid request: unknown method or no params")
            return
        parsed = {name: stream_parse(name) for name in params}
        known = await _db(_symbols_known)({s.symbol for s in parsed.values() if s})
        unserved = [name for name, s in parsed.items() if s is None or s.symbol not in known]
        if unserved:
            await self._refuse(request_id, f"Invalid request: unknown stream {unserved[0]!r}")
            return
        if method == "UNSUBSCRIBE":
            for name in params:
                self.streams.pop(name, None)
                self.told.pop(name, None)
            await self.send_json({"result": None, "id": request_id})
            return
        for name, stream in parsed.items():
            if stream.kind == "depth":  # the diffs start from the book as it is now
                market = await _db(_market)(stream.symbol)
                if market is not None:
                    self.books[stream.symbol] = (
                        market.update_id,
                        (await _db(market.event)(stream))["levels"],
                    )
            self.streams[name] = stream
        await self.send_json({"result": None, "id": request_id})
        for symbol in {stream.symbol for stream in parsed.values()}:
            await self._push(symbol)

    async def _refuse(self, request_id, message: str) -> None:
        await self.send_json({"error": {"code": INVALID_REQUEST, "msg": message}, "id": request_id})

    async def live_mark(self, event):
        if any(stream.symbol == event["symbol"] for stream in self.streams.values()):
            await self._push(event["symbol"])

    async def live_account(self, event):
        """Market streams tell nobody's account."""

    async def live_resync(self, event):
        for symbol in {stream.symbol for stream in self.streams.values()}:
            await self._push(symbol)

    async def _push(self, symbol: str) -> None:
        market = await _db(_market)(symbol)
        if market is None:
            return
        update_id = market.update_id
        for name, stream in list(self.streams.items()):
            if stream.symbol != symbol or self.told.get(name) == update_id:
                continue
            if stream.kind == "depth":
                message = await _db(self._depth_update)(market, stream)
                if message is None:
                    continue
            else:
                message = await _db(market.event)(stream)
            self.told[name] = update_id
            await self.send_json(message)

    def _depth_update(self, market: Market, stream: Stream) -> dict | None:
        """The diff from the book this socket last told (None: no newer book)."""
        levels = market.event(stream)["levels"]
        previous_id, previous = self.books.get(stream.symbol, (market.update_id - 1, ({}, {})))
        if market.update_id <= previous_id:
            return None
        self.books[stream.symbol] = (market.update_id, levels)
        return events.depth_update(
            stream.symbol,
            previous,
            levels,
            previous_id=previous_id,
            update_id=market.update_id,
            now_ms=_now_ms(),
        )


# --- the user data stream ------------------------------------------------------------------


class UserDataStreamConsumer(AsyncJsonWebsocketConsumer):
    """The user data stream of ``?listenKey=``: everything of the key's user, nothing of
    anyone else's (a read-only key's stream too: it only reads)."""

    async def connect(self):
        self.groups_joined: list[str] = []
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        self.listen_key = (query.get("listenKey") or [""])[0]
        listen = await _db(reads.listen_key_valid)(self.listen_key)
        if listen is None:
            await self.close()  # before accepting: the handshake is refused (403)
            return
        self.user = listen.api_key.user
        self.orders: dict[int, events.OrderSeen] = {}
        self.fills: dict[int, set[int]] = {}  # order id -> the fills told
        self.account: dict | None = None
        self.at_risk: set = set()
        self.held: set[str] = set()
        self.looked_at = None
        # joined, and the state learnt, before the client sees the socket open: whatever
        # changes after that is told (a note that comes meanwhile waits for connect to end)
        try:
            for group in (account_group(self.user.pk), MARKS_GROUP):
                await self.channel_layer.group_add(group, self.channel_name)
                self.groups_joined.append(group)
        except Exception:
            logger.warning("streams: the channel layer cannot be joined", exc_info=True)
            await self.accept()
            await self.close(code=LAYER_DOWN)
            return
        await _db(self._look)(tell=False)
        await self.accept()

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """A user data stream takes no request (Binance's neither)."""

    async def live_account(self, event):
        await self._tell()

    async def live_resync(self, event):
        await self._tell()

    async def live_mark(self, event):
        if event["symbol"] in self.held:
            await self._tell()

    async def _tell(self) -> None:
        told = await _db(self._look)(tell=True)
        for message in told:
            await self.send_json(message)
        if told and told[-1]["e"] == "listenKeyExpired":
            await self.close()

    def _look(self, *, tell: bool) -> list[dict]:
        """Read what changed since the last look; the events to tell of it (none at the first
        look, which only learns the state the stream starts from)."""
        now = timezone.now()
        now_ms = mapping.ms(now)
        if reads.listen_key_valid(self.listen_key) is None:
            return [{"e": "listenKeyExpired", "E": now_ms, "listenKey": self.listen_key}]
        since = (self.looked_at or now) - LOOK_BACK
        self.looked_at = now
        told = self._orders_look(since=since, first=not tell, now_ms=now_ms)
        state = reads.account_state(user=self.user)
        traded = any(event.get("o", {}).get("x") == "TRADE" for event in told)
        after = events.account_view(state)
        if self.account is not None:
            update = events.account_update(
                self.account, after, reason="ORDER" if traded else "ADJUSTMENT", now_ms=now_ms
            )
            if update is not None:
                told.append(update)
        self.account = after
        self.held = {row.position.instrument.symbol for row in state.held}
        calls = self._margin_calls(state)
        if calls and tell:
            told.append(
                events.margin_call(
                    calls, cross_wallet_balance=state.figures.wallet_balance, now_ms=now_ms
                )
            )
        return told if tell else []

    def _orders_look(self, *, since, first: bool, now_ms: int) -> list[dict]:
        orders = Order.objects.filter(user=self.user, instrument__venue=FACADE_VENUE)
        touched = orders.filter(updated_at__gte=since)
        if first:  # open orders too: a resting order that fills later is told as it fills
            touched = touched | orders.filter(status=Order.Status.NEW)
        touched = list(touched.select_related("instrument").order_by("pk"))
        fills: dict[int, list[Fill]] = {order.pk: [] for order in touched}
        for fill in Fill.objects.filter(order__in=touched).order_by("pk"):
            fills[fill.order_id].append(fill)
        told = []
        for order in touched:
            for fill in fills[order.pk]:
                fill.order = order
            if first:
                self.orders[order.pk] = events.order_seen(order)
                self.fills[order.pk] = {fill.pk for fill in fills[order.pk]}
                continue
            order_told, self.orders[order.pk] = events.order_events(
                order,
                fills[order.pk],
                seen=self.orders.get(order.pk),
                told_fills=self.fills.get(order.pk, set()),
                now_ms=now_ms,
            )
            self.fills[order.pk] = {fill.pk for fill in fills[order.pk]}
            told += order_told
        # forget the orders that are done and out of reach of the next look
        recent = {order.pk for order in touched}
        for pk in [pk for pk, seen in self.orders.items() if pk not in recent]:
            if self.orders[pk].status != Order.Status.NEW:
                del self.orders[pk]
                self.fills.pop(pk, None)
        return told

    def _margin_calls(self, state) -> list:
        """The positions whose margin ratio reached 80 % since the last look: every cross
        position when the account's cross ratio did, an isolated one when its own did."""
        risky = [row for row in state.held if at_risk(row)]
        keys = {
            "cross" if row.position.margin_mode == MarginMode.CROSS else row.position.pk
            for row in risky
        }
        crossed = keys - self.at_risk
        self.at_risk = keys
        return [
            row
            for row in risky
            if ("cross" if row.position.margin_mode == MarginMode.CROSS else row.position.pk)
            in crossed
        ]
