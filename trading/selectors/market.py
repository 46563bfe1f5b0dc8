"""What the trade page reads of a market: the mark, the order book, the recent 1-minute candles
for the chart, and the order form's per-mode leverage figures."""

from dataclasses import dataclass
from decimal import Decimal

from trading import engine
from trading.domain.holdings import engine_brackets
from trading.domain.orders import book_model
from trading.errors import NoMarkPrice
from trading.models import Instrument, MarginMode, MarkPrice, Position, PriceCandle
from trading.selectors.instruments import leverage_for

CHART_MINUTES = 240


def mark_get(instrument: Instrument) -> MarkPrice | None:
    return MarkPrice.objects.filter(instrument=instrument).first()


def order_book(*, instrument: Instrument, depth: int) -> engine.Book:
    """The book around the instrument's current mark, ``depth`` levels a side at most (bids and
    asks best first): the same levels the instrument's orders fill against."""
    mark = mark_get(instrument)
    if mark is None:
        raise NoMarkPrice(f"{instrument.symbol} has no mark price yet; try again shortly.")
    return engine.book_levels(book_model(instrument), mark=mark.price, depth=depth)


def candles_recent(instrument: Instrument, *, limit: int = CHART_MINUTES) -> list[PriceCandle]:
    """The last ``limit`` 1-minute candles, oldest first."""
    newest = PriceCandle.objects.filter(instrument=instrument).order_by("-opened_at")[:limit]
    return list(reversed(newest))


@dataclass(frozen=True)
class ModeLeverage:
    """One of the order form's mode chips: "Cross 10x", and the largest position that leverage
    allows (the instrument's bracket cap for it)."""

    margin_mode: str
    label: str
    leverage: int
    max_position: Decimal


def mode_leverages(*, user, instrument: Instrument) -> list[ModeLeverage]:
    brackets = engine_brackets(instrument)
    chips = []
    for mode, label in MarginMode.choices:
        leverage = leverage_for(user=user, instrument=instrument, margin_mode=mode)
        chips.append(
            ModeLeverage(mode, label, leverage, engine.max_notional_at_leverage(brackets, leverage))
        )
    return chips


def open_position_modes(*, user, instrument: Instrument) -> set[str]:
    """The modes in which the user holds an open position on ``instrument``."""
    return set(
        Position.objects.filter(
            user=user, instrument=instrument, status=Position.Status.OPEN
        ).values_list("margin_mode", flat=True)
    )


def open_position_symbols(*, user) -> list[str]:
    """The symbols on which the user holds an open position: their marks move the account."""
    return sorted(
        set(
            Position.objects.filter(user=user, status=Position.Status.OPEN).values_list(
                "instrument__symbol", flat=True
            )
        )
    )


def leverage_marks(maximum: int) -> list[int]:
    """The slider's marks, up to the instrument's maximum leverage."""
    return [mark for mark in (1, 2, 3, 5, 10, 20, 25, 50, 75, 100, 125) if mark <= maximum]
