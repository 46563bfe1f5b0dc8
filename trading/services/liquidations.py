"""Liquidation: where it happens, and what it does to the money.

The rule (which steps, what each settles) is trading/domain/liquidation.py, after the venue
profile of each position's instrument (trading/domain/venues.py); this module books it:

- Isolated: a position whose isolated margin + uPnL is at or below its maintenance margin. Its
  open orders are cancelled, then the venue's partial steps run (Binance: one bracket down at a
  time, while the position stays out of margin); what cannot be saved is closed, the user
  losing the position's margin and nothing from the wallet.
- Cross: an account whose cross margin balance is at or below the cross maintenance margin. Its
  cross open orders are cancelled, then the partial steps; if the account is still out of
  margin, every cross position is closed and the wallet goes to 0 (never below). Its isolated
  positions and their margins are untouched.

Every step is a liquidation fill at the mark (a reduce-only market order, FILLED) with the
venue's liquidation fee, paid to the insurance fund from what backs the position. The last step
of an isolated position shows its bankruptcy price, where the user's loss is exactly its margin;
the money is settled at the mark, exactly (the fund takes the margin balance left there, or pays
what is missing). The fund pays only what it holds (its row locked, after the account's); what
it cannot pay is recovered by auto-deleveraging (trading/services/deleveraging.py).

Both run within the sweep's handling of one account, all or nothing, with the wallet, positions
and orders locked, and write a LiquidationEvent (the receipt: every figure it shows, each step
and the brackets, as they were at the trigger, and what the other margin mode would have done
then, trading/domain/twin.py) and a Notification. They write through the sweep's batch
(``writes``, trading/services/write_batches.py), which writes the rows of many accounts at once.
"""

import functools
from collections.abc import Iterable
from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from trading import engine
from trading.domain.holdings import Holdings, position_held
from trading.domain.liquidation import (
    LiquidationPlan,
    LiquidationStep,
    Terms,
    cross_liquidation_plan,
    deleverage_need,
    isolated_liquidation_plan,
)
from trading.domain.settlement import Account
from trading.domain.twin import OtherMode, other_mode, position_twin
from trading.domain.venues import venue_rules
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
from trading.services.bulk_writes import row_new
from trading.services.deleveraging import deleverage, deleverage_queue
from trading.services.fills import closing_order, settlement_book
from trading.services.ledger import Posting, ledger_post_kept
from trading.services.write_batches import ImmediateNeeded, WriteBatch

INSURANCE_FUND = LedgerAccount.Kind.INSURANCE_FUND


def _terms(position: Position) -> Terms:
    """The position's venue rules, its instrument's step and fees, and whether the venue's
    cooldown after a partial step still runs."""
    instrument = position.instrument
    rules = venue_rules(instrument.venue)
    until = position.liquidation_cooldown_until
    return Terms(
        rules,
        instrument.step_size,
        rules.liquidation_fee_rate(instrument.liquidation_fee_rate),
        instrument.taker_fee_rate,
        cooling=until is not None and until > timezone.now(),
    )


def isolated_liquidate(
    *,
    wallet,
    position: Position,
    holdings: Holdings,
    orders: list[Order],
    leverages: dict[int, int],
    writes: WriteBatch,
) -> LiquidationEvent | None:
    """Liquidate one isolated position (see the module); None while its venue's cooldown after
    a partial step runs. ``leverages``: ``other_mode_leverages`` of the account's positions."""
    key = (position.instrument_id, MarginMode.ISOLATED)
    holding = holdings.holdings[key]
    state, margin = holding.position, position.isolated_margin
    plan = _planned(
        lambda fund_balance: isolated_liquidation_plan(
            holdings,
            key,
            held=position_held(position),
            terms=_terms(position),
            fund_balance=fund_balance,
        ),
        writes,
    )
    if not plan.steps:
        return None
    figures = engine.isolated_liquidation_figures(state, isolated_margin=holding.backing)
    twins = _other_mode(holdings, [position], leverages)
    _orders_cancel((o for o in orders if _same_key(o, position)), writes)
    receipt = _receipt_row(position, state, figures)
    journal = _journal_open(writes)
    lines = _steps_book(plan, {key: position}, wallet, journal, writes)
    loss = margin - position.isolated_margin
    event = _event_record(
        writes,
        position.user,
        MarginMode.ISOLATED,
        [position],
        plan,
        lines,
        collateral=margin,
        margin_balance=figures.margin_balance,
        maintenance_margin=engine.maintenance_margin(state),
        loss=loss,
        details=[receipt],
        brackets=_brackets_used([(position, state)]),
        other_mode=twins.record(),
    )
    side = position.get_side_display().lower()
    if plan.survived:
        message = (
            f"Your {position.instrument.symbol} Isolated {side} was partly liquidated at mark "
            f"{usdt(state.mark_price)}: {_quantity(plan)} closed, {usdt(loss)} USDT lost with "
            "the fee; the rest is still open."
        )
    else:
        message = (
            f"Your {position.instrument.symbol} Isolated {side} was liquidated at mark "
            f"{usdt(state.mark_price)}. You lost its margin of {usdt(margin)} USDT; the rest of "
            "your account is untouched."
        )
    _notify(event, message, writes)
    return event


def cross_liquidate(
    *,
    wallet,
    positions: list[Position],
    holdings: Holdings,
    orders: list[Order],
    leverages: dict[int, int],
    writes: WriteBatch,
) -> LiquidationEvent | None:
    """Liquidate the account's cross positions (see the module); None while a venue's cooldown
    after a partial step runs. ``leverages``: as for ``isolated_liquidate``."""
    account = holdings.cross_margin()
    cross = [p for p in positions if p.margin_mode == MarginMode.CROSS]
    keys = {(p.instrument_id, MarginMode.CROSS): p for p in cross}
    states = {p.pk: holdings.holdings[key].position for key, p in keys.items()}
    wallet_before = wallet.balance
    plan = _planned(
        lambda fund_balance: cross_liquidation_plan(
            holdings,
            held={key: position_held(p) for key, p in keys.items()},
            terms={key: _terms(p) for key, p in keys.items()},
            fund_balance=fund_balance,
        ),
        writes,
    )
    if not plan.steps:
        return None
    twins = _other_mode(holdings, cross, leverages)
    _orders_cancel((o for o in orders if o.margin_mode == MarginMode.CROSS), writes)
    at_trigger = {
        position.pk: engine.cross_liquidation_figures(
            states[position.pk],
            wallet_balance=wallet.balance,
            others=[states[p.pk] for p in cross if p.pk != position.pk],
        )
        for position in cross
    }
    receipts = [_receipt_row(p, states[p.pk], at_trigger[p.pk]) for p in cross]
    journal = _journal_open(writes)
    lines = _steps_book(plan, keys, wallet, journal, writes)
    ledger_post_kept(
        [
            Posting(
                kind=LedgerEntry.Kind.LIQUIDATION,
                amount=plan.wallet_taken,
                source=wallet,
                destination=INSURANCE_FUND,
                user=wallet.user,
                memo="cross margin balance taken by the liquidation",
            )
        ],
        journal=journal,
        writes=writes,
    )
    event = _event_record(
        writes,
        wallet.user,
        MarginMode.CROSS,
        cross,
        plan,
        lines,
        collateral=wallet_before,
        margin_balance=account.margin_balance,
        maintenance_margin=account.maintenance_margin,
        loss=wallet_before - wallet.balance,
        details=receipts,
        brackets=_brackets_used((p, states[p.pk]) for p in cross),
        other_mode=twins.record(),
    )
    symbols = ", ".join(sorted({p.instrument.symbol for p in cross}))
    if plan.survived:
        message = (
            f"Your cross positions ({symbols}) were partly liquidated: {_quantity(plan)} closed, "
            f"{usdt(event.loss)} USDT lost with the fees; the rest is still open."
        )
    else:
        message = (
            f"Your cross positions ({symbols}) were liquidated: the cross margin balance fell to "
            f"the maintenance margin. Your wallet of {usdt(wallet_before)} USDT is gone; your "
            "isolated positions are untouched."
        )
    _notify(event, message, writes)
    return event


def _planned(plan_of, writes: WriteBatch) -> LiquidationPlan:
    """``plan_of(fund balance)``, with the fund the batch read (without its lock: trading/
    services/write_batches.py); a plan the fund does not cover in full is made again with the
    fund locked and read as it stands, so that it covers a loss up to what it holds."""
    plan = plan_of(writes.fund_balance())
    if any(step.settlement.uncovered for step in plan.steps) and writes.fund_lock():
        plan = plan_of(writes.fund_balance())
    return plan


def _journal_open(writes: WriteBatch) -> Journal:
    """The liquidation's journal (``journal_open``'s row), kept in the batch."""
    journal = row_new(Journal, kind=Journal.Kind.LIQUIDATION, created_at=timezone.now())
    writes.create(journal)
    return journal


def _other_mode(holdings: Holdings, positions: list[Position], leverages) -> OtherMode:
    """The twins of the liquidated ``positions`` in the other mode, from the account as it
    stood just before the liquidation (trading/domain/twin.py)."""
    return OtherMode(
        other_mode(positions[0].margin_mode),
        tuple(
            position_twin(holdings, position, leverage=leverages[position.pk])
            for position in positions
        ),
    )


def _quantity(plan: LiquidationPlan) -> str:
    return ", ".join(f"{step.quantity.normalize():f}" for step in plan.steps)


def _steps_book(plan: LiquidationPlan, positions, wallet, journal, writes) -> list[dict]:
    """Book each step (a filled reduce-only market order), start a venue's cooldown after a
    partial step, and deleverage what the fund could not cover. Returns the receipt's lines."""
    lines = []
    for step in plan.steps:
        position = positions[step.key]
        shown = _price_shown(step, position)
        _step_book(step, position, wallet, journal, shown, writes)
        rules = venue_rules(position.instrument.venue)
        if not step.final and rules.cooldown_seconds:
            position.liquidation_cooldown_until = timezone.now() + timedelta(
                seconds=rules.cooldown_seconds
            )
            writes.update(position)
        need = deleverage_need(step, step_size=position.instrument.step_size)
        deleveraged = _deleverage(position, need, step.state.mark_price, writes) if need else []
        lines.append(_step_line(step, position, shown, deleveraged))
    return lines


def _deleverage(position: Position, need, mark: Decimal, writes: WriteBatch) -> list[dict]:
    """Auto-deleveraging books other accounts' positions, ranked from the database: the batch is
    written first, and an account kept with others' is swept on its own (``ImmediateNeeded``).
    With nobody in the queue (a one-sided crash) there is nothing to take, so nothing to write:
    the queue read before the batch is written can only be longer than the truth (the batch
    closes or reduces positions; it opens none)."""
    side = (position.instrument_id, position.side)
    if side in writes.queues_empty:
        return []
    if not deleverage_queue(position):
        writes.queues_empty.add(side)
        return []
    if not writes.immediate:
        raise ImmediateNeeded
    writes.flush()
    closed = deleverage(position=position, need=need, mark=mark)
    writes.fund_forget()
    return closed


def _price_shown(step: LiquidationStep, position: Position) -> Decimal:
    """The price a step's trade shows: the mark, but for an isolated position's last step its
    bankruptcy price with the margin it has left, where its loss is exactly that margin."""
    if step.final and position.margin_mode == MarginMode.ISOLATED:
        bankruptcy = engine.isolated_bankruptcy_price(
            step.state, isolated_margin=position.isolated_margin
        )
        if bankruptcy is not None:
            return price_stored(bankruptcy)
    return price_stored(step.state.mark_price)


def _step_book(step: LiquidationStep, position: Position, wallet, journal, shown, writes) -> None:
    order = closing_order(position, quantity=step.quantity, price=shown)
    writes.create(order)
    settlement_book(
        step.settlement,
        order=order,
        wallet=wallet,
        position=position,
        price=shown,
        liquidity=Fill.Liquidity.TAKER,
        closed_status=Position.Status.LIQUIDATED,
        journal=journal,
        writes=writes,
    )


def _step_line(step: LiquidationStep, position: Position, shown, deleveraged) -> dict:
    closing = step.settlement.closing
    return {
        "position": position.pk,
        "symbol": position.instrument.symbol,
        "side": position.side,
        "quantity": str(step.quantity),
        "mark_price": str(step.state.mark_price),
        "price": str(shown),
        "liquidation_fee": str(closing.fee),
        "realized_pnl": str(closing.realized_pnl),
        "insurance_fund_change": str(step.settlement.net(Account.INSURANCE_FUND)),
        "final": step.final,
        "deleveraged": deleveraged,
    }


def _same_key(order: Order, position: Position) -> bool:
    return (order.instrument_id, order.margin_mode) == (
        position.instrument_id,
        position.margin_mode,
    )


def _orders_cancel(orders, writes: WriteBatch) -> None:
    for order in orders:
        order.status = Order.Status.CANCELED
        order.margin_held = ZERO
        writes.update(order)


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
        position.instrument.symbol: [list(row) for row in _bracket_rows(state.brackets)]
        for position, state in positions
    }


@functools.lru_cache(maxsize=256)
def _bracket_rows(brackets: tuple[engine.Bracket, ...]) -> tuple[tuple, ...]:
    """A bracket table's rows, made once per table: a crash's receipts copy the same few."""
    return tuple(tuple(_bracket_row(bracket)) for bracket in brackets)


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
        "venue": instrument.venue,
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


def _event_record(writes, user, mode, positions, plan, lines, **figures) -> LiquidationEvent:
    for name in ("margin_balance", "maintenance_margin"):
        figures[name] = price_stored(figures[name])
    event = row_new(
        LiquidationEvent,
        user=user,
        margin_mode=mode,
        insurance_fund_change=sum(
            (Decimal(line["insurance_fund_change"]) for line in lines), plan.wallet_taken
        ),
        liquidation_fee=sum((Decimal(line["liquidation_fee"]) for line in lines), ZERO),
        survived=plan.survived,
        steps=lines,
        deleveraged=[row for line in lines for row in line["deleveraged"]],
        **figures,
    )
    writes.create(
        event,
        *(
            row_new(LiquidationEvent.positions.through, liquidationevent=event, position=position)
            for position in positions
        ),
    )
    return event


def _notify(event: LiquidationEvent, message: str, writes: WriteBatch) -> None:
    """The notice, with what the other mode would have done (left to the receipt when the two
    would not fit in a notice)."""
    outcome = OtherMode.from_record(event.other_mode).outcome
    limit = Notification._meta.get_field("message").max_length
    if len(message) + 1 + len(outcome) <= limit:
        message = f"{message} {outcome}"
    writes.create(
        row_new(
            Notification,
            user=event.user,
            kind=Notification.Kind.LIQUIDATION,
            message=message,
            liquidation=event,
        )
    )
