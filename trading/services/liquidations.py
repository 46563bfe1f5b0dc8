"""Liquidation: where it happens, and what it does to the money.

- Isolated: a position whose isolated margin + uPnL is at or below its maintenance margin. Its
  open orders are cancelled and it is closed at its bankruptcy price, so the user loses exactly
  the position's margin and nothing from the wallet. Closing at the mark instead of the
  bankruptcy price leaves the margin balance at the mark, isolated margin + uPnL: the insurance
  fund takes it (or pays it, if the mark is already past bankruptcy).
- Cross: an account whose cross margin balance is at or below the cross maintenance margin. All
  its cross open orders are cancelled and all its cross positions closed at the mark; the wallet
  goes to 0 (never below): the insurance fund takes what remains or covers the shortfall. Its
  isolated positions and their margins are untouched.

The insurance fund's share is the margin balance at the mark in both modes, from exact figures
(never from a bankruptcy price, which need not terminate), each uPnL rounded once like a realized
PnL (``money_received``).

Each position closes through the same settlement and booking as any fill
(trading/domain/settlement.py, trading/services/fills.py), as a liquidation: its PnL booked as
such, no fee, and an isolated position's margin left going to the insurance fund. Both run
inside the sweep's per-account transaction, with the wallet, positions and orders locked, and
write a LiquidationEvent (the receipt: every figure it shows and the brackets, as they were at
the trigger) and a Notification.
"""

from collections.abc import Iterable
from decimal import Decimal

from trading import engine
from trading.domain.holdings import Holdings, position_held
from trading.domain.settlement import Account, fill_settlement
from trading.domain.sides import closing_side, engine_side
from trading.engine.decimals import ENGINE_CONTEXT
from trading.models import (
    Fill,
    Journal,
    LedgerAccount,
    LedgerEntry,
    LiquidationEvent,
    MarginMode,
    Notification,
    Order,
    Position,
)
from trading.money import ZERO, price_stored, usdt
from trading.services.fills import settlement_book
from trading.services.ledger import journal_open, ledger_post

INSURANCE_FUND = LedgerAccount.Kind.INSURANCE_FUND


def isolated_liquidate(
    *, wallet, position: Position, holdings: Holdings, orders: list[Order]
) -> LiquidationEvent:
    """Liquidate one isolated position (see the module)."""
    state = holdings.holdings[(position.instrument_id, MarginMode.ISOLATED)].position
    margin = position.isolated_margin
    figures = engine.isolated_liquidation_figures(state, isolated_margin=margin)
    _orders_cancel(o for o in orders if _same_key(o, position))
    receipt = _receipt_row(position, state, figures)
    journal = journal_open(Journal.Kind.LIQUIDATION)
    # settled at the mark (the margin balance left there is the fund's, exactly: never from a
    # bankruptcy price, which need not terminate); the trade shows the bankruptcy price, where
    # the user's loss is exactly the margin
    settlement = _liquidation_book(
        position, wallet, journal, mark=state.mark_price, shown_at=figures.bankruptcy_price
    )
    event = _event_record(
        position.user,
        MarginMode.ISOLATED,
        [position],
        margin_balance=figures.margin_balance,
        maintenance_margin=engine.maintenance_margin(state),
        loss=margin,
        insurance_fund_change=settlement.net(Account.INSURANCE_FUND),
        details=[receipt],
        brackets=_brackets_used([(position, state)]),
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
    account = holdings.figures()
    cross = [p for p in positions if p.margin_mode == MarginMode.CROSS]
    states = {p.pk: holdings.holdings[(p.instrument_id, MarginMode.CROSS)].position for p in cross}
    _orders_cancel(o for o in orders if o.margin_mode == MarginMode.CROSS)
    at_trigger = {
        position.pk: engine.cross_liquidation_figures(
            states[position.pk],
            wallet_balance=wallet.balance,
            others=[states[p.pk] for p in cross if p.pk != position.pk],
        )
        for position in cross
    }
    receipts = [_receipt_row(p, states[p.pk], at_trigger[p.pk]) for p in cross]
    wallet_before = wallet.balance
    fund_change = ZERO
    journal = journal_open(Journal.Kind.LIQUIDATION)
    # each position realizes its uPnL at the mark, rounded like any realized PnL, profits first
    # so that they pay the losses before the insurance fund does; the fund then takes what the
    # wallet holds: in all, the cross margin balance at the mark
    for position in sorted(cross, key=lambda p: -at_trigger[p.pk].unrealized_pnl):
        mark = states[position.pk].mark_price
        settlement = _liquidation_book(position, wallet, journal, mark=mark, shown_at=mark)
        fund_change += settlement.net(Account.INSURANCE_FUND)
    remaining = wallet.balance
    ledger_post(
        kind=LedgerEntry.Kind.LIQUIDATION,
        amount=remaining,
        source=wallet,
        destination=INSURANCE_FUND,
        user=wallet.user,
        memo="cross margin balance taken by the liquidation",
        journal=journal,
    )
    event = _event_record(
        wallet.user,
        MarginMode.CROSS,
        cross,
        margin_balance=account.cross_margin_balance,
        maintenance_margin=account.cross_maintenance_margin,
        loss=wallet_before,
        insurance_fund_change=remaining + fund_change,
        details=receipts,
        brackets=_brackets_used((p, states[p.pk]) for p in cross),
    )
    symbols = ", ".join(sorted({p.instrument.symbol for p in cross}))
    _notify(
        event,
        f"Your cross positions ({symbols}) were liquidated: the cross margin balance fell to the "
        f"maintenance margin. Your wallet of {usdt(wallet_before)} USDT is gone; your isolated "
        "positions are untouched.",
    )
    return event


def _liquidation_book(position: Position, wallet, journal, *, mark: Decimal, shown_at: Decimal):
    """Close the whole position at ``mark`` as a liquidation: its settlement, booked through a
    filled reduce-only market order whose fill (the trade history's) shows ``shown_at``."""
    shown_at = price_stored(shown_at)
    settlement = fill_settlement(
        position=position_held(position),
        isolated=position.margin_mode == MarginMode.ISOLATED,
        wallet_balance=wallet.balance,
        side=-engine_side(position.side),
        quantity=position.quantity,
        price=mark,
        fee_rate=ZERO,
        leverage=position.leverage,
        liquidation=True,
    )
    order = Order.objects.create(
        user=position.user,
        instrument=position.instrument,
        side=closing_side(position.side),
        order_type="MARKET",
        margin_mode=position.margin_mode,
        quantity=position.quantity,
        reduce_only=True,
        leverage=position.leverage,
        status=Order.Status.FILLED,
        filled_quantity=position.quantity,
        average_fill_price=shown_at,
    )
    settlement_book(
        settlement,
        order=order,
        wallet=wallet,
        position=position,
        price=shown_at,
        liquidity=Fill.Liquidity.TAKER,
        closed_status=Position.Status.LIQUIDATED,
        journal=journal,
    )
    return settlement


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


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(price_stored(value))


def _exact(value: Decimal) -> str:
    """An engine figure as the receipt keeps it: every digit, without trailing zeros or an
    exponent (normalized in the engine's context, which holds every digit it computed)."""
    return format(value.normalize(ENGINE_CONTEXT), "f")


def _bracket_row(bracket: engine.Bracket) -> list:
    """A bracket as a row of (floor, cap, max leverage, rate, amount), Binance's and the seed's
    shape, which ``engine.brackets_from_rows`` reads back."""
    return [
        _exact(bracket.notional_floor),
        _exact(bracket.notional_cap),
        bracket.max_leverage,
        _exact(bracket.maintenance_margin_rate),
        _exact(bracket.maintenance_amount),
    ]


def _brackets_used(
    positions: Iterable[tuple[Position, engine.PositionState]],
) -> dict[str, list[list]]:
    """Symbol -> the bracket table each (position, state) was valued with at the trigger."""
    return {
        position.instrument.symbol: [_bracket_row(bracket) for bracket in state.brackets]
        for position, state in positions
    }


def _receipt_row(
    position: Position, state: engine.PositionState, figures: engine.LiquidationFigures
) -> dict:
    """One position of the receipt: the position and every figure its receipt shows, as they
    were at the trigger, with the instrument's tick and step it is shown on; the receipt reads
    nothing else, so an operator's later change of the instrument leaves it as it was."""
    instrument = position.instrument
    liquidation_bracket = figures.liquidation_bracket
    return {
        "position": position.pk,
        "symbol": instrument.symbol,
        "side": position.side,
        "quantity": str(position.quantity),
        "entry_price": str(position.entry_price),
        "mark_price": str(state.mark_price),
        "liquidation_price": _text(figures.liquidation_price),
        "bankruptcy_price": _text(figures.bankruptcy_price),
        "unrealized_pnl": _exact(figures.unrealized_pnl),
        "maintenance_bracket": _bracket_row(figures.maintenance_bracket),
        "others_maintenance_margin": _exact(figures.others_maintenance_margin),
        "others_unrealized_pnl": _exact(figures.others_unrealized_pnl),
        "liquidation_bracket": None
        if liquidation_bracket is None
        else _bracket_row(liquidation_bracket),
        "tick_size": str(instrument.tick_size),
        "step_size": str(instrument.step_size),
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
