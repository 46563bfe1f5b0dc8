"""The funding rate of a funding time: the exchange's, or the simulated rule's over the mark's
recent 1-minute candles (trading/domain/funding.py)."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Avg

from trading.domain.funding import funding_rate_simulated
from trading.models import MarkPrice, PriceCandle


def funding_rate(
    *,
    mark: MarkPrice,
    funding_time: datetime,
    price: Decimal | None = None,
    window: timedelta | None = None,
) -> Decimal:
    """The rate of a FUNDING_INTERVAL ending at ``funding_time`` (Binance's 8-hour rate): the
    exchange's while the mark is live (the last one the feed brought), else interest + premium of
    ``price`` (by default the current mark: the estimate of a coming settlement) over its average
    in the ``window`` before it (by default the interval), clamped."""
    if mark.source == MarkPrice.Source.LIVE and mark.funding_rate is not None:
        return mark.funding_rate
    return funding_rate_simulated_at(
        instrument_id=mark.instrument_id,
        funding_time=funding_time,
        price=mark.price if price is None else price,
        window=window,
    )


def funding_rate_simulated_at(
    *, instrument_id: int, funding_time: datetime, price, window: timedelta | None = None
) -> Decimal:
    """The simulated rule's rate of ``funding_time`` for ``price``, over the candles of the
    ``window`` before it (a past funding time on the live feed gets this too: the feed keeps no
    past rates)."""
    average = PriceCandle.objects.filter(
        instrument_id=instrument_id,
        opened_at__gte=funding_time - (window or settings.FUNDING_INTERVAL),
        opened_at__lt=funding_time,
    ).aggregate(average=Avg("close"))["average"]
    return funding_rate_simulated(
        price=price, average=None if average is None else Decimal(average)
    )
