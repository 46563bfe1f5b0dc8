"""Accounts as the engine sees them, loaded from the database: the rows read here, turned into
the engine's values by the domain's adapter (trading/domain/holdings.py). Every read model that
values positions starts here."""

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from trading.domain.holdings import Holdings, holdings_of
from trading.models import MarkPrice, Order, Position, Wallet
from trading.money import ZERO


def mark_prices(instrument_ids: Iterable[int]) -> dict[int, Decimal]:
    return dict(
        MarkPrice.objects.filter(instrument_id__in=set(instrument_ids)).values_list(
            "instrument_id", "price"
        )
    )


def holdings_load(
    *,
    user,
    wallet: Wallet | None = None,
    positions: list[Position] | None = None,
    marks: dict[int, Decimal] | None = None,
    open_order_margin: Decimal | None = None,
) -> Holdings:
    """The account's holdings at the current marks (a position whose instrument has no mark yet
    is valued at its entry price). Services pass the rows they locked, and the marks and the
    margin held by open orders when they have read them already."""
    wallet = wallet or Wallet.objects.get(user=user)
    if positions is None:
        positions = list(
            Position.objects.filter(user=user, status=Position.Status.OPEN)
            .select_related("instrument")
            .prefetch_related("instrument__brackets")
        )
    if marks is None:
        marks = mark_prices(position.instrument_id for position in positions)
    if open_order_margin is None:
        open_order_margin = (
            Order.objects.filter(user=user, status=Order.Status.NEW).aggregate(
                total=Sum("margin_held")
            )["total"]
            or ZERO
        )
    return Holdings(wallet.balance, open_order_margin, holdings_of(positions, marks))


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
