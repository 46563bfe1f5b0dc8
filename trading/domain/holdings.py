"""The model-to-engine adapter: an account's rows, already loaded, as the engine's values.

``Holdings`` is an account as the engine sees it, and what the rules ask "what if" of: replace
one position, change the wallet, and compute the figures again. Nothing here reads the database:
selectors load the rows (trading/selectors/accounts.py) and services pass the rows they locked.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import chain
from operator import is_

from trading.domain.settlement import PositionHeld
from trading.domain.sides import engine_side
from trading.domain.venues import venue_rules
from trading.engine import (
    AccountFigures,
    Bracket,
    CrossHolding,
    CrossMargin,
    IsolatedHolding,
    PositionFigures,
    PositionState,
    account_figures,
    cross_margin,
    isolated_position_figures,
)
from trading.models import Instrument, Position

PositionKey = tuple[int, str]  # (instrument id, margin mode)


def engine_brackets(instrument: Instrument) -> tuple[Bracket, ...]:
    """The instrument's bracket rows as the engine's table. A table is built (and checked) once
    per process and distinct rows, then shared: every account's positions on an instrument get
    the same tuple, as a sweep or an order asks for it again for each account."""
    values = tuple(
        chain.from_iterable(
            (
                row.notional_floor,
                row.notional_cap,
                row.max_leverage,
                row.maintenance_margin_rate,
                row.maintenance_amount,
            )
            for row in instrument.brackets.all()
        )
    )
    kept = _TABLES.get(values)
    if kept is None or not _same_values(kept[0], values):
        table = tuple(Bracket(*values[start : start + 5]) for start in range(0, len(values), 5))
        if len(_TABLES) >= _TABLES_KEPT:
            _TABLES.clear()
        kept = _TABLES[values] = (values, table)
    return kept[1]


_TABLES: dict[tuple, tuple[tuple, tuple[Bracket, ...]]] = {}  # values -> (the values, table)
_TABLES_KEPT = 256


def _same_values(kept: tuple, values: tuple) -> bool:
    """Whether ``values``, equal to ``kept`` as a key, are the very same: equal values may
    differ in their digits (2.5 and 2.50) or type (2 and Decimal 2), which the figures would
    keep or refuse. Rows read once and shared hold the same objects."""
    return all(map(is_, kept, values)) or all(
        type(old) is type(new)
        and (old.compare_total(new) == 0 if isinstance(new, Decimal) else old == new)
        for old, new in zip(kept, values, strict=True)
    )


@dataclass(frozen=True)
class Holdings:
    """An account as the engine sees it: wallet, open positions at their marks, margin held by
    open orders. ``holdings`` maps (instrument id, mode) to a CrossHolding/IsolatedHolding."""

    wallet_balance: Decimal
    open_order_margin: Decimal
    holdings: dict[PositionKey, CrossHolding | IsolatedHolding] = field(default_factory=dict)

    def replaced(self, key: PositionKey, holding, **changes) -> "Holdings":
        """The same account with ``key`` holding ``holding`` (None: flat), and ``changes``."""
        holdings = {k: v for k, v in self.holdings.items() if k != key}
        if holding is not None:
            holdings[key] = holding
        return replace(self, holdings=holdings, **changes)

    def figures(self) -> AccountFigures:
        """The account's figures, computed once per Holdings: a Holdings never changes (a change
        is a new one, ``replaced``), and a sweep or a liquidation asks for them many times."""
        figures = self.__dict__.get("_figures")
        if figures is None:
            figures = account_figures(
                wallet_balance=self.wallet_balance,
                cross_holdings=[h for h in self.holdings.values() if isinstance(h, CrossHolding)],
                isolated_holdings=[
                    h for h in self.holdings.values() if isinstance(h, IsolatedHolding)
                ],
                open_order_margin=self.open_order_margin,
            )
            object.__setattr__(self, "_figures", figures)  # frozen: set as dataclasses do
        return figures

    def cross_margin(self) -> CrossMargin:
        """The cross positions' totals, which decide a cross liquidation, computed once per
        Holdings (as ``figures``), without the figures of each position: a liquidation's steps
        ask for them after each step."""
        totals = self.__dict__.get("_cross_margin")
        if totals is None:
            totals = cross_margin(
                wallet_balance=self.wallet_balance,
                cross_holdings=[h for h in self.holdings.values() if isinstance(h, CrossHolding)],
            )
            object.__setattr__(self, "_cross_margin", totals)
        return totals

    def position_figures(self, key: PositionKey) -> PositionFigures | None:
        """The live figures of the position at ``key`` (None if flat). An isolated position's
        depend on nothing else: unless the account's figures are computed already, they are
        computed alone (the same function values them in the account's)."""
        holding = self.holdings.get(key)
        if isinstance(holding, IsolatedHolding) and "_figures" not in self.__dict__:
            return isolated_position_figures(holding)
        figures = self.figures()
        cross = [k for k, h in self.holdings.items() if isinstance(h, CrossHolding)]
        isolated = [k for k, h in self.holdings.items() if isinstance(h, IsolatedHolding)]
        if key in cross:
            return figures.cross_positions[cross.index(key)]
        if key in isolated:
            return figures.isolated_positions[isolated.index(key)]
        return None


def holding_for(position: Position, *, mark: Decimal, brackets) -> CrossHolding | IsolatedHolding:
    state = PositionState(
        engine_side(position.side), position.quantity, position.entry_price, mark, brackets
    )
    if position.margin_mode == "ISOLATED":
        return isolated_holding(
            state, position.isolated_margin, position.leverage, instrument=position.instrument
        )
    return CrossHolding(state, position.leverage)


def isolated_holding(
    state: PositionState, margin: Decimal, leverage: int, *, instrument: Instrument
) -> IsolatedHolding:
    """An isolated position with what its venue's liquidation counts as its margin."""
    rules = venue_rules(instrument.venue)
    collateral = rules.isolated_collateral(state, margin, leverage, instrument.taker_fee_rate)
    return IsolatedHolding(state, margin, leverage, None if collateral == margin else collateral)


def holdings_of(positions: Iterable[Position], marks: dict[int, Decimal]) -> dict:
    """(instrument id, mode) -> holding, for one account's open positions at ``marks`` (a
    position whose instrument has no mark yet is valued at its entry price)."""
    brackets = {}
    holdings = {}
    for position in positions:
        instrument = position.instrument
        if instrument.pk not in brackets:
            brackets[instrument.pk] = engine_brackets(instrument)
        holdings[(instrument.pk, position.margin_mode)] = holding_for(
            position,
            mark=marks.get(instrument.pk, position.entry_price),
            brackets=brackets[instrument.pk],
        )
    return holdings


def position_held(position: Position) -> PositionHeld:
    """A position row as the settlement takes it."""
    return PositionHeld(
        engine_side(position.side),
        position.quantity,
        position.entry_price,
        position.isolated_margin,
        position.leverage,
    )
