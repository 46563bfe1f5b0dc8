"""Watch prices: how far the marks may move before the sweep must look at an account again.

The sweep runs every second over every open position. Recomputing each account's figures there
would cost a pass through the brackets and a per-account aggregate on every tick, so instead the
account's figures are computed when the account changes, and each position gets a *watch price*:
while every position's mark stays on the safe side of its watch price, the account cannot be
liquidatable. Per tick the sweep then only compares marks with stored prices (an index range).

Why it is safe. Headroom H = margin balance - maintenance margin (> 0, or the account is
liquidated now) is split equally between the n positions that share it (the cross positions, or
one isolated position alone). A long loses q per unit the mark falls, and its maintenance margin
only falls with it; a short loses q per unit the mark rises, and its maintenance margin rises by
at most q x the highest maintenance rate r (a validated bracket table makes maintenance margin
continuous, with slopes at most r). So a long may fall by H/n / q, a short rise by
H/n / (q (1 + r)), before it has used its share; a move the other way never reduces H (r < 1).
The bounds are conservative: the sweep looks again a little early, re-checks exactly, and sets
new watch prices closer in.
"""

from collections.abc import Sequence
from decimal import Decimal

from trading.engine.decimals import checked_decimal, exact
from trading.engine.positions import PositionState, Side


@exact
def watch_prices(
    positions: Sequence[PositionState], *, margin_balance: Decimal, maintenance: Decimal
) -> tuple[Decimal, ...] | None:
    """The watch price of each position (in order) sharing ``margin_balance`` against
    ``maintenance``; None when there is no headroom (liquidatable now). A long is due once its
    mark is at or below its watch price, a short once at or above it."""
    checked_decimal("margin_balance", margin_balance)
    checked_decimal("maintenance", maintenance, non_negative=True)
    headroom = margin_balance - maintenance
    if not positions:
        return ()
    if headroom <= 0:
        return None
    share = headroom / len(positions)
    prices = []
    for position in positions:
        if position.side == Side.LONG:
            prices.append(position.mark_price - share / position.quantity)
        else:
            top_rate = max(bracket.maintenance_margin_rate for bracket in position.brackets)
            prices.append(position.mark_price + share / (position.quantity * (1 + top_rate)))
    return tuple(prices)
