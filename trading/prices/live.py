"""The live feed: the public mark prices of Binance USD-M futures, through ccxt.

One request per tick, ``GET /fapi/v1/premiumIndex`` (all symbols at once; ccxt's implicit method
``fapiPublicGetPremiumIndex``), and no API key. The unified ``fetch_mark_prices`` would first load
every market (another large request) and hand back floats; the raw answer carries each mark as a
decimal string, which becomes a Decimal without passing through a float. Binance's symbol ids
(BTCUSDT) are the instruments' symbols (BTCUSDT-BYBIT, on another venue's rules, takes
BTCUSDT's); an instrument Binance does not list keeps its mark.

PRICE_LIVE_URL replaces the base URL (``https://fapi.binance.com``): a mirror, a proxy, or a
local server in the tests. Any failure (network, HTTP status, an answer of the wrong shape) is a
FeedError: the tick keeps the last prices and the feed status says why.

The same answer carries each symbol's current funding rate (``lastFundingRate``):
``funding_rates()`` hands them to the tick, which keeps them beside the marks for the funding
settlement. A missing or malformed rate is left out (funding then computes its own).
"""

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal, InvalidOperation

import ccxt
from django.conf import settings

from trading.models import MarkPrice
from trading.money import price_stored
from trading.prices.feeds import FeedError, InstrumentMark


class LiveFeed:
    source = MarkPrice.Source.LIVE

    def __init__(self, *, base_url: str = "", timeout_seconds: Decimal = Decimal(2)):
        self.base_url = base_url.rstrip("/")
        self.timeout_seconds = timeout_seconds
        self._funding_rates: dict[str, Decimal] = {}

    @classmethod
    def from_settings(cls) -> "LiveFeed":
        return cls(
            base_url=settings.PRICE_LIVE_URL, timeout_seconds=settings.PRICE_LIVE_TIMEOUT_SECONDS
        )

    def _exchange(self) -> ccxt.binanceusdm:
        config = {"timeout": int(self.timeout_seconds * 1000)}  # ccxt counts milliseconds
        if self.base_url:
            config["urls"] = {"api": {"fapiPublic": f"{self.base_url}/fapi/v1"}}
        return ccxt.binanceusdm(config)

    def next_marks(self, instruments: Sequence[InstrumentMark], now: datetime) -> dict:
        # BTCUSDT-BYBIT and BTCUSDT-HL (another venue's rules) take BTCUSDT's prices
        wanted: dict[str, list[str]] = {}
        for instrument in instruments:
            wanted.setdefault(instrument.symbol.split("-")[0], []).append(instrument.symbol)
        try:
            answer = self._exchange().fapiPublicGetPremiumIndex()
        except ccxt.BaseError as problem:
            raise FeedError(f"Live prices: {type(problem).__name__}: {problem}") from None
        if not isinstance(answer, list):
            raise FeedError("Live prices: premiumIndex did not answer with a list.")
        marks, rates = {}, {}
        for row in answer:
            symbol = row.get("symbol") if isinstance(row, dict) else None
            if symbol not in wanted:
                continue
            mark, rate = _mark(symbol, row.get("markPrice")), _rate(row.get("lastFundingRate"))
            for ours in wanted[symbol]:
                marks[ours] = mark
                if rate is not None:
                    rates[ours] = rate
        self._funding_rates = rates
        return marks

    def funding_rates(self) -> dict[str, Decimal]:
        """The funding rate of each symbol in the last answer of ``next_marks``."""
        return dict(self._funding_rates)


def _mark(symbol: str, value) -> Decimal:
    """Binance sends marks as decimal strings ("60123.45000000"); anything else is refused."""
    if not isinstance(value, str):
        raise FeedError(f"Live prices: {symbol} has no markPrice string (got {value!r}).")
    try:
        mark = Decimal(value)
    except InvalidOperation:
        raise FeedError(f"Live prices: {symbol} markPrice {value!r} is not a number.") from None
    if not mark.is_finite() or mark <= 0:
        raise FeedError(f"Live prices: {symbol} markPrice {value!r} is not a positive price.")
    return price_stored(mark)


def _rate(value) -> Decimal | None:
    """A funding rate as Binance sends it ("0.00010000"), or None: a fraction within +-1."""
    if not isinstance(value, str):
        return None
    try:
        rate = Decimal(value)
    except InvalidOperation:
        return None
    return rate.quantize(Decimal("1e-8")) if rate.is_finite() and abs(rate) < 1 else None
