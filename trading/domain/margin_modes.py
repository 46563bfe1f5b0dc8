"""Which margin mode an order acts in: the mode named on the order (the confirmation screen
always sends one) > the user's default for the symbol > the operator's default for the
instrument > the user's default on /settings > Cross.

The mode of an open position never changes, and neither does a symbol's default mode while a
position or an order is open in it: ``mode_change_refusal`` words that refusal, once, for the web
pages and the native API (the Binance facade answers with Binance's own code and message, chosen
by the refusal's reason)."""

from trading.errors import MarginModeLocked
from trading.models import MarginMode


def margin_mode_resolved(
    *,
    chosen: str | None = None,
    symbol_default: str | None,
    instrument_default: str | None,
    user_default: str | None,
) -> str:
    return chosen or symbol_default or instrument_default or user_default or MarginMode.CROSS


def mode_change_refusal(
    *, symbol: str, held: str, wanted: str, reason: MarginModeLocked.Reason
) -> MarginModeLocked:
    """The refusal of a change to ``wanted`` while ``symbol`` has a position (reason
    OPEN_POSITION) or orders (OPEN_ORDERS) open in ``held``: it says what to do instead."""
    held_label, wanted_label = MarginMode(held).label, MarginMode(wanted).label
    if reason == MarginModeLocked.Reason.OPEN_POSITION:
        message = (
            f"The margin mode of an open position cannot be changed. Close your {symbol} "
            f"{held_label} position and reopen it in {wanted_label} mode."
        )
    else:
        message = (
            f"The margin mode of an open order cannot be changed. Cancel your {symbol} "
            f"{held_label} orders and place them again in {wanted_label} mode."
        )
    return MarginModeLocked(message, field="margin_mode", reason=reason)
