"""The manual feed: no automatic prices. Marks move only when the operator sets them
(``manage.py set_mark_price``); ticks still keep the candles and the feed status."""

from collections.abc import Sequence
from datetime import datetime

from trading.models import MarkPrice
from trading.prices.feeds import InstrumentMark


class ManualFeed:
    source = MarkPrice.Source.MANUAL

    @classmethod
    def from_settings(cls) -> "ManualFeed":
        return cls()

    def next_marks(self, instruments: Sequence[InstrumentMark], now: datetime) -> dict:
        return {}
