"""Reads for the orders that belong to a position: its take-profit and stop-loss (the key's open
close-position orders, at most one of each type: models/orders.py), and the quantity of an order
given by its cost."""

from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from marginsite.errors import InvalidInput
from trading.domain.orders import TPSL_FIELD_OF_TYPE, market_price, quantity_for_cost
from trading.errors import InvalidAmount, InvalidPrice, NoMarkPrice
from trading.inputs import decimal_from_input
from trading.models import Order, OrderSide, OrderType, Position
from trading.selectors.holdings import mark_prices
from trading.selectors.instruments import (
    instrument_get,
    leverage_for,
    margin_mode_checked,
    margin_mode_default,
)

__all__ = [
    "PositionTpsl",
    "order_price_basis",
    "order_quantity_for_cost",
    "position_tpsl_orders",
    "quantity_for_cost",
]


@dataclass(frozen=True)
class PositionTpsl:
    """A position's take-profit and stop-loss: their trigger prices and order ids (None: not
    set). Each closes the whole position when the mark reaches it."""

    take_profit: Decimal | None = None
    take_profit_order_id: int | None = None
    stop_loss: Decimal | None = None
    stop_loss_order_id: int | None = None


NO_TPSL = PositionTpsl()


def position_tpsl_orders(*, user, positions: Iterable[Position]) -> dict[int, PositionTpsl]:
    """Each position's take-profit and stop-loss, by position id, in one query (every position
    given has an entry, empty when it has neither)."""
    keys = {(p.instrument_id, p.margin_mode): p.pk for p in positions}
    tpsl = {position_id: NO_TPSL for position_id in keys.values()}
    if not keys:
        return tpsl
    orders = Order.objects.filter(
        user=user,
        status=Order.Status.NEW,
        close_position=True,
        instrument_id__in={instrument for instrument, _ in keys},
    ).values_list("pk", "instrument_id", "margin_mode", "order_type", "stop_price")
    for order_id, instrument_id, margin_mode, order_type, stop_price in orders:
        position_id = keys.get((instrument_id, margin_mode))
        if position_id is not None:
            price_field = TPSL_FIELD_OF_TYPE[order_type]
            id_field = f"{price_field}_order_id"
            tpsl[position_id] = replace(
                tpsl[position_id], **{price_field: stop_price, id_field: order_id}
            )
    return tpsl


def order_quantity_for_cost(
    *,
    user,
    symbol,
    side,
    cost,
    order_type="MARKET",
    price=None,
    stop_price=None,
    activation_price=None,
    margin_mode=None,
) -> Decimal:
    """The quantity of an order given by its ``cost`` (USDT of initial margin) at the leverage of
    its (symbol, mode), at the price it would fill at (``order_price_basis``). The order's own
    checks run when it is placed."""
    instrument = instrument_get(symbol)
    if margin_mode is None:
        margin_mode = margin_mode_default(user=user, instrument=instrument)
    margin_mode = margin_mode_checked(margin_mode)
    cost = decimal_from_input(cost, field="cost", error=InvalidAmount)
    if cost <= 0:
        raise InvalidAmount("cost must be greater than 0.", field="cost")
    basis = order_price_basis(
        instrument=instrument, side=side, order_type=order_type, price=price,
        stop_price=stop_price, activation_price=activation_price,
    )  # fmt: skip
    leverage = leverage_for(user=user, instrument=instrument, margin_mode=margin_mode)
    return quantity_for_cost(instrument=instrument, cost=cost, leverage=leverage, price=basis)


def order_price_basis(
    *, instrument, side, order_type, price=None, stop_price=None, activation_price=None
) -> Decimal:
    """The price an order given in USDT (of value or of margin) converts at: the price it
    would fill at, a LIMIT's price, a stop's stop price, a trailing stop's activation price, else
    the best price of the book for its ``side`` now."""
    if side not in OrderSide.values:
        raise InvalidInput(f"side must be BUY or SELL, not {side!r}.", field="side")
    named = {
        OrderType.LIMIT: ("price", price),
        OrderType.STOP_MARKET: ("stop_price", stop_price),
        OrderType.TAKE_PROFIT_MARKET: ("stop_price", stop_price),
        OrderType.TRAILING_STOP_MARKET: ("activation_price", activation_price),
    }
    field, basis = named.get(order_type, ("price", None))
    if basis is not None:
        basis = decimal_from_input(basis, field=field, error=InvalidPrice)
        if basis <= 0:
            raise InvalidPrice(
                f"{field} must be greater than 0.",
                field=field,
                reason=InvalidPrice.Reason.NOT_POSITIVE,
            )
    else:
        mark = mark_prices([instrument.pk]).get(instrument.pk)
        if mark is None:
            raise NoMarkPrice(f"{instrument.symbol} has no mark price yet; try again shortly.")
        basis = market_price(instrument, side, mark)
    return basis
