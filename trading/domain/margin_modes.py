"""Which margin mode an order acts in: the mode named on the order (the confirmation screen
always sends one) > the user's default for the symbol > the operator's default for the
instrument > the user's default on /settings > Cross."""

from trading.models import MarginMode


def margin_mode_resolved(
    *,
    chosen: str | None = None,
    symbol_default: str | None,
    instrument_default: str | None,
    user_default: str | None,
) -> str:
    return chosen or symbol_default or instrument_default or user_default or MarginMode.CROSS
