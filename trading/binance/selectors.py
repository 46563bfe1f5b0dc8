"""The reads only the Binance facade needs, in Binance's terms (filters by id and time, oldest
first, a limit); everything else it reads through marginsite's selectors. Nothing here decides
a figure: positions, margins and liquidation prices come from ``position_list``'s rows and the
engine.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.db.models import Max, Min, OuterRef, Q, Subquery, Sum
from django.utils import timezone

from trading.binance import FACADE_VENUE
from trading.domain.funding import INTEREST
from trading.domain.holdings import engine_brackets
from trading.domain.orders import book_model
from trading.engine import AccountFigures, Book, book_levels, max_notional_at_leverage
from trading.models import (
    Fill,
    FundingSettlement,
    Instrument,
    LedgerAccount,
    LedgerEntry,
    ListenKey,
    MarginMode,
    MarkPrice,
    Order,
    Position,
    PriceCandle,
)
from trading.schedules import funding_time_after
from trading.selectors import PositionRow, margin_mode_default
from trading.selectors.accounts import holdings_with_positions
from trading.selectors.deleveraging import position_adl_quantiles
from trading.selectors.funding import funding_rate
from trading.selectors.history import ledger_entry_list, ledger_lines_of
from trading.selectors.instruments import margin_mode_defaults

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CONDITIONAL_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET", "TRAILING_STOP_MARKET")
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
# Every incomeType Binance accepts: one marginsite never books lists no income, another is -1130.
BINANCE_INCOME_TYPES = (
    "TRANSFER",
    "WELCOME_BONUS",
    "REALIZED_PNL",
    "FUNDING_FEE",
    "COMMISSION",
    "INSURANCE_CLEAR",
    "REFERRAL_KICKBACK",
    "COMMISSION_REBATE",
    "API_REBATE",
    "CONTEST_REWARD",
    "CROSS_COLLATERAL_TRANSFER",
    "OPTIONS_PREMIUM_FEE",
    "OPTIONS_SETTLE_PROFIT",
    "INTERNAL_TRANSFER",
    "AUTO_EXCHANGE",
    "DELIVERED_SETTELMENT",
    "COIN_SWAP_DEPOSIT",
    "COIN_SWAP_WITHDRAW",
    "POSITION_LIMIT_INCREASE_FEE",
    "STRATEGY_UMFUTURES_TRANSFER",
    "FEE_RETURN",
    "BFUSD_REWARD",
)


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
    """The account's figures and its open positions (with their figures), read together.
    ``rows``: the positions the facade shows (see account_state); ``held``: every open position,
    which the account's totals count."""

    figures: AccountFigures
    rows: list[PositionRow]
    held: list[PositionRow]
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
        return sum((row.figures.initial_margin for row in self.held), Decimal(0))

    @property
    def maintenance_margin(self) -> Decimal:
        return sum((row.figures.maintenance_margin for row in self.held), Decimal(0))


def isolated_position_hidden(*, user, instrument: Instrument) -> bool:
    """Whether the user holds an isolated position on ``instrument`` that a one-way client does
    not see: the symbol's margin type is cross (``account_state``)."""
    if margin_mode_default(user=user, instrument=instrument) != MarginMode.CROSS:
        return False
    return Position.objects.filter(
        user=user,
        instrument=instrument,
        margin_mode=MarginMode.ISOLATED,
        status=Position.Status.OPEN,
    ).exists()


def account_state(*, user, symbol: str | None = None) -> AccountState:
    """The account's figures and the positions a one-way client sees, on ``symbol`` only if
    given (the figures are the whole account's either way).

    A one-way client (freqtrade, ccxt pro's position cache) keys positions by symbol, and its
    orders act on the position of the symbol's margin type (order_place resolves the same
    default). So each symbol shows that position alone: a position of the other mode, opened
    on the website or the native API, stays out of the lists (it counts in the totals), and no
    client can mistake it for the one its orders act on."""
    holdings, held = holdings_with_positions(user=user)
    figures = holdings.figures()
    modes = margin_mode_defaults(user=user, instruments=[row.position.instrument for row in held])
    rows = [
        row
        for row in held
        if row.position.margin_mode == modes[row.position.instrument_id]
        and row.position.instrument.venue == FACADE_VENUE
        and (symbol is None or row.position.instrument.symbol == symbol)
    ]
    rows.sort(key=lambda row: row.position.instrument.symbol)
    caps = {
        row.position.pk: max_notional(row.position.instrument, row.position.leverage)
        for row in rows
    }
    return AccountState(figures, rows, held, caps, timezone.now())


def max_notional(instrument: Instrument, leverage: int) -> Decimal:
    """The largest position ``leverage`` allows on ``instrument`` (its bracket cap)."""
    return max_notional_at_leverage(engine_brackets(instrument), leverage)


# --- market data ---------------------------------------------------------------------------


def marks(instrument: Instrument | None = None) -> list[MarkPrice]:
    """The current marks (of ``instrument`` only, if given), by symbol."""
    found = (
        MarkPrice.objects.select_related("instrument")
        .filter(instrument__venue=FACADE_VENUE)
        .order_by("instrument__symbol")
    )
    return list(found.filter(instrument=instrument) if instrument else found)


def book(mark: MarkPrice, *, depth: int) -> Book:
    """The instrument's book around ``mark``, ``depth`` levels a side at most: order_book's
    levels (the ones orders fill against), built around the mark already read, so that an
    answer's book and its ``lastUpdateId`` (the mark's time) agree."""
    return book_levels(book_model(mark.instrument), mark=mark.price, depth=depth)


@dataclass(frozen=True)
class Funding:
    """The funding rate the next settlement would apply now, and when it comes."""

    rate: Decimal
    interest_rate: Decimal
    next_time: datetime


def funding_next(mark: MarkPrice, *, now: datetime) -> Funding:
    next_time = funding_time_after(now)
    return Funding(funding_rate(mark=mark, funding_time=next_time), INTEREST, next_time)


def funding_history(
    *,
    instrument: Instrument | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[FundingSettlement]:
    """fundingRate: the settlements (of ``instrument`` only, if given), oldest first: the first
    ``limit`` from ``start`` on, else the newest ``limit`` up to ``end`` (Binance's rule)."""
    found = FundingSettlement.objects.select_related("instrument")
    found = found.filter(instrument=instrument) if instrument else found
    found = _in_time(found, "funding_time", start=start, end=end)
    if start is not None:
        return list(found.order_by("funding_time", "instrument__symbol")[:limit])
    newest = found.order_by("-funding_time", "-instrument__symbol")[:limit]
    return list(reversed(newest))


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
    """The user's conditional (algo) orders, or regular ones. A triggered conditional order is
    both: marginsite executes the order itself when it triggers, so the order it became (its
    ``actualOrderId``, readable at /fapi/v1/order) is the same row, under the same id."""
    orders = Order.objects.filter(user=user, instrument__venue=FACADE_VENUE).select_related(
        "instrument"
    )
    orders = orders.filter(instrument=instrument) if instrument else orders
    kinds = Q(order_type__in=CONDITIONAL_TYPES)
    # triggered: it executed, in whole or (a book that could not fill it whole) in part
    triggered = kinds & Q(filled_quantity__gt=0)
    return orders.filter(kinds if conditional else ~kinds | triggered)


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
    """The user's ledger lines in Binance's income types, oldest first (the newest ``limit``),
    in the order of their times: a funding payment's is its funding time, even when a late run
    posted it after later lines (trading/services/funding.py). Margin moved between the wallet
    and an isolated position is no income (Binance lists none for it); neither is a line of
    another symbol or type than asked."""
    entries = ledger_entry_list(user=user).filter(kind__in=list(INCOME_TYPES))
    entries = _in_time(entries, "created_at", start=start, end=end)
    found = []
    for entry in entries.order_by("-created_at", "-pk").iterator(chunk_size=500):
        (line,) = ledger_lines_of([entry], user=user)
        kind = INCOME_TYPES[entry.kind]
        wanted = (symbol is None or line.symbol == symbol) and (
            income_type is None or kind == income_type
        )
        if wanted:
            found.append(Income(line.entry, kind, line.amount, line.symbol))
            if len(found) == limit:
                break
    return list(reversed(found))


# --- the venue's trades, open interest, liquidations, margin changes -----------------------


def public_trades(
    instrument: Instrument,
    *,
    from_id: int | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[Fill]:
    """trades / aggTrades / historicalTrades: every user's fills on ``instrument`` (the
    venue's executions; the answers name no user and no order): from ``from_id`` on, else the
    first ``limit`` from ``start`` on, else the newest ``limit``, oldest first."""
    fills = Fill.objects.filter(order__instrument=instrument).select_related("order")
    fills = _in_time(fills, "created_at", start=start, end=end)
    if from_id is not None:
        return list(fills.filter(pk__gte=from_id).order_by("pk")[:limit])
    if start is not None:
        return list(fills.order_by("pk")[:limit])
    return _newest_oldest_first(fills, limit=limit)


def open_interest(instrument: Instrument) -> Decimal:
    """The size of every open position on ``instrument`` (every user, both modes, longs and
    shorts): the house is the other side of each, so this is what is open against it."""
    held = Position.objects.filter(instrument=instrument, status=Position.Status.OPEN)
    return held.aggregate(total=Sum("quantity"))["total"] or Decimal(0)


def liquidation_orders(
    *,
    user,
    instrument: Instrument | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[Order]:
    """forceOrders: the orders that closed the user's liquidated positions, newest ``limit``,
    oldest first. A liquidated position takes no fill after the one that closed it, so that
    order is the one of the position's last fill."""
    last_fills = (
        Fill.objects.filter(position=OuterRef("position")).order_by("-pk").values("order_id")[:1]
    )
    closing = Fill.objects.filter(
        position__user=user, position__status=Position.Status.LIQUIDATED
    ).filter(order_id=Subquery(last_fills))
    orders = Order.objects.filter(pk__in=closing.values("order_id")).select_related("instrument")
    orders = orders.filter(instrument=instrument) if instrument else orders
    orders = _in_time(orders, "created_at", start=start, end=end)
    return _newest_oldest_first(orders, limit=limit)


@dataclass(frozen=True)
class MarginChange:
    """Margin the user added to (``kind`` 1) or removed from (2) an isolated position."""

    entry: LedgerEntry
    kind: int
    symbol: str


def margin_changes(
    *,
    user,
    instrument: Instrument,
    kind: int | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
) -> list[MarginChange]:
    """positionMargin/history: the user's own isolated margin adjustments on ``instrument``
    (the ledger's margin moves that no order made: an order's margin moves are its trade),
    newest ``limit``, oldest first."""
    entries = LedgerEntry.objects.filter(
        user=user,
        kind=LedgerEntry.Kind.ISOLATED_MARGIN,
        order__isnull=True,
        position__instrument=instrument,
    ).select_related("source")
    added = Q(source__kind=LedgerAccount.Kind.WALLET)
    entries = entries.filter(added if kind == 1 else ~added) if kind else entries
    entries = _in_time(entries, "created_at", start=start, end=end)
    return [
        MarginChange(
            entry, 1 if entry.source.kind == LedgerAccount.Kind.WALLET else 2, instrument.symbol
        )
        for entry in _newest_oldest_first(entries, limit=limit)
    ]


def adl_quantiles_held(*, user) -> dict[str, dict[str, int]]:
    """Symbol -> side -> the highest auto-deleveraging quantile of the user's open positions of
    that side, for each symbol held, in order (what adlQuantile lists)."""
    positions = list(
        Position.objects.filter(
            user=user, status=Position.Status.OPEN, instrument__venue=FACADE_VENUE
        )
        .select_related("instrument")
        .order_by("instrument__symbol", "pk")
    )
    quantiles = position_adl_quantiles(positions)
    held: dict[str, dict[str, int]] = {}
    for position in positions:
        sides = held.setdefault(position.instrument.symbol, {})
        sides[position.side] = max(sides.get(position.side, 0), quantiles[position.pk])
    return held


# --- user data streams ---------------------------------------------------------------------


def listen_key_valid(key: str) -> ListenKey | None:
    """The listen key ``key`` while it is valid: not expired, its API key not revoked, its user
    active (with its API key and user)."""
    return (
        ListenKey.objects.select_related("api_key__user")
        .filter(
            key=key,
            expires_at__gt=timezone.now(),
            api_key__revoked_at__isnull=True,
            api_key__user__is_active=True,
        )
        .first()
    )
