"""The margin engine: pure Decimal maths for cross and isolated margin.

No Django, no I/O, no clock (a test enforces it): every function maps Decimals to Decimals, so the
figures can be checked against an exchange's published examples to the last digit. Values are
exact, never rounded to the tick; ``liquidation_price_for_display`` rounds for the screen.
"""

from trading.engine.account import (
    AccountFigures,
    CrossHolding,
    CrossMargin,
    IsolatedHolding,
    PositionFigures,
    account_figures,
    cross_margin,
    cross_position_figures,
    isolated_position_figures,
    margin_ratio,
)
from trading.engine.book import Book, BookModel, Take, book_best_price, book_levels, book_take
from trading.engine.brackets import (
    LeverageTooHigh,
    bracket_for,
    brackets_from_rows,
    brackets_validate,
    leverage_check,
    max_notional_at_leverage,
)
from trading.engine.display import liquidation_price_for_display
from trading.engine.liquidation import (
    LiquidationFigures,
    cross_bankruptcy_price,
    cross_liquidation_figures,
    cross_liquidation_price,
    isolated_bankruptcy_price,
    isolated_liquidation_figures,
    isolated_liquidation_price,
    max_removable_isolated_margin,
)
from trading.engine.margins import initial_margin, maintenance_margin, unrealized_pnl
from trading.engine.orders import (
    FillResult,
    OrderCost,
    order_cost,
    position_after_fill,
    quantity_for_cost,
)
from trading.engine.positions import Bracket, PositionState, Side
from trading.engine.watch import watch_prices

__all__ = [
    "AccountFigures",
    "Book",
    "BookModel",
    "Bracket",
    "CrossHolding",
    "CrossMargin",
    "FillResult",
    "IsolatedHolding",
    "LeverageTooHigh",
    "LiquidationFigures",
    "OrderCost",
    "PositionFigures",
    "PositionState",
    "Side",
    "Take",
    "account_figures",
    "book_best_price",
    "book_levels",
    "book_take",
    "bracket_for",
    "brackets_from_rows",
    "brackets_validate",
    "cross_bankruptcy_price",
    "cross_liquidation_figures",
    "cross_liquidation_price",
    "cross_margin",
    "cross_position_figures",
    "initial_margin",
    "isolated_bankruptcy_price",
    "isolated_liquidation_figures",
    "isolated_liquidation_price",
    "isolated_position_figures",
    "leverage_check",
    "liquidation_price_for_display",
    "maintenance_margin",
    "margin_ratio",
    "max_notional_at_leverage",
    "max_removable_isolated_margin",
    "order_cost",
    "position_after_fill",
    "quantity_for_cost",
    "unrealized_pnl",
    "watch_prices",
]
