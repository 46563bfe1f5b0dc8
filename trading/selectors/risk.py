"""Which accounts the sweep must look at, found with set-based SQL over all open positions, so the
sweep never loads every position into Python on a tick.

Each position's figures are computed in the database: the mark joined per instrument, the bracket
of its notional (highest floor <= notional) by a subquery, uPnL and maintenance margin by
expressions; cross accounts are aggregated per user. The query only nominates candidates: each
is then locked and re-checked exactly by the engine. A small tolerance keeps an account right at
its threshold in the list even where the database computes in floating point (SQLite).
"""

from decimal import Decimal

from django.db.models import (
    Case,
    DecimalField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)

from trading.models import LeverageBracket, MarkPrice, Order, OrderType, Position, Wallet

FIGURE = DecimalField(max_digits=48, decimal_places=20)
TOLERANCE = Decimal("1.000001")


def positions_at_mark() -> QuerySet:
    """Open positions annotated with mark, notional, uPnL and maintenance margin."""
    mark = MarkPrice.objects.filter(instrument=OuterRef("instrument")).values("price")[:1]
    tier = LeverageBracket.objects.filter(
        instrument=OuterRef("instrument"), notional_floor__lte=OuterRef("notional")
    ).order_by("-notional_floor")
    sign = Case(When(side="LONG", then=Value(1)), default=Value(-1))
    return (
        Position.objects.filter(status=Position.Status.OPEN)
        .annotate(mark=Subquery(mark))
        .exclude(mark=None)
        .annotate(notional=ExpressionWrapper(F("quantity") * F("mark"), output_field=FIGURE))
        .annotate(
            mmr=Subquery(tier.values("maintenance_margin_rate")[:1]),
            cum=Subquery(tier.values("maintenance_amount")[:1]),
        )
        .annotate(
            upnl=ExpressionWrapper(
                sign * F("quantity") * (F("mark") - F("entry_price")), output_field=FIGURE
            ),
            mm=ExpressionWrapper(F("notional") * F("mmr") - F("cum"), output_field=FIGURE),
        )
    )


def isolated_at_risk(*, shard: int = 0, shards: int = 1) -> QuerySet:
    """Isolated positions whose margin + uPnL is at or below their maintenance margin."""
    return (
        _sharded(positions_at_mark(), shard, shards)
        .filter(margin_mode="ISOLATED")
        .annotate(balance=ExpressionWrapper(F("isolated_margin") + F("upnl"), output_field=FIGURE))
        .filter(balance__lte=F("mm") * TOLERANCE)
    )


def cross_accounts_at_risk(*, shard: int = 0, shards: int = 1) -> QuerySet:
    """user ids whose wallet + cross uPnL is at or below their cross maintenance margin."""
    wallet = Wallet.objects.filter(user=OuterRef("user")).values("balance")[:1]
    return (
        _sharded(positions_at_mark(), shard, shards)
        .filter(margin_mode="CROSS")
        .values("user")
        .annotate(total_upnl=Sum("upnl"), total_mm=Sum("mm"), wallet=Subquery(wallet))
        .annotate(balance=ExpressionWrapper(F("wallet") + F("total_upnl"), output_field=FIGURE))
        .filter(total_mm__gt=0, balance__lte=F("total_mm") * TOLERANCE)
        .values_list("user", flat=True)
    )


def orders_triggered(*, shard: int = 0, shards: int = 1) -> QuerySet:
    """Open orders whose price (LIMIT) or stop (STOP_MARKET, TAKE_PROFIT_MARKET) the mark
    crossed."""
    mark = MarkPrice.objects.filter(instrument=OuterRef("instrument")).values("price")[:1]
    buy, sell = Q(side="BUY"), Q(side="SELL")
    limit = Q(order_type=OrderType.LIMIT) & (
        (buy & Q(mark__lte=F("price"))) | (sell & Q(mark__gte=F("price")))
    )
    stop = Q(order_type=OrderType.STOP_MARKET) & (
        (buy & Q(mark__gte=F("stop_price"))) | (sell & Q(mark__lte=F("stop_price")))
    )
    take_profit = Q(order_type=OrderType.TAKE_PROFIT_MARKET) & (
        (buy & Q(mark__lte=F("stop_price"))) | (sell & Q(mark__gte=F("stop_price")))
    )
    orders = Order.objects.filter(status=Order.Status.NEW).annotate(mark=Subquery(mark))
    return _sharded(orders.exclude(mark=None), shard, shards).filter(limit | stop | take_profit)


def _sharded(queryset: QuerySet, shard: int, shards: int) -> QuerySet:
    """Accounts split by user id, so that shards are disjoint and each account has one owner."""
    if shards == 1:
        return queryset
    return queryset.annotate(user_shard=F("user_id") % shards).filter(user_shard=shard)
