"""What a trader does to a whole position: set or cancel its take-profit and stop-loss (also
with the order that opens it), close every position at once, reverse one.

A position's take-profit (TAKE_PROFIT_MARKET) and stop-loss (STOP_MARKET) are close-position
orders on its key: reduce-only, on the closing side, holding no margin, at most one of each
(models/orders.py). When the mark reaches one, the sweep closes the whole position as it is then
(trading/domain/triggers.py); when the position closes, reverses or is liquidated, both are
cancelled (services/fills.py, services/liquidations.py). Every refusal changes nothing.
"""

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from marginsite.errors import InvalidInput
from trading.domain.holdings import holdings_of
from trading.domain.orders import TPSL
from trading.domain.sides import closing_side
from trading.domain.triggers import trigger_crossed
from trading.engine import unrealized_pnl
from trading.errors import InvalidPrice, NoMarkPrice, NoPosition, OrderNotFound
from trading.inputs import row_id_from_input
from trading.models import Order, OrderType, Position, PositionSide
from trading.money import ZERO
from trading.selectors.holdings import mark_prices
from trading.selectors.instruments import margin_mode_checked
from trading.selectors.position_orders import PositionTpsl, position_tpsl_orders
from trading.services.locks import open_orders_lock, open_positions_lock, wallet_lock
from trading.services.orders import (
    order_place_locked,
    order_place_once,
    order_request_checked,
    position_close_locked,
    price_checked,
)

TPSL_WHICH = {"both": tuple(TPSL), "take_profit": ("take_profit",), "stop_loss": ("stop_loss",)}


def _position_locked(user, position_id) -> tuple[Position, list[Position]]:
    """The user's open position ``position_id`` among all their open positions, locked (after
    the wallet); NoPosition if it is not one of them."""
    position_id = row_id_from_input(
        position_id,
        not_found=NoPosition(
            "Position not found: none of your positions has that number.", field="position"
        ),
    )
    positions = open_positions_lock(user)
    position = next((p for p in positions if p.pk == position_id), None)
    if position is None:
        closed = Position.objects.filter(user=user, pk=position_id).select_related("instrument")
        if closed := closed.first():
            raise NoPosition(
                f"This {closed.instrument.symbol} position is no longer open "
                f"({closed.get_status_display().lower()}).",
                field="position",
            )
        raise NoPosition(
            "Position not found: none of your positions has that number.", field="position"
        )
    return position, positions


def _tpsl_checked(position: Position, field: str, value, mark: Decimal) -> Decimal:
    """A take-profit or stop-loss price for ``position``: on the tick, and not already reached by
    the mark (it would close the position at once: the rule of every new stop)."""
    order_type, name = TPSL[field]
    price = price_checked(value, field=field, instrument=position.instrument)
    if trigger_crossed(
        order_type=order_type, side=closing_side(position.side), price=None, stop_price=price,
        mark=mark,
    ):  # fmt: skip
        long = position.side == PositionSide.LONG
        beyond = "above" if long == (field == "take_profit") else "below"
        raise InvalidPrice(
            f"A {position.side.lower()}'s {name} must be {beyond} the mark price "
            f"{mark.normalize():f}: at {price.normalize():f} it would trigger at once.",
            field=field,
            reason=InvalidPrice.Reason.WOULD_TRIGGER_IMMEDIATELY,
        )
    return price


def position_tpsl_set(*, user, position_id, take_profit=None, stop_loss=None) -> PositionTpsl:
    """Set the position's take-profit and/or stop-loss (a price given replaces the one set, which
    keeps its order id; a price not given leaves its order as it is). Both are checked before
    either changes."""
    _tpsl_given(take_profit, stop_loss)
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        position, _ = _position_locked(user, position_id)
        return _tpsl_set_locked(user, wallet, position, take_profit, stop_loss)


def order_place_with_tpsl(
    *, user, take_profit=None, stop_loss=None, expected_leverage=None, **order
) -> Order:
    """``order_place`` (``order`` names its ``margin_mode``), then the take-profit and/or
    stop-loss of the position it leaves open, all or nothing: the confirmation's TP/SL. Refused,
    placing nothing, when a price would trigger at once, or the order did not fill at once (a
    resting limit, a market order the book could not fill) or leaves no open position in its
    mode (a close): a TP/SL must never move those of a position the order did not touch.
    Idempotent on ``client_order_id`` as ``order_place``."""
    _tpsl_given(take_profit, stop_loss)
    request = order_request_checked(user=user, reduce_only=False, **order)

    def place(wallet) -> Order:
        placed = order_place_locked(
            user=user, wallet=wallet, request=request, expected_leverage=expected_leverage
        )
        key = (placed.instrument_id, placed.margin_mode)
        position = next(
            (p for p in open_positions_lock(user) if (p.instrument_id, p.margin_mode) == key),
            None,
        )
        if position is None or not placed.filled_quantity:
            raise InvalidInput(
                "A take-profit or stop-loss goes with an order that fills at once and leaves a "
                "position open; this one does not: set them from the positions panel.",
                field="take_profit" if take_profit is not None else "stop_loss",
            )
        _tpsl_set_locked(user, wallet, position, take_profit, stop_loss)
        return placed

    return order_place_once(user, request.client_order_id, place)


def _tpsl_given(take_profit, stop_loss) -> None:
    if take_profit is None and stop_loss is None:
        raise InvalidInput(
            "Give a take_profit price, a stop_loss price, or both.", field="take_profit"
        )


def _tpsl_set_locked(user, wallet, position: Position, take_profit, stop_loss) -> PositionTpsl:
    """``position_tpsl_set`` under the wallet's and the position's locks."""
    mark = mark_prices([position.instrument_id]).get(position.instrument_id)
    if mark is None:
        raise NoMarkPrice(f"{position.instrument.symbol} has no mark price yet; try again.")
    prices = {
        field: _tpsl_checked(position, field, value, mark)
        for field, value in (("take_profit", take_profit), ("stop_loss", stop_loss))
        if value is not None
    }
    current = _tpsl_orders_locked(user, position)
    for field, price in prices.items():
        order_type = TPSL[field][0]
        if order := current.get(order_type):
            order.stop_price = price
            order.save(update_fields=["stop_price", "updated_at"])
            continue
        request = order_request_checked(
            user=user, symbol=position.instrument.symbol, side=closing_side(position.side),
            quantity=None, order_type=order_type, price=None, stop_price=price,
            margin_mode=position.margin_mode, reduce_only=True, client_order_id=None,
            close_position=True,
        )  # fmt: skip
        order_place_locked(user=user, wallet=wallet, request=request)
    return position_tpsl_orders(user=user, positions=[position])[position.pk]


def position_tpsl_cancel(*, user, position_id, which="both") -> PositionTpsl:
    """Cancel the position's take-profit, stop-loss or both (``which``); answers what is left.
    OrderNotFound when there is none of what is named."""
    if which not in TPSL_WHICH:
        raise InvalidInput(
            f"which must be one of {', '.join(TPSL_WHICH)}, not {which!r}.", field="which"
        )
    with transaction.atomic(durable=True):
        wallet_lock(user)
        position, _ = _position_locked(user, position_id)
        current = _tpsl_orders_locked(user, position)
        cancelled = [
            current[TPSL[field][0]] for field in TPSL_WHICH[which] if TPSL[field][0] in current
        ]
        if not cancelled:
            names = " or ".join(TPSL[field][1] for field in TPSL_WHICH[which])
            raise OrderNotFound(
                f"This {position.instrument.symbol} position has no {names} to cancel.",
                field="which",
            )
        Order.objects.filter(pk__in=[order.pk for order in cancelled]).update(
            status=Order.Status.CANCELED, margin_held=ZERO, updated_at=timezone.now()
        )
        return position_tpsl_orders(user=user, positions=[position])[position.pk]


def _tpsl_orders_locked(user, position: Position) -> dict[str, Order]:
    """The position's open close-position orders by type, locked (after its position)."""
    orders = open_orders_lock(
        user,
        instrument=position.instrument_id,
        margin_mode=position.margin_mode,
        close_position=True,
    )
    return {order.order_type: order for order in orders}


def positions_close_all(*, user, margin_mode=None) -> list[Order]:
    """Close every open position of ``margin_mode`` (None: of both) at market, in one
    transaction: a refusal of any close changes nothing. Cross positions in profit close first,
    so that their realized profit is in the wallet before a loss is paid. Returns the closing
    orders (none without open positions)."""
    if margin_mode is not None:
        margin_mode = margin_mode_checked(margin_mode)
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        positions = [
            p
            for p in open_positions_lock(user)
            if margin_mode is None or p.margin_mode == margin_mode
        ]
        valued = holdings_of(positions, mark_prices(p.instrument_id for p in positions))

        def profit_first(position: Position):
            state = valued[(position.instrument_id, position.margin_mode)].position
            return -unrealized_pnl(state), position.pk

        return [
            position_close_locked(
                user=user,
                wallet=wallet,
                instrument=position.instrument,
                margin_mode=position.margin_mode,
            )
            for position in sorted(positions, key=profit_first)
        ]


def position_reverse(*, user, position_id) -> Order:
    """Close the position and open the opposite side with the same size, in the same mode, at
    market: one order of twice the size (Binance's reverse), which frees the closed side's
    margin for the new one. Refused, changing nothing, if the margin for the new side is short
    (MarginInsufficient) or the book cannot fill it whole at once (BookTooThin). The new side
    takes the (symbol, mode)'s leverage; the old side's take-profit and stop-loss are
    cancelled."""
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        position, _ = _position_locked(user, position_id)
        request = order_request_checked(
            user=user, symbol=position.instrument.symbol, side=closing_side(position.side),
            quantity=2 * position.quantity, order_type=OrderType.MARKET, price=None,
            stop_price=None, margin_mode=position.margin_mode, reduce_only=False,
            client_order_id=None, whole_position=True,
        )  # fmt: skip
        return order_place_locked(user=user, wallet=wallet, request=request, fill_whole=True)
