"""The funding rate's rule (the simulated one, where no exchange gives it): the interest plus
the premium of the mark over its average across the interval before the funding time, clamped,
as Binance's formula does with its index. trading/services/funding.py says who pays what."""

from decimal import Decimal

from trading.money import ZERO

INTEREST = Decimal("0.0001")
CLAMP = Decimal("0.0075")


def funding_rate_simulated(*, price: Decimal, average: Decimal | None) -> Decimal:
    """Interest + premium of ``price`` over ``average`` (none: no premium), clamped, in 1e-8."""
    premium = (price - average) / average if average else ZERO
    return max(-CLAMP, min(CLAMP, INTEREST + premium)).quantize(Decimal("1e-8"))
