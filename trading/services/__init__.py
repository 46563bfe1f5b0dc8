"""State-changing use cases (and the order preview, which shares their checks). Each state
change runs in its own durable transaction, with row locks in the order of services/locks.py."""

from trading.services.audits import ledger_audit
from trading.services.drills import price_drill_start
from trading.services.funding import funding_settle
from trading.services.heartbeats import heartbeat_record
from trading.services.instruments import (
    instrument_create,
    instrument_halt,
    instrument_resume,
    instrument_update,
    market_seed,
)
from trading.services.interventions import order_cancel_by_operator, position_force_close
from trading.services.leverage import (
    leverage_set,
    position_margin_mode_change,
    symbol_margin_mode_clear,
    symbol_margin_mode_set,
)
from trading.services.margins import isolated_margin_add, isolated_margin_remove
from trading.services.notifications import notifications_read
from trading.services.orders import order_cancel, order_edit, order_place, position_close
from trading.services.positions import (
    order_place_with_tpsl,
    position_reverse,
    position_tpsl_cancel,
    position_tpsl_set,
    positions_close_all,
)
from trading.services.previews import ModePreview, OrderPreview, order_preview
from trading.services.prices import (
    mark_price_override,
    mark_price_override_release,
    mark_price_release,
    mark_price_set,
)
from trading.services.sweeps import SweepReport, sweep_run
from trading.services.ticks import prices_tick
from trading.services.wallets import (
    account_reset,
    insurance_fund_grant,
    wallet_deposit,
    wallet_grant,
    wallet_reset,
)

__all__ = [
    "ModePreview",
    "OrderPreview",
    "SweepReport",
    "account_reset",
    "funding_settle",
    "heartbeat_record",
    "instrument_create",
    "instrument_halt",
    "instrument_resume",
    "instrument_update",
    "insurance_fund_grant",
    "isolated_margin_add",
    "isolated_margin_remove",
    "ledger_audit",
    "leverage_set",
    "mark_price_override",
    "mark_price_override_release",
    "mark_price_release",
    "mark_price_set",
    "market_seed",
    "notifications_read",
    "order_cancel",
    "order_cancel_by_operator",
    "order_edit",
    "order_place",
    "order_place_with_tpsl",
    "order_preview",
    "position_close",
    "position_force_close",
    "position_margin_mode_change",
    "position_reverse",
    "position_tpsl_cancel",
    "position_tpsl_set",
    "positions_close_all",
    "price_drill_start",
    "prices_tick",
    "sweep_run",
    "symbol_margin_mode_clear",
    "symbol_margin_mode_set",
    "wallet_deposit",
    "wallet_grant",
    "wallet_reset",
]
