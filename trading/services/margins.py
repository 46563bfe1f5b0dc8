"""Adding margin to, or removing it from, an open isolated position. There is no automatic
top-up: only these move money into an isolated position after it opens."""

from decimal import Decimal

from django.db import transaction

from trading.domain.orders import available_for_mode
from trading.errors import (
    InvalidAmount,
    MarginInsufficient,
    NoPosition,
    NotIsolated,
    ReviewOutdated,
)
from trading.inputs import decimal_from_input
from trading.models import LedgerEntry, MarginMode, Position
from trading.money import usdt
from trading.selectors import holdings_load
from trading.selectors.instruments import instrument_cached
from trading.selectors.positions import isolated_margin_max_removable
from trading.services.ledger import ledger_post
from trading.services.locks import open_positions_lock, wallet_lock


def _amount_checked(amount) -> Decimal:
    amount = decimal_from_input(amount, field="amount", error=InvalidAmount)
    if amount <= 0:
        raise InvalidAmount("The amount must be greater than 0.", field="amount")
    return amount


def _isolated_position(positions, instrument) -> Position:
    on_symbol = {p.margin_mode: p for p in positions if p.instrument_id == instrument.pk}
    if MarginMode.ISOLATED in on_symbol:
        return on_symbol[MarginMode.ISOLATED]
    if MarginMode.CROSS in on_symbol:
        raise NotIsolated("Add margin only support for isolated position.", field="symbol")
    raise NoPosition(f"You have no open {instrument.symbol} Isolated position.", field="symbol")


def _margin_as_reviewed(position: Position, expected_margin) -> None:
    """``expected_margin``: the margin the user saw when they reviewed the change (None: no
    review). A different margin now (a first click already applied it, a liquidation, funding)
    means the reviewed figures are gone: nothing is done."""
    if expected_margin is None:
        return
    expected = decimal_from_input(expected_margin, field="expected_margin", error=InvalidAmount)
    if expected != position.isolated_margin:
        raise ReviewOutdated(
            f"This position's margin is now {usdt(position.isolated_margin)} USDT, not the "
            f"{usdt(expected)} USDT you reviewed. Review the change again.",
            field="expected_margin",
        )


def isolated_margin_add(*, user, symbol, amount, expected_margin=None) -> Position:
    """Move ``amount`` from the wallet into the symbol's isolated position: its liquidation price
    moves away from the mark. At most the available balance (unrealized profit excluded)."""
    instrument = instrument_cached(symbol)  # only its id and symbol: they never change
    amount = _amount_checked(amount)
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        positions = open_positions_lock(user)
        position = _isolated_position(positions, instrument)
        _margin_as_reviewed(position, expected_margin)
        figures = holdings_load(user=user, wallet=wallet, positions=positions).figures()
        available = available_for_mode(MarginMode.ISOLATED, figures)
        if amount > available:
            raise MarginInsufficient(
                f"You can add at most {usdt(max(Decimal(0), available))} USDT (your available "
                "balance).",
                field="amount",
            )
        ledger_post(
            kind=LedgerEntry.Kind.ISOLATED_MARGIN,
            amount=amount,
            source=wallet,
            destination=position,
            user=user,
            position=position,
            memo="margin added",
        )
    return position


def isolated_margin_remove(*, user, symbol, amount, expected_margin=None) -> Position:
    """Move ``amount`` from the symbol's isolated position back to the wallet: at most what the
    position does not need (it keeps its maintenance margin and its initial margin at the mark)."""
    instrument = instrument_cached(symbol)  # only its id and symbol: they never change
    amount = _amount_checked(amount)
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user)
        positions = open_positions_lock(user)
        position = _isolated_position(positions, instrument)
        _margin_as_reviewed(position, expected_margin)
        removable = isolated_margin_max_removable(
            user=user, position=position, positions=positions, wallet=wallet
        )
        if amount > removable:
            raise MarginInsufficient(
                f"You can remove at most {usdt(removable)} USDT from this position.", field="amount"
            )
        ledger_post(
            kind=LedgerEntry.Kind.ISOLATED_MARGIN,
            amount=amount,
            source=position,
            destination=wallet,
            user=user,
            position=position,
            memo="margin removed",
        )
    return position
