"""The other-mode twin: a position as it would stand, at the same mark, had it been opened in
the other margin mode. It is valued as ``account_figures`` values a position of a hypothetical
account (by the same functions, computing only the twin's own figures), so the twin follows
exactly the rules the real position follows (each rule in one place):

- the **isolated twin** is an account that holds the position alone, on its own margin: its
  liquidation price is the isolated one, and that margin is all it can lose;
- the **cross twin** joins the account's cross set: the wallet (with the margin it would never
  have moved out of it) backs it together with the other cross positions, whose maintenance
  margin and uPnL count at their own marks; the whole wallet is what it puts at risk.

A twin is liquidated at the mark when its margin balance is at or below the maintenance margin
(the cross twin: the whole cross set's), as its account's figures say.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from trading.engine.account import (
    CrossHolding,
    IsolatedHolding,
    cross_margin,
    cross_position_figures,
    isolated_position_figures,
)
from trading.engine.decimals import ZERO, exact


@dataclass(frozen=True)
class Twin:
    """A position's twin at the mark. ``at_risk`` is what it can lose: the isolated twin's
    margin, or the cross twin's wallet. ``margin_balance`` and ``maintenance_margin`` are its
    own (isolated) or the whole cross set's (cross); ``liquidated`` says whether the mark is at
    or past its liquidation point."""

    liquidation_price: Decimal | None
    at_risk: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal
    maintenance_margin: Decimal
    liquidated: bool


@exact
def isolated_twin(holding: IsolatedHolding) -> Twin:
    """The position alone on ``holding``'s margin (the margin an isolated order would have moved
    out of the wallet when it opened)."""
    own = isolated_position_figures(holding)
    return Twin(
        liquidation_price=own.liquidation_price,
        at_risk=holding.isolated_margin,
        unrealized_pnl=own.unrealized_pnl,
        margin_balance=own.margin_balance,
        maintenance_margin=own.maintenance_margin,
        liquidated=own.liquidatable,
    )


@exact
def cross_twin(
    holding: CrossHolding, *, wallet_balance: Decimal, others: Iterable[CrossHolding]
) -> Twin:
    """The position added to the cross set ``others`` (the account's cross positions), backed by
    ``wallet_balance`` (the wallet as it would be: with the twin's isolated margin still in it)."""
    cross = (holding, *others)
    totals = cross_margin(wallet_balance=wallet_balance, cross_holdings=cross)
    own = cross_position_figures(cross, 0, wallet_balance=wallet_balance, totals=totals)
    return Twin(
        liquidation_price=own.liquidation_price,
        at_risk=max(ZERO, wallet_balance),
        unrealized_pnl=own.unrealized_pnl,
        margin_balance=totals.margin_balance,
        maintenance_margin=totals.maintenance_margin,
        liquidated=totals.liquidatable,
    )
