"""An account's figures: cross margin balance and ratio, available balance, equity, and the live
figures of each position.

Invariants this module states in numbers: cross positions share the wallet and each other's uPnL;
an isolated position's figures depend on nothing but itself and its own margin; a loss is capped at
what backs it (an isolated position's margin, the cross margin balance), so equity is never below 0.
The wallet balance here excludes isolated margins (they left the wallet when the positions opened)
and includes the margin that open orders hold. It is taken as given, even below 0: the ledger
keeps wallets from going negative, and figures must still show the truth if one ever did.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from trading.engine.decimals import ZERO, checked_decimal, checked_leverage, exact, exact_once
from trading.engine.liquidation import cross_liquidation_price, isolated_liquidation_price
from trading.engine.margins import initial_margin, maintenance_margin, unrealized_pnl
from trading.engine.positions import PositionState


def _checked_position(position):
    if not isinstance(position, PositionState):
        raise TypeError(f"position must be a PositionState, not {type(position).__name__}")


@dataclass(frozen=True)
class CrossHolding:
    """A cross position and the leverage stored for its (symbol, CROSS)."""

    position: PositionState
    leverage: int

    def __post_init__(self):
        _checked_position(self.position)
        checked_leverage(self.leverage)


@dataclass(frozen=True)
class IsolatedHolding:
    """An isolated position, its own margin and the leverage stored for its (symbol, ISOLATED).
    ``collateral`` is what its venue's liquidation counts as that margin, when it is not the
    margin itself (Bybit's, less the fee to close on added margin: trading/engine/venues.py)."""

    position: PositionState
    isolated_margin: Decimal
    leverage: int
    collateral: Decimal | None = None

    def __post_init__(self):
        _checked_position(self.position)
        checked_decimal("isolated_margin", self.isolated_margin, non_negative=True)
        checked_leverage(self.leverage)

    @property
    def backing(self) -> Decimal:
        """The margin its liquidation counts: the collateral, or the isolated margin."""
        return self.isolated_margin if self.collateral is None else self.collateral


@dataclass(frozen=True)
class PositionFigures:
    """What a position row shows. ``margin`` is the isolated margin, or for a cross position the
    initial margin it holds at the mark. ``margin_ratio`` is the isolated position's own ratio, or
    for a cross position the account's cross ratio. A ratio is None where the margin balance is
    gone (<= 0) while maintenance margin is due: the position is past its liquidation point."""

    notional: Decimal
    unrealized_pnl: Decimal
    margin_balance: Decimal  # what backs it + uPnL: its own, or the account's cross one
    return_on_equity: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    margin: Decimal
    margin_ratio: Decimal | None
    liquidation_price: Decimal | None
    liquidatable: bool


@dataclass(frozen=True)
class AccountFigures:
    wallet_balance: Decimal
    cross_unrealized_pnl: Decimal
    cross_margin_balance: Decimal
    cross_initial_margin: Decimal
    cross_maintenance_margin: Decimal
    cross_margin_ratio: Decimal | None
    cross_liquidatable: bool
    open_order_margin: Decimal
    isolated_margin: Decimal
    isolated_unrealized_pnl: Decimal
    available_balance: Decimal
    equity: Decimal
    cross_positions: tuple[PositionFigures, ...]
    isolated_positions: tuple[PositionFigures, ...]


@exact
def margin_ratio(maintenance: Decimal, margin_balance: Decimal) -> Decimal | None:
    """MM / margin balance: 0 with nothing to maintain, None once the margin balance is gone."""
    if maintenance == 0:
        return ZERO
    if margin_balance <= 0:
        return None
    return maintenance / margin_balance


def _return_on_equity(position: PositionState, pnl: Decimal, leverage: int) -> Decimal:
    """uPnL over the initial margin at entry (q x EP / leverage), as a fraction."""
    return pnl / initial_margin(position.quantity * position.entry_price, leverage)


@exact_once(IsolatedHolding)
def isolated_position_figures(holding: IsolatedHolding) -> PositionFigures:
    """An isolated position's figures: its own, whatever else the account holds (the account's
    figures list exactly these)."""
    position = holding.position
    pnl = unrealized_pnl(position)
    maintenance = maintenance_margin(position)
    margin_balance = holding.backing + pnl
    return PositionFigures(
        notional=position.notional,
        unrealized_pnl=pnl,
        margin_balance=margin_balance,
        return_on_equity=_return_on_equity(position, pnl, holding.leverage),
        initial_margin=initial_margin(position.notional, holding.leverage),
        maintenance_margin=maintenance,
        margin=holding.isolated_margin,
        margin_ratio=margin_ratio(maintenance, margin_balance),
        liquidation_price=isolated_liquidation_price(position, isolated_margin=holding.backing),
        liquidatable=margin_balance <= maintenance,
    )


@dataclass(frozen=True)
class CrossMargin:
    """The cross set's totals, all that decides whether it is liquidated (the account's figures
    hold the same ones)."""

    unrealized_pnl: Decimal
    margin_balance: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    margin_ratio: Decimal | None
    liquidatable: bool


@exact
def cross_margin(
    *, wallet_balance: Decimal, cross_holdings: Sequence[CrossHolding] = ()
) -> CrossMargin:
    """The totals of the cross positions backed by ``wallet_balance``, without each position's
    figures (its liquidation price is the costly one): what a liquidation re-checks after each
    step. Cross is liquidatable when its margin balance is at or below the cross maintenance
    margin (margin ratio >= 100 %)."""
    checked_decimal("wallet_balance", wallet_balance)
    states = [holding.position for holding in cross_holdings]
    pnl = sum((unrealized_pnl(state) for state in states), ZERO)
    maintenance = sum((maintenance_margin(state) for state in states), ZERO)
    balance = wallet_balance + pnl
    return CrossMargin(
        unrealized_pnl=pnl,
        margin_balance=balance,
        initial_margin=sum(
            (initial_margin(h.position.notional, h.leverage) for h in cross_holdings), ZERO
        ),
        maintenance_margin=maintenance,
        margin_ratio=margin_ratio(maintenance, balance),
        liquidatable=maintenance > 0 and balance <= maintenance,
    )


@exact
def cross_position_figures(
    cross_holdings: Sequence[CrossHolding],
    index: int,
    *,
    wallet_balance: Decimal,
    totals: CrossMargin,
) -> PositionFigures:
    """The figures of the cross position at ``index`` of ``cross_holdings``, ``totals`` being
    their ``cross_margin`` (the account's figures list exactly these)."""
    holding = cross_holdings[index]
    position = holding.position
    pnl = unrealized_pnl(position)
    initial = initial_margin(position.notional, holding.leverage)
    return PositionFigures(
        notional=position.notional,
        unrealized_pnl=pnl,
        margin_balance=totals.margin_balance,
        return_on_equity=_return_on_equity(position, pnl, holding.leverage),
        initial_margin=initial,
        maintenance_margin=maintenance_margin(position),
        margin=initial,
        margin_ratio=totals.margin_ratio,
        liquidation_price=cross_liquidation_price(
            position,
            wallet_balance=wallet_balance,
            others=[
                other.position for other in (*cross_holdings[:index], *cross_holdings[index + 1 :])
            ],
        ),
        liquidatable=totals.liquidatable,
    )


@exact
def account_figures(
    *,
    wallet_balance: Decimal,
    cross_holdings: Iterable[CrossHolding] = (),
    isolated_holdings: Iterable[IsolatedHolding] = (),
    open_order_margin: Decimal = ZERO,
) -> AccountFigures:
    """All figures of one account at the current marks.

    Available balance = wallet + cross uPnL - cross initial margin - open order margin (as on
    Binance, cross unrealized profit may back new orders). Cross is liquidatable as
    ``cross_margin`` says.
    """
    checked_decimal("wallet_balance", wallet_balance)
    checked_decimal("open_order_margin", open_order_margin, non_negative=True)
    cross_holdings, isolated_holdings = tuple(cross_holdings), tuple(isolated_holdings)
    cross = cross_margin(wallet_balance=wallet_balance, cross_holdings=cross_holdings)
    cross_figures = tuple(
        cross_position_figures(cross_holdings, index, wallet_balance=wallet_balance, totals=cross)
        for index in range(len(cross_holdings))
    )
    isolated_figures = tuple(isolated_position_figures(holding) for holding in isolated_holdings)

    isolated_margin = sum((holding.isolated_margin for holding in isolated_holdings), ZERO)
    isolated_pnl = sum((figures.unrealized_pnl for figures in isolated_figures), ZERO)
    isolated_equity = sum(
        (max(ZERO, figures.margin + figures.unrealized_pnl) for figures in isolated_figures), ZERO
    )
    return AccountFigures(
        wallet_balance=wallet_balance,
        cross_unrealized_pnl=cross.unrealized_pnl,
        cross_margin_balance=cross.margin_balance,
        cross_initial_margin=cross.initial_margin,
        cross_maintenance_margin=cross.maintenance_margin,
        cross_margin_ratio=cross.margin_ratio,
        cross_liquidatable=cross.liquidatable,
        open_order_margin=open_order_margin,
        isolated_margin=isolated_margin,
        isolated_unrealized_pnl=isolated_pnl,
        available_balance=cross.margin_balance - cross.initial_margin - open_order_margin,
        equity=max(ZERO, cross.margin_balance) + isolated_equity,
        cross_positions=cross_figures,
        isolated_positions=isolated_figures,
    )
