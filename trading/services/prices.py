"""Mark prices: the operator's price, a drill's price and the feeds' prices, and the one rule
between them.

A held mark stays until it is released: an operator's price (source manual) and a running drill's
price (source drill, trading/services/drills.py) are held; a feed's price never writes over a held
mark. Every write of a mark goes through mark_price_write, which applies that rule, so a feed tick,
a drill and the operator cannot disagree about it. A manual price set while a drill runs cancels
the drill (the operator took over); releasing cancels it too. Locks: the MarkPrice row first,
then the instrument's running PriceDrill (the tick takes them in the same order).
"""

from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from trading.errors import InvalidPrice, MarkNotHeld, NoMarkPrice
from trading.inputs import decimal_from_input
from trading.models import AuditEntry, Instrument, MarkPrice, PriceDrill
from trading.selectors import instrument_get
from trading.services.audit_log import audit_record, operator_permitted, reason_checked
from trading.services.bulk_writes import row_update
from trading.services.live import live_mark_changed

# The sources whose price holds until released.
HOLDING_SOURCES = frozenset({MarkPrice.Source.MANUAL, MarkPrice.Source.DRILL})


def mark_price_checked(instrument: Instrument, price) -> Decimal:
    """``price`` as a mark of ``instrument``, or InvalidPrice. A mark need not sit on the tick: it
    is an index, not a trade; but it is at least one tick."""
    price = decimal_from_input(price, field="price", error=InvalidPrice)
    if price < instrument.tick_size:
        raise InvalidPrice(
            f"A mark price must be at least one tick ({instrument.tick_size.normalize():f}).",
            field="price",
            reason=InvalidPrice.Reason.BELOW_ONE_TICK,
        )
    return price


def mark_price_lock(instrument: Instrument) -> MarkPrice | None:
    """The instrument's mark, locked (None when it has none yet)."""
    return MarkPrice.objects.select_for_update().filter(instrument=instrument).first()


def mark_state(mark: MarkPrice | None) -> dict | None:
    """What the audit log keeps of a mark (the price without trailing zeros, however it was
    stored or typed)."""
    if mark is None:
        return None
    return {"price": mark.price.normalize(), "source": mark.source, "held": mark.held}


def mark_price_write(
    *, instrument: Instrument, mark: MarkPrice | None, price: Decimal, source: str
) -> tuple[MarkPrice | None, bool]:
    """Store ``price`` from ``source`` in ``mark`` (locked by the caller's transaction; None when
    the instrument has no mark yet). A manual or drill price is held; a feed's price leaves a held
    mark as it is. Returns the mark and whether it changed."""
    held = source in HOLDING_SOURCES
    if mark is None:
        mark = MarkPrice.objects.create(
            instrument=instrument, price=price, source=source, held=held
        )
        live_mark_changed(instrument.symbol, mark.updated_at.isoformat())
        return mark, True
    if mark.held and not held:
        return mark, False
    if (mark.price, mark.source, mark.held) == (price, source, held):
        return mark, False
    mark.price, mark.source, mark.held = price, source, held
    row_update(mark, ["price", "source", "held", "updated_at"])
    live_mark_changed(instrument.symbol, mark.updated_at.isoformat())
    return mark, True


def drill_running_lock(instrument: Instrument) -> PriceDrill | None:
    """The instrument's running drill, locked (take the mark's lock first)."""
    return (
        PriceDrill.objects.select_for_update()
        .filter(instrument=instrument, status=PriceDrill.Status.RUNNING)
        .first()
    )


def drill_end(drill: PriceDrill, *, status: str, now: datetime) -> None:
    drill.status, drill.ended_at = status, now
    row_update(drill, ["status", "ended_at"])


def mark_price_put(
    *, instrument: Instrument, price: Decimal, source: str, now: datetime | None = None
) -> tuple[MarkPrice, PriceDrill | None]:
    """Lock the mark and write ``price`` (already checked), inside the caller's transaction. A
    manual price cancels the running drill; returns the mark and the drill it canceled."""
    mark = mark_price_lock(instrument)
    canceled = None
    if source == MarkPrice.Source.MANUAL:
        canceled = drill_running_lock(instrument)
        if canceled is not None:
            drill_end(canceled, status=PriceDrill.Status.CANCELED, now=now or timezone.now())
    mark, _ = mark_price_write(instrument=instrument, mark=mark, price=price, source=source)
    return mark, canceled


def mark_price_unhold(
    *, instrument: Instrument, now: datetime | None = None
) -> tuple[MarkPrice, PriceDrill | None]:
    """Release the mark and cancel the running drill, inside the caller's transaction; returns
    the mark and the drill it canceled. The price stays until the feed's next tick."""
    mark = mark_price_lock(instrument)
    if mark is None:
        raise NoMarkPrice(f"{instrument.symbol} has no mark price.", field="symbol")
    canceled = drill_running_lock(instrument)
    if canceled is not None:
        drill_end(canceled, status=PriceDrill.Status.CANCELED, now=now or timezone.now())
    if mark.held:
        mark.held = False
        row_update(mark, ["held", "updated_at"])
    return mark, canceled


def mark_price_set(*, symbol, price, source: str = MarkPrice.Source.MANUAL) -> MarkPrice:
    """The instrument's current mark price: the operator's override (source manual, held until
    released; it cancels a running drill) or a feed's price (never over a held mark: the held
    mark is returned as it is). Drill prices come from drills only."""
    instrument = instrument_get(symbol)
    price = mark_price_checked(instrument, price)
    if source not in MarkPrice.Source.values or source == MarkPrice.Source.DRILL:
        raise InvalidPrice(
            f"Unknown price source {source!r}.",
            field="source",
            reason=InvalidPrice.Reason.UNKNOWN_SOURCE,
        )
    with transaction.atomic(durable=True):
        mark, _ = mark_price_put(instrument=instrument, price=price, source=source)
    return mark


def mark_price_release(*, symbol) -> MarkPrice:
    """Let the feed move the instrument's mark again from its next tick (a running drill is
    canceled). The price stays until then; releasing a mark that is not held changes nothing."""
    instrument = instrument_get(symbol)
    with transaction.atomic(durable=True):
        mark, _ = mark_price_unhold(instrument=instrument)
    return mark


def _drill_change(before: dict | None, after: dict, drill: PriceDrill | None):
    """Name the drill a change canceled in the audit entry's before and after."""
    if drill is not None:
        before = {**(before or {}), "drill": {"id": drill.pk, "status": "RUNNING"}}
        after = {**after, "drill": {"id": drill.pk, "status": drill.status}}
    return before, after


def mark_price_override(*, operator, symbol, price, reason) -> MarkPrice:
    """The back office's "set a manual price": as mark_price_set (held until released; a running
    drill is canceled), recorded in the audit log with the mark before and after."""
    operator_permitted(operator, "trading.move_prices", what="move prices")
    instrument = instrument_get(symbol)
    price = mark_price_checked(instrument, price)
    reason = reason_checked(reason)
    with transaction.atomic(durable=True):
        before = mark_state(mark_price_lock(instrument))
        mark, canceled = mark_price_put(
            instrument=instrument, price=price, source=MarkPrice.Source.MANUAL
        )
        before, after = _drill_change(before, mark_state(mark), canceled)
        audit_record(
            actor=operator,
            action=AuditEntry.Action.MARK_PRICE_SET,
            target=mark,
            before=before,
            after=after,
            reason=reason,
            label=f"{instrument.symbol} mark price",
        )
    return mark


def mark_price_override_release(*, operator, symbol, reason) -> MarkPrice:
    """The back office's "release the override": the manual price or the running drill lets go
    (the drill is canceled) and the feed moves the mark from its next tick. Refused when nothing
    holds the mark."""
    operator_permitted(operator, "trading.move_prices", what="move prices")
    instrument = instrument_get(symbol)
    reason = reason_checked(reason)
    with transaction.atomic(durable=True):
        current = mark_price_lock(instrument)
        if current is None:
            raise NoMarkPrice(f"{instrument.symbol} has no mark price.", field="symbol")
        if not current.held:
            raise MarkNotHeld(
                f"{instrument.symbol}'s mark is not held: the price feed already moves it.",
                field="symbol",
            )
        before = mark_state(current)
        mark, canceled = mark_price_unhold(instrument=instrument)
        before, after = _drill_change(before, mark_state(mark), canceled)
        audit_record(
            actor=operator,
            action=AuditEntry.Action.MARK_PRICE_RELEASED,
            target=mark,
            before=before,
            after=after,
            reason=reason,
            label=f"{instrument.symbol} mark price",
        )
    return mark
