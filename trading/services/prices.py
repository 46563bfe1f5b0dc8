from django.db import transaction

from trading.errors import InvalidPrice
from trading.inputs import decimal_from_input
from trading.models import MarkPrice
from trading.selectors import instrument_get


def mark_price_set(*, symbol, price, source: str = MarkPrice.Source.MANUAL) -> MarkPrice:
    """The instrument's current mark price (what a price feed calls on every tick, and the
    operator's override). A mark need not sit on the tick: it is an index, not a trade."""
    instrument = instrument_get(symbol)
    price = decimal_from_input(price, field="price", error=InvalidPrice)
    if price < instrument.tick_size:
        raise InvalidPrice(
            f"A mark price must be at least one tick ({instrument.tick_size.normalize():f}).",
            field="price",
        )
    if source not in MarkPrice.Source.values:
        raise InvalidPrice(f"Unknown price source {source!r}.", field="source")
    with transaction.atomic(durable=True):
        mark, _ = MarkPrice.objects.update_or_create(
            instrument=instrument, defaults={"price": price, "source": source}
        )
    return mark
