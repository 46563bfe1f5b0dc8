"""What every price feed is, and which one runs (the PRICE_FEED setting).

A feed is an object with a ``source`` (the MarkPrice.Source its prices are stored under) and
``next_marks(instruments, now)``: the mark it has for this tick, by symbol, for some or all of
``instruments``. A feed computes prices; it never writes a mark. prices_tick writes them, so the
rule that an operator's held price is never overwritten lives in one place
(trading/services/prices.py). A feed that cannot answer raises FeedError: the tick keeps the last
prices and records the message in FeedStatus. A feed that also knows the exchange's funding
rates (the live one) has ``funding_rates()``, read after ``next_marks``.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

# PRICE_FEED -> the feed's class. Imported on use, so that a site on the simulated feed never
# loads ccxt.
FEEDS = {
    "simulated": "trading.prices.simulated.SimulatedFeed",
    "replay": "trading.prices.replay.ReplayFeed",
    "live": "trading.prices.live.LiveFeed",
    "manual": "trading.prices.manual.ManualFeed",
}


# The FeedStatus row that prices_tick keeps: the feed's source, last tick and last error.
STATUS_NAME = "marks"


class FeedError(Exception):
    """The feed has no prices this tick (an exchange did not answer, a replay file is broken).
    Its message is what the operator reads in the feed status."""


@dataclass(frozen=True)
class InstrumentMark:
    """What a feed knows of an instrument: its symbol, its tick and its current mark (None when
    it has none yet). Plain values, so a feed needs no database to compute."""

    symbol: str
    tick_size: Decimal
    price: Decimal | None


class PriceFeed(Protocol):
    source: str

    def next_marks(
        self, instruments: Sequence[InstrumentMark], now: datetime
    ) -> dict[str, Decimal]: ...


def feed_get(name: str | None = None) -> PriceFeed:
    """The feed called ``name`` (default: the PRICE_FEED setting), configured from settings."""
    name = settings.PRICE_FEED if name is None else name
    if name not in FEEDS:
        raise ImproperlyConfigured(f"PRICE_FEED must be one of {', '.join(FEEDS)}; it is {name!r}.")
    return import_string(FEEDS[name]).from_settings()
