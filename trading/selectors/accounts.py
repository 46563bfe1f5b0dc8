"""Account figures from the database, computed by the engine on read (nothing is written on a
mark change): the rows are loaded here and turned into the engine's values by the domain's
adapter (trading/domain/holdings.py)."""

from dataclasses import dataclass
from decimal import Decimal

from trading.domain.holdings import Holdings
from trading.domain.leverage import leverage_default
from trading.domain.sides import engine_side
from trading.domain.twin import PositionTwin, other_mode, position_twin
from trading.engine import PositionFigures, liquidation_price_for_display
from trading.models import LeverageSetting, Position
from trading.selectors.deleveraging import position_adl_quantiles
from trading.selectors.holdings import holdings_read
from trading.selectors.position_orders import NO_TPSL, PositionTpsl


@dataclass(frozen=True)
class AccountSummary:
    wallet_balance: Decimal
    cross_unrealized_pnl: Decimal
    cross_margin_balance: Decimal
    cross_maintenance_margin: Decimal
    cross_margin_ratio: Decimal | None
    available_balance: Decimal
    open_order_margin: Decimal
    isolated_margin: Decimal
    isolated_unrealized_pnl: Decimal
    equity: Decimal


def account_summary(*, user) -> AccountSummary:
    """The account panel: wallet, cross margin balance and ratio, available balance, isolated
    margin in use, equity."""
    return _summary_of(holdings_read(user=user)[0])


def account_with_positions(*, user) -> tuple[AccountSummary, list["PositionRow"]]:
    """``account_summary`` and ``position_list`` from one read of the account, for a page that
    shows both (the trade page's panels, rendered again on every tick)."""
    holdings, rows = holdings_with_positions(user=user)
    return _summary_of(holdings), rows


def holdings_with_positions(*, user) -> tuple[Holdings, list["PositionRow"]]:
    """The account's holdings and ``position_list`` from one read of the account (a screen's
    figures, the Binance facade's account)."""
    holdings, positions = holdings_read(user=user)
    return holdings, _position_rows_of(user, positions, holdings)


def _summary_of(holdings: Holdings) -> AccountSummary:
    figures = holdings.figures()
    return AccountSummary(
        wallet_balance=figures.wallet_balance,
        cross_unrealized_pnl=figures.cross_unrealized_pnl,
        cross_margin_balance=figures.cross_margin_balance,
        cross_maintenance_margin=figures.cross_maintenance_margin,
        cross_margin_ratio=figures.cross_margin_ratio,
        available_balance=figures.available_balance,
        open_order_margin=figures.open_order_margin,
        isolated_margin=figures.isolated_margin,
        isolated_unrealized_pnl=figures.isolated_unrealized_pnl,
        equity=figures.equity,
    )


@dataclass(frozen=True)
class PositionRow:
    """A position with its live figures; ``liquidation_price_display`` is rounded to the tick on
    the safe side (None: no liquidation price). ``twin``: the position had it been opened in the
    other margin mode (trading/domain/twin.py). ``tpsl``: its take-profit and stop-loss, read
    only for the panels that show them (``position_rows``)."""

    position: Position
    mark_price: Decimal
    figures: PositionFigures
    liquidation_price_display: Decimal | None
    adl_quantile: int = 0  # its place in the auto-deleveraging queue, 0 to 4 (the "lights")
    twin: PositionTwin | None = None
    tpsl: PositionTpsl = NO_TPSL


def other_mode_leverages(*, user, positions: list[Position]) -> dict[int, int]:
    """Position id -> the leverage set for its symbol's other margin mode (the instrument's
    default where the user set none), in one query for all the positions (``user``'s)."""
    return other_mode_leverages_many(positions)


def other_mode_leverages_many(positions: list[Position]) -> dict[int, int]:
    """``other_mode_leverages`` for the positions of any number of users (a sweep's batch), in
    one query."""
    if not positions:
        return {}
    stored = {
        (user_id, instrument_id, mode): leverage
        for user_id, instrument_id, mode, leverage in LeverageSetting.objects.filter(
            user_id__in={position.user_id for position in positions},
            instrument_id__in={position.instrument_id for position in positions},
        ).values_list("user_id", "instrument_id", "margin_mode", "leverage")
    }
    return {
        position.pk: stored.get(
            (position.user_id, position.instrument_id, other_mode(position.margin_mode))
        )
        or leverage_default(position.instrument)
        for position in positions
    }


def position_list(*, user) -> list[PositionRow]:
    """The user's open positions, newest first, each with its figures and its other-mode twin.
    A cross position's liquidation price takes the account's other cross positions into
    account."""
    return holdings_with_positions(user=user)[1]


def _position_rows_of(user, positions: list[Position], holdings: Holdings) -> list[PositionRow]:
    quantiles = position_adl_quantiles(positions)
    leverages = other_mode_leverages(user=user, positions=positions)
    rows = []
    for position in positions:
        key = (position.instrument_id, position.margin_mode)
        figures = holdings.position_figures(key)
        rows.append(
            PositionRow(
                position=position,
                mark_price=holdings.holdings[key].position.mark_price,
                figures=figures,
                liquidation_price_display=liquidation_price_for_display(
                    figures.liquidation_price,
                    side=engine_side(position.side),
                    tick_size=position.instrument.tick_size,
                ),
                adl_quantile=quantiles[position.pk],
                twin=position_twin(holdings, position, leverage=leverages[position.pk]),
            )
        )
    return rows
