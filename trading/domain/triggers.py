"""The trigger rule: when the mark has crossed an open order's price, so that the sweep fills it
(a resting LIMIT as a maker at its price; a stop, take-profit or trailing stop as a market
order), and when a new stop would trigger at once (refused, as on Binance).

Written once, as tables: the Python checks and the sweep's SQL (trading/selectors/risk.py, and
the trailing stops' update in trading/services/sweeps.py) are all made from them.

A trailing stop (TRAILING_STOP_MARKET) activates when the mark reaches its activation price (at
once when it has none), then follows the best mark since: a sell the highest, a buy the lowest
(its ``trailing_extreme``). It triggers when the mark has come back ``callback_rate`` percent
from that extreme: a sell at mark <= extreme x (1 - rate/100), a buy at mark >= extreme x
(1 + rate/100). The comparisons are written multiplied by 100, so both sides compute them
exactly, with no division.
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

# A trailing stop's side -> (how a mark stands to the extreme, or before activation to the
# activation price, to become the new extreme; the sign of the callback from it)
TRAILING = {
    OrderSide.SELL: (">=", -1),  # follows the highest mark, triggers rate % below it
    OrderSide.BUY: ("<=", 1),  # follows the lowest mark, triggers rate % above it
}
OPPOSITE = {">=": "<=", "<=": ">="}


def _holds(left: Decimal, relation: str, right: Decimal) -> bool:
    return left <= right if relation == "<=" else left >= right


def trigger_crossed(
    *,
    order_type: str,
    side: str,
    price: Decimal | None,
    stop_price: Decimal | None,
    mark,
    trailing_extreme: Decimal | None = None,
    callback_rate: Decimal | None = None,
) -> bool:
    """Whether ``mark`` has reached the order's trigger (its own price, for a LIMIT; for a
    trailing stop, ``callback_rate`` percent back from its ``trailing_extreme``, never before it
    is active)."""
    if order_type == OrderType.TRAILING_STOP_MARKET:
        if trailing_extreme is None:
            return False
        relation, sign = TRAILING[side]
        return _holds(
            mark * 100, OPPOSITE[relation], trailing_extreme * (100 + sign * callback_rate)
        )
    watched, relation = TRIGGERS[(order_type, side)]
    level = price if watched == "price" else stop_price
    return _holds(mark, relation, level)


def trailing_activation_crossed(*, side: str, activation_price: Decimal, mark) -> bool:
    """Whether a trailing stop with this activation price would be active at once at ``mark``:
    refused on a new order, as Binance refuses it ("Order would immediately trigger")."""
    return _holds(mark, TRAILING[side][0], activation_price)


def trailing_extreme_next(
    *, side: str, activation_price: Decimal | None, extreme: Decimal | None, mark
) -> Decimal | None:
    """A trailing stop's extreme once the mark is ``mark``: the mark when it is a new best (or,
    not active yet, when it reaches the activation price, or at once with none); else what it
    was (None: still not active)."""
    relation, _ = TRAILING[side]
    if extreme is not None:
        reference = extreme
    else:
        reference = activation_price if activation_price is not None else mark
    return mark if _holds(mark, relation, reference) else extreme


def trailing_stop_price(*, side: str, extreme: Decimal, callback_rate: Decimal) -> Decimal:
    """The mark at which a trailing stop whose extreme is ``extreme`` triggers."""
    return extreme * (100 + TRAILING[side][1] * callback_rate) / 100


def triggers_sql(*, order: str, mark: str) -> str:
    """The rule as an SQL condition over the order table's alias ``order`` and the mark price
    table's alias ``mark``. A trailing stop not active yet (its extreme NULL) never holds."""
    stops = [
        f"({order}.order_type = '{order_type}' AND {order}.side = '{side}'"
        f" AND {mark}.price {relation} {order}.{watched})"
        for (order_type, side), (watched, relation) in TRIGGERS.items()
    ]
    trailing = [
        f"({order}.order_type = '{OrderType.TRAILING_STOP_MARKET}' AND {order}.side = '{side}'"
        f" AND 100 * {mark}.price {OPPOSITE[relation]}"
        f" {order}.trailing_extreme * (100 {'+' if sign > 0 else '-'} {order}.callback_rate))"
        for side, (relation, sign) in TRAILING.items()
    ]
    return "(" + "\n        OR ".join(stops + trailing) + ")"


def trailing_moves_sql(*, order: str, mark: str) -> str:
    """``trailing_extreme_next`` as an SQL condition: the mark becomes the trailing stop's
    extreme (COALESCE: the extreme, else the activation price, else the mark itself)."""
    return (
        "("
        + "\n        OR ".join(
            f"({order}.side = '{side}' AND {mark}.price {relation} COALESCE("
            f"{order}.trailing_extreme, {order}.activation_price, {mark}.price))"
            for side, (relation, _) in TRAILING.items()
        )
        + ")"
    )
