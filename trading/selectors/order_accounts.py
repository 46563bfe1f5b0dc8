"""What an order reads of its account once the wallet is locked, in one row: the margin its open
orders hold, the marks (every instrument's: a handful of rows), the stored leverage of the order's
symbol in each mode and the defaults its margin mode resolves from. Each is read once, and after
the lock: the rows the wallet's lock protects are then as committed by whoever held it before (a
statement's reads are those of its start, so this cannot be the locking statement itself). The
order's service reads it in the statement that locks the open positions
(trading/services/locks.py's open_positions_lock_reading). Plain SQL: it runs on every order,
and building it through the ORM cost more than running it."""

from dataclasses import dataclass
from decimal import Decimal

from trading.domain.leverage import leverage_default
from trading.domain.margin_modes import margin_mode_resolved
from trading.models import Instrument, MarginMode
from trading.selectors.holdings import OPEN_ORDER_MARGIN_AND_MARKS

ORDER_ACCOUNT = f"""
    SELECT {OPEN_ORDER_MARGIN_AND_MARKS},
        (SELECT leverage FROM trading_leveragesetting
         WHERE user_id = %(user)s AND instrument_id = %(instrument)s AND margin_mode = 'CROSS'),
        (SELECT leverage FROM trading_leveragesetting
         WHERE user_id = %(user)s AND instrument_id = %(instrument)s AND margin_mode = 'ISOLATED'),
        (SELECT margin_mode FROM trading_symbolmarginmode
         WHERE user_id = %(user)s AND instrument_id = %(instrument)s),
        (SELECT default_margin_mode FROM accounts_preferences WHERE user_id = %(user)s)
"""


@dataclass(frozen=True)
class OrderAccount:
    open_order_margin: Decimal
    marks: dict[int, Decimal]  # instrument id -> mark (of each instrument that has one)
    leverages: dict[str, int]  # margin mode -> the leverage of the order's symbol in it
    margin_mode_default: str  # the mode of an order that names none (domain/margin_modes.py)


def order_account_of(row: tuple, *, instrument: Instrument) -> OrderAccount:
    """The account an ``ORDER_ACCOUNT`` ``row`` holds, for an order on ``instrument``."""
    held, mark_ids, mark_prices, cross, isolated, symbol_default, user_default = row
    stored = {MarginMode.CROSS: cross, MarginMode.ISOLATED: isolated}
    return OrderAccount(
        open_order_margin=held,
        marks=dict(zip(mark_ids, mark_prices, strict=True)),
        leverages={mode: stored[mode] or leverage_default(instrument) for mode in stored},
        margin_mode_default=margin_mode_resolved(
            symbol_default=symbol_default,
            instrument_default=instrument.default_margin_mode,
            user_default=user_default,
        ),
    )
