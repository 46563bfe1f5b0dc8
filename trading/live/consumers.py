"""The trade page's socket: every figure the page shows, pushed when it changes.

A signed-in trader's open trade page joins two groups (trading/services/live.py): its account's,
told of every change of the trader's money, positions, orders and notices, and the marks'. On
such a note the socket renders the page's live parts again from the database and sends them
(``trade_snapshot``): the figures are never computed twice, nor in the browser. A tick of the
page's own symbol that moves none of the trader's positions sends only the market (mark,
candles, book), rendered once per process and tick for every page that shows it.

Renders are coalesced: at most one per RENDER_SECONDS per socket, the last one after the last
note, so a burst of fills costs one render and the page is never left stale. Close codes: 4401
not signed in, 4404 no such symbol; 1011 when the channel layer cannot be joined (the page then
polls the mark and reconnects).
"""

import asyncio
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from marginsite.errors import ApplicationError
from trading.selectors import instrument_get
from trading.selectors.market import mark_get
from trading.services.live import MARKS_GROUP, account_group
from trading.views.trade import trade_market, trade_snapshot

logger = logging.getLogger(__name__)

RENDER_SECONDS = 0.25
NOT_SIGNED_IN, NO_SUCH_SYMBOL, LAYER_DOWN = 4401, 4404, 1011

# The market part of a symbol's page, per process: (the mark's time, the message).
_markets: dict[str, tuple[object, dict]] = {}


class TradeConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.render_task: asyncio.Task | None = None
        self.render_again = False
        self.rendered_at = 0.0
        self.held: set[str] = set()
        self.joined: list[str] = []
        await self.accept()  # a close code reaches the page only once the socket is open
        user = self.scope["user"]
        if not user.is_authenticated:
            await self.close(code=NOT_SIGNED_IN)
            return
        self.instrument = await database_sync_to_async(_instrument_or_none)(
            self.scope["url_route"]["kwargs"]["symbol"]
        )
        if self.instrument is None:
            await self.close(code=NO_SUCH_SYMBOL)
            return
        try:
            for group in (account_group(user.pk), MARKS_GROUP):
                await self.channel_layer.group_add(group, self.channel_name)
                self.joined.append(group)
        except Exception:
            logger.warning("live: the channel layer cannot be joined", exc_info=True)
            await self.close(code=LAYER_DOWN)
            return
        await self._render(snapshot=True)

    async def disconnect(self, code):
        if self.render_task is not None:
            self.render_task.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """The page sends nothing but its pings; a ping gets the current figures (a page that
        was asleep asks after waking)."""
        self._due(snapshot=True)

    async def live_account(self, event):
        self._due(snapshot=True)

    async def live_resync(self, event):
        self._due(snapshot=True)

    async def live_mark(self, event):
        if event["symbol"] in self.held:
            self._due(snapshot=True)
        elif event["symbol"] == self.instrument.symbol:
            self._due(snapshot=False)

    def _due(self, *, snapshot: bool) -> None:
        """Render soon: now if the last render is RENDER_SECONDS old, else at that time; notes
        that arrive meanwhile join the render that is waiting."""
        self.render_again = self.render_again or snapshot
        if self.render_task is None or self.render_task.done():
            self.render_task = asyncio.get_running_loop().create_task(self._render_soon())

    async def _render_soon(self) -> None:
        wait = self.rendered_at + RENDER_SECONDS - asyncio.get_running_loop().time()
        if wait > 0:
            await asyncio.sleep(wait)
        snapshot, self.render_again = self.render_again, False
        await self._render(snapshot=snapshot)

    async def _render(self, *, snapshot: bool) -> None:
        self.rendered_at = asyncio.get_running_loop().time()
        if snapshot:
            message = await database_sync_to_async(self._snapshot)()
            self.held = set(message["held"])
        else:
            message = await database_sync_to_async(_market, thread_sensitive=False)(self.instrument)
        await self.send_json(message)

    def _snapshot(self) -> dict:
        return trade_snapshot(_page_request(self.scope, self.instrument.symbol), self.instrument)


def _instrument_or_none(symbol: str):
    try:
        return instrument_get(symbol)
    except ApplicationError:
        return None


def _market(instrument) -> dict:
    """The market part of ``instrument``'s page, rendered once per tick in this process."""
    mark = mark_get(instrument)
    stamp = mark.updated_at if mark else None
    cached = _markets.get(instrument.symbol)
    if cached is None or cached[0] != stamp:
        cached = _markets[instrument.symbol] = (stamp, trade_market(instrument, mark))
    return cached[1]


def _page_request(scope, symbol: str) -> HttpRequest:
    """The trade page's request as the panels' templates need it: its user, its path (where
    forms send the trader back) and the browser's CSRF cookie (so the forms' tokens match it)."""
    request = HttpRequest()
    request.method = "GET"
    request.path = request.path_info = reverse("trade", args=[symbol])
    request.user = scope["user"]
    cookie = scope.get("cookies", {}).get(settings.CSRF_COOKIE_NAME)
    if cookie:
        request.META["CSRF_COOKIE"] = cookie
    return request
