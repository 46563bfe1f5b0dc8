"""Accounts as the engine sees them, loaded from the database: the rows read here, turned into
the engine's values by the domain's adapter (trading/domain/holdings.py). Every read model that
values positions starts here."""

import functools
from collections.abc import Iterable
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from marginsite.database_pool import prepared_cursor
from trading.domain.holdings import Holdings, holdings_of
from trading.models import InstrumentsVersion, MarkPrice, Order, Position, Wallet
from trading.money import ZERO
from trading.selectors.instruments import instruments_read

# An account's figures read, besides its wallet and its positions, the margin its open orders
# hold and the marks (every instrument's ids, then prices, in one order): three columns for a
# statement whose parameter ``user`` is the user's id, an order's (selectors/order_accounts.py)
# or a screen's (``holdings_read``).
OPEN_ORDER_MARGIN_AND_MARKS = """
    (SELECT COALESCE(SUM(margin_held), 0) FROM trading_order
     WHERE user_id = %(user)s AND status = 'NEW'),
    ARRAY(SELECT instrument_id FROM trading_markprice ORDER BY instrument_id),
    ARRAY(SELECT price FROM trading_markprice ORDER BY instrument_id)
"""


def mark_prices(instrument_ids: Iterable[int]) -> dict[int, Decimal]:
    return dict(
        MarkPrice.objects.filter(instrument_id__in=set(instrument_ids)).values_list(
            "instrument_id", "price"
        )
    )


def holdings_load(
    *,
    user,
    positions: list[Position],
    wallet: Wallet | None = None,
    marks: dict[int, Decimal] | None = None,
    open_order_margin: Decimal | None = None,
) -> Holdings:
    """The holdings of the account whose open ``positions`` (with their instruments) the caller
    holds, at the current marks (a position whose instrument has no mark yet is valued at its
    entry price). Services pass the rows they locked, and the marks and the margin held by open
    orders when they have read them already. A screen reads the whole account with
    ``holdings_read``."""
    wallet = wallet or Wallet.objects.get(user=user)
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


def holdings_read(*, user) -> tuple[Holdings, list[Position]]:
    """``holdings_load`` for a screen or a bot that reads the account (nothing locked), and its
    open positions (newest first), each with its instrument and brackets from the ones this
    process keeps in memory (selectors/instruments.py). One statement reads the wallet, the
    instruments' version, the margin the open orders hold, the marks and the positions: the
    figures are of one moment, and the account panel, the position list, the APIs' account and
    the trade page's panels, rendered again on every tick, cost one round trip, not five."""
    sql, fields = _holdings_read_query()
    with prepared_cursor() as cursor:
        cursor.execute(sql, {"user": user.pk})
        rows = cursor.fetchall()
    if not rows:
        raise Wallet.DoesNotExist(f"user {user.pk} has no wallet")
    balance, version, open_order_margin, mark_ids, mark_values = rows[0][:5]
    # a wallet without open positions: the outer join's one row, without a position
    positions = [
        Position.from_db(connection.alias, fields, row[5:]) for row in rows if row[5] is not None
    ]
    instruments = instruments_read(version, {position.instrument_id for position in positions})
    for position in positions:
        position.instrument = instruments[position.instrument_id]
    marks = dict(zip(mark_ids, mark_values, strict=True))
    # 0, not 0E-8, when the open orders hold nothing (a stop order, a reduce-only one)
    held = open_order_margin or ZERO
    return Holdings(balance, held, holdings_of(positions, marks)), positions


@functools.cache
def _holdings_read_query() -> tuple[str, list[str]]:
    """``holdings_read``'s statement (its parameter: ``user``, the user's id) and the fields of
    the position each row holds after the account's five columns. Plain SQL made once, as the
    order's reads (services/locks.py): it runs on every tick for every open trade page."""
    quote = connection.ops.quote_name
    fields = Position._meta.concrete_fields
    columns = ", ".join(f"p.{quote(f.column)}" for f in fields)
    sql = (
        f"SELECT w.balance, (SELECT version FROM {quote(InstrumentsVersion._meta.db_table)} "
        f"LIMIT 1), {OPEN_ORDER_MARGIN_AND_MARKS}, "
        f"{columns} FROM {quote(Wallet._meta.db_table)} w "
        f"LEFT JOIN {quote(Position._meta.db_table)} p ON p.user_id = w.user_id "
        f"AND p.status = '{Position.Status.OPEN}' "
        "WHERE w.user_id = %(user)s ORDER BY p.opened_at DESC, p.id DESC"
    )
    return sql, [f.attname for f in fields]


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
