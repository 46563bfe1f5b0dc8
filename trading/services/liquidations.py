"""Liquidation: where it happens, and what it does to the money.

- Isolated: a position whose isolated margin + uPnL is at or below its maintenance margin. Its
  open orders are cancelled and it is closed at its bankruptcy price, so the user loses exactly
  the position's margin and nothing from the wallet. Closing at the mark instead of the
  bankruptcy price leaves a difference: the insurance fund takes it (or pays it, if the mark is
  already past bankruptcy).
- Cross: an account whose cross margin balance is at or below the cross maintenance margin. All
  its cross open orders are cancelled and all its cross positions closed at the mark; the wallet
  goes to 0 (never below): the insurance fund takes what remains or covers the shortfall. Its
  isolated positions and their margins are untouched.

Both run inside the sweep's per-account transaction, with the wallet, positions and orders locked,
and write a LiquidationEvent (the receipt) and a Notification.
"""

from decimal import Decimal

from django.utils import timezone

from trading import engine
from trading.models import (
    Fill,
    LedgerAccount,
    LedgerEntry,
    LiquidationEvent,
    MarginMode,
    Notification,
    Order,
    Position,
)
from trading.money import ZERO, money_received, price_stored, usdt
from trading.selectors.accounts import Holdings
from trading.services.ledger import ledger_post

HOUSE = LedgerAccount.Kind.HOUSE
INSURANCE_FUND = LedgerAccount.Kind.INSURANCE_FUND


def isolated_liquidate(
    *, position: Position, holdings: Holdings, orders: list[Order]
) -> LiquidationEvent:
    """Liquidate one isolated position (see the module)."""
    key = (position.instrument_id, MarginMode.ISOLATED)
    state = holdings.holdings[key].position
    figures = holdings.position_figures(key)
    margin = position.isolated_margin
    bankruptcy = engine.isolated_bankruptcy_price(state, isolated_margin=margin)
    _orders_cancel(o for o in orders if _same_key(o, position))
    entry = {"user": position.user, "position": position}
    ledger_post(
        kind=LedgerEntry.Kind.LIQUIDATION,
        amount=margin,
        source=position,
        destination=HOUSE,
        memo="isolated margin lost at the bankruptcy price",
        **entry,
    )
    # closing at the mark rather than at the bankruptcy price
    difference = money_received(state.side * state.quantity * (state.mark_price - bankruptcy))
    _insurance_settle(difference, entry)
    details = _position_details(position, state, figures.liquidation_price, bankruptcy)
    _position_liquidated(position, price=bankruptcy, realized=-margin)
    event = _event_record(
        position.user,
        MarginMode.ISOLATED,
        [position],
        margin_balance=margin + figures.unrealized_pnl,
        maintenance_margin=figures.maintenance_margin,
        loss=margin,
        insurance_fund_change=difference,
        details=[details],
    )
    _notify(
        event,
        f"Your {position.instrument.symbol} Isolated {position.get_side_display().lower()} was "
        f"liquidated at mark {usdt(state.mark_price)}. You lost its margin of {usdt(margin)} "
        "USDT; the rest of your account is untouched.",
    )
    return event


def cross_liquidate(
    *, wallet, positions: list[Position], holdings: Holdings, orders: list[Order]
) -> LiquidationEvent:
    """Liquidate every cross position of the account (see the module)."""
    figures = holdings.figures()
    cross = [p for p in positions if p.margin_mode == MarginMode.CROSS]
    states = {p.pk: holdings.holdings[(p.instrument_id, MarginMode.CROSS)].position for p in cross}
    _orders_cancel(o for o in orders if o.margin_mode == MarginMode.CROSS)
    details = []
    for position in cross:
        state = states[position.pk]
        others = [states[p.pk] for p in cross if p.pk != position.pk]
        details.append(
            _position_details(
                position,
                state,
                engine.cross_liquidation_price(state, wallet_balance=wallet.balance, others=others),
                engine.cross_bankruptcy_price(state, wallet_balance=wallet.balance, others=others),
            )
        )
    wallet_before = wallet.balance
    covered = ZERO
    # profits first, so that they pay the losses before the insurance fund does
    pnls = {p.pk: money_received(states[p.pk].side * states[p.pk].quantity * (
        states[p.pk].mark_price - p.entry_price)) for p in cross}  # fmt: skip
    for position in sorted(cross, key=lambda p: -pnls[p.pk]):
        pnl = pnls[position.pk]
        entry = {"user": position.user, "position": position}
        insured = ZERO
        if pnl >= 0:
            ledger_post(
                kind=LedgerEntry.Kind.LIQUIDATION, amount=pnl, source=HOUSE, destination=wallet,
                memo="cross position closed at the mark", **entry,
            )  # fmt: skip
        else:
            paid = min(-pnl, wallet.balance)
            insured = -pnl - paid
            ledger_post(
                kind=LedgerEntry.Kind.LIQUIDATION, amount=paid, source=wallet, destination=HOUSE,
                memo="cross position closed at the mark", **entry,
            )  # fmt: skip
            ledger_post(
                kind=LedgerEntry.Kind.INSURANCE, amount=insured, source=INSURANCE_FUND,
                destination=HOUSE, memo="cross loss beyond the wallet", **entry,
            )  # fmt: skip
        covered += insured
        _position_liquidated(position, price=states[position.pk].mark_price, realized=pnl + insured)
    remaining = wallet.balance
    ledger_post(
        kind=LedgerEntry.Kind.LIQUIDATION,
        amount=remaining,
        source=wallet,
        destination=INSURANCE_FUND,
        user=wallet.user,
        memo="cross margin balance taken by the liquidation",
    )
    event = _event_record(
        wallet.user,
        MarginMode.CROSS,
        cross,
        margin_balance=figures.cross_margin_balance,
        maintenance_margin=figures.cross_maintenance_margin,
        loss=wallet_before,
        insurance_fund_change=remaining - covered,
        details=details,
    )
    symbols = ", ".join(sorted({p.instrument.symbol for p in cross}))
    _notify(
        event,
        f"Your cross positions ({symbols}) were liquidated: the cross margin balance fell to the "
        f"maintenance margin. Your wallet of {usdt(wallet_before)} USDT is gone; your isolated "
        "positions are untouched.",
    )
    return event


def _same_key(order: Order, position: Position) -> bool:
    return (order.instrument_id, order.margin_mode) == (
        position.instrument_id,
        position.margin_mode,
    )


def _orders_cancel(orders) -> None:
    for order in orders:
        order.status = Order.Status.CANCELED
        order.margin_held = ZERO
        order.save(update_fields=["status", "margin_held", "updated_at"])


def _insurance_settle(difference: Decimal, entry: dict) -> None:
    if difference >= 0:
        ledger_post(
            kind=LedgerEntry.Kind.LIQUIDATION, amount=difference, source=HOUSE,
            destination=INSURANCE_FUND, memo="closed at the mark above bankruptcy", **entry,
        )  # fmt: skip
    else:
        ledger_post(
            kind=LedgerEntry.Kind.INSURANCE, amount=-difference, source=INSURANCE_FUND,
            destination=HOUSE, memo="closed at the mark past bankruptcy", **entry,
        )  # fmt: skip


def _position_liquidated(position: Position, *, price: Decimal, realized: Decimal) -> None:
    """The closing order and fill (for the trade history), and the position's final state."""
    quantity = position.quantity
    order = Order.objects.create(
        user=position.user,
        instrument=position.instrument,
        side="SELL" if position.side == "LONG" else "BUY",
        order_type="MARKET",
        margin_mode=position.margin_mode,
        quantity=quantity,
        reduce_only=True,
        leverage=position.leverage,
        status=Order.Status.FILLED,
        filled_quantity=quantity,
        average_fill_price=price_stored(price),
    )
    Fill.objects.create(
        order=order,
        position=position,
        price=price_stored(price),
        quantity=quantity,
        fee=ZERO,
        realized_pnl=realized,
        liquidity=Fill.Liquidity.TAKER,
    )
    position.quantity = ZERO
    position.status = Position.Status.LIQUIDATED
    position.realized_pnl += realized
    position.closed_at = timezone.now()
    position.save(update_fields=["quantity", "status", "realized_pnl", "closed_at", "updated_at"])


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(price_stored(value))


def _position_details(position, state, liquidation_price, bankruptcy_price) -> dict:
    return {
        "position": position.pk,
        "symbol": position.instrument.symbol,
        "side": position.side,
        "quantity": str(position.quantity),
        "entry_price": str(position.entry_price),
        "mark_price": str(state.mark_price),
        "liquidation_price": _text(liquidation_price),
        "bankruptcy_price": _text(bankruptcy_price),
    }


def _event_record(user, mode, positions, **figures) -> LiquidationEvent:
    for name in ("margin_balance", "maintenance_margin"):
        figures[name] = price_stored(figures[name])
    event = LiquidationEvent.objects.create(user=user, margin_mode=mode, **figures)
    LiquidationEvent.positions.through.objects.bulk_create(
        LiquidationEvent.positions.through(liquidationevent=event, position=position)
        for position in positions
    )
    return event


def _notify(event: LiquidationEvent, message: str) -> None:
    Notification.objects.create(
        user=event.user, kind=Notification.Kind.LIQUIDATION, message=message, liquidation=event
    )
