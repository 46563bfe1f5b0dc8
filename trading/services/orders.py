"""Orders: preview (no state change), place, edit, cancel, close a position.

An order acts only on the position of its margin mode (the mode named on the order, else the
symbol's default, else the user's default, else CROSS). Takers fill against the instrument's
order book (trading/engine/book.py), in one fill at the average price of the levels they take:
- MARKET walks the book up to the maximum slippage; what the book holds no further is not
  filled and the order expires with what it got (Binance's market protection does the same).
- LIMIT by time in force: GTC whose price crosses the book takes from it up to its price, and
  what the book holds no more of within its price rests at its price (as on Binance: the order
  stays open, partly filled); an order that rests holds the initial margin and maker fee of
  what is left; IOC takes what the book gives up to its price and expires the rest; FOK fills
  whole at once or expires with nothing filled; GTX (post-only) rests, and is refused if it
  would take.
- STOP_MARKET and TAKE_PROFIT_MARKET rest until the mark crosses their stop and hold nothing, as
  on Binance; the sweep then executes them as market orders.
A resting LIMIT fills (what is left of it) as a maker at its own price when the mark crosses it
(the sweep).
"""

import re
from dataclasses import replace
from decimal import Decimal
from functools import partial

from django.db import IntegrityError, transaction

from marginsite.errors import ApplicationError, InvalidInput
from trading.domain.orders import (
    CALLBACK_RATE_MAX,
    CALLBACK_RATE_MIN,
    CALLBACK_RATE_STEP,
    RESTING_TYPES,
    TPSL,
    TPSL_FIELD_OF_TYPE,
    OrderPlan,
    OrderRequest,
    order_plan,
    order_refusal,
)
from trading.domain.sides import closing_side
from trading.domain.triggers import trailing_extreme_next
from trading.errors import (
    BookTooThin,
    ClosePositionExists,
    InvalidPrice,
    InvalidQuantity,
    NoPosition,
    OrderNotCancelable,
    OrderNotEditable,
    OrderNotFound,
    ReviewOutdated,
)
from trading.inputs import decimal_from_input, on_step, row_id_from_input
from trading.models import Fill, Instrument, Order, OrderType, Position, TimeInForce
from trading.money import ZERO
from trading.selectors import (
    holdings_load,
    instrument_get,
    margin_mode_checked,
    margin_mode_default,
)
from trading.selectors.history import order_with_client_id
from trading.selectors.holdings import mark_prices
from trading.selectors.instruments import instrument_by_pk, instrument_cached, instruments_version
from trading.selectors.order_accounts import ORDER_ACCOUNT, order_account_of
from trading.services.fills import order_execute
from trading.services.locks import (
    open_orders_lock,
    open_positions_lock,
    open_positions_lock_reading,
    wallet_lock,
)

CLIENT_ORDER_ID = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")


def price_checked(value, *, field: str, instrument: Instrument) -> Decimal:
    """A price a client sends for ``instrument``: a positive number on its tick."""
    price = decimal_from_input(value, field=field, error=InvalidPrice)
    if price <= 0:
        raise InvalidPrice(
            f"{field} must be greater than 0.", field=field, reason=InvalidPrice.Reason.NOT_POSITIVE
        )
    if not on_step(price, instrument.tick_size):
        raise InvalidPrice(
            f"{field} {price} is not a multiple of the tick size "
            f"{instrument.tick_size.normalize()}.",
            field=field,
            reason=InvalidPrice.Reason.OFF_TICK,
        )
    return price


def order_request_checked(
    *, user, symbol, side, quantity, order_type, price, stop_price, margin_mode, reduce_only,
    client_order_id, time_in_force=TimeInForce.GTC, whole_position: bool = False,
    callback_rate=None, activation_price=None, close_position=False, in_memory: bool = False,
    mode_later: bool = False, venue: str | None = None,
) -> OrderRequest:  # fmt: skip
    """The request, checked as far as it can be without the account. ``whole_position``: the
    quantity is an open position's whole size (``position_close``), which closes whatever the
    step and minimum are now: an operator may have changed them since it opened.
    ``close_position``: a STOP_MARKET or TAKE_PROFIT_MARKET with no quantity, reduce-only, that
    closes the whole position when it triggers. ``in_memory``: checked against the instrument
    this process keeps in memory (selectors/instruments.py), for a caller that holds the wallet's
    lock or checks again under it if the version has moved (``order_place``). ``mode_later``:
    an order that names no mode keeps none here; the caller resolves it under its lock.
    ``venue``: only an instrument on that venue's rules is known (the Binance facade's)."""
    find = instrument_cached if in_memory else instrument_get
    instrument = find(symbol, venue=venue)
    if side not in ("BUY", "SELL"):
        raise InvalidInput(f"side must be BUY or SELL, not {side!r}.", field="side")
    if order_type not in OrderType.values:
        raise InvalidInput(
            f"order_type must be one of {', '.join(OrderType.values)}, not {order_type!r}.",
            field="order_type",
        )
    if not isinstance(close_position, bool):
        raise InvalidInput("close_position must be true or false.", field="close_position")
    if close_position:
        _close_position_checked(order_type, quantity)
        reduce_only = True
    else:
        quantity = _quantity_checked(quantity, instrument, whole_position=whole_position)
    callback_rate, activation_price = _trailing_checked(
        order_type, callback_rate, activation_price, instrument
    )
    if order_type == OrderType.LIMIT:
        if price is None:
            raise InvalidPrice(
                "A LIMIT order needs a price.", field="price", reason=InvalidPrice.Reason.MISSING
            )
        price = price_checked(price, field="price", instrument=instrument)
    elif price is not None:
        raise InvalidPrice(
            f"A {order_type} order takes no price.",
            field="price",
            reason=InvalidPrice.Reason.NOT_TAKEN,
        )
    if order_type in RESTING_TYPES:
        if stop_price is None:
            raise InvalidPrice(
                f"A {order_type} order needs a stop_price.",
                field="stop_price",
                reason=InvalidPrice.Reason.MISSING,
            )
        stop_price = price_checked(stop_price, field="stop_price", instrument=instrument)
    elif stop_price is not None:
        raise InvalidPrice(
            f"A {order_type} order takes no stop_price.",
            field="stop_price",
            reason=InvalidPrice.Reason.NOT_TAKEN,
        )
    if time_in_force not in TimeInForce.values:
        raise InvalidInput(
            f"time_in_force must be one of {', '.join(TimeInForce.values)}, not {time_in_force!r}.",
            field="time_in_force",
        )
    if order_type != OrderType.LIMIT and time_in_force != TimeInForce.GTC:
        raise InvalidInput(
            f"A {order_type} order takes no time in force: only LIMIT orders do.",
            field="time_in_force",
        )
    if margin_mode is None and not mode_later:
        margin_mode = margin_mode_default(user=user, instrument=instrument)
    if margin_mode is not None:
        margin_mode = margin_mode_checked(margin_mode)
    if not isinstance(reduce_only, bool):
        raise InvalidInput("reduce_only must be true or false.", field="reduce_only")
    client_order_id = client_order_id or ""
    if client_order_id and (
        not isinstance(client_order_id, str) or not CLIENT_ORDER_ID.match(client_order_id)
    ):
        raise InvalidInput(
            "client_order_id must be 1 to 36 letters, digits or . : / _ -.",
            field="client_order_id",
        )
    return OrderRequest(
        instrument, side, order_type, quantity, price, stop_price, margin_mode, reduce_only,
        client_order_id, time_in_force, callback_rate, activation_price, close_position,
    )  # fmt: skip


def _quantity_checked(quantity, instrument: Instrument, *, whole_position: bool) -> Decimal:
    quantity = decimal_from_input(quantity, field="quantity", error=InvalidQuantity)
    if quantity <= 0:
        raise InvalidQuantity(
            "quantity must be greater than 0.",
            field="quantity",
            reason=InvalidQuantity.Reason.NOT_POSITIVE,
        )
    if not whole_position and not on_step(quantity, instrument.step_size):
        raise InvalidQuantity(
            f"quantity {quantity} is not a multiple of the step size "
            f"{instrument.step_size.normalize()}.",
            field="quantity",
            reason=InvalidQuantity.Reason.OFF_STEP,
        )
    if not whole_position and quantity < instrument.min_quantity:
        raise InvalidQuantity(
            f"quantity {quantity} is below the minimum of {instrument.min_quantity.normalize()}.",
            field="quantity",
            reason=InvalidQuantity.Reason.BELOW_MIN_QUANTITY,
        )
    return quantity


def _close_position_checked(order_type: str, quantity) -> None:
    """A close-position order is a stop or take-profit, and names no quantity (as on Binance:
    it closes whatever the position holds when it triggers)."""
    if order_type not in RESTING_TYPES:
        raise InvalidInput(
            "close_position is for STOP_MARKET and TAKE_PROFIT_MARKET orders only, not "
            f"{order_type}.",
            field="close_position",
        )
    if quantity is not None:
        raise InvalidInput(
            "A close_position order takes no quantity: it closes the whole position when it "
            "triggers.",
            field="quantity",
        )


def _trailing_checked(order_type: str, callback_rate, activation_price, instrument: Instrument):
    """A trailing stop's callback rate (Binance's range and step) and optional activation price
    (on the tick); other order types take neither."""
    if order_type != OrderType.TRAILING_STOP_MARKET:
        trailing = {"callback_rate": callback_rate, "activation_price": activation_price}
        for field, value in trailing.items():
            if value is not None:
                raise InvalidInput(
                    f"A {order_type} order takes no {field}: only TRAILING_STOP_MARKET does.",
                    field=field,
                )
        return None, None
    if callback_rate is None:
        raise InvalidInput(
            "A TRAILING_STOP_MARKET order needs a callback_rate.", field="callback_rate"
        )
    rate = decimal_from_input(callback_rate, field="callback_rate")
    if not (CALLBACK_RATE_MIN <= rate <= CALLBACK_RATE_MAX) or not on_step(
        rate, CALLBACK_RATE_STEP
    ):
        raise InvalidInput(
            f"callback_rate must be a percentage from {CALLBACK_RATE_MIN} to {CALLBACK_RATE_MAX} "
            f"in steps of {CALLBACK_RATE_STEP}, not {rate.normalize():f}.",
            field="callback_rate",
        )
    if activation_price is not None:
        activation_price = price_checked(
            activation_price, field="activation_price", instrument=instrument
        )
    return rate, activation_price


def order_account_state(user, request: OrderRequest, *, wallet=None, positions=None):
    """Holdings, the open position of each mode on the order's symbol, and its mark (each mark
    read once, in one query)."""
    if positions is None:
        positions = list(
            Position.objects.filter(user=user, status=Position.Status.OPEN)
            .select_related("instrument")
            .prefetch_related("instrument__brackets")
        )
    marks = mark_prices({p.instrument_id for p in positions} | {request.instrument.pk})
    holdings = holdings_load(user=user, wallet=wallet, positions=positions, marks=marks)
    by_mode = {p.margin_mode: p for p in positions if p.instrument_id == request.instrument.pk}
    return holdings, by_mode, marks.get(request.instrument.pk)


def order_place(
    *,
    user,
    symbol,
    side,
    quantity,
    order_type="MARKET",
    price=None,
    stop_price=None,
    margin_mode=None,
    reduce_only=False,
    client_order_id=None,
    expected_leverage=None,
    time_in_force=TimeInForce.GTC,
    callback_rate=None,
    activation_price=None,
    close_position=False,
    venue=None,
) -> Order:
    """Place an order; refusals raise and change nothing. Idempotent on client_order_id: a
    replay returns the first order and changes nothing. ``expected_leverage``: the leverage the
    user reviewed (the confirmation step); if the stored one differs now, ReviewOutdated.
    ``time_in_force`` (LIMIT orders only): GTC, IOC, FOK or GTX; an IOC or FOK that cannot fill
    is recorded EXPIRED (what it filled, if anything, stays filled), a GTX that would take
    raises PostOnlyRejected and is not recorded. ``callback_rate`` (percent, 0.1 to 10) and
    ``activation_price``: a TRAILING_STOP_MARKET's. ``close_position``: a STOP_MARKET or
    TAKE_PROFIT_MARKET with no ``quantity`` that closes the whole position when it triggers
    (one of each type per position, ClosePositionExists otherwise). ``venue``: only an
    instrument on that venue's rules is known (the Binance facade's), under the lock too."""
    checked = partial(
        order_request_checked,
        user=user, symbol=symbol, side=side, quantity=quantity, order_type=order_type,
        price=price, stop_price=stop_price, margin_mode=margin_mode, reduce_only=reduce_only,
        client_order_id=client_order_id, time_in_force=time_in_force,
        callback_rate=callback_rate, activation_price=activation_price,
        close_position=close_position, in_memory=True, mode_later=True, venue=venue,
    )  # fmt: skip
    request = checked()

    def place(wallet) -> Order:
        # the instruments changed since the request was checked: check it again with the new
        # ones (the wallet's lock has brought them in)
        current = instruments_version() == request.instrument.instruments_version
        return _order_place_locked(
            user,
            wallet,
            request if current else checked(),
            mode_given=margin_mode is not None,
            expected_leverage=expected_leverage,
        )

    return order_place_once(user, request.client_order_id, place)


def order_place_once(user, client_order_id: str, place) -> Order:
    """``place(wallet)`` in one transaction under the user's wallet lock, unless the user already
    has an order with ``client_order_id``: then that order, and nothing changes (a replay).
    A new order reads nothing to find out: the order's row, whose client id is unique for its
    user, refuses a replay that gets as far as its insert (the transaction is rolled back), and
    a replay refused before that (the first order changed the account) is looked for then."""
    try:
        with transaction.atomic(durable=True):
            return place(wallet_lock(user))
    except (IntegrityError, ApplicationError):
        if replayed := _order_replayed(user, client_order_id):
            return replayed
        raise


def _order_replayed(user, client_order_id: str) -> Order | None:
    """The user's order with this ``client_order_id`` (None without one): a replay's answer."""
    return order_with_client_id(user, client_order_id) if client_order_id else None


def order_place_locked(
    *, user, wallet, request: OrderRequest, fill_whole: bool = False, expected_leverage=None
) -> Order:
    """``order_place`` of a checked request that names its mode, for a caller that holds the
    user's wallet lock (``wallet``) inside its own transaction (a position's take-profit and
    stop-loss, a reversal, an order with its TP/SL). ``fill_whole``: refused (BookTooThin)
    unless it fills whole now."""
    return _order_place_locked(
        user,
        wallet,
        request,
        mode_given=True,
        expected_leverage=expected_leverage,
        fill_whole=fill_whole,
    )


def _order_place_locked(
    user, wallet, request: OrderRequest, *, mode_given: bool, expected_leverage,
    fill_whole: bool = False,
) -> Order:  # fmt: skip
    """Place ``request`` with the wallet locked. What a concurrent change could have moved since
    the request was checked is read again here: the instrument (halted?), at the version the
    wallet's lock read, and, when the order named no mode, the user's default mode. The account
    (selectors/order_accounts.py) is read in the statement that locks the open positions."""
    instrument = instrument_by_pk(request.instrument.pk)
    positions, row = open_positions_lock_reading(
        user, ORDER_ACCOUNT, {"user": user.pk, "instrument": instrument.pk}
    )
    account = order_account_of(row, instrument=instrument)
    request = replace(
        request,
        instrument=instrument,
        margin_mode=request.margin_mode if mode_given else account.margin_mode_default,
    )
    holdings = holdings_load(
        user=user,
        wallet=wallet,
        positions=positions,
        marks=account.marks,
        open_order_margin=account.open_order_margin,
    )
    position = next(
        (
            p
            for p in positions
            if p.instrument_id == instrument.pk and p.margin_mode == request.margin_mode
        ),
        None,
    )
    mark = account.marks.get(instrument.pk)
    leverage = account.leverages[request.margin_mode]
    if expected_leverage is not None and str(expected_leverage).strip() != str(leverage):
        raise ReviewOutdated(
            f"Your {request.instrument.symbol} {request.margin_mode.title()} leverage is now "
            f"{leverage}x, not the {str(expected_leverage).strip()}x you reviewed. Review the "
            "order again.",
            field="leverage",
        )
    plan = _plan_accepted(
        request, leverage=leverage, mark=mark, position=position, holdings=holdings
    )
    if request.close_position:
        _close_position_free(user, request)
    if fill_whole and not (plan.executes_now and plan.quantity == plan.order_quantity):
        raise BookTooThin(
            f"The {request.instrument.symbol} book holds less than "
            f"{plan.order_quantity.normalize():f} {request.instrument.base_asset} within the "
            "maximum slippage: it cannot be done at once in whole. Nothing was done.",
            field="quantity",
        )
    trailing = request.order_type == OrderType.TRAILING_STOP_MARKET
    # written once, as it stands after what it executes now (services/fills.py)
    order = Order(
        user=user,
        instrument=request.instrument,
        side=request.side,
        order_type=request.order_type,
        time_in_force=request.time_in_force,
        margin_mode=request.margin_mode,
        quantity=plan.order_quantity,
        price=request.price,
        stop_price=request.stop_price,
        reduce_only=request.reduce_only,
        close_position=request.close_position,
        callback_rate=request.callback_rate,
        activation_price=request.activation_price,
        # active at once without an activation price, from the mark at placement
        trailing_extreme=(
            trailing_extreme_next(
                side=request.side,
                activation_price=request.activation_price,
                extreme=None,
                mark=mark,
            )
            if trailing
            else None
        ),
        leverage=leverage,
        client_order_id=request.client_order_id,
        status=(Order.Status.NEW if plan.rests or plan.executes_now else Order.Status.EXPIRED),
        margin_held=plan.margin_held,
    )
    _plan_execute(order, plan, wallet=wallet, position=position)
    return order


def _close_position_free(user, request: OrderRequest) -> None:
    """A position holds at most one open close-position order of each type (its take-profit and
    its stop-loss), as on Binance; read under the wallet lock, so no concurrent placement can
    add one meanwhile."""
    taken = Order.objects.filter(
        user=user,
        instrument=request.instrument,
        margin_mode=request.margin_mode,
        order_type=request.order_type,
        close_position=True,
        status=Order.Status.NEW,
    ).values_list("pk", flat=True)
    if taken:
        kind = TPSL[TPSL_FIELD_OF_TYPE[request.order_type]][1]
        raise ClosePositionExists(
            f"This {request.instrument.symbol} {request.margin_mode.title()} position already "
            f"has a {kind} (order {taken[0]}) that closes it whole: change or cancel that one.",
            field="close_position",
        )


def _plan_accepted(request: OrderRequest, *, leverage, mark, position, holdings) -> OrderPlan:
    """The plan of ``request`` now; its refusal raises."""
    plan = order_plan(
        request,
        leverage=leverage,
        mark=mark,
        position=position,
        wallet_balance=holdings.wallet_balance,
    )
    if refusal := order_refusal(plan, holdings):
        raise refusal
    return plan


def _plan_execute(order: Order, plan: OrderPlan, *, wallet, position) -> None:
    """Take from the book what ``plan`` takes now (nothing for an order that rests); a GTC's
    unfilled rest stays open, holding its margin and fee. A new order (not saved yet) is
    inserted here, once."""
    if not plan.executes_now and order.pk is None:
        order.save()
    if plan.executes_now:
        order_execute(
            order=order,
            price=plan.price,
            liquidity=Fill.Liquidity.TAKER,
            wallet=wallet,
            position=position,
            quantity=plan.quantity,
            rest_hold=plan.margin_held if plan.rest_quantity else None,
        )


def order_id_checked(order_id) -> int:
    """An order id as a client sends it; anything else is an order that cannot exist."""
    return row_id_from_input(
        order_id, not_found=OrderNotFound("Order not found.", field="order_id")
    )


def _open_order_locked(user, order_id: int, *, not_open, done: str) -> Order:
    """The user's open order ``order_id``, locked. ``not_open`` (an ApplicationError class) if it
    is the user's but no longer open (only open orders can be ``done``); OrderNotFound if it is
    not the user's."""
    locked = open_orders_lock(user, pk=order_id)
    if locked:
        return locked[0]
    status = Order.objects.filter(user=user, pk=order_id).values_list("status", flat=True)
    if status:
        raise not_open(
            f"Order {order_id} is {status[0]}; only open orders can be {done}.", field="order_id"
        )
    raise OrderNotFound("Order not found.", field="order_id")


def order_edit(*, user, order_id, quantity, price) -> Order:
    """Change the price and quantity of the user's resting LIMIT order, which keeps its id
    (Binance's order modify). ``quantity`` is the order's whole size: of a partly filled order,
    more than it has filled, and what is left of it is what the edit places anew. That is
    checked as a new order of the same side, margin mode, leverage, reduce-only flag and time
    in force: the margin and fee it holds are computed anew (a hold, as when it was placed, not
    a ledger movement). A new price that crosses the book executes at once as a GTC taker
    would; a post-only (GTX) order whose new price would take is refused. Refusals change
    nothing."""
    order_id = order_id_checked(order_id)
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        positions = open_positions_lock(user)
        order = _open_order_locked(user, order_id, not_open=OrderNotEditable, done="edited")
        if order.order_type != OrderType.LIMIT:
            raise OrderNotEditable(
                f"Order {order_id} is a {order.order_type} order; only LIMIT orders can be edited.",
                field="order_id",
            )
        request = order_request_checked(
            user=user, symbol=order.instrument.symbol, side=order.side, quantity=quantity,
            order_type=OrderType.LIMIT, price=price, stop_price=None,
            margin_mode=order.margin_mode, reduce_only=order.reduce_only, client_order_id=None,
            time_in_force=order.time_in_force, in_memory=True,
        )  # fmt: skip
        filled = order.filled_quantity
        if request.quantity <= filled:
            raise InvalidQuantity(
                f"quantity {request.quantity.normalize():f} must be above the "
                f"{filled.normalize():f} order {order_id} has already filled.",
                field="quantity",
                reason=InvalidQuantity.Reason.NOT_ABOVE_FILLED,
            )
        request = replace(request, quantity=request.quantity - filled)
        holdings, by_mode, mark = order_account_state(
            user, request, wallet=wallet, positions=positions
        )
        # the order's own hold is what the edited order replaces
        holdings = replace(
            holdings, open_order_margin=holdings.open_order_margin - order.margin_held
        )
        position = by_mode.get(order.margin_mode)
        plan = _plan_accepted(
            request, leverage=order.leverage, mark=mark, position=position, holdings=holdings
        )
        order.quantity = filled + plan.order_quantity
        order.price = request.price
        order.margin_held = plan.margin_held
        order.save(update_fields=["quantity", "price", "margin_held", "updated_at"])
        _plan_execute(order, plan, wallet=wallet, position=position)
        return order


def order_cancel(*, user, order_id) -> Order:
    """Cancel an open order of the user's; the margin it held is free again."""
    order_id = order_id_checked(order_id)
    with transaction.atomic(durable=True):
        wallet_lock(user)
        return order_cancel_locked(user=user, order_id=order_id)


def order_cancel_locked(*, user, order_id: int) -> Order:
    """``order_cancel`` for a caller that holds the user's wallet lock inside its own transaction
    (the back office cancels and writes its audit entry in one)."""
    order = _open_order_locked(user, order_id, not_open=OrderNotCancelable, done="canceled")
    order.status = Order.Status.CANCELED
    order.margin_held = ZERO
    order.save(update_fields=["status", "margin_held", "updated_at"])
    return order


def position_close(*, user, symbol, margin_mode) -> Order:
    """Close the whole position of (symbol, mode) at market: a reduce-only market order."""
    instrument = instrument_cached(symbol)  # its id and symbol: the order is checked under the lock
    margin_mode = margin_mode_checked(margin_mode)
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        return position_close_locked(
            user=user, wallet=wallet, instrument=instrument, margin_mode=margin_mode
        )


def position_close_locked(*, user, wallet, instrument: Instrument, margin_mode: str) -> Order:
    """``position_close`` for a caller that holds the user's wallet lock (``wallet``) inside its
    own transaction (the back office's forced close writes its audit entry in the same one)."""
    # read under the wallet lock: no fill of this user can change the size meanwhile
    position = Position.objects.filter(
        user=user, instrument=instrument, margin_mode=margin_mode, status=Position.Status.OPEN
    ).first()
    if position is None:
        raise NoPosition(
            f"You have no open {instrument.symbol} {margin_mode.title()} position.",
            field="symbol",
        )
    request = order_request_checked(
        user=user, symbol=instrument.symbol, side=closing_side(position.side),
        quantity=position.quantity, order_type=OrderType.MARKET, price=None, stop_price=None,
        margin_mode=margin_mode, reduce_only=True, client_order_id=None, whole_position=True,
        in_memory=True,
    )  # fmt: skip
    return _order_place_locked(user, wallet, request, mode_given=True, expected_leverage=None)
