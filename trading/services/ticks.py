"""One tick of the price feed (what beat runs every PRICE_TICK_SECONDS): the next marks from the
configured feed, the running price drills' marks, the 1-minute candles, and the feed's status.

The feed is asked before the transaction opens, so a slow exchange holds no lock. The marks are
then written under row locks, through mark_price_write: a held (manual or drill) mark stays as it
is. Then, in the same transaction and whatever the feed (even ``manual``, or failing), each running
drill writes its price at ``now`` (trading/services/drills.py), so the sweep sent after the tick
sees it. A feed that fails keeps every price where it was and leaves its message in FeedStatus,
whose ``last_tick_at`` is the last tick that brought prices.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from marginsite.errors import ApplicationError
from trading.models import FeedStatus, Instrument, MarkPrice, PriceCandle
from trading.prices import FeedError, InstrumentMark, feed_get
from trading.prices.feeds import STATUS_NAME
from trading.services.bulk_writes import row_update
from trading.services.drills import price_drills_advance
from trading.services.prices import mark_price_checked, mark_price_write


def prices_tick(*, now: datetime | None = None) -> list[str]:
    """Run one tick of the PRICE_FEED feed at ``now`` (default: the current time); return the
    symbols whose mark changed."""
    now = timezone.now() if now is None else now
    instruments = list(Instrument.objects.select_related("mark_price").order_by("symbol"))
    feed = feed_get()
    try:
        answer = feed.next_marks([_as_feed_sees_it(i) for i in instruments], now)
        problems, failed = [], False
    except FeedError as failure:
        answer, problems, failed = {}, [str(failure)], True
    by_symbol = {instrument.symbol: instrument for instrument in instruments}
    prices = {}
    for symbol, price in answer.items():
        try:
            prices[symbol] = mark_price_checked(by_symbol[symbol], price)
        except ApplicationError as refusal:
            problems.append(f"{symbol}: {refusal.message}")
    rates = feed.funding_rates() if hasattr(feed, "funding_rates") else {}
    with transaction.atomic(durable=True):
        changed, locked = _marks_write(instruments, prices, rates, source=feed.source)
        drilled = price_drills_advance(marks=locked, now=now)
        marks = {instrument_id: mark.price for instrument_id, mark in locked.items()}
        opened = _candles_update(marks, now=now)
        if opened:
            _candles_expire(now=now)
        _status_update(source=feed.source, now=now, problems=problems, failed=failed)
    return sorted({*changed, *drilled})


def _as_feed_sees_it(instrument: Instrument) -> InstrumentMark:
    mark = getattr(instrument, "mark_price", None)
    return InstrumentMark(
        symbol=instrument.symbol,
        tick_size=instrument.tick_size,
        price=mark.price if mark is not None else None,
    )


def _marks_write(
    instruments: list[Instrument],
    prices: dict[str, Decimal],
    rates: dict[str, Decimal],
    *,
    source: str,
) -> tuple[list[str], dict[int, MarkPrice]]:
    """Write the feed's prices (not over held marks) and funding rates; return the symbols
    changed and every instrument's mark (still locked), by instrument id."""
    locked = {
        mark.instrument_id: mark
        for mark in MarkPrice.objects.select_for_update()
        .filter(instrument__in=instruments)
        .order_by("pk")
    }
    changed = []
    for instrument in instruments:
        mark = locked.get(instrument.pk)
        if instrument.symbol in prices:
            mark, was_changed = mark_price_write(
                instrument=instrument, mark=mark, price=prices[instrument.symbol], source=source
            )
            if was_changed:
                changed.append(instrument.symbol)
        rate = rates.get(instrument.symbol)
        if mark is not None and rate is not None and rate != mark.funding_rate:
            mark.funding_rate = rate
            row_update(mark, ["funding_rate"])
        if mark is not None:
            locked[instrument.pk] = mark
    return changed, locked


def _candles_update(marks: dict[int, Decimal], *, now: datetime) -> bool:
    """Fold every instrument's mark into its candle of the current minute (UTC); return whether
    a new minute's candle was opened."""
    minute = now.astimezone(UTC).replace(second=0, microsecond=0)
    candles = {
        candle.instrument_id: candle
        for candle in PriceCandle.objects.select_for_update().filter(
            opened_at=minute, instrument_id__in=marks
        )
    }
    opened = False
    for instrument_id, price in sorted(marks.items()):
        candle = candles.get(instrument_id)
        if candle is None:
            try:
                with transaction.atomic():  # a savepoint: a racing tick may open it first
                    PriceCandle.objects.create(
                        instrument_id=instrument_id,
                        opened_at=minute,
                        open=price,
                        high=price,
                        low=price,
                        close=price,
                    )
                opened = True
                continue
            except IntegrityError:
                candle = PriceCandle.objects.select_for_update().get(
                    instrument_id=instrument_id, opened_at=minute
                )
        high, low = max(candle.high, price), min(candle.low, price)
        if (high, low, price) != (candle.high, candle.low, candle.close):
            candle.high, candle.low, candle.close = high, low, price
            row_update(candle, ["high", "low", "close"])
    return opened


def _candles_expire(*, now: datetime) -> None:
    """Delete the candles older than PRICE_CANDLE_RETENTION_DAYS (once a minute: when a tick
    opens a new minute)."""
    cutoff = now - timedelta(days=settings.PRICE_CANDLE_RETENTION_DAYS)
    PriceCandle.objects.filter(opened_at__lt=cutoff).delete()


def _status_update(*, source: str, now: datetime, problems: list[str], failed: bool) -> None:
    """Record the tick: its source, its time unless the feed failed, and what went wrong."""
    status, _ = FeedStatus.objects.select_for_update().get_or_create(
        name=STATUS_NAME, defaults={"source": source}
    )
    status.source = source
    fields = ["source"]
    if not failed:
        status.last_tick_at = now
        fields.append("last_tick_at")
    if problems:
        status.last_error, status.last_error_at = "\n".join(problems), now
        fields += ["last_error", "last_error_at"]
    row_update(status, fields)
