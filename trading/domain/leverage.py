"""The leverage of a (symbol, mode) the user never set: the instrument's default, never above
its maximum (an operator may have lowered the maximum below the default)."""

from trading.models import Instrument


def leverage_default(instrument: Instrument) -> int:
    return min(instrument.default_leverage, instrument.max_leverage)
