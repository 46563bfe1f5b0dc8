"""Account figures from the database, computed by the engine on read (nothing is written on a
mark change): the rows are loaded here and turned into the engine's values by the domain's
adapter (trading/domain/holdings.py)."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Sum

from trading.domain.holdings import Holdings, holdings_of
from trading.domain.sides import engine_side
from trading.engine import PositionFigures, liquidation_price_for_display
from trading.models import MarkPrice, Order, Position, Wallet
from trading.money import ZERO


def mark_prices(instrument_ids: Iterable[int]) -> dict[int, Decimal]:
    return dict(
        MarkPrice.objects.filter(instrument_id__in=set(instrument_ids)).values_list(
            "instrument_id", "price"
        )
    )


def holdings_load(
    *, user, wallet: Wallet | None = None, positions: list[Position] | None = None
) -> Holdings:
    """The account's holdings at the current marks (a position whose instrument has no mark yet
    is valued at its entry price). Services pass the rows they locked."""
    wallet = wallet or Wallet.objects.get(user=user)
    if positions is None:
        positions = list(
            Position.objects.filter(user=user, status=Position.Status.OPEN)
            .select_related("instrument")
            .prefetch_related("instrument__brackets")
        )
    marks = mark_prices(position.instrument_id for position in positions)
    held = Order.objects.filter(user=user, status=Order.Status.NEW).aggregate(
        total=Sum("margin_held")
    )["total"]
    return Holdings(wallet.balance, held or ZERO, holdings_of(positions, marks))


def holdings_load_many(
    *, user_ids: Iterable[int] | None = None, positions: list[Position] | None = None
) -> dict[int, Holdings]:
    """The holdings of many accounts at once (the back office's lists), in a fixed number of
    queries: user id -> Holdings, for ``user_ids`` (None: every account with an open position).
    A caller that shows the positions too passes the open positions it loaded (with their
    instruments and brackets), so the figures and its rows come from one read. Each account's
    figures are exactly those of ``holdings_load``."""
    if positions is None:
        query = Position.objects.filter(status=Position.Status.OPEN)
        if user_ids is not None:
            query = query.filter(user_id__in=set(user_ids))
        positions = list(
            query.select_related("instrument").prefetch_related("instrument__brackets")
        )
    user_ids = {position.user_id for position in positions} if user_ids is None else set(user_ids)
    by_user: dict[int, list[Position]] = {user_id: [] for user_id in user_ids}
    for position in positions:
        by_user.setdefault(position.user_id, []).append(position)
    marks = mark_prices(position.instrument_id for position in positions)
    wallets = dict(Wallet.objects.filter(user_id__in=user_ids).values_list("user_id", "balance"))
    held = dict(
        Order.objects.filter(user_id__in=user_ids, status=Order.Status.NEW)
        .values("user_id")
        .annotate(total=Sum("margin_held"))
        .values_list("user_id", "total")
    )
    return {
        user_id: Holdings(
            wallets.get(user_id, ZERO), held.get(user_id) or ZERO, holdings_of(own, marks)
        )
        for user_id, own in by_user.items()
    }


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
    figures = holdings_load(user=user).figures()
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
    the safe side (None: no liquidation price)."""

    position: Position
    mark_price: Decimal
    figures: PositionFigures
    liquidation_price_display: Decimal | None


def position_list(*, user) -> list[PositionRow]:
    """The user's open positions, newest first, each with its figures. A cross position's
    liquidation price takes the account's other cross positions into account."""
    positions = list(
        Position.objects.filter(user=user, status=Position.Status.OPEN)
        .select_related("instrument")
        .prefetch_related("instrument__brackets")
    )
    holdings = holdings_load(user=user, positions=positions)
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
            )
        )
    return rows
