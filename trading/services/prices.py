"""Mark prices: the operator's price and the feeds' prices, and the one rule between them.

An operator's price (source manual) is held: no feed writes over it until it is released
(mark_price_release). Every write of a mark goes through mark_price_write, which applies that
rule, so a feed tick and the operator cannot disagree about it.
"""

from decimal import Decimal

from django.db import transaction

from trading.errors import InvalidPrice, NoMarkPrice
from trading.inputs import decimal_from_input
from trading.models import Instrument, MarkPrice
from trading.selectors import instrument_get


def mark_price_checked(instrument: Instrument, price) -> Decimal:
    """``price`` as a mark of ``instrument``, or InvalidPrice. A mark need not sit on the tick: it
    is an index, not a trade; but it is at least one tick."""
    price = decimal_from_input(price, field="price", error=InvalidPrice)
    if price < instrument.tick_size:
        raise InvalidPrice(
            f"A mark price must be at least one tick ({instrument.tick_size.normalize():f}).",
            field="price",
        )
    return price


def mark_price_write(
    *, instrument: Instrument, mark: MarkPrice | None, price: Decimal, source: str
) -> tuple[MarkPrice | None, bool]:
    """Store ``price`` from ``source`` in ``mark`` (locked by the caller's transaction; None when
    the instrument has no mark yet). A manual price is held; a feed's price leaves a held mark as
    it is. Returns the mark and whether it changed."""
    held = source == MarkPrice.Source.MANUAL
    if mark is None:
        mark = MarkPrice.objects.create(
            instrument=instrument, price=price, source=source, held=held
        )
        return mark, True
    if mark.held and not held:
        return mark, False
    if (mark.price, mark.source, mark.held) == (price, source, held):
        return mark, False
    mark.price, mark.source, mark.held = price, source, held
    mark.save(update_fields=["price", "source", "held", "updated_at"])
    return mark, True


def mark_price_set(*, symbol, price, source: str = MarkPrice.Source.MANUAL) -> MarkPrice:
    """The instrument's current mark price: the operator's override (source manual, held until
    released) or a feed's price (never over a held mark: the held mark is returned as it is)."""
    instrument = instrument_get(symbol)
    price = mark_price_checked(instrument, price)
    if source not in MarkPrice.Source.values:
        raise InvalidPrice(f"Unknown price source {source!r}.", field="source")
    with transaction.atomic(durable=True):
        current = MarkPrice.objects.select_for_update().filter(instrument=instrument).first()
        mark, _ = mark_price_write(instrument=instrument, mark=current, price=price, source=source)
    return mark


def mark_price_release(*, symbol) -> MarkPrice:
    """Let the feed move the instrument's mark again from its next tick. The price stays until
    then; releasing a mark that is not held changes nothing."""
    instrument = instrument_get(symbol)
    with transaction.atomic(durable=True):
        mark = MarkPrice.objects.select_for_update().filter(instrument=instrument).first()
        if mark is None:
            raise NoMarkPrice(f"{instrument.symbol} has no mark price.", field="symbol")
        if mark.held:
            mark.held = False
            mark.save(update_fields=["held", "updated_at"])
    return mark
