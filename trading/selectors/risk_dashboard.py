"""What the back office's risk dashboard shows: who is closest to liquidation, what was liquidated
lately, the insurance fund, and whether the sweep keeps up with its schedule.

Every figure is the engine's, from the same holdings the sweep and the traders' pages use
(``holdings_load_many``), computed on read; the page costs a fixed number of queries whatever the
number of accounts.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, localcontext

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from trading.domain.sides import engine_side
from trading.engine import liquidation_price_for_display
from trading.engine.decimals import ENGINE_CONTEXT
from trading.models import (
    LedgerAccount,
    LedgerEntry,
    LiquidationEvent,
    MarginMode,
    Position,
    SweepRun,
)
from trading.selectors.accounts import PositionRow
from trading.selectors.holdings import holdings_load_many
from trading.selectors.ledger import system_account_balance

ROWS = 20


def _ratio_rank(ratio: Decimal | None) -> Decimal:
    """Highest risk first: a ratio of None (the margin balance is gone) outranks every number."""
    return Decimal("Infinity") if ratio is None else ratio


@dataclass(frozen=True)
class CrossAccountRow:
    user_id: int
    username: str
    wallet_balance: Decimal
    cross_margin_balance: Decimal
    cross_maintenance_margin: Decimal
    cross_margin_ratio: Decimal | None
    cross_positions: int


@dataclass(frozen=True)
class IsolatedRow(PositionRow):
    """An isolated position and how far its mark may move toward liquidation, as a fraction of
    the mark (None: no mark liquidates it; below 0: the mark is already past it)."""

    distance: Decimal | None = None


@dataclass(frozen=True)
class InsuranceLine:
    entry: LedgerEntry
    change: Decimal  # + into the fund, - out of it
    balance_after: Decimal  # the fund's balance once this entry was posted


@dataclass(frozen=True)
class SweepHealth:
    """The latest sweep run and its lag: how much later than the beat schedule (a sweep after
    every price tick) it started, counted from the previous one to now (None: never ran)."""

    last_run: SweepRun | None
    duration: timedelta | None
    lag: timedelta | None
    scheduled_every: timedelta | None  # None: the sweep is not sent after ticks


@dataclass(frozen=True)
class RiskDashboard:
    cross_accounts: list[CrossAccountRow]
    isolated_positions: list[IsolatedRow]
    liquidations: list[LiquidationEvent]
    insurance_fund_balance: Decimal
    insurance_fund_history: list[InsuranceLine]
    sweep: SweepHealth


def risk_dashboard_load(*, now: datetime | None = None, rows: int = ROWS) -> RiskDashboard:
    now = timezone.now() if now is None else now
    open_positions = list(
        Position.objects.filter(status=Position.Status.OPEN)
        .select_related("instrument", "user")
        .prefetch_related("instrument__brackets")
    )  # one read: the figures and the rows are of the same positions
    holdings = holdings_load_many(positions=open_positions)
    positions = {
        (position.user_id, position.instrument_id, position.margin_mode): position
        for position in open_positions
    }
    users = {position.user_id: position.user for position in open_positions}
    cross_rows, isolated_rows = [], []
    for user_id, account in holdings.items():
        figures = account.figures()
        if figures.cross_positions:
            cross_rows.append(
                CrossAccountRow(
                    user_id=user_id,
                    username=users[user_id].get_username(),
                    wallet_balance=figures.wallet_balance,
                    cross_margin_balance=figures.cross_margin_balance,
                    cross_maintenance_margin=figures.cross_maintenance_margin,
                    cross_margin_ratio=figures.cross_margin_ratio,
                    cross_positions=len(figures.cross_positions),
                )
            )
        for instrument_id, mode in account.holdings:
            if mode != MarginMode.ISOLATED:
                continue
            position = positions[(user_id, instrument_id, mode)]
            isolated_rows.append(_isolated_row(position, account))
    cross_rows.sort(key=lambda row: (_ratio_rank(row.cross_margin_ratio), -row.user_id))
    isolated_rows.sort(key=lambda row: (_ratio_rank(row.figures.margin_ratio), -row.position.pk))
    return RiskDashboard(
        cross_accounts=cross_rows[::-1][:rows],
        isolated_positions=isolated_rows[::-1][:rows],
        liquidations=list(LiquidationEvent.objects.select_related("user")[:rows]),
        insurance_fund_balance=(fund := system_account_balance(LedgerAccount.Kind.INSURANCE_FUND)),
        insurance_fund_history=_insurance_history(rows, balance=fund),
        sweep=_sweep_health(now),
    )


def _isolated_row(position: Position, account) -> IsolatedRow:
    key = (position.instrument_id, position.margin_mode)
    mark = account.holdings[key].position.mark_price
    figures = account.position_figures(key)
    liquidation = figures.liquidation_price
    with localcontext(ENGINE_CONTEXT):  # below 0: past it, and the sweep has yet to act
        distance = (
            None
            if liquidation is None
            else engine_side(position.side) * (mark - liquidation) / mark
        )
    return IsolatedRow(
        position=position,
        mark_price=mark,
        figures=figures,
        liquidation_price_display=liquidation_price_for_display(
            liquidation, side=engine_side(position.side), tick_size=position.instrument.tick_size
        ),
        distance=distance,
    )


def _insurance_history(rows: int, *, balance: Decimal) -> list[InsuranceLine]:
    """The fund's latest entries, newest first, each with the balance it left (counted back
    from ``balance``, the fund's now)."""
    fund = LedgerAccount.objects.filter(kind=LedgerAccount.Kind.INSURANCE_FUND).first()
    if fund is None:
        return []
    entries = (
        LedgerEntry.objects.filter(Q(source=fund) | Q(destination=fund))
        .select_related("user")
        .order_by("-pk")[:rows]
    )
    lines = []
    for entry in entries:
        change = entry.amount if entry.destination_id == fund.pk else -entry.amount
        lines.append(InsuranceLine(entry, change, balance))
        balance -= change
    return lines


def _sweep_health(now: datetime) -> SweepHealth:
    every = (
        settings.CELERY_BEAT_SCHEDULE["prices-tick"]["schedule"]
        if settings.PRICE_TICK_THEN_SWEEP
        else None
    )
    last = SweepRun.objects.order_by("-started_at", "-pk").first()
    if last is None:
        return SweepHealth(None, None, None, every)
    duration = (last.finished_at - last.started_at) if last.finished_at else now - last.started_at
    lag = None if every is None else max(timedelta(0), now - last.started_at - every)
    return SweepHealth(last, duration, lag, every)
