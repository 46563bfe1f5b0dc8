"""``order_preview``: what an order would do in each margin mode, side by side, changing nothing.

It runs the same plan and the same refusal checks as ``order_place``, then simulates the fill on
the account as the engine sees it: the position of the order's mode after the fill (valued at the
current mark; a resting order's position at the order's own price, where it would fill), the
wallet after fees, realized PnL and isolated margin moves. An order that takes from the book is
shown at the price it would fill at now: the average of the book levels it would take, the price
``order_place`` fills it at while the mark stays.
"""

from dataclasses import dataclass, replace
from decimal import Decimal, localcontext

from marginsite.errors import ApplicationError
from trading import engine
from trading.domain.holdings import Holdings, engine_brackets
from trading.domain.orders import OrderPlan, OrderRequest, order_plan, order_refusal
from trading.engine.decimals import ENGINE_CONTEXT
from trading.models import MarginMode
from trading.money import ZERO, money_owed
from trading.selectors import leverage_for
from trading.services.orders import order_account_state, order_request_checked


@dataclass(frozen=True)
class ModePreview:
    """The order in one margin mode. ``price``: the estimated fill price (a taker's average
    over the book levels it takes; a resting order's own price); ``fill_quantity``: what would
    fill at once (0 for an order that rests or expires unfilled); ``rest_quantity``: what a GTC
    limit that fills in part leaves resting at its price (its margin and fee are counted in
    ``initial_margin`` and ``fee``). ``max_loss``: isolated, the
    position's margin after the order; cross, the whole cross margin balance after it.
    ``closing_fee``: the estimated taker fee to close the position after the order, at its
    liquidation price (at the order's price where it has none); ``isolated_loss_limit`` adds it
    and ``fee`` to the isolated margin, as fees are paid from the wallet (a liquidation's fee is
    taken from the margin, within it). Ratios are fractions (0.05 = 5 %)."""

    margin_mode: str
    leverage: int
    price: Decimal
    fill_quantity: Decimal
    rest_quantity: Decimal
    notional: Decimal
    initial_margin: Decimal
    fee: Decimal
    accepted: bool
    rejection_code: str | None
    rejection_reason: str | None
    rejection_message: str | None
    liquidation_price: Decimal | None
    liquidation_price_display: Decimal | None
    position_margin: Decimal
    cross_margin_ratio_before: Decimal | None
    cross_margin_ratio_after: Decimal | None
    max_loss: Decimal
    closing_fee: Decimal

    @property
    def isolated_loss_limit(self) -> Decimal:
        return self.max_loss + self.fee + self.closing_fee


@dataclass(frozen=True)
class OrderPreview:
    """The chosen mode (``chosen``), the other one (``alternative``), and whether the symbol
    already has an open position in the other mode (the order then opens a separate one)."""

    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal
    margin_mode: str
    chosen: ModePreview
    alternative: ModePreview
    other_mode_position_open: bool


def order_preview(
    *,
    user,
    symbol,
    side,
    quantity,
    order_type="MARKET",
    price=None,
    margin_mode=None,
    stop_price=None,
    time_in_force="GTC",
    callback_rate=None,
    activation_price=None,
) -> OrderPreview:
    """Bad input raises, as in ``order_place``; a refusal of the account (insufficient margin,
    leverage above the bracket, halted symbol, a post-only order that would take) is reported
    in the figures instead. A trailing stop is shown at the mark where it would trigger if the
    mark turned at once (from its activation price, or now)."""
    request = order_request_checked(
        user=user, symbol=symbol, side=side, quantity=quantity, order_type=order_type,
        price=price, stop_price=stop_price, margin_mode=margin_mode, reduce_only=False,
        client_order_id=None, time_in_force=time_in_force, callback_rate=callback_rate,
        activation_price=activation_price,
    )  # fmt: skip
    holdings, by_mode, mark = order_account_state(user, request)
    other = "CROSS" if request.margin_mode == MarginMode.ISOLATED else "ISOLATED"
    previews = {
        mode: _mode_preview(user, request, mode, holdings, by_mode.get(mode), mark)
        for mode in (request.margin_mode, other)
    }
    return OrderPreview(
        symbol=request.instrument.symbol,
        side=request.side,
        order_type=request.order_type,
        time_in_force=request.time_in_force,
        quantity=request.quantity,
        margin_mode=request.margin_mode,
        chosen=previews[request.margin_mode],
        alternative=previews[other],
        other_mode_position_open=other in by_mode,
    )


def _mode_preview(user, request: OrderRequest, mode, holdings: Holdings, position, mark):
    request = replace(request, margin_mode=mode)
    leverage = leverage_for(user=user, instrument=request.instrument, margin_mode=mode)
    plan = order_plan(
        request,
        leverage=leverage,
        mark=mark,
        position=position,
        wallet_balance=holdings.wallet_balance,
    )
    refusal: ApplicationError | None = order_refusal(plan, holdings)
    after, position_margin = _filled(plan, holdings, position)
    key = (request.instrument.pk, mode)
    figures = after.position_figures(key)
    liquidation_price = figures.liquidation_price if figures else None
    before_ratio = holdings.figures().cross_margin_ratio
    after_figures = after.figures()
    max_loss = (
        position_margin
        if mode == MarginMode.ISOLATED
        else max(ZERO, after_figures.cross_margin_balance)
    )
    return ModePreview(
        margin_mode=mode,
        leverage=leverage,
        price=plan.price,
        fill_quantity=plan.quantity if plan.executes_now else ZERO,
        rest_quantity=plan.rest_quantity,
        notional=plan.quantity * plan.price,
        initial_margin=money_owed(plan.cost.initial_margin) + plan.rest_margin,
        fee=plan.fee + plan.rest_fee,
        accepted=refusal is None,
        rejection_code=refusal.code if refusal else None,
        rejection_reason=refusal.reason if refusal else None,
        rejection_message=refusal.message if refusal else None,
        liquidation_price=liquidation_price,
        liquidation_price_display=engine.liquidation_price_for_display(
            liquidation_price,
            side=plan.after.side or 1,
            tick_size=request.instrument.tick_size,
        ),
        position_margin=position_margin,
        cross_margin_ratio_before=before_ratio,
        cross_margin_ratio_after=after_figures.cross_margin_ratio,
        max_loss=max_loss,
        closing_fee=_closing_fee(plan, liquidation_price),
    )


def _closing_fee(plan: OrderPlan, liquidation_price: Decimal | None) -> Decimal:
    """The taker fee to close the position after the order at its liquidation price (at the
    order's price where it has none)."""
    with localcontext(ENGINE_CONTEXT):  # every digit of the product, then rounded once
        notional = plan.after.quantity * (liquidation_price or plan.price)
        return money_owed(notional * plan.request.instrument.taker_fee_rate)


def _filled(plan: OrderPlan, holdings: Holdings, position) -> tuple[Holdings, Decimal]:
    """The account as the fill would leave it (its settlement, exactly what the fill books),
    valued at the mark when it executes now, else at its price; and the position's margin
    afterwards (isolated margin, or the initial margin a cross position holds at the mark). A
    GTC rest left on the book holds its margin and fee, as an open order."""
    request, settlement = plan.request, plan.settlement
    key = (request.instrument.pk, request.margin_mode)
    if plan.rest_quantity:
        held = holdings.open_order_margin + plan.margin_held
        holdings = replace(holdings, open_order_margin=held)
    wallet, after = settlement.wallet_balance, settlement.position
    if after is None:
        return holdings.replaced(key, None, wallet_balance=wallet), ZERO
    valued_at = plan.mark if plan.executes_now else plan.price
    state = engine.PositionState(
        after.side,
        after.quantity,
        after.entry_price,
        valued_at,
        engine_brackets(request.instrument),
    )
    if request.margin_mode == MarginMode.ISOLATED:
        holding = engine.IsolatedHolding(state, after.isolated_margin, after.leverage)
        return holdings.replaced(key, holding, wallet_balance=wallet), after.isolated_margin
    holding = engine.CrossHolding(state, after.leverage)
    return (
        holdings.replaced(key, holding, wallet_balance=wallet),
        money_owed(state.notional / after.leverage),
    )
