"""The trade page's socket: every figure the page shows, pushed when it changes.

A signed-in trader's open trade page joins two groups (trading/services/live.py): its account's,
told of every change of the trader's money, positions, orders and notices, and the marks'. On
such a note the socket renders the page's live parts again from the database and sends them
(``trade_snapshot``): the figures are never computed twice, nor in the browser. A tick renders
only what it moves: for a symbol the trader holds, the account, positions and banners
(``trade_holdings``); for the page's own symbol, the market (mark, candles, book), rendered once
per process and tick for every page that shows it.

Renders are coalesced: at most one per RENDER_SECONDS per socket, the last one after the last
note, so a burst of fills costs one render and the page is never left stale. Close codes: 4401
not signed in, 4404 no such symbol; 1011 when the channel layer cannot be joined (the page then
polls the mark and reconnects).
"""

import asyncio
import json
import logging
from contextlib import contextmanager

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import connection, transaction
from django.http import HttpRequest
from django.urls import reverse

from marginsite.errors import ApplicationError
from trading.selectors import instrument_get
from trading.selectors.market import mark_get
from trading.services.live import MARKS_GROUP, account_group
from trading.views.trade import trade_holdings, trade_market, trade_snapshot

logger = logging.getLogger(__name__)

RENDER_SECONDS = 0.25
SNAPSHOT, HOLDINGS, MARKET = "snapshot", "holdings", "market"
NOT_SIGNED_IN, NO_SUCH_SYMBOL, LAYER_DOWN = 4401, 4404, 1011

# The market part of a symbol's page, per process: (the tick's stamp, its render: the JSON text).
_markets: dict[str, tuple[str | None, asyncio.Future]] = {}


class TradeConsumer(AsyncJsonWebsocketConsumer):
    async def connect(self):
        self.render_task: asyncio.Task | None = None
        self.due: set[str] = set()
        self.rendered_at = 0.0
        self.held: set[str] = set()
        self.market_stamp: str | None = None
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
        await self._render({SNAPSHOT})

    async def disconnect(self, code):
        if self.render_task is not None:
            self.render_task.cancel()
        for group in self.joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        """The page sends nothing but its pings; a ping gets the current figures (a page that
        was asleep asks after waking)."""
        self._render_soon(SNAPSHOT)

    async def live_account(self, event):
        self._render_soon(SNAPSHOT)

    async def live_resync(self, event):
        self._render_soon(SNAPSHOT)

    async def live_mark(self, event):
        if event["symbol"] in self.held:
            self._render_soon(HOLDINGS)
        if event["symbol"] == self.instrument.symbol:
            self.market_stamp = event.get("stamp")
            self._render_soon(MARKET)

    def _render_soon(self, part: str) -> None:
        """Render ``part`` now if the last render is RENDER_SECONDS old, else at that time; notes
        that arrive meanwhile join the render that is waiting."""
        self.due.add(part)
        if self.render_task is None or self.render_task.done():
            self.render_task = asyncio.get_running_loop().create_task(self._render_due())

    async def _render_due(self) -> None:
        """Until nothing is due: notes that arrive during a render are rendered after it."""
        while self.due:
            wait = self.rendered_at + RENDER_SECONDS - asyncio.get_running_loop().time()
            if wait > 0:
                await asyncio.sleep(wait)
            due, self.due = self.due, set()
            await self._render(due)

    async def _render(self, due: set[str]) -> None:
        """Send what is due: the whole page covers the rest."""
        self.rendered_at = asyncio.get_running_loop().time()
        if SNAPSHOT in due:
            due = {SNAPSHOT}
        for part in (SNAPSHOT, HOLDINGS):
            if part in due:
                message = await database_sync_to_async(self._message)(part)
                self.held = set(message["held"])
                await self.send_json(message)
        if MARKET in due:
            await self.send(text_data=await _market_text(self.instrument, self.market_stamp))

    def _message(self, part: str) -> dict:
        request = _page_request(self.scope, self.instrument.symbol)
        render = trade_snapshot if part == SNAPSHOT else trade_holdings
        with _one_snapshot():
            return render(request, self.instrument)


@contextmanager
def _one_snapshot():
    """Read every panel from one snapshot of the database (PostgreSQL's REPEATABLE READ): a page
    never shows a liquidation's notice beside the position it closed, as it could if a panel
    were read before the liquidation committed and the next one after."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        yield


def _instrument_or_none(symbol: str):
    try:
        return instrument_get(symbol)
    except ApplicationError:
        return None


async def _market_text(instrument, stamp: str | None) -> str:
    """The market part of ``instrument``'s page as the socket sends it, rendered and encoded once
    per tick (``stamp``, the mark's time the note named) in this process: every page of the
    symbol that the note reaches here awaits the same render."""
    cached = _markets.get(instrument.symbol)
    if cached is None or cached[0] != stamp or stamp is None:
        render = database_sync_to_async(_market_rendered)(instrument)
        cached = _markets[instrument.symbol] = (stamp, asyncio.ensure_future(render))
    return await asyncio.shield(cached[1])


def _market_rendered(instrument) -> str:
    return json.dumps(trade_market(instrument, mark_get(instrument)))


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
