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
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from django.db import IntegrityError, transaction

from marginsite.errors import ApplicationError, InvalidInput
from trading import engine
from trading.errors import (
    InvalidPrice,
    InvalidQuantity,
    LeverageTooHigh,
    MarginInsufficient,
    NoMarkPrice,
    NoPosition,
    OrderNotCancelable,
    OrderNotEditable,
    OrderNotFound,
    PostOnlyRejected,
    ReduceOnlyRejected,
    ReviewOutdated,
    SymbolHalted,
)
from trading.inputs import decimal_from_input, on_step, row_id_from_input
from trading.models import Fill, Instrument, MarginMode, Order, OrderType, Position, TimeInForce
from trading.money import QUANTUM, ZERO, money_owed, money_received, usdt
from trading.selectors import (
    Holdings,
    holdings_load,
    instrument_get,
    leverage_for,
    margin_mode_checked,
    margin_mode_default,
)
from trading.selectors.accounts import engine_brackets, engine_side, mark_prices
from trading.selectors.market import book_model
from trading.services.fills import order_execute
from trading.services.locks import open_orders_lock, open_positions_lock, wallet_lock

CLIENT_ORDER_ID = re.compile(r"^[.A-Za-z0-9:/_-]{1,36}$")
RESTING_TYPES = (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)
# What a LIMIT order that does not take may do: rest (GTC, GTX); IOC and FOK expire instead.
RESTING_TIME_IN_FORCE = (TimeInForce.GTC, TimeInForce.GTX)


@dataclass(frozen=True)
class OrderRequest:
    """An order's parameters, checked against the instrument (steps, ticks, minimums)."""

    instrument: Instrument
    side: str
    order_type: str
    quantity: Decimal
    price: Decimal | None
    stop_price: Decimal | None
    margin_mode: str
    reduce_only: bool
    client_order_id: str
    time_in_force: str = TimeInForce.GTC


def _price_checked(value, *, field: str, instrument: Instrument) -> Decimal:
    price = decimal_from_input(value, field=field, error=InvalidPrice)
    if price <= 0:
        raise InvalidPrice(f"{field} must be greater than 0.", field=field)
    if not on_step(price, instrument.tick_size):
        raise InvalidPrice(
            f"{field} {price} is not a multiple of the tick size "
            f"{instrument.tick_size.normalize()}.",
            field=field,
        )
    return price


def order_request_checked(
    *, user, symbol, side, quantity, order_type, price, stop_price, margin_mode, reduce_only,
    client_order_id, time_in_force=TimeInForce.GTC, whole_position: bool = False,
) -> OrderRequest:  # fmt: skip
    """The request, checked as far as it can be without the account. ``whole_position``: the
    quantity is an open position's whole size (``position_close``), which closes whatever the
    step and minimum are now: an operator may have changed them since it opened."""
    instrument = instrument_get(symbol)
    if side not in ("BUY", "SELL"):
        raise InvalidInput(f"side must be BUY or SELL, not {side!r}.", field="side")
    if order_type not in OrderType.values:
        raise InvalidInput(
            f"order_type must be one of {', '.join(OrderType.values)}, not {order_type!r}.",
            field="order_type",
        )
    quantity = decimal_from_input(quantity, field="quantity", error=InvalidQuantity)
    if quantity <= 0:
        raise InvalidQuantity("quantity must be greater than 0.", field="quantity")
    if not whole_position and not on_step(quantity, instrument.step_size):
        raise InvalidQuantity(
            f"quantity {quantity} is not a multiple of the step size "
            f"{instrument.step_size.normalize()}.",
            field="quantity",
        )
    if not whole_position and quantity < instrument.min_quantity:
        raise InvalidQuantity(
            f"quantity {quantity} is below the minimum of {instrument.min_quantity.normalize()}.",
            field="quantity",
        )
    if order_type == OrderType.LIMIT:
        if price is None:
            raise InvalidPrice("A LIMIT order needs a price.", field="price")
        price = _price_checked(price, field="price", instrument=instrument)
    elif price is not None:
        raise InvalidPrice(f"A {order_type} order takes no price.", field="price")
    if order_type in RESTING_TYPES:
        if stop_price is None:
            raise InvalidPrice(f"A {order_type} order needs a stop_price.", field="stop_price")
        stop_price = _price_checked(stop_price, field="stop_price", instrument=instrument)
    elif stop_price is not None:
        raise InvalidPrice(f"A {order_type} order takes no stop_price.", field="stop_price")
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
    if margin_mode is None:
        margin_mode = margin_mode_default(user=user, instrument=instrument)
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
        client_order_id, time_in_force,
    )  # fmt: skip


@dataclass(frozen=True)
class OrderPlan:
    """What an order would do now: at which price, whether it executes at once, what its opening
    part costs (initial margin + ``opening_fee``), the fee its fills charge in all (``fee``), the
    PnL its closing part realizes, what that part frees for new margin (``freed_margin``) and
    brings back to the wallet as cash (``cash_back``), and the position after it fills.

    ``order_quantity`` is the order's size (a reduce-only one cut to the position);
    ``quantity`` is what the figures are for: what fills now when it executes (the book may
    give less than the order's size), else the whole order at its own price. ``rests``: it
    stays on the book (or waits for its trigger); ``post_only_takes``: a GTX whose price
    would take. ``rest_quantity``: what a GTC that executes in part leaves resting at its
    price, ``rest_cost`` its maker cost against the position after the fill, and
    ``margin_held`` what the order holds back from the wallet once placed (for all it rests
    with)."""

    request: OrderRequest
    leverage: int
    mark: Decimal
    price: Decimal
    executes_now: bool
    rests: bool
    post_only_takes: bool
    order_quantity: Decimal
    quantity: Decimal
    cost: engine.OrderCost
    closing_fee: Decimal
    opening_fee: Decimal
    fee: Decimal
    realized_pnl: Decimal
    freed_margin: Decimal
    cash_back: Decimal
    after: engine.FillResult
    rest_quantity: Decimal
    rest_cost: engine.OrderCost | None
    margin_held: Decimal

    @property
    def opening(self) -> bool:
        """Whether any of the order (its fill or its resting rest) opens or increases."""
        rest_opens = self.rest_cost is not None and self.rest_cost.opening_quantity > 0
        return self.cost.opening_quantity > 0 or rest_opens

    @property
    def exposure_quantity(self) -> Decimal:
        """The largest position the order leads to: after its fill, or once its rest fills."""
        if self.rest_cost is None:
            return self.after.quantity
        if self.rest_cost.reducing_quantity:
            return max(self.after.quantity, self.rest_cost.opening_quantity)
        return self.after.quantity + self.rest_cost.opening_quantity

    @property
    def rest_fee(self) -> Decimal:
        return money_owed(self.rest_cost.fee) if self.rest_cost else ZERO

    @property
    def rest_margin(self) -> Decimal:
        return money_owed(self.rest_cost.initial_margin) if self.rest_cost else ZERO


def market_price(instrument: Instrument, side: str, mark: Decimal) -> Decimal:
    """The best price a taker on ``side`` gets now: the best ask for a buy, the best bid for a
    sell (one tick when the book has no bids: a mark a few ticks above zero)."""
    best = engine.book_best_price(book_model(instrument), mark=mark, side=side)
    return best if best is not None else instrument.tick_size


def taker_fill(
    instrument: Instrument, *, side: str, quantity: Decimal, mark: Decimal, limit_price=None
) -> tuple[Decimal, Decimal | None]:
    """(quantity, price) a taker gets from the instrument's book now: the price is the average of
    the levels taken, rounded against the taker to the price column's 8 decimals, so the fee and
    PnL computed on it are never in the taker's favour; (0, None) when nothing is within
    reach."""
    take = engine.book_take(
        book_model(instrument), mark=mark, side=side, quantity=quantity, limit_price=limit_price
    )
    if not take.quantity:
        return ZERO, None
    rounding = ROUND_CEILING if side == "BUY" else ROUND_FLOOR
    return take.quantity, take.average_price.quantize(QUANTUM, rounding=rounding)


def _stop_would_trigger(request: OrderRequest, mark: Decimal) -> bool:
    buying, stop = request.side == "BUY", request.stop_price
    if request.order_type == OrderType.STOP_MARKET:
        return stop <= mark if buying else stop >= mark
    return stop >= mark if buying else stop <= mark


def order_plan(
    request: OrderRequest,
    *,
    leverage: int,
    mark: Decimal | None,
    position: Position | None,
    execution: tuple[Decimal, bool] | None = None,
) -> OrderPlan:
    """Raises only where the order cannot be evaluated at all; the business refusals come from
    ``order_refusal`` so that a preview can show figures next to its refusal. ``execution``
    (price, maker?) is for an order the sweep triggers: it fills there, now."""
    instrument = request.instrument
    if mark is None:
        raise NoMarkPrice(f"{instrument.symbol} has no mark price yet; try again shortly.")
    order_side = 1 if request.side == "BUY" else -1
    position_side = engine_side(position.side) if position else None
    order_quantity = request.quantity
    if request.reduce_only:
        if position is None or position_side == order_side:
            raise ReduceOnlyRejected(
                f"Reduce-only order rejected: there is no {instrument.symbol} "
                f"{request.margin_mode.title()} position to reduce in that direction.",
                field="reduce_only",
            )
        order_quantity = min(order_quantity, position.quantity)
    quantity, rests, post_only_takes, rest_quantity = order_quantity, False, False, ZERO
    if execution is not None:
        price, executes_now = execution[0], True
    elif request.order_type in (OrderType.MARKET, OrderType.LIMIT):
        taken, average = taker_fill(
            instrument, side=request.side, quantity=order_quantity, mark=mark,
            limit_price=request.price,
        )  # fmt: skip
        tif = request.time_in_force
        executes_now = bool(taken) and (tif != TimeInForce.FOK or taken == order_quantity)
        post_only_takes = tif == TimeInForce.GTX and bool(taken)
        if executes_now and not post_only_takes:
            price, quantity = average, taken
            if request.order_type == OrderType.LIMIT and tif == TimeInForce.GTC:
                rest_quantity = order_quantity - taken
        elif post_only_takes:
            # figured as the taker it would be, so that a preview can show what it refuses
            price, quantity, executes_now = average, taken, False
        else:
            price = request.price or market_price(instrument, request.side, mark)
            rests = request.order_type == OrderType.LIMIT and tif in RESTING_TIME_IN_FORCE
    else:
        if _stop_would_trigger(request, mark):
            raise InvalidPrice(
                "Order would immediately trigger: the stop price is already through the mark "
                f"price {mark.normalize():f}.",
                field="stop_price",
            )
        price, executes_now, rests = request.stop_price, False, True
    maker = execution[1] if execution else rests and request.order_type == OrderType.LIMIT
    rate = instrument.maker_fee_rate if maker else instrument.taker_fee_rate
    cost = engine.order_cost(
        side=order_side,
        quantity=quantity,
        price=price,
        leverage=leverage,
        fee_rate=rate,
        position_side=position_side,
        position_quantity=position.quantity if position else ZERO,
    )
    after = engine.position_after_fill(
        position_side=position_side,
        position_quantity=position.quantity if position else ZERO,
        entry_price=position.entry_price if position else None,
        fill_side=order_side,
        fill_quantity=quantity,
        fill_price=price,
    )
    closing_fee = money_owed(after.closed_quantity * price * rate)
    opening_fee = money_owed(cost.fee)
    realized = money_received(after.realized_pnl)
    freed, cash_back = _closing_returns(position, after, mark, realized)
    rest_cost = None
    if rest_quantity:
        rest_cost = engine.order_cost(
            side=order_side,
            quantity=rest_quantity,
            price=request.price,
            leverage=leverage,
            fee_rate=instrument.maker_fee_rate,
            position_side=after.side,
            position_quantity=after.quantity,
        )
    if rests and request.order_type == OrderType.LIMIT:
        margin_held = money_owed(cost.initial_margin) + opening_fee
    elif rest_cost is not None:
        margin_held = money_owed(rest_cost.initial_margin) + money_owed(rest_cost.fee)
    else:
        margin_held = ZERO
    return OrderPlan(
        request=replace(request, quantity=order_quantity),
        leverage=leverage,
        mark=mark,
        price=price,
        executes_now=executes_now,
        rests=rests,
        post_only_takes=post_only_takes,
        order_quantity=order_quantity,
        quantity=quantity,
        cost=cost,
        closing_fee=closing_fee,
        opening_fee=opening_fee,
        fee=closing_fee + opening_fee,
        realized_pnl=realized,
        freed_margin=freed,
        cash_back=cash_back,
        after=after,
        rest_quantity=rest_quantity,
        rest_cost=rest_cost,
        margin_held=margin_held,
    )


def _closing_returns(position, after: engine.FillResult, mark, realized) -> tuple[Decimal, Decimal]:
    """(freed margin, cash back) of the closing part, so that reversing a position costs only
    the difference (as on Binance). Cross: the closed part's initial margin at the mark is freed,
    and the realized PnL is the cash. Isolated: the closed share of the margin plus the realized
    PnL reach the wallet as cash before the new margin leaves it."""
    closed = after.closed_quantity
    if position is None or not closed:
        return ZERO, ZERO
    if position.margin_mode == MarginMode.CROSS:
        return money_received(closed * mark / position.leverage), realized
    share = position.isolated_margin * closed / position.quantity
    back = money_received(max(ZERO, share + after.realized_pnl))
    return back, back


def available_for_mode(mode: str, figures: engine.AccountFigures) -> Decimal:
    """Cross orders may use unrealized cross profit (as on Binance); an isolated order's margin
    leaves the wallet as cash, so unrealized profit cannot pay for it."""
    if mode == MarginMode.ISOLATED:
        return figures.available_balance - max(ZERO, figures.cross_unrealized_pnl)
    return figures.available_balance


def order_refusal(plan: OrderPlan, holdings: Holdings) -> ApplicationError | None:
    """Why the account cannot take this order now (None: it can)."""
    request, instrument = plan.request, plan.request.instrument
    if plan.post_only_takes:
        return PostOnlyRejected(
            f"Post-only order rejected: at {request.price.normalize():f} it would take from "
            f"the book (best {'ask' if request.side == 'BUY' else 'bid'} "
            f"{market_price(instrument, request.side, plan.mark).normalize():f}).",
            field="price",
        )
    opening = plan.opening
    if instrument.status == Instrument.Status.HALTED and opening:
        return SymbolHalted(
            f"Trading in {instrument.symbol} is halted: only orders that close or reduce a "
            "position are accepted."
        )
    if refusal := _cross_loss_refusal(plan, holdings):
        return refusal
    if not opening:
        return None
    notional = plan.order_quantity * plan.price
    if not request.reduce_only and notional < instrument.min_notional:
        return InvalidQuantity(
            f"The order's value, {notional.normalize():f} USDT, is below the minimum of "
            f"{instrument.min_notional.normalize():f} USDT.",
            field="quantity",
        )
    try:
        engine.leverage_check(
            engine_brackets(instrument),
            notional=plan.exposure_quantity * plan.price,
            leverage=plan.leverage,
        )
    except engine.LeverageTooHigh as refusal:
        return LeverageTooHigh(str(refusal), field="quantity")
    figures = holdings.figures()
    # what fills now and what rests of it: both are paid for at placement
    margin = money_owed(plan.cost.initial_margin) + plan.rest_margin
    fee = plan.fee + plan.rest_fee
    required = margin + fee
    available = available_for_mode(request.margin_mode, figures) + plan.freed_margin
    if required > available:
        return MarginInsufficient(
            f"Insufficient margin: this order needs {usdt(required)} USDT (initial margin "
            f"{usdt(margin)} + fee {usdt(fee)}); you have "
            f"{usdt(max(ZERO, available))} USDT available.",
            field="quantity",
        )
    isolated = request.margin_mode == MarginMode.ISOLATED
    cash = holdings.wallet_balance - holdings.open_order_margin + plan.cash_back
    cash_needed = fee + (margin if isolated else ZERO)
    if cash_needed > cash:
        paid_in_cash = "its margin and fees" if isolated else "its fees"
        return MarginInsufficient(
            f"Insufficient wallet balance: this order pays {paid_in_cash} in cash, "
            f"{usdt(cash_needed)} USDT, and your wallet has {usdt(max(ZERO, cash))} USDT free. "
            "Unrealized profit becomes cash only when you close the position.",
            field="quantity",
        )
    return None


def _cross_loss_refusal(plan: OrderPlan, holdings: Holdings) -> ApplicationError | None:
    """A cross close whose loss the wallet cannot pay while other cross positions stay open:
    their profit is not cash yet, and the insurance fund must not pay for a solvent account.
    Only the last cross position may close at such a loss (the fund covers the rest, as in a
    liquidation)."""
    request = plan.request
    if request.margin_mode != MarginMode.CROSS or plan.realized_pnl >= 0:
        return None
    key = (request.instrument.pk, MarginMode.CROSS)
    others_open = any(
        k != key and isinstance(h, engine.CrossHolding) for k, h in holdings.holdings.items()
    )
    due = -plan.realized_pnl + plan.closing_fee
    if not others_open or due <= holdings.wallet_balance:
        return None
    return MarginInsufficient(
        f"Closing this realizes a loss of {usdt(-plan.realized_pnl)} USDT (and a fee of "
        f"{usdt(plan.closing_fee)}), more than your wallet's {usdt(holdings.wallet_balance)} "
        "USDT. Close your profitable cross positions first: their profit is not in the wallet "
        "until it is realized.",
        field="quantity",
    )


def order_account_state(user, request: OrderRequest, *, wallet=None, positions=None):
    """Holdings, the open position of each mode on the order's symbol, and its mark."""
    holdings = holdings_load(user=user, wallet=wallet, positions=positions)
    if positions is None:
        positions = list(
            Position.objects.filter(
                user=user, instrument=request.instrument, status=Position.Status.OPEN
            ).select_related("instrument")
        )
    by_mode = {p.margin_mode: p for p in positions if p.instrument_id == request.instrument.pk}
    mark = mark_prices([request.instrument.pk]).get(request.instrument.pk)
    return holdings, by_mode, mark


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
) -> Order:
    """Place an order; refusals raise and change nothing. Idempotent on client_order_id: a
    replay returns the first order and changes nothing. ``expected_leverage``: the leverage the
    user reviewed (the confirmation step); if the stored one differs now, ReviewOutdated.
    ``time_in_force`` (LIMIT orders only): GTC, IOC, FOK or GTX; an IOC or FOK that cannot fill
    is recorded EXPIRED (what it filled, if anything, stays filled), a GTX that would take
    raises PostOnlyRejected and is not recorded."""
    request = order_request_checked(
        user=user, symbol=symbol, side=side, quantity=quantity, order_type=order_type,
        price=price, stop_price=stop_price, margin_mode=margin_mode, reduce_only=reduce_only,
        client_order_id=client_order_id, time_in_force=time_in_force,
    )  # fmt: skip
    if replayed := _order_replayed(user, request.client_order_id):
        return replayed
    try:
        with transaction.atomic(durable=True):
            wallet = wallet_lock(user)
            # a concurrent replay may have committed while this one waited for the lock
            if replayed := _order_replayed(user, request.client_order_id):
                return replayed
            return _order_place_locked(
                user,
                wallet,
                request,
                mode_given=margin_mode is not None,
                expected_leverage=expected_leverage,
            )
    except IntegrityError:
        if replayed := _order_replayed(user, request.client_order_id):
            return replayed
        raise


def _order_replayed(user, client_order_id: str) -> Order | None:
    if not client_order_id:
        return None
    return Order.objects.filter(user=user, client_order_id=client_order_id).first()


def _order_place_locked(
    user, wallet, request: OrderRequest, *, mode_given: bool, expected_leverage
) -> Order:
    """Place ``request`` with the wallet locked. What a concurrent change could have moved since
    the request was checked is read again here: the instrument (halted?) and, when the order
    named no mode, the user's default mode."""
    instrument = Instrument.objects.prefetch_related("brackets").get(pk=request.instrument.pk)
    request = replace(request, instrument=instrument)
    if not mode_given:
        request = replace(
            request, margin_mode=margin_mode_default(user=user, instrument=instrument)
        )
    positions = open_positions_lock(user)
    holdings, by_mode, mark = order_account_state(user, request, wallet=wallet, positions=positions)
    position = by_mode.get(request.margin_mode)
    leverage = leverage_for(
        user=user, instrument=request.instrument, margin_mode=request.margin_mode
    )
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
    order = Order.objects.create(
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
        leverage=leverage,
        client_order_id=request.client_order_id,
        status=(Order.Status.NEW if plan.rests or plan.executes_now else Order.Status.EXPIRED),
        margin_held=plan.margin_held,
    )
    _plan_execute(order, plan, wallet=wallet, position=position)
    return order


def _plan_accepted(request: OrderRequest, *, leverage, mark, position, holdings) -> OrderPlan:
    """The plan of ``request`` now; its refusal raises."""
    plan = order_plan(request, leverage=leverage, mark=mark, position=position)
    if refusal := order_refusal(plan, holdings):
        raise refusal
    return plan


def _plan_execute(order: Order, plan: OrderPlan, *, wallet, position) -> None:
    """Take from the book what ``plan`` takes now (nothing for an order that rests); a GTC's
    unfilled rest stays open, holding its margin and fee."""
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
            time_in_force=order.time_in_force,
        )  # fmt: skip
        filled = order.filled_quantity
        if request.quantity <= filled:
            raise InvalidQuantity(
                f"quantity {request.quantity.normalize():f} must be above the "
                f"{filled.normalize():f} order {order_id} has already filled.",
                field="quantity",
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
    instrument = instrument_get(symbol)
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
        user=user, symbol=instrument.symbol, side="SELL" if position.side == "LONG" else "BUY",
        quantity=position.quantity, order_type=OrderType.MARKET, price=None, stop_price=None,
        margin_mode=margin_mode, reduce_only=True, client_order_id=None, whole_position=True,
    )  # fmt: skip
    return _order_place_locked(user, wallet, request, mode_given=True, expected_leverage=None)
