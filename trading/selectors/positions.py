"""What the positions panel, /portfolio and the isolated margin page read.

A position is found by id only among the user's own open positions: someone else's id answers
exactly like an unknown one, so ids reveal nothing. The margin page's maxima are the ones the
services enforce (the same functions compute them), so the page never offers an amount that
``isolated_margin_add`` / ``isolated_margin_remove`` would refuse, nor hides one they accept.
"""

from dataclasses import dataclass, replace
from decimal import Decimal

from marginsite.errors import InvalidInput
from trading import engine
from trading.domain.orders import available_for_mode
from trading.domain.sides import engine_side
from trading.domain.venues import venue_rules
from trading.errors import InvalidAmount, MarginInsufficient, NoPosition, NotIsolated
from trading.inputs import decimal_from_input
from trading.models import MarginMode, Position, Wallet
from trading.money import ZERO, money_received, usdt
from trading.selectors.accounts import (
    AccountSummary,
    PositionRow,
    account_with_positions,
    holdings_with_positions,
    position_list,
)
from trading.selectors.holdings import holdings_load
from trading.selectors.position_orders import position_tpsl_orders

MARGIN_CHANGES = ("add", "remove")


def isolated_margin_max_removable(
    *, user, position: Position, positions, wallet: Wallet | None = None
) -> Decimal:
    """The maximum of the position's venue (trading/domain/venues.py), at the current mark,
    rounded down to the ledger's precision. A service passes the wallet it has locked."""
    holdings = holdings_load(user=user, positions=positions, wallet=wallet)
    holding = holdings.holdings[(position.instrument_id, MarginMode.ISOLATED)]
    rules = venue_rules(position.instrument.venue)
    return money_received(
        rules.max_removable(holding.position, position.isolated_margin, position.leverage)
    )


def position_rows(*, user, symbol: str | None = None) -> list[PositionRow]:
    """The user's open positions with their live figures, on ``symbol`` only if given, ordered
    by symbol and then Cross before Isolated, so the two positions one symbol can hold sit side
    by side, each with its take-profit and stop-loss. All positions are valued even when one
    symbol is asked for: a cross position's liquidation price depends on the other cross
    positions."""
    return _panel_rows(user, position_list(user=user), symbol)


def account_and_position_rows(
    *, user, symbol: str | None = None
) -> tuple[AccountSummary, list[PositionRow]]:
    """``account_summary`` and ``position_rows`` from one read of the account: the trade page's
    panels, rendered again on every tick."""
    summary, rows = account_with_positions(user=user)
    return summary, _panel_rows(user, rows, symbol)


def _panel_rows(user, rows: list[PositionRow], symbol: str | None) -> list[PositionRow]:
    if symbol is not None:
        rows = [row for row in rows if row.position.instrument.symbol == symbol.upper()]
    tpsl = position_tpsl_orders(user=user, positions=[row.position for row in rows])
    rows = [replace(row, tpsl=tpsl[row.position.pk]) for row in rows]
    return sorted(rows, key=lambda row: (row.position.instrument.symbol, row.position.margin_mode))


def open_position_get(*, user, position_id: int) -> Position:
    """The user's open position ``position_id`` with its instrument, or NoPosition (404)."""
    position = (
        Position.objects.filter(user=user, pk=position_id).select_related("instrument").first()
    )
    if position is None:
        raise NoPosition(
            "Position not found: none of your positions has that number.", field="position"
        )
    if position.status != Position.Status.OPEN:
        raise NoPosition(
            f"This {position.instrument.symbol} position is no longer open "
            f"({position.get_status_display().lower()}).",
            field="position",
        )
    return position


@dataclass(frozen=True)
class IsolatedMarginState:
    """An isolated position as the margin page shows it: its row (figures at the mark), the
    engine's view of it, the wallet, and how much may be added or removed now."""

    row: PositionRow
    state: engine.PositionState
    wallet_balance: Decimal
    max_addable: Decimal
    max_removable: Decimal

    @property
    def position(self) -> Position:
        return self.row.position


@dataclass(frozen=True)
class MarginChangePreview:
    """What adding or removing ``amount`` would do: the new margin, wallet balance and
    liquidation price (exact, and rounded to the tick on the safe side for display)."""

    change: str
    amount: Decimal
    margin: Decimal
    wallet_balance: Decimal
    liquidation_price: Decimal | None
    liquidation_price_display: Decimal | None


def open_isolated_position_get(*, user, position_id: int) -> Position:
    """The user's open isolated position ``position_id`` with its instrument; NoPosition (404)
    or NotIsolated (a cross position has no margin of its own to change)."""
    position = open_position_get(user=user, position_id=position_id)
    if position.margin_mode != MarginMode.ISOLATED:
        raise NotIsolated(
            f"This {position.instrument.symbol} position is Cross: cross positions have no "
            "margin of their own (your whole cross margin balance backs them), so there is no "
            "margin to add or remove. To give it its own margin, close it and reopen it in "
            "Isolated mode.",
            field="position",
        )
    return position


def isolated_margin_state(*, user, position_id: int) -> IsolatedMarginState:
    """The user's open isolated position ``position_id`` with its maxima; NoPosition (404) or
    NotIsolated (see ``open_isolated_position_get``)."""
    position = open_isolated_position_get(user=user, position_id=position_id)
    holdings, rows = holdings_with_positions(user=user)
    row = next((row for row in rows if row.position.pk == position.pk), None)
    if row is None:
        raise NoPosition(
            f"This {position.instrument.symbol} position has just been closed.", field="position"
        )
    positions = [row.position for row in rows]
    key = (position.instrument_id, MarginMode.ISOLATED)
    return IsolatedMarginState(
        row=row,
        state=holdings.holdings[key].position,
        wallet_balance=holdings.wallet_balance,
        max_addable=max(ZERO, available_for_mode(MarginMode.ISOLATED, holdings.figures())),
        max_removable=isolated_margin_max_removable(
            user=user, position=row.position, positions=positions
        ),
    )


def margin_change_checked(change) -> str:
    if change not in MARGIN_CHANGES:
        raise InvalidInput("Choose whether to add or remove margin.", field="change")
    return change


def isolated_margin_change_preview(
    margin: IsolatedMarginState, *, change, amount
) -> MarginChangePreview:
    """The figures after the change, refused exactly as the services would refuse it (same
    checks, same messages), without changing anything."""
    change = margin_change_checked(change)
    amount = decimal_from_input(amount, field="amount", error=InvalidAmount)
    if amount <= 0:
        raise InvalidAmount("The amount must be greater than 0.", field="amount")
    position = margin.position
    if change == "add":
        if amount > margin.max_addable:
            raise MarginInsufficient(
                f"You can add at most {usdt(margin.max_addable)} USDT (your available balance).",
                field="amount",
            )
        new_margin, new_wallet = position.isolated_margin + amount, margin.wallet_balance - amount
    else:
        if amount > margin.max_removable:
            raise MarginInsufficient(
                f"You can remove at most {usdt(margin.max_removable)} USDT from this position.",
                field="amount",
            )
        new_margin, new_wallet = position.isolated_margin - amount, margin.wallet_balance + amount
    liquidation_price = engine.isolated_liquidation_price(margin.state, isolated_margin=new_margin)
    return MarginChangePreview(
        change=change,
        amount=amount,
        margin=new_margin,
        wallet_balance=new_wallet,
        liquidation_price=liquidation_price,
        liquidation_price_display=engine.liquidation_price_for_display(
            liquidation_price,
            side=engine_side(position.side),
            tick_size=position.instrument.tick_size,
        ),
    )
