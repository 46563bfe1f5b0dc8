"""The margin maths where Bybit and Hyperliquid differ from Binance (the rest of the engine).

- **Hyperliquid**: the maintenance margin is half the initial margin at the tier's maximum
  leverage (a bracket table whose rates are 1 / (2 x max leverage), the deductions by the usual
  recurrence), and its liquidation price solves the same equation as Binance's. Isolated margin
  may be removed only while what stays is at least max(initial margin, 10 % of the notional).
- **Bybit**: the liquidation price reserves the fee to close the position at its bankruptcy
  price, which on the margin added beyond the initial margin A makes it count A / (1 - s x taker
  fee): its published formula, LP = (q EP - s (q EP / lev + A / (1 - s t) + mmd)) /
  (q (1 - s MMR)), is Binance's equation with that collateral.

Sources: docs/margin.md, "Venue profiles".
"""

from collections.abc import Iterable, Sequence
from decimal import Decimal

from trading.engine.brackets import brackets_with_amounts
from trading.engine.decimals import ZERO, checked_decimal, checked_leverage, exact
from trading.engine.margins import unrealized_pnl
from trading.engine.positions import Bracket, PositionState

HYPERLIQUID_TRANSFER_FLOOR = Decimal("0.1")


@exact
def hyperliquid_maintenance_rate(max_leverage: int) -> Decimal:
    """A tier's maintenance margin rate: half its initial margin rate at max leverage."""
    checked_leverage(max_leverage)
    return 1 / (2 * Decimal(max_leverage))


@exact
def hyperliquid_brackets(tiers: Iterable[Sequence]) -> tuple[Bracket, ...]:
    """Margin tiers of (floor, cap, max leverage) as brackets, each at its maintenance rate and
    the deductions by the usual recurrence."""
    return brackets_with_amounts(
        (Decimal(floor), Decimal(cap), int(leverage), hyperliquid_maintenance_rate(int(leverage)))
        for floor, cap, leverage in tiers
    )


@exact
def hyperliquid_max_removable_isolated_margin(
    position: PositionState, *, isolated_margin: Decimal, leverage: int
) -> Decimal:
    """How much margin may leave an isolated position on Hyperliquid: what stays, with its
    uPnL, must be at least max(initial margin at the mark, 10 % of the notional)."""
    checked_decimal("isolated_margin", isolated_margin, non_negative=True)
    checked_leverage(leverage)
    floor = max(position.notional / leverage, position.notional * HYPERLIQUID_TRANSFER_FLOOR)
    return max(ZERO, min(isolated_margin, isolated_margin + unrealized_pnl(position) - floor))


@exact
def bybit_isolated_collateral(
    position: PositionState, *, isolated_margin: Decimal, leverage: int, taker_fee_rate: Decimal
) -> Decimal:
    """The margin Bybit's liquidation counts for an isolated position: its initial margin at
    entry, q x EP / leverage, plus the margin added beyond it less the fee to close on it,
    A / (1 - s x taker fee)."""
    checked_decimal("isolated_margin", isolated_margin, non_negative=True)
    checked_leverage(leverage)
    checked_decimal("taker_fee_rate", taker_fee_rate, non_negative=True)
    initial = position.quantity * position.entry_price / leverage
    return initial + (isolated_margin - initial) / (1 - position.side * taker_fee_rate)
