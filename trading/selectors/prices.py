"""The back office's read model of prices: each mark with its running drill, how far that drill
has gone, and whether the price feed is failing."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Prefetch, QuerySet

from trading.models import FeedStatus, MarkPrice, PriceDrill
from trading.prices.drill import drill_elapsed, drill_price, drill_progress
from trading.prices.feeds import STATUS_NAME


@dataclass(frozen=True)
class FeedHealth:
    """The FeedStatus row ``marks``; ``failing`` when its last error is later than its last tick
    that brought prices (the error stays on record after the feed recovers)."""

    source: str
    last_tick_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    failing: bool


@dataclass(frozen=True)
class DrillProgress:
    drill: PriceDrill
    elapsed: Decimal
    progress: Decimal  # of the whole drill, out and back: 0 to 1
    returning: bool  # on the way back to the start price
    price: Decimal  # the drill's price now (the next tick writes it)


def feed_health() -> FeedHealth | None:
    """The price feed's status (None before its first tick)."""
    status = FeedStatus.objects.filter(name=STATUS_NAME).first()
    if status is None:
        return None
    failing = status.last_error_at is not None and (
        status.last_tick_at is None or status.last_error_at > status.last_tick_at
    )
    return FeedHealth(
        source=status.source,
        last_tick_at=status.last_tick_at,
        last_error=status.last_error,
        last_error_at=status.last_error_at,
        failing=failing,
    )


def mark_prices_with_drills() -> QuerySet[MarkPrice]:
    """Every mark with its instrument, and its running drill (if any) in
    ``instrument.running_drills``: two queries, however many instruments."""
    running = PriceDrill.objects.filter(status=PriceDrill.Status.RUNNING).select_related(
        "started_by"
    )
    return MarkPrice.objects.select_related("instrument").prefetch_related(
        Prefetch("instrument__drills", queryset=running, to_attr="running_drills")
    )


def drill_progress_at(drill: PriceDrill, *, now: datetime) -> DrillProgress:
    """How far ``drill`` has gone at ``now``, and its price then (``drill.instrument`` loaded)."""
    elapsed = drill_elapsed(drill.started_at, now)
    return DrillProgress(
        drill=drill,
        elapsed=elapsed,
        progress=drill_progress(seconds=drill.seconds, elapsed=elapsed),
        returning=elapsed >= drill.seconds,
        price=drill_price(
            start_price=drill.start_price,
            move_percent=drill.move_percent,
            seconds=drill.seconds,
            elapsed=elapsed,
            tick_size=drill.instrument.tick_size,
        ),
    )
