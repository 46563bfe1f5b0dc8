"""Funding settlements, charged as exchanges charge them: at the funding time, to whoever held a
position then, on its size then.

Funding times fall every FUNDING_INTERVAL from midnight UTC (trading/schedules.py), or, on a venue
that settles more often, every fraction of it its rules say (Hyperliquid: every hour, at 1/8 of
the 8-hour rate, capped at 4 %: trading/domain/venues.py), and beat sends the settlement exactly
at each. For each instrument and funding time T:

- **Who pays, on what size.** Every position held at T, on its size at T, taken from history and
  not from the position row: a position keeps one side, and every change of it (a liquidation
  included) is a Fill with its time, so its size at T is its fills up to T, those on its side
  adding, the others taking away. Closed or changed a second after T, it still pays on that size;
  opened after T, or closed at or before T, it pays nothing for T.
- **The mark of T**: the mark as it stood at T. That is the current mark if it has not changed
  since T, else the close of the last 1-minute candle before T (the last mark ticked before T),
  looked for within the instrument's interval before T. With neither (the feed was not running,
  or the candles have expired), T is not settled: nobody can say what the mark was.
- **The rate of T**: on the live feed, the exchange's own for the latest funding time (the last
  ``lastFundingRate`` the feed brought; the feed keeps no past ones). Otherwise simulated: the
  interest (0.01 %) plus a premium, clamped to +-0.75 %. Offline there is no exchange index, so
  the premium is the mark of T against its own average over the interval before T (the 1-minute
  candles): a mark above its average means longs pay.
- **The payment**: mark notional at T x rate; longs pay shorts when the rate is positive, and the
  house is the counterparty. A position still open settles as before: cross with the wallet,
  isolated with its own margin. One closed since T settles with the wallet, where its isolated
  margin went back; an isolated one liquidated since pays nothing (its margin is lost, and an
  isolated loss never reaches the wallet). A payer who
  cannot pay in full pays what it has (never below 0); liquidation, on the next sweep, deals
  with the rest.
- **The time of the income is T**: the ledger entries carry T as their time (``ledger_post``'s
  ``at``), so the ledger, the API and the facade's /fapi/v1/income show the payment at the
  funding time, as exchanges do, even when it was posted later.

A late run (no worker or beat for a while) settles each missed time once, oldest first, across
all instruments, exactly as it would have then: the sizes, the marks and the premium all come
from history. It goes back no further than the instrument's latest settlement, nor than
PRICE_CANDLE_RETENTION_DAYS (the price history kept); an instrument never settled starts at the
latest funding time. Settling is idempotent and safe for concurrent workers: the
FundingSettlement row (once per instrument and time) fixes the rate and the mark, and each account
is paid in its own transaction under its wallet lock, each position once per settlement (checked
under that lock). A run also revisits the instrument's latest settlement, so that one cut short
(a worker killed mid-way) is completed by the next run. Before choosing who held a position at T,
a run waits for the trades in flight (a fill stamped just before T may commit just after it).
"""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Max, Q, Sum, When

from trading.domain.sides import engine_side
from trading.domain.venues import VenueRules, venue_rules
from trading.models import (
    Fill,
    FundingPayment,
    FundingSettlement,
    LedgerAccount,
    LedgerEntry,
    MarginMode,
    MarkPrice,
    Position,
    PriceCandle,
)
from trading.money import ZERO, money_owed, money_received
from trading.schedules import funding_time_after, funding_time_of
from trading.selectors import holdings_load
from trading.selectors.funding import funding_rate, funding_rate_simulated_at
from trading.services.ledger import ledger_post
from trading.services.locks import open_positions_lock, wallet_lock
from trading.services.watch import account_watch_set

HOUSE = LedgerAccount.Kind.HOUSE
# A fill on the position's own side adds to it; one on the other side reduces or closes it.
SIZE_CHANGE = Case(
    When(
        Q(order__side="BUY", position__side="LONG") | Q(order__side="SELL", position__side="SHORT"),
        then=F("quantity"),
    ),
    default=-F("quantity"),
)


def _mark_at(mark: MarkPrice, funding_time: datetime, interval: timedelta) -> Decimal | None:
    """The mark as it stood at ``funding_time``: the current one if unchanged since, else the
    close of the last candle before it (within ``interval``); None if history cannot say."""
    if mark.updated_at <= funding_time:
        return mark.price
    candle = (
        PriceCandle.objects.filter(
            instrument_id=mark.instrument_id,
            opened_at__gte=funding_time - interval,
            opened_at__lt=funding_time,
        )
        .order_by("-opened_at")
        .first()
    )
    return None if candle is None else candle.close


def funding_settle(*, now: datetime) -> list[FundingSettlement]:
    """Settle every funding time due by ``now`` (the missed ones included), oldest first, for
    every instrument with a mark; return the settlements this run made."""
    _trades_in_flight_wait()
    horizon = now - timedelta(days=settings.PRICE_CANDLE_RETENTION_DAYS)
    due = sorted(
        (funding_time, mark.instrument.symbol, mark, rules)
        for mark in MarkPrice.objects.select_related("instrument")
        for rules in [venue_rules(mark.instrument.venue)]
        for funding_time in _funding_times_due(mark, rules, now=now, horizon=horizon)
    )
    settled = []
    for funding_time, _, mark, rules in due:
        settlement, created = _settlement_get_or_create(mark, rules, funding_time, now=now)
        if settlement is None:
            continue
        for user_id in sorted({user_id for user_id, _ in _sizes_held(settlement).values()}):
            _account_fund(user_id, settlement)
        if created:
            settled.append(settlement)
    return settled


def _trades_in_flight_wait() -> None:
    """Wait for the transactions writing fills now, then let trading go on at once. A fill is
    stamped before its transaction commits, so one stamped just before a funding time may be
    committed just after it: after this, every fill stamped before now is visible."""
    with transaction.atomic(durable=True), connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {Fill._meta.db_table} IN SHARE MODE")


def _funding_times_due(
    mark: MarkPrice, rules: VenueRules, *, now: datetime, horizon: datetime
) -> list[datetime]:
    """The instrument's latest settled time (to complete a run cut short) and every funding time
    of its venue after it up to ``now``, none before ``horizon``; for a first settlement, the
    latest."""
    interval = rules.funding_interval(settings.FUNDING_INTERVAL)
    latest = funding_time_of(now, interval)
    last = FundingSettlement.objects.filter(instrument_id=mark.instrument_id).aggregate(
        last=Max("funding_time")
    )["last"]
    if last is None:
        return [latest]
    times, funding_time = [], max(last, funding_time_of(horizon, interval))
    while funding_time <= latest:
        if funding_time >= horizon:
            times.append(funding_time)
        funding_time = funding_time_after(funding_time, interval)
    return times


def _settlement_get_or_create(
    mark: MarkPrice, rules: VenueRules, funding_time: datetime, *, now: datetime
) -> tuple[FundingSettlement | None, bool]:
    """The settlement of ``funding_time`` (made now if new; None if its mark is unknown), and
    whether this run made it, at the venue's share of the interval's rate. A concurrent run
    making it first wins: its rate and mark hold."""
    settlement = FundingSettlement.objects.filter(
        instrument_id=mark.instrument_id, funding_time=funding_time
    ).first()
    if settlement is not None:
        return settlement, False
    interval = rules.funding_interval(settings.FUNDING_INTERVAL)
    price = _mark_at(mark, funding_time, interval)
    if price is None:
        return None, False
    if funding_time == funding_time_of(now, interval):
        interval_rate = funding_rate(
            mark=mark, funding_time=funding_time, price=price, window=interval
        )
    else:
        interval_rate = funding_rate_simulated_at(
            instrument_id=mark.instrument_id,
            funding_time=funding_time,
            price=price,
            window=interval,
        )
    rate = rules.funding_rate(interval_rate)
    try:
        with transaction.atomic(durable=True):
            created = FundingSettlement.objects.create(
                instrument=mark.instrument, funding_time=funding_time, rate=rate, mark_price=price
            )
        return created, True
    except IntegrityError:
        settlement = FundingSettlement.objects.get(
            instrument_id=mark.instrument_id, funding_time=funding_time
        )
        return settlement, False


def _sizes_held(
    settlement: FundingSettlement, *, user_id: int | None = None
) -> dict[int, tuple[int, Decimal]]:
    """position id -> (user id, size at the funding time), for the positions of the settlement's
    instrument (of ``user_id`` only, if given) held then and not yet paid."""
    funding_time = settlement.funding_time
    fills = Fill.objects.filter(
        Q(position__closed_at__isnull=True) | Q(position__closed_at__gt=funding_time),
        position__instrument_id=settlement.instrument_id,
        created_at__lte=funding_time,
    ).exclude(position__funding__settlement=settlement)
    if user_id is not None:
        fills = fills.filter(position__user_id=user_id)
    held = (
        fills.order_by()
        .values("position_id", "position__user_id")
        .annotate(size=Sum(SIZE_CHANGE))
        .filter(size__gt=0)
    )
    return {row["position_id"]: (row["position__user_id"], row["size"]) for row in held}


def _account_fund(user_id: int, settlement: FundingSettlement) -> None:
    """Pay or collect the account's funding of ``settlement``, each position once: the sizes are
    read again under the wallet lock, after any order of the account that was in flight."""
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user_id)
        positions = open_positions_lock(user_id)
        sizes = _sizes_held(settlement, user_id=user_id)
        if not sizes:
            return
        still_open = {position.pk: position for position in positions}
        holders = Position.objects.filter(pk__in=sizes).select_related("user").order_by("pk")
        for position in holders:
            _, size = sizes[position.pk]
            _position_fund(still_open.get(position.pk, position), wallet, settlement, size)
        # a settlement touches every holder at once: new watch prices here, rather than every
        # account due on the next sweep
        account_watch_set(
            wallet=wallet,
            positions=positions,
            holdings=holdings_load(user=wallet.user, wallet=wallet, positions=positions),
        )


def _position_fund(
    position: Position, wallet, settlement: FundingSettlement, size: Decimal
) -> None:
    """One position's payment on its ``size`` at the funding time: from or to its own margin
    while it is an open isolated one, else the wallet (``position`` is the locked row while it
    is open). An isolated position liquidated since has no margin left to pay from, and its
    loss never reaches the wallet: it pays nothing (what it receives goes to the wallet)."""
    owed = engine_side(position.side) * size * settlement.mark_price * settlement.rate
    is_open = position.status == Position.Status.OPEN
    isolated = position.margin_mode == MarginMode.ISOLATED and is_open
    isolated_lost = (
        position.margin_mode == MarginMode.ISOLATED
        and position.status == Position.Status.LIQUIDATED
    )
    holder = position if isolated else wallet
    entry = {
        "kind": LedgerEntry.Kind.FUNDING,
        "user": position.user,
        "position": position,
        "at": settlement.funding_time,
        "memo": f"{size.normalize():f} held x mark {settlement.mark_price.normalize():f} x "
        f"rate {settlement.rate.normalize():f}",
    }
    if owed > 0:
        available = (
            ZERO if isolated_lost else (position.isolated_margin if isolated else wallet.balance)
        )
        amount = min(money_owed(owed), available)
        ledger_post(amount=amount, source=holder, destination=HOUSE, **entry)
        signed = -amount
    else:
        signed = money_received(-owed)
        ledger_post(amount=signed, source=HOUSE, destination=holder, **entry)
    FundingPayment.objects.create(
        settlement=settlement, position=position, user=position.user, amount=signed
    )
