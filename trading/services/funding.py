"""Funding settlements.

Every funding interval (00:00, 08:00 and 16:00 UTC by default; FUNDING_INTERVAL_MINUTES for a
demo), each instrument gets a rate. On the live feed it is the exchange's own (the last
``lastFundingRate`` the feed brought). Otherwise it is simulated: the interest (0.01 %) plus a
premium, clamped to +-0.75 %. Offline there is no exchange index, so the simulated premium is the
mark's distance from its own average over the interval (its 1-minute candles): a mark above its
average means longs pay. The
positions open at the settlement pay (or receive) mark notional x rate: longs pay shorts when the
rate is positive. The house is the counterparty. Cross positions settle with the wallet, isolated
ones with their own margin. A payer who cannot pay in full pays what it has (never below 0);
liquidation, on the next sweep, deals with the rest. Settling the same funding time twice does
nothing the second time.
"""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Avg

from trading.models import (
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
from trading.selectors import holdings_load
from trading.services.ledger import ledger_post
from trading.services.locks import open_positions_lock, wallet_lock
from trading.services.watch import account_watch_set

HOUSE = LedgerAccount.Kind.HOUSE
INTEREST = Decimal("0.0001")
CLAMP = Decimal("0.0075")


def funding_time_of(now: datetime) -> datetime:
    """The latest funding time at or before ``now`` (intervals counted from midnight UTC)."""
    interval = settings.FUNDING_INTERVAL
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return midnight + ((now - midnight) // interval) * interval


def funding_rate(*, mark: MarkPrice, funding_time: datetime) -> Decimal:
    """The exchange's rate while the mark is live (the last one the feed brought), else interest
    + premium (the mark vs its average over the interval), clamped."""
    if mark.source == MarkPrice.Source.LIVE and mark.funding_rate is not None:
        return mark.funding_rate
    instrument = mark.instrument
    average = PriceCandle.objects.filter(
        instrument=instrument,
        opened_at__gte=funding_time - settings.FUNDING_INTERVAL,
        opened_at__lt=funding_time,
    ).aggregate(average=Avg("close"))["average"]
    premium = (mark.price - Decimal(average)) / Decimal(average) if average else ZERO
    return max(-CLAMP, min(CLAMP, INTEREST + premium)).quantize(Decimal("1e-8"))


def funding_settle(*, now: datetime) -> list[FundingSettlement]:
    """Settle the funding time at or before ``now`` for every instrument that has a mark."""
    funding_time = funding_time_of(now)
    settled = []
    for mark in MarkPrice.objects.select_related("instrument"):
        rate = funding_rate(mark=mark, funding_time=funding_time)
        try:
            with transaction.atomic(durable=True):
                settlement = FundingSettlement.objects.create(
                    instrument=mark.instrument,
                    funding_time=funding_time,
                    rate=rate,
                    mark_price=mark.price,
                )
        except IntegrityError:
            continue  # already settled
        users = (
            Position.objects.filter(
                instrument=mark.instrument,
                status=Position.Status.OPEN,
                opened_at__lte=funding_time,
            )
            .values_list("user_id", flat=True)
            .distinct()
        )
        for user_id in sorted(set(users)):
            _account_fund(user_id, settlement)
        settled.append(settlement)
    return settled


def _account_fund(user_id: int, settlement: FundingSettlement) -> None:
    with transaction.atomic(durable=True):
        wallet = wallet_lock(user_id)
        positions = open_positions_lock(user_id)
        for position in positions:
            opened_in_time = position.opened_at <= settlement.funding_time
            if position.instrument_id != settlement.instrument_id or not opened_in_time:
                continue
            side = 1 if position.side == "LONG" else -1
            owed = side * position.quantity * settlement.mark_price * settlement.rate
            holder = position if position.margin_mode == MarginMode.ISOLATED else wallet
            entry = {"kind": LedgerEntry.Kind.FUNDING, "user": position.user, "position": position}
            if owed > 0:
                available = holder.isolated_margin if holder is position else holder.balance
                amount = min(money_owed(owed), available)
                ledger_post(amount=amount, source=holder, destination=HOUSE, **entry)
                signed = -amount
            else:
                signed = money_received(-owed)
                ledger_post(amount=signed, source=HOUSE, destination=holder, **entry)
            FundingPayment.objects.create(
                settlement=settlement, position=position, user=position.user, amount=signed
            )
        # a settlement touches every holder at once: new watch prices here, rather than every
        # account due on the next sweep
        account_watch_set(
            wallet=wallet,
            positions=positions,
            holdings=holdings_load(user=wallet.user, wallet=wallet, positions=positions),
        )
