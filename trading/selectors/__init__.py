"""Read models: what pages, the API and the operator see, computed on read."""

from trading.selectors.accounts import AccountSummary, PositionRow, account_summary, position_list
from trading.selectors.health import health_status
from trading.selectors.holdings import holdings_load
from trading.selectors.instruments import (
    instrument_get,
    instrument_list,
    leverage_for,
    margin_mode_checked,
    margin_mode_default,
)
from trading.selectors.ledger import ledger_problems, system_account_balance
from trading.selectors.market import order_book

__all__ = [
    "AccountSummary",
    "PositionRow",
    "account_summary",
    "health_status",
    "holdings_load",
    "instrument_get",
    "instrument_list",
    "ledger_problems",
    "leverage_for",
    "margin_mode_checked",
    "margin_mode_default",
    "order_book",
    "position_list",
    "system_account_balance",
]
