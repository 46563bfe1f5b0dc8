"""Order planning and the refusal rules: what an order would do now, and why an account cannot
take it, over values already loaded (the instrument, the mark, the position of the order's mode,
the account's holdings). The preview, the placement, the edit and the sweep's triggered orders
all plan here; the services lock, plan, refuse or execute.

Takers fill against the instrument's order book (trading/engine/book.py), in one fill at the
average price of the levels they take; see trading/services/orders.py for what each order type
and time in force does.
"""

from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from marginsite.errors import ApplicationError
from trading import engine
from trading.domain.holdings import Holdings, engine_brackets, position_held
from trading.domain.settlement import Settlement, fill_settlement
from trading.domain.sides import engine_side, order_sign
from trading.domain.triggers import (
    trailing_activation_crossed,
    trailing_stop_price,
    trigger_crossed,
)
from trading.errors import (
    InvalidPrice,
    InvalidQuantity,
    LeverageTooHigh,
    MarginInsufficient,
    NoMarkPrice,
    PostOnlyRejected,
    ReduceOnlyRejected,
    SymbolHalted,
)
from trading.models import Instrument, MarginMode, OrderType, Position, TimeInForce
from trading.money import QUANTUM, ZERO, money_owed, money_received, usdt

RESTING_TYPES = (OrderType.STOP_MARKET, OrderType.TAKE_PROFIT_MARKET)
# A position's take-profit and stop-loss, by field: the close-position order of each, and what a
# trader calls it
TPSL = {
    "take_profit": (OrderType.TAKE_PROFIT_MARKET, "take-profit"),
    "stop_loss": (OrderType.STOP_MARKET, "stop-loss"),
}
TPSL_FIELD_OF_TYPE = {order_type: field for field, (order_type, _) in TPSL.items()}
# Binance's range and step of a trailing stop's callback rate, in percent
CALLBACK_RATE_MIN, CALLBACK_RATE_MAX = Decimal("0.1"), Decimal("10")
CALLBACK_RATE_STEP = Decimal("0.1")
# What a LIMIT order that does not take may do: rest (GTC, GTX); IOC and FOK expire instead.
RESTING_TIME_IN_FORCE = (TimeInForce.GTC, TimeInForce.GTX)


@dataclass(frozen=True)
class OrderRequest:
    """An order's parameters, checked against the instrument (steps, ticks, minimums).
    ``close_position``: the order closes the whole position when it executes, whatever its
    size then (``quantity`` is None until the position's size is known). ``callback_rate`` and
    ``activation_price``: a trailing stop's (trading/domain/triggers.py)."""

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
    callback_rate: Decimal | None = None
    activation_price: Decimal | None = None
    close_position: bool = False


def book_model(instrument: Instrument) -> engine.BookModel:
    """The instrument's liquidity model as the engine takes it."""
    return engine.BookModel(
        tick_size=instrument.tick_size,
        half_spread_ticks=instrument.book_half_spread_ticks,
        level_ticks=instrument.book_level_ticks,
        level_quantity=instrument.book_level_quantity,
        max_slippage_rate=instrument.book_max_slippage_rate,
    )


@dataclass(frozen=True)
class OrderPlan:
    """What an order would do now: at which price, whether it executes at once, what its opening
    part costs (initial margin + ``opening_fee``), the fee its fills charge in all (``fee``), the
    PnL its closing part realizes, what that part frees for new margin (``freed_margin``) and
    brings back to the wallet as cash (``cash_back``), so that reversing a position costs only
    the difference (as on Binance), the position after it fills, and its ``settlement``: what
    the fill books (trading/domain/settlement.py).

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
    settlement: Settlement
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


def order_plan(
    request: OrderRequest,
    *,
    leverage: int,
    mark: Decimal | None,
    position: Position | None,
    wallet_balance: Decimal,
    execution: tuple[Decimal, bool] | None = None,
) -> OrderPlan:
    """Raises only where the order cannot be evaluated at all; the business refusals come from
    ``order_refusal`` so that a preview can show figures next to its refusal. ``execution``
    (price, maker?) is for an order the sweep triggers: it fills there, now."""
    instrument = request.instrument
    if mark is None:
        raise NoMarkPrice(f"{instrument.symbol} has no mark price yet; try again shortly.")
    order_side = order_sign(request.side)
    position_side = engine_side(position.side) if position else None
    order_quantity = request.quantity
    if request.reduce_only:
        if position is None or position_side == order_side:
            raise ReduceOnlyRejected(
                f"Reduce-only order rejected: there is no {instrument.symbol} "
                f"{request.margin_mode.title()} position to reduce in that direction.",
                field="reduce_only",
            )
        # a close-position order closes the whole position as it is now
        order_quantity = (
            position.quantity if request.close_position else min(order_quantity, position.quantity)
        )
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
    elif request.order_type == OrderType.TRAILING_STOP_MARKET:
        activation = request.activation_price
        if activation is not None and trailing_activation_crossed(
            side=request.side, activation_price=activation, mark=mark
        ):
            raise InvalidPrice(
                "Order would immediately trigger: the activation price is already through the "
                f"mark price {mark.normalize():f}.",
                field="activation_price",
                reason=InvalidPrice.Reason.WOULD_TRIGGER_IMMEDIATELY,
            )
        # figured where it would trigger if the mark turned at once (at activation, or now)
        price = trailing_stop_price(
            side=request.side, extreme=activation or mark, callback_rate=request.callback_rate
        )
        executes_now, rests = False, True
    else:
        if trigger_crossed(
            order_type=request.order_type, side=request.side, price=None,
            stop_price=request.stop_price, mark=mark,
        ):  # fmt: skip
            raise InvalidPrice(
                "Order would immediately trigger: the stop price is already through the mark "
                f"price {mark.normalize():f}.",
                field="stop_price",
                reason=InvalidPrice.Reason.WOULD_TRIGGER_IMMEDIATELY,
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
    settlement = fill_settlement(
        position=position_held(position) if position else None,
        isolated=request.margin_mode == MarginMode.ISOLATED,
        wallet_balance=wallet_balance,
        side=order_side,
        quantity=quantity,
        price=price,
        fee_rate=rate,
        leverage=leverage,
    )
    after = settlement.fill
    closing_fee = money_owed(after.closed_quantity * price * rate)
    opening_fee = money_owed(cost.fee)
    realized = settlement.closing.pnl if settlement.closing else ZERO
    cash_back = settlement.cash_back()
    freed = cash_back
    if settlement.closing and request.margin_mode == MarginMode.CROSS:
        # the closed part's initial margin at the mark is freed for new margin
        freed = money_received(after.closed_quantity * mark / position.leverage)
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
        settlement=settlement,
        rest_quantity=rest_quantity,
        rest_cost=rest_cost,
        margin_held=margin_held,
    )


def quantity_for_cost(
    *, instrument: Instrument, cost: Decimal, leverage: int, price: Decimal
) -> Decimal:
    """The quantity whose initial margin at ``price`` and ``leverage`` is ``cost`` USDT, rounded
    down to the instrument's step (an order by cost, as Binance's order form offers); refused
    below the instrument's minimum quantity."""
    quantity = engine.quantity_for_cost(
        cost=cost, leverage=leverage, price=price, step_size=instrument.step_size
    )
    if quantity < instrument.min_quantity:
        raise InvalidQuantity(
            f"{usdt(cost)} USDT at {leverage}x buys {quantity.normalize():f} "
            f"{instrument.base_asset} at {price.normalize():f}, below the minimum quantity of "
            f"{instrument.min_quantity.normalize():f}.",
            field="cost",
            reason=InvalidQuantity.Reason.BELOW_MIN_QUANTITY,
        )
    return quantity


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
            reason=InvalidQuantity.Reason.BELOW_MIN_NOTIONAL,
        )
    try:
        engine.leverage_check(
            engine_brackets(instrument),
            notional=plan.exposure_quantity * plan.price,
            leverage=plan.leverage,
        )
    except engine.LeverageTooHigh as refusal:
        # a leverage above every bracket's maximum (an operator lowered them) caps the position
        # at 0: this position is too large at it all the same
        return LeverageTooHigh(
            str(refusal), field="quantity", reason=LeverageTooHigh.Reason.POSITION_TOO_LARGE
        )
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
