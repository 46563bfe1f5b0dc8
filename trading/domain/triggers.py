"""The trigger rule: when the mark has crossed an open order's price, so that the sweep fills it
(a resting LIMIT as a maker at its price; a stop or take-profit as a market order), and when a
new stop would trigger at once (refused, as on Binance).

Written once, as a table: the Python check and the sweep's SQL (trading/selectors/risk.py) are
both made from it.
"""

from decimal import Decimal

from trading.models import OrderSide, OrderType

# (order type, side) -> (the order's price it watches, how the mark stands to it once crossed)
TRIGGERS = {
    (OrderType.LIMIT, OrderSide.BUY): ("price", "<="),
    (OrderType.LIMIT, OrderSide.SELL): ("price", ">="),
    (OrderType.STOP_MARKET, OrderSide.BUY): ("stop_price", ">="),
    (OrderType.STOP_MARKET, OrderSide.SELL): ("stop_price", "<="),
    (OrderType.TAKE_PROFIT_MARKET, OrderSide.BUY): ("stop_price", "<="),
    (OrderType.TAKE_PROFIT_MARKET, OrderSide.SELL): ("stop_price", ">="),
}


def trigger_crossed(
    *, order_type: str, side: str, price: Decimal | None, stop_price: Decimal | None, mark
) -> bool:
    """Whether ``mark`` has reached the order's trigger (its own price, for a LIMIT)."""
    watched, relation = TRIGGERS[(order_type, side)]
    level = price if watched == "price" else stop_price
    return mark <= level if relation == "<=" else mark >= level


def triggers_sql(*, order: str, mark: str) -> str:
    """The rule as an SQL condition over the order table's alias ``order`` and the mark price
    table's alias ``mark``."""
    return (
        "("
        + "\n        OR ".join(
            f"({order}.order_type = '{order_type}' AND {order}.side = '{side}'"
            f" AND {mark}.price {relation} {order}.{watched})"
            for (order_type, side), (watched, relation) in TRIGGERS.items()
        )
        + ")"
    )
