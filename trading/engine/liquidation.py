"""Liquidation and bankruptcy prices (Binance USD-M, one-way mode).

A position is liquidated at the mark where its margin balance falls to its maintenance margin. In
isolated mode the margin balance is the position's own isolated margin plus its uPnL; nothing else
in the account matters. In cross mode it is the wallet plus the uPnL of every cross position, less
the maintenance margin of the other cross positions (valued at their own marks); isolated positions
are outside it. Solving margin balance = MM for the mark P, with the bracket of q x P:

    P = (WB - TMM1 + UPNL1 + cum - s q EP) / (q MMR - s q)

Maintenance margin is continuous and grows slower than |uPnL| in P, so the root is unique: it is
the candidate that lands inside the bracket it was computed with. No positive root, no price.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from trading.engine.brackets import bracket_for
from trading.engine.decimals import ZERO, checked_decimal, checked_leverage, exact
from trading.engine.margins import maintenance_margin, unrealized_pnl
from trading.engine.positions import Bracket, PositionState


def _price_where_margin_meets_maintenance(
    position: PositionState, collateral: Decimal
) -> Decimal | None:
    """The mark at which collateral + s q (P - EP) equals the maintenance margin at P.

    ``collateral`` is WB - TMM1 + UPNL1: what backs the position besides its own uPnL.
    """
    side, quantity = position.side, position.quantity
    for index, bracket in enumerate(position.brackets):
        denominator = quantity * bracket.maintenance_margin_rate - side * quantity
        price = (
            collateral + bracket.maintenance_amount - side * quantity * position.entry_price
        ) / denominator
        if price <= 0:
            continue
        notional = quantity * price
        # A position's brackets rise by floor: above the first, a bracket whose floor the
        # notional does not reach is not its bracket (the lookup is skipped, not the rule).
        if (index == 0 or bracket.notional_floor <= notional) and bracket_for(
            position.brackets, notional
        ) is bracket:
            return price
    return None


@exact
def isolated_liquidation_price(
    position: PositionState, *, isolated_margin: Decimal
) -> Decimal | None:
    """The mark at which isolated margin + uPnL = MM; None if no positive mark gets there."""
    checked_decimal("isolated_margin", isolated_margin, non_negative=True)
    return _price_where_margin_meets_maintenance(position, isolated_margin)


@exact
def cross_liquidation_price(
    position: PositionState, *, wallet_balance: Decimal, others: Iterable[PositionState]
) -> Decimal | None:
    """The mark of this position at which the account's cross margin balance equals the cross
    maintenance margin, the other cross positions held at their own marks."""
    checked_decimal("wallet_balance", wallet_balance)
    others = tuple(others)
    collateral = (
        wallet_balance
        - sum((maintenance_margin(other) for other in others), ZERO)
        + sum((unrealized_pnl(other) for other in others), ZERO)
    )
    return _price_where_margin_meets_maintenance(position, collateral)


@exact
def isolated_bankruptcy_price(
    position: PositionState, *, isolated_margin: Decimal
) -> Decimal | None:
    """The mark at which isolated margin + uPnL = 0, where the whole margin is lost: a
    liquidated isolated position closes here, so the user loses exactly its margin."""
    checked_decimal("isolated_margin", isolated_margin, non_negative=True)
    price = position.entry_price - position.side * isolated_margin / position.quantity
    return price if price > 0 else None


@exact
def cross_bankruptcy_price(
    position: PositionState, *, wallet_balance: Decimal, others: Iterable[PositionState]
) -> Decimal | None:
    """The mark of this position at which the cross margin balance (wallet + uPnL of this and the
    other cross positions, at their own marks) is 0: where the whole cross balance is gone."""
    checked_decimal("wallet_balance", wallet_balance)
    backing = wallet_balance + sum((unrealized_pnl(other) for other in others), ZERO)
    price = position.entry_price - backing / (position.side * position.quantity)
    return price if price > 0 else None


@exact
def max_removable_isolated_margin(
    position: PositionState, *, isolated_margin: Decimal, leverage: int
) -> Decimal:
    """How much margin may leave an isolated position: it must keep its maintenance margin, and
    what stays (with its uPnL) must still cover the initial margin at the mark and leverage."""
    checked_decimal("isolated_margin", isolated_margin, non_negative=True)
    checked_leverage(leverage)
    above_maintenance = isolated_margin - maintenance_margin(position)
    above_initial = isolated_margin + unrealized_pnl(position) - position.notional / leverage
    return max(ZERO, min(above_maintenance, above_initial))


@dataclass(frozen=True)
class LiquidationFigures:
    """A position's figures at a liquidation's trigger, each one its receipt shows.

    ``margin_balance`` is WB + UPNL1 + uPnL: the isolated margin + uPnL, or the account's cross
    margin balance. ``maintenance_bracket`` is the bracket of q x MP (the maintenance margin's);
    ``others_*`` are TMM1 and UPNL1, the other cross positions at their own marks (0 when
    isolated); ``liquidation_bracket`` is the bracket of q x LP that the liquidation price was
    solved in (None with no liquidation price).
    """

    unrealized_pnl: Decimal
    margin_balance: Decimal
    maintenance_bracket: Bracket
    others_maintenance_margin: Decimal
    others_unrealized_pnl: Decimal
    liquidation_price: Decimal | None
    liquidation_bracket: Bracket | None
    bankruptcy_price: Decimal | None


def _figures(
    position: PositionState,
    *,
    collateral: Decimal,
    others_mm: Decimal,
    others_pnl: Decimal,
    liquidation: Decimal | None,
    bankruptcy: Decimal | None,
) -> LiquidationFigures:
    pnl = unrealized_pnl(position)
    return LiquidationFigures(
        unrealized_pnl=pnl,
        margin_balance=collateral + others_pnl + pnl,
        maintenance_bracket=bracket_for(position.brackets, position.notional),
        others_maintenance_margin=others_mm,
        others_unrealized_pnl=others_pnl,
        liquidation_price=liquidation,
        liquidation_bracket=None
        if liquidation is None
        else bracket_for(position.brackets, position.quantity * liquidation),
        bankruptcy_price=bankruptcy,
    )


@exact
def isolated_liquidation_figures(
    position: PositionState, *, isolated_margin: Decimal
) -> LiquidationFigures:
    """The figures of an isolated position at its liquidation. Its margin balance, isolated
    margin + uPnL, is what the position leaves at the mark once it is closed at its bankruptcy
    price: s q (MP - BP), but exact, which s q (MP - BP) is not when BP does not terminate."""
    return _figures(
        position,
        collateral=isolated_margin,
        others_mm=ZERO,
        others_pnl=ZERO,
        liquidation=isolated_liquidation_price(position, isolated_margin=isolated_margin),
        bankruptcy=isolated_bankruptcy_price(position, isolated_margin=isolated_margin),
    )


@exact
def cross_liquidation_figures(
    position: PositionState, *, wallet_balance: Decimal, others: Iterable[PositionState]
) -> LiquidationFigures:
    """The figures of one cross position at the account's liquidation, ``others`` being the
    account's other cross positions at their own marks."""
    others = tuple(others)
    return _figures(
        position,
        collateral=wallet_balance,
        others_mm=sum((maintenance_margin(other) for other in others), ZERO),
        others_pnl=sum((unrealized_pnl(other) for other in others), ZERO),
        liquidation=cross_liquidation_price(position, wallet_balance=wallet_balance, others=others),
        bankruptcy=cross_bankruptcy_price(position, wallet_balance=wallet_balance, others=others),
    )
