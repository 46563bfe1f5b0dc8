"""The back office's positions list: each open position with the live figures its user sees
(mark, uPnL, margin ratio, liquidation price rounded to the tick on the safe side), for a page of
positions at a time and in a fixed number of queries (``holdings_load_many``), and which open
positions are at risk.

The figures are the engine's, from the same holdings as the user's own pages (``position_list``):
an isolated position's margin ratio is its own (MM / (isolated margin + uPnL)), a cross
position's is its account's cross margin ratio.
"""

from collections.abc import Iterable
from decimal import Decimal

from trading.domain.sides import engine_side
from trading.engine import liquidation_price_for_display
from trading.models import Position
from trading.selectors.accounts import PositionRow
from trading.selectors.deleveraging import position_adl_quantiles
from trading.selectors.holdings import holdings_load_many

AT_RISK_RATIO = Decimal("0.8")


def position_rows_live(positions: Iterable[Position]) -> dict[int, PositionRow]:
    """Position id -> its row with live figures, for the open ones among ``positions`` (closed
    and liquidated positions have none). ``positions`` carry their instrument."""
    positions = [p for p in positions if p.status == Position.Status.OPEN]
    accounts = holdings_load_many(user_ids={p.user_id for p in positions})
    quantiles = position_adl_quantiles(positions)
    rows = {}
    for position in positions:
        account = accounts[position.user_id]
        key = (position.instrument_id, position.margin_mode)
        figures = account.position_figures(key)
        if figures is None:  # closed since the page's positions were read
            continue
        rows[position.pk] = PositionRow(
            position=position,
            mark_price=account.holdings[key].position.mark_price,
            figures=figures,
            liquidation_price_display=liquidation_price_for_display(
                figures.liquidation_price,
                side=engine_side(position.side),
                tick_size=position.instrument.tick_size,
            ),
            adl_quantile=quantiles[position.pk],
        )
    return rows


def at_risk(row: PositionRow, threshold: Decimal = AT_RISK_RATIO) -> bool:
    """A margin ratio at or past ``threshold``, or no ratio at all while maintenance margin is
    due (the margin balance is gone: past the liquidation point, the sweep has yet to act)."""
    ratio = row.figures.margin_ratio
    return ratio >= threshold if ratio is not None else row.figures.maintenance_margin > 0


def at_risk_position_ids(*, threshold: Decimal = AT_RISK_RATIO) -> list[int]:
    """The ids of the open positions at risk (see ``at_risk``); every open position is valued."""
    positions = Position.objects.filter(status=Position.Status.OPEN).select_related("instrument")
    return [pk for pk, row in position_rows_live(positions).items() if at_risk(row, threshold)]
