"""The reads only the Binance facade needs, in Binance's terms (filters by id and time, oldest
first, a limit); everything else it reads through marginsite's selectors. Nothing here decides
a figure: positions, margins and liquidation prices come from ``position_list`` and the engine.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Max, Min, Q
from django.utils import timezone

from trading.engine import AccountFigures, max_notional_at_leverage
from trading.models import Fill, Instrument, LedgerEntry, MarkPrice, Order, PriceCandle
from trading.selectors import PositionRow, holdings_load, position_list
from trading.selectors.accounts import engine_brackets
from trading.selectors.history import ledger_lines
from trading.services.funding import INTEREST, funding_rate, funding_time_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CONDITIONAL_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET")
KLINE_MINUTES = {
    "1m": 1,
    "3m": 3,
    "5m": 5,
    "15m": 15,
    "30m": 30,
    "1h": 60,
    "2h": 120,
    "4h": 240,
    "6h": 360,
    "8h": 480,
    "12h": 720,
    "1d": 1440,
}
INCOME_TYPES = {
    LedgerEntry.Kind.REALIZED_PNL: "REALIZED_PNL",
    LedgerEntry.Kind.FEE: "COMMISSION",
    LedgerEntry.Kind.FUNDING: "FUNDING_FEE",
    LedgerEntry.Kind.DEPOSIT: "TRANSFER",
    LedgerEntry.Kind.RESET: "TRANSFER",
    LedgerEntry.Kind.LIQUIDATION: "INSURANCE_CLEAR",
    LedgerEntry.Kind.INSURANCE: "INSURANCE_CLEAR",
}


def moment(milliseconds: int | None) -> datetime | None:
    """A Binance time (ms since the epoch) as a datetime; OverflowError past the year 9999."""
    if milliseconds is None:
        return None
    return EPOCH + timedelta(milliseconds=milliseconds)


def _in_time(queryset, field: str, *, start: datetime | None, end: datetime | None):
    if start is not None:
        queryset = queryset.filter(**{f"{field}__gte": start})
    if end is not None:
        queryset = queryset.filter(**{f"{field}__lte": end})
    return queryset


def _newest_oldest_first(queryset, *, limit: int) -> list:
    """The newest ``limit`` rows, oldest first (Binance's order for a history)."""
    return list(reversed(queryset.order_by("-pk")[:limit]))


# --- the account ---------------------------------------------------------------------------


@dataclass(frozen=True)
class AccountState:
    """The account's figures and its open positions (with their figures), read together."""

    figures: AccountFigures
    rows: list[PositionRow]
    max_notionals: dict[int, Decimal]  # position id -> the largest notional at its leverage
    read_at: datetime

    @property
    def wallet_balance(self) -> Decimal:
        """Binance's wallet balance: the cross wallet plus the isolated wallets."""
        return self.figures.wallet_balance + self.figures.isolated_margin

    @property
    def unrealized_pnl(self) -> Decimal:
        return self.figures.cross_unrealized_pnl + self.figures.isolated_unrealized_pnl

    @property
    def position_initial_margin(self) -> Decimal:
        return sum((row.figures.initial_margin for row in self.rows), Decimal(0))

    @property
    def maintenance_margin(self) -> Decimal:
        return sum((row.figures.maintenance_margin for row in self.rows), Decimal(0))


def account_state(*, user, symbol: str | None = None) -> AccountState:
    """The account's figures and its open positions, on ``symbol`` only if given (the figures
    are the whole account's either way)."""
    rows = position_list(user=user)
    figures = holdings_load(user=user, positions=[row.position for row in rows]).figures()
    if symbol is not None:
        rows = [row for row in rows if row.position.instrument.symbol == symbol]
    rows.sort(key=lambda row: (row.position.instrument.symbol, row.position.margin_mode))
    caps = {
        row.position.pk: max_notional(row.position.instrument, row.position.leverage)
        for row in rows
    }
    return AccountState(figures, rows, caps, timezone.now())


def max_notional(instrument: Instrument, leverage: int) -> Decimal:
    """The largest position ``leverage`` allows on ``instrument`` (its bracket cap)."""
    return max_notional_at_leverage(engine_brackets(instrument), leverage)


# --- market data ---------------------------------------------------------------------------


def marks(instrument: Instrument | None = None) -> list[MarkPrice]:
    """The current marks (of ``instrument`` only, if given), by symbol."""
    found = MarkPrice.objects.select_related("instrument").order_by("instrument__symbol")
    return list(found.filter(instrument=instrument) if instrument else found)


@dataclass(frozen=True)
class Funding:
    """The funding rate the next settlement would apply now, and when it comes."""

    rate: Decimal
    interest_rate: Decimal
    next_time: datetime


def funding_next(mark: MarkPrice, *, now: datetime) -> Funding:
    next_time = funding_time_of(now) + settings.FUNDING_INTERVAL
    return Funding(funding_rate(mark=mark, funding_time=next_time), INTEREST, next_time)


@dataclass(frozen=True)
class DayStats:
    """The last 24 hours of an instrument's 1-minute candles (the mark alone without any)."""

    open: Decimal
    high: Decimal
    low: Decimal
    opened_at: datetime


def day_stats(mark: MarkPrice, *, now: datetime) -> DayStats:
    since = now - timedelta(days=1)
    candles = PriceCandle.objects.filter(instrument=mark.instrument, opened_at__gte=since)
    first = candles.order_by("opened_at").first()
    extremes = candles.aggregate(high=Max("high"), low=Min("low"))
    return DayStats(
        open=first.open if first else mark.price,
        high=max(mark.price, extremes["high"] or mark.price),
        low=min(mark.price, extremes["low"] or mark.price),
        opened_at=first.opened_at if first else since,
    )


@dataclass(frozen=True)
class Kline:
    opened_at: datetime
    minutes: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


def _bucket(when: datetime, width: timedelta) -> datetime:
    """The start of the candle of ``width`` that holds ``when`` (aligned on the epoch, as
    Binance's candles are)."""
    return EPOCH + (when - EPOCH) // width * width


def klines(
    instrument: Instrument,
    *,
    minutes: int,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    now: datetime,
) -> list[Kline]:
    """Candles of ``minutes`` rolled up from the 1-minute ones, oldest first: the first
    ``limit`` opening at or after ``start``, else the last ``limit`` up to ``end`` (or now)."""
    width = timedelta(minutes=minutes)
    if start is None:
        last = _bucket(end or now, width)
        first = last - (limit - 1) * width
    else:
        first = _bucket(start, width)
        first = first + width if first < start else first
        last = first + (limit - 1) * width
    candles = PriceCandle.objects.filter(
        instrument=instrument, opened_at__gte=first, opened_at__lt=last + width
    )
    candles = candles.filter(opened_at__lte=end) if end is not None else candles
    rolled: dict[datetime, Kline] = {}
    for candle in candles.order_by("opened_at").iterator():
        opened = _bucket(candle.opened_at, width)
        known = rolled.get(opened)
        if known is None:
            rolled[opened] = Kline(
                opened, minutes, candle.open, candle.high, candle.low, candle.close
            )
        else:
            rolled[opened] = Kline(
                opened,
                minutes,
                known.open,
                max(known.high, candle.high),
                min(known.low, candle.low),
                candle.close,
            )
    return list(rolled.values())


# --- orders, fills, income -----------------------------------------------------------------


def _orders(*, user, instrument: Instrument | None, conditional: bool):
    orders = Order.objects.filter(user=user).select_related("instrument")
    orders = orders.filter(instrument=instrument) if instrument else orders
    kinds = Q(order_type__in=CONDITIONAL_TYPES)
    return orders.filter(kinds if conditional else ~kinds)


def open_orders(*, user, instrument: Instrument | None, conditional: bool) -> list[Order]:
    """The user's open regular (or conditional) orders, oldest first."""
    orders = _orders(user=user, instrument=instrument, conditional=conditional)
    return list(orders.filter(status=Order.Status.NEW).order_by("pk"))


def order_find(
    *,
    user,
    instrument: Instrument | None,
    conditional: bool,
    order_id: int | None,
    client_id: str | None,
) -> Order | None:
    """The user's regular (or conditional) order with that id (or client id), on
    ``instrument`` if given."""
    orders = _orders(user=user, instrument=instrument, conditional=conditional)
    if order_id is not None:
        return orders.filter(pk=order_id).first()
    return orders.filter(client_order_id=client_id).first()


def order_history(
    *,
    user,
    instrument: Instrument,
    conditional: bool,
    from_id: int | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[Order]:
    """allOrders / allAlgoOrders: from ``from_id`` on (oldest first), else the newest ones."""
    orders = _orders(user=user, instrument=instrument, conditional=conditional)
    orders = _in_time(orders, "created_at", start=start, end=end)
    if from_id is not None:
        return list(orders.filter(pk__gte=from_id).order_by("pk")[:limit])
    return _newest_oldest_first(orders, limit=limit)


def fill_history(
    *,
    user,
    instrument: Instrument,
    order_id: int | None,
    from_id: int | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[Fill]:
    """userTrades: the user's fills on ``instrument`` (of one order, if given)."""
    fills = Fill.objects.filter(order__user=user, order__instrument=instrument).select_related(
        "order__instrument"
    )
    fills = fills.filter(order_id=order_id) if order_id is not None else fills
    fills = _in_time(fills, "created_at", start=start, end=end)
    if from_id is not None:
        return list(fills.filter(pk__gte=from_id).order_by("pk")[:limit])
    return _newest_oldest_first(fills, limit=limit)


@dataclass(frozen=True)
class Income:
    entry: LedgerEntry
    income_type: str
    amount: Decimal
    symbol: str


def income_history(
    *,
    user,
    symbol: str | None,
    income_type: str | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[Income]:
    """The user's ledger lines in Binance's income types, oldest first (the newest ``limit``).
    Margin moved between the wallet and an isolated position is no income (Binance lists none
    for it); neither is a line of another symbol or type than asked."""
    found = []
    for line in ledger_lines(user=user):
        created = line.entry.created_at
        if start is not None and created < start:
            break
        kind = INCOME_TYPES.get(line.entry.kind)
        wanted = (
            kind is not None
            and (end is None or created <= end)
            and (symbol is None or line.symbol == symbol)
            and (income_type is None or kind == income_type)
        )
        if wanted:
            found.append(Income(line.entry, kind, line.amount, line.symbol))
            if len(found) == limit:
                break
    return list(reversed(found))
